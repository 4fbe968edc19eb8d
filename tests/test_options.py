"""Options: minimum tests, filters, skip disabled, env variables, secrets, hooks, summary."""
from __future__ import annotations

import pytest
from pantherrepo import SIMPLE_RULE
from pantherrepo import SIMPLE_TESTS
from pantherrepo import DetectionRepo

ONLY_TRUE = """
- Name: alerts
  ExpectedResult: true
  Log: {eventName: Bad}
"""


def _three(repo: DetectionRepo) -> None:
    repo.rule("both", SIMPLE_RULE, SIMPLE_TESTS, extra="Tags: [Initial Access]\nDedupPeriodMinutes: 60")
    repo.rule("onlytrue", SIMPLE_RULE, ONLY_TRUE, rule_id="Test.onlytrue", extra="Tags: [Recon]")
    repo.write("rules/notests.yml", "AnalysisType: rule\nFilename: notests.py\nRuleID: Test.notests\nEnabled: false\n"
               "LogTypes: [Okta.SystemLog]\nSeverity: Low\n")
    repo.write("rules/notests.py", "def rule(event):\n    return False\n")


def test_minimum_tests_one_fails_detections_without_tests(repo: DetectionRepo) -> None:
    _three(repo)
    result = repo.pytester.runpytest("-q", "--panther-minimum-tests", "1")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["rules/notests.yml:1:1: insufficient test coverage for Test.notests: 1 tests required but only 0 found"])


def test_minimum_tests_two_requires_a_true_and_a_false_test(repo: DetectionRepo) -> None:
    _three(repo)
    result = repo.pytester.runpytest("-q", "--panther-minimum-tests", "2", "--junitxml=j.xml")
    result.assert_outcomes(passed=3, failed=2)
    result.stdout.fnmatch_lines([
        "*insufficient test coverage for Test.onlytrue: 2 tests required but only 1 found; "
        "expected at least one positive (ExpectedResult: true) and one negative (false) test",
    ])
    assert "[minimum tests]" in (repo.root / "j.xml").read_text()


