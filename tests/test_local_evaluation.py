"""Simple detections, inline filters and correlation rules run as pytest items (issue 5)."""
from __future__ import annotations

from pantherrepo import DetectionRepo


def test_simple_detection_runs_and_reports_local_evaluation(repo: DetectionRepo) -> None:
    repo.write("rules/archived.yml", """
        AnalysisType: rule
        RuleID: Test.Archived
        Enabled: true
        LogTypes: [GitHub.Audit]
        Severity: Low
        Detection:
          - Key: action
            Condition: Equals
            Value: repo.archived
        AlertTitle: "Repository [{repo}] archived"
        Tests:
          - Name: archived
            ExpectedResult: true
            Log: {action: repo.archived, repo: o/r}
          - Name: other action
            ExpectedResult: false
            Log: {action: repo.create, repo: o/r}
          - Name: wrong on purpose
            ExpectedResult: true
            Log: {action: repo.create, repo: o/r}
    """)
    result = repo.pytester.runpytest("-q")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([
        "rules/archived.yml:18: simple detection Test.Archived / test 'wrong on purpose'",
        "  actual:   rule() returned false",
        "  (a YAML simple detection, evaluated locally by pytest-panther)",
    ])


def test_malformed_simple_detection_is_a_located_error(repo: DetectionRepo) -> None:
    repo.write("rules/bad.yml", """
        AnalysisType: rule
        RuleID: Test.Bad
        Enabled: true
        LogTypes: [GitHub.Audit]
        Severity: Low
        Detection:
          - Key: action
            Condition: EqualsIsh
            Value: x
        Tests:
          - Name: t
            ExpectedResult: true
            Log: {action: x}
    """)
    result = repo.pytester.runpytest("-q")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["rules/bad.yml:8:*EqualsIsh*"])
    assert "Traceback" not in result.stdout.str()


def test_inline_filters_gate_the_rule(repo: DetectionRepo) -> None:
    repo.rule("filtered", "def rule(event):\n    return True\n", """
        - Name: filter matches
          ExpectedResult: true
          Log: {region: us-east-1}
        - Name: filter does not match so no alert
          ExpectedResult: false
          Log: {region: eu-west-1}
        - Name: expects an alert the filter prevents
          ExpectedResult: true
          Log: {region: eu-west-1}
    """, extra="InlineFilters:\n  - All:\n      - KeyPath: region\n        Condition: Equals\n        Value: us-east-1")
    result = repo.pytester.runpytest("-q")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["  actual:   InlineFilters did not match, so rule() did not run (filters evaluated locally)"])


CORRELATION = """
AnalysisType: correlation_rule
RuleID: Test.Corr
Enabled: true
Severity: High
Detection:
  - Sequence:
      - ID: Created
        RuleID: Test.User.Created
      - ID: Deleted
        RuleID: Test.User.Deleted
    Transitions:
      - ID: created then deleted
        From: Created
        To: Deleted
        WithinTimeFrameMinutes: 30
        Match:
          - On: user
    LookbackWindowMinutes: 60
    Schedule: {RateMinutes: 60, TimeoutMinutes: 5}
Tests:
  - Name: deleted soon after creation
    ExpectedResult: true
    RuleOutputs:
      - ID: Created
        Matches: {user: {alice: [0]}}
      - ID: Deleted
        Matches: {user: {alice: [10]}}
  - Name: deleted much later
    ExpectedResult: false
    RuleOutputs:
      - ID: Created
        Matches: {user: {alice: [0]}}
      - ID: Deleted
        Matches: {user: {alice: [45]}}
  - Name: wrong on purpose
    ExpectedResult: true
    RuleOutputs:
      - ID: Created
        Matches: {user: {alice: [0]}}
      - ID: Deleted
        Matches: {user: {bob: [5]}}
"""


def test_correlation_rule_tests_run_locally(repo: DetectionRepo) -> None:
    repo.write("correlation_rules/corr.yml", CORRELATION)
    result = repo.pytester.runpytest("-q")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([
        "correlation_rules/corr.yml:*: correlation rule Test.Corr / test 'wrong on purpose'",
        "*evaluated locally*",
    ])