def test_minimum_tests_from_env_and_ini(repo: DetectionRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    _three(repo)
    monkeypatch.setenv("PANTHER_MINIMUM_TESTS", "1")
    repo.pytester.runpytest("-q").assert_outcomes(passed=3, failed=1)
    monkeypatch.delenv("PANTHER_MINIMUM_TESTS")
    repo.pytester.makeini("[pytest]\npanther_minimum_tests = 2\n")
    repo.pytester.runpytest("-q").assert_outcomes(passed=3, failed=2)


def test_filters_include_exclude_and_repeated_keys(repo: DetectionRepo) -> None:
    _three(repo)
    repo.pytester.runpytest("-q", "--panther-filter", "RuleID=Test.both").assert_outcomes(passed=2, deselected=1)
    repo.pytester.runpytest("-q", "--panther-filter", "Tags=recon").assert_outcomes(passed=1, deselected=2)
    repo.pytester.runpytest("-q", "--panther-filter", "RuleID!=Test.both").assert_outcomes(passed=1, deselected=2)
    # PAT keeps only the last of repeated keys; we select both.
    repo.pytester.runpytest("-q", "--panther-filter", "RuleID=Test.both", "--panther-filter",
                            "RuleID=Test.onlytrue").assert_outcomes(passed=3)
    # Numbers compare by their text (PAT never matches them).
    repo.pytester.runpytest("-q", "--panther-filter", "DedupPeriodMinutes=60").assert_outcomes(passed=2, deselected=1)
    repo.pytester.runpytest("-q", "--panther-filter", "Enabled=yes").assert_outcomes(passed=3)


def test_filter_from_env(repo: DetectionRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    _three(repo)
    monkeypatch.setenv("PANTHER_FILTER", "RuleID=Test.onlytrue")
    repo.pytester.runpytest("-q").assert_outcomes(passed=1, deselected=2)


@pytest.mark.parametrize(("arg", "message"), [
    ("RuleId=X", "ERROR: --panther-filter 'RuleId=X': 'RuleId' is not a filter key (did you mean 'RuleID'?)"),
    ("RuleID=", "ERROR: --panther-filter 'RuleID=': expected KEY=VALUE[,VALUE...] or KEY!=VALUE[,VALUE...]"),
    ("Enabled=maybe", "ERROR: --panther-filter 'Enabled=maybe': Enabled takes true or false"),
])
def test_bad_filter_is_a_usage_error_without_traceback(repo: DetectionRepo, arg: str, message: str) -> None:
    _three(repo)
    result = repo.pytester.runpytest("-q", "--panther-filter", arg)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert "Traceback" not in result.stderr.str()


def test_skip_disabled(repo: DetectionRepo) -> None:
    repo.rule("on", SIMPLE_RULE, SIMPLE_TESTS)
    repo.rule("off", SIMPLE_RULE, SIMPLE_TESTS, rule_id="Test.off", extra="")
    path = repo.root / "rules/off.yml"
    path.write_text(path.read_text().replace("Enabled: true", "Enabled: false"))
    result = repo.pytester.runpytest("-q", "--panther-skip-disabled", "-rs")
    result.assert_outcomes(passed=2, skipped=2)
    result.stdout.fnmatch_lines(["*detection disabled (--panther-skip-disabled)*"])


def test_summary_lists_outcomes_and_quiet_is_one_line(repo: DetectionRepo) -> None:
    _three(repo)
    repo.rule("failing", SIMPLE_RULE, "- Name: wrong\n  ExpectedResult: false\n  Log: {eventName: Bad}\n",
              rule_id="Test.failing")
    result = repo.pytester.runpytest("--panther-minimum-tests", "2", "--panther-skip-disabled")
    result.stdout.fnmatch_lines([
        "*panther summary*",
        "detections: 1 passed, 2 failed, 0 skipped, 1 without tests; test cases run: 4; below minimum tests: 2",
        "failed: Test.failing, Test.onlytrue",
        "without tests: Test.notests",
        "below minimum: Test.failing: *",
        "below minimum: Test.onlytrue: *",
    ])
    quiet = repo.pytester.runpytest("-qq")
    assert sum("detections:" in line for line in quiet.outlines) == 1
    assert "panther summary" not in quiet.stdout.str()


def test_secrets_are_served_locally_and_the_prefix_is_enforced(repo: DetectionRepo) -> None:
    pytest.importorskip("boto3")
    repo.rule("secret", """
import boto3

def rule(event):
    client = boto3.client("secretsmanager", region_name="us-east-1",
                          aws_access_key_id="x", aws_secret_access_key="y")
    return client.get_secret_value(SecretId=event.get("name"))["SecretString"] == "s3cr3t"
""", """
        - Name: allowed secret
          ExpectedResult: true
          Log: {name: panther-analysis/api-key}
        - Name: not a panther-analysis secret
          ExpectedResult: true
          Log: {name: prod/db-password}
    """)
    result = repo.pytester.runpytest("-q", "--panther-secret", "panther-analysis/api-key=s3cr3t")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*SecretAccessDenied: secret 'prod/db-password' cannot be read: Panther only lets "
                                 "detections read secrets whose name starts with 'panther-analysis'"])


def test_hookspecs_can_be_implemented_in_conftest(repo: DetectionRepo) -> None:
    _three(repo)
    repo.write("conftest.py", """
        def pytest_panther_collect_spec(spec, config):
            if spec.id == "Test.onlytrue":
                return False

        def pytest_panther_test_case_result(item, passed, failure):
            print(f"RESULT {item.spec.id} {item.case.name} {passed}")
    """)
    result = repo.pytester.runpytest("-q", "-s")
    result.assert_outcomes(passed=2, deselected=1)
    result.stdout.fnmatch_lines(["*RESULT Test.both bad event alerts True*"])


def test_coverage_of_detection_code_with_branches(repo: DetectionRepo) -> None:
    pytest.importorskip("pytest_cov")
    repo.rule("cov", "def rule(event):\n    if event.get('eventName') == 'Bad':\n        return True\n    return False\n",
              SIMPLE_TESTS)
    result = repo.pytester.runpytest_subprocess("-q", "--cov=rules", "--cov-branch", "--cov-report=term-missing")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["rules/cov.py * 100%*"])


def _git(repo: DetectionRepo, *args: str) -> None:
    import subprocess

    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "HOME": str(repo.root), "PATH": "/usr/bin:/bin"}
    subprocess.run(["git", *args], cwd=repo.root, env=env, check=True, capture_output=True)


def test_changed_since_runs_only_affected_detections(repo: DetectionRepo) -> None:
    repo.write("global_helpers/h.py", "def bad(name):\n    return name == 'Bad'\n")
    repo.write("global_helpers/h.yml", "AnalysisType: global\nGlobalID: h\nFilename: h.py\n")
    repo.rule("uses_helper", "from h import bad\ndef rule(event):\n    return bad(event.get('eventName'))\n", SIMPLE_TESTS)
    repo.rule("plain", SIMPLE_RULE, SIMPLE_TESTS, rule_id="Test.plain")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "base")
    repo.write("global_helpers/h.py", "def bad(name):\n    return name in ('Bad',)\n")
    result = repo.pytester.runpytest("-q", "--panther-changed-since", "HEAD")
    result.assert_outcomes(passed=2)  # at the root, unaffected spec files are not even collected
    result.stdout.fnmatch_lines(["--panther-changed-since HEAD: not collected, as the change does not affect them: "
                                 "2 spec files, 0 Python test files"])
    under_paths = repo.pytester.runpytest("-q", "--panther-changed-since", "HEAD", "rules")
    under_paths.assert_outcomes(passed=2, deselected=2)  # with paths: collected, then deselected
    bad = repo.pytester.runpytest("-q", "--panther-changed-since", "no-such-ref")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    bad.stderr.fnmatch_lines(["ERROR: --panther-changed-since no-such-ref: *"])


def test_changed_since_at_the_root_runs_the_unittest_files_of_changed_helpers(repo: DetectionRepo) -> None:
    """Issue 14 item 4: no path arguments → only the affected detections, and of the repository's
    own Python tests only the changed ones and those importing a changed global helper."""
    repo.write("global_helpers/h.py", "def bad(name):\n    return name == 'Bad'\n")
    repo.write("global_helpers/h.yml", "AnalysisType: global\nGlobalID: h\nFilename: h.py\n")
    repo.write("global_helpers/h_test.py", "import unittest\nfrom h import bad\n\n"
               "class T(unittest.TestCase):\n    def test_bad(self):\n        self.assertTrue(bad('Bad'))\n")
    repo.write("global_helpers/other_test.py", "def test_other():\n    pass\n")
    repo.rule("uses_helper", "from h import bad\ndef rule(event):\n    return bad(event.get('eventName'))\n", SIMPLE_TESTS)
    repo.rule("plain", SIMPLE_RULE, SIMPLE_TESTS, rule_id="Test.plain")
    repo.pytester.makeini("[pytest]\npython_files = *_test.py\npythonpath = global_helpers\n")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "base")
    repo.pytester.runpytest("-q").assert_outcomes(passed=6)
    repo.write("rules/plain.py", SIMPLE_RULE + "\n# touched\n")
    rule_only = repo.pytester.runpytest("-v", "--panther-changed-since", "HEAD")
    rule_only.assert_outcomes(passed=2)
    rule_only.stdout.fnmatch_lines(["--panther-changed-since HEAD: not collected, as the change does not affect them: "
                                    "2 spec files, 2 Python test files (global_helpers/h_test.py, global_helpers/other_test.py)"])
    _git(repo, "checkout", "rules/plain.py")
    repo.write("global_helpers/h.py", "def bad(name):\n    return name in ('Bad',)\n")
    helper = repo.pytester.runpytest("-v", "--panther-changed-since", "HEAD")
    helper.assert_outcomes(passed=3)
    helper.stdout.fnmatch_lines(["*h_test.py::T::test_bad PASSED*"])
    assert "other_test.py" in helper.stdout.str() and "test_other PASSED" not in helper.stdout.str()


def test_changed_since_summary_under_xdist_agrees_with_a_serial_run(repo: DetectionRepo) -> None:
    """User trial: under ``-n 2`` the "not collected" line was missing and "without tests" counted
    every detection of the repository (the controller collects nothing); with path arguments,
    detections the change deselected were counted as without tests."""
    pytest.importorskip("xdist")
    repo.rule("plain", SIMPLE_RULE, SIMPLE_TESTS, rule_id="Test.plain")
    repo.rule("other", SIMPLE_RULE, SIMPLE_TESTS, rule_id="Test.other")
    repo.write("rules/untested.py", SIMPLE_RULE)
    repo.write("rules/untested.yml", "AnalysisType: rule\nFilename: untested.py\nRuleID: Test.untested\n"
               "Enabled: true\nLogTypes: [AWS.CloudTrail]\nSeverity: Low\n")
    repo.write("tests_test.py", "def test_other():\n    pass\n")
    repo.pytester.makeini("[pytest]\npython_files = *_test.py\n")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "base")
    repo.write("rules/plain.py", SIMPLE_RULE + "\n# touched\n")
    expected = ["--panther-changed-since HEAD: not collected, as the change does not affect them: "
                "2 spec files, 1 Python test files",
                "detections: 1 passed, 0 failed, 0 skipped, 0 without tests; test cases run: 2"]
    for extra in ((), ("-n", "2")):
        result = repo.pytester.runpytest("-q", "-p", "no:cacheprovider", "--panther-changed-since", "HEAD", *extra)
        result.assert_outcomes(passed=2)
        result.stdout.fnmatch_lines(expected)
        with_paths = repo.pytester.runpytest("-q", "-p", "no:cacheprovider", "--panther-changed-since", "HEAD",
                                             "rules", *extra)
        with_paths.stdout.fnmatch_lines([expected[1]])


def test_without_tests_counts_only_collected_detections(repo: DetectionRepo) -> None:
    _three(repo)
    repo.rule("other", SIMPLE_RULE, SIMPLE_TESTS, folder="policies", rule_id="Test.inpolicies")
    result = repo.pytester.runpytest("policies")
    result.stdout.fnmatch_lines(["detections: 1 passed, 0 failed, 0 skipped, 0 without tests; test cases run: 2"])
    result = repo.pytester.runpytest("rules")
    result.stdout.fnmatch_lines(["detections: 2 passed, 0 failed, 0 skipped, 1 without tests; test cases run: 3"])


def test_without_tests_is_not_listed_when_k_or_m_chose_the_items(repo: DetectionRepo) -> None:
    _three(repo)
    result = repo.pytester.runpytest("-k", "Test.both")
    result.stdout.fnmatch_lines(["detections: 1 passed, 0 failed, 0 skipped; test cases run: 2"])
    assert "without tests" not in result.stdout.str()


def test_summary_counts_a_yaml_file_that_does_not_parse(repo: DetectionRepo) -> None:
    _three(repo)
    repo.write("rules/broken.yml", "AnalysisType: rule\nRuleID: [unclosed\n")
    result = repo.pytester.runpytest("rules")
    result.stdout.fnmatch_lines(["detections: 2 passed, 0 failed, 0 skipped, 1 without tests; test cases run: 3; invalid specs: 1"])


def test_changed_since_leaves_out_problems_of_untouched_files(repo: DetectionRepo) -> None:
    repo.rule("plain", SIMPLE_RULE, SIMPLE_TESTS, rule_id="Test.plain")
    repo.rule("dup", SIMPLE_RULE, SIMPLE_TESTS, rule_id="Test.plain")  # a problem that is not new
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "base")
    assert repo.pytester.runpytest("-q").ret == pytest.ExitCode.TESTS_FAILED
    result = repo.pytester.runpytest("-q", "--panther-changed-since", "HEAD")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED  # everything deselected, nothing failed
    repo.write("rules/plain.py", SIMPLE_RULE + "\n# touched\n")  # the file the duplicate-ID problem is on
    touched = repo.pytester.runpytest("-q", "--panther-changed-since", "HEAD")
    touched.assert_outcomes(passed=2, failed=1)
