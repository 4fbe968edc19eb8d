"""Verdicts equal Panther's engine (panther-core), and failures say what went wrong where."""
from __future__ import annotations

import sys

import pytest
from pantherrepo import SIMPLE_RULE
from pantherrepo import SIMPLE_TESTS
from pantherrepo import DetectionRepo

ONE_TRUE = """
- Name: alerts
  ExpectedResult: true
  Log: {eventName: Bad}
"""
ONE_FALSE = """
- Name: quiet
  ExpectedResult: false
  Log: {eventName: Good}
"""


def test_passing_rule(repo: DetectionRepo) -> None:
    repo.rule("ok", SIMPLE_RULE, SIMPLE_TESTS)
    repo.pytester.runpytest("-q").assert_outcomes(passed=2)


def test_wrong_expectation_reports_line_expected_and_actual(repo: DetectionRepo) -> None:
    repo.rule("wrong", SIMPLE_RULE, """
        - Name: expects an alert
          ExpectedResult: true
          Log: {eventName: Good}
    """)
    result = repo.pytester.runpytest("-q")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "rules/wrong.yml:9: rule Test.wrong / test 'expects an alert'",
        "  expected: an alert (rule returns true)  (ExpectedResult: true)",
        "  actual:   rule() returned false",
        "  [[]FAIL[]] rule: returned false (not as expected)",
    ])


def test_rule_that_raises_fails_with_traceback_of_detection_code_only(repo: DetectionRepo) -> None:
    repo.rule("boom", "def rule(event):\n    return event['missing'] == 1\n", ONE_TRUE)
    result = repo.pytester.runpytest("-q")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "  actual:   rule() raised KeyError: 'missing'",
        "  [[]FAIL[]] rule: KeyError: 'missing'",
        "  in rule():",
        "    Traceback (detection code only):",
        '*File "*rules/boom.py", line 2, in rule',
    ])
    assert "panther_core" not in result.stdout.str()
    assert "pytest_panther" not in result.stdout.str()


def test_pdb_opens_at_the_detection_line_that_raised(repo: DetectionRepo) -> None:
    # `pytest --pdb` on a rule that raises used to stop in the plugin's runtest(), where `event`
    # is not defined; it must open at the detection's own frame.
    repo.rule("boom", 'def rule(event):\n    return event["nokey"]["x"]\n', ONE_TRUE)
    result = repo.pytester.run(
        sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--pdb",
        stdin=b"p event.get('eventName')\nc\n", timeout=60,
    )
    result.stdout.fnmatch_lines([
        "> *rules/boom.py(2)rule()",
        '-> return event["nokey"]["x"]',
        "(Pdb) 'Bad'",
    ])


def test_pdb_on_a_detection_that_does_not_import_opens_at_its_line(repo: DetectionRepo) -> None:
    repo.rule("noimport", "import json\nVALUE = json.loads('{')\ndef rule(event):\n    return True\n", ONE_TRUE)
    result = repo.pytester.run(
        sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--pdb", stdin=b"c\n", timeout=60,
    )
    result.stdout.fnmatch_lines(["> *rules/noimport.py(2)<module>()"])


def test_rule_without_filename_does_not_run_the_py_of_the_same_name(repo: DetectionRepo) -> None:
    # With `Filename:` deleted, the tests used to run `rules/same.py` and pass (PAT: invalid spec).
    repo.rule("same", SIMPLE_RULE, SIMPLE_TESTS)
    spec = repo.root / "rules/same.yml"
    spec.write_text(spec.read_text().replace("Filename: same.py\n", ""))
    result = repo.pytester.runpytest("-q")
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines([
        "rules/same.yml:1:1: missing required key 'Filename' or 'Detection'",
        "rules/same.yml:8: rule Test.same / test 'bad event alerts'",
        "  the detection's module could not be loaded: the spec has no Filename, so there is no code to run",
    ])
    assert "None" not in result.stdout.str()


def test_derived_detection_with_unknown_base_names_the_base(repo: DetectionRepo) -> None:
    repo.rule("derived", SIMPLE_RULE, ONE_TRUE)
    repo.write("rules/derived.yml", """
        AnalysisType: rule
        RuleID: Test.Derived
        BaseDetection: Test.Missing
        Enabled: true
        Severity: High
        Tests:
          - Name: alerts
            ExpectedResult: true
            Log: {eventName: Bad}
    """)
    result = repo.pytester.runpytest("-q")
    result.stdout.fnmatch_lines([
        "  the detection's module could not be loaded: "
        "BaseDetection 'Test.Missing' is not a spec of this repository with a Filename",
    ])
    assert "None" not in result.stdout.str()


def test_paths_are_relative_to_the_subfolder_pytest_runs_from(repo: DetectionRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    # `cd rules && pytest okta_rules` showed "../rules/okta_rules/x.yml:111" for a file of that
    # very folder; pytest's own node ids there are "okta_rules/x.yml::...".
    repo.rule("boom", "def rule(event):\n    return event['missing'] == 1\n", ONE_TRUE, folder="rules/okta_rules")
    repo.rule("other", "def rule(event):\n    return event['missing'] == 1\n", ONE_TRUE, folder="policies")
    monkeypatch.chdir(repo.root / "rules")
    result = repo.pytester.runpytest("-q", "okta_rules", "../policies")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines([
        "okta_rules/boom.yml:9: rule Test.boom / test 'alerts'",
        '*File "okta_rules/boom.py", line 2, in rule',
        "../policies/other.yml:9: rule Test.other / test 'alerts'",
    ])
    assert "../rules/" not in result.stdout.str()


def test_error_hidden_by_create_alert_false_says_why_the_test_failed(repo: DetectionRepo) -> None:
    # Okta.SSO.to.AWS (CreateAlert: false) with `def runbook(event): return 5`: the test fails
    # here (PAT only marks it [FAIL]), but the report said nothing beyond "rule() returned true".
    repo.rule("rb", "def rule(event):\n    return True\n\ndef runbook(event):\n    return 5\n", ONE_TRUE,
              extra="CreateAlert: false")
    result = repo.pytester.runpytest("-q")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "  actual:   rule() returned true",
        "  [[]FAIL[]] runbook: FunctionReturnTypeError: detection [[]Test.rb[]] function [[]runbook[]] "
        "returned [[]int[]], expected [[]str[]]",
    ])


def test_rule_raising_on_a_false_test_still_fails(repo: DetectionRepo) -> None:
    repo.rule("boom", "def rule(event):\n    raise ValueError('no')\n", ONE_FALSE)
    result = repo.pytester.runpytest("-q")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["  actual:   rule() raised ValueError: no"])


def test_aux_function_raising_only_on_the_true_test(repo: DetectionRepo) -> None:
    repo.rule("aux", """
def rule(event):
    return event.get("eventName") == "Bad"

def title(event):
    return event["user"]["name"]

def dedup(event):
    return 1 / 0

def alert_context(event):
    return {"ip": event["ip"]}
""", SIMPLE_TESTS)
    result = repo.pytester.runpytest("-q")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "  [[]FAIL[]] title: KeyError: 'user'",
        "  [[]FAIL[]] dedup: ZeroDivisionError: division by zero",
        "  [[]FAIL[]] alert_context: KeyError: 'ip'",
    ])


def test_return_types_are_strict(repo: DetectionRepo) -> None:
    repo.rule("types", "def rule(event):\n    return 1\n", ONE_TRUE)
    repo.rule("sev", "import datetime\ndef rule(event):\n    return True\n"
              "def severity(event):\n    return 'INFORMATIONAL'\n"
              "def alert_context(event):\n    return {'when': datetime.datetime(2024, 1, 1)}\n",
              ONE_TRUE, rule_id="Test.sev")
    result = repo.pytester.runpytest("-q")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines([
        "*[[]FAIL[]] rule: FunctionReturnTypeError: detection [[]Test.types[]] function [[]rule[]] returned [[]int[]], expected [[]bool[]]",
    ])
    result.stdout.fnmatch_lines(["*[[]FAIL[]] severity: AssertionError: Expected severity to be any of the following:*"])
    result.stdout.fnmatch_lines(["*[[]FAIL[]] alert_context: TypeError: object of type <class 'datetime.datetime'> is not JSON serializable"])


def test_unique_raising_fails_although_pat_would_not(repo: DetectionRepo) -> None:
    """PAT prints [FAIL] but does not fail the detection (semantics.md §5.5 (a)); we fail it."""
    repo.rule("uniq", "def rule(event):\n    return True\ndef unique(event):\n    raise KeyError('u')\n", ONE_TRUE)
    result = repo.pytester.runpytest("-q")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["  [[]FAIL[]] unique: KeyError: 'u'"])


def test_policy_gets_the_plain_dict_and_false_means_alert(repo: DetectionRepo) -> None:
    repo.policy("pol", """
def policy(resource):
    assert type(resource) is dict
    return resource["Encrypted"]

def title(resource):
    return resource["Name"]
""", """
        - Name: encrypted is compliant
          ExpectedResult: true
          Resource: {Name: a, Encrypted: true}
        - Name: plain alerts
          ExpectedResult: false
          Resource: {Name: b, Encrypted: false}
    """)
    repo.pytester.runpytest("-q").assert_outcomes(passed=2)


def test_data_model_chosen_by_p_log_type_and_not_for_scheduled_rules(repo: DetectionRepo) -> None:
    repo.write("data_models/dm.yml", """
        AnalysisType: datamodel
        DataModelID: Test.DM
        Filename: dm.py
        Enabled: true
        LogTypes: [Okta.SystemLog]
        Mappings:
          - Name: actor_user
            Path: $.actor.alternateId
          - Name: outcome
            Method: get_outcome
    """)
    repo.write("data_models/dm.py", "def get_outcome(event):\n    return event.deep_get('outcome', 'result')\n")
    python = "def rule(event):\n    return event.udm('actor_user') == 'a@b.c' and event.udm('outcome') == 'SUCCESS'\n"
    tests = """
        - Name: mapped
          ExpectedResult: true
          Log: {p_log_type: Okta.SystemLog, actor: {alternateId: a@b.c}, outcome: {result: SUCCESS}}
        - Name: other log type has no model
          ExpectedResult: false
          Log: {p_log_type: AWS.CloudTrail, actor: {alternateId: a@b.c}, outcome: {result: SUCCESS}}
    """
    repo.rule("udm", python, tests, log_types="[Okta.SystemLog]")
    repo.rule("sched", python, """
        - Name: scheduled rules never get a data model
          ExpectedResult: false
          Log: {p_log_type: Okta.SystemLog, actor: {alternateId: a@b.c}, outcome: {result: SUCCESS}}
    """, analysis_type="scheduled_rule", rule_id="Test.sched")
    repo.pytester.runpytest("-q").assert_outcomes(passed=3)


def test_mocks_are_real_magicmocks_patched_for_one_test(repo: DetectionRepo) -> None:
    repo.rule("mocked", """
import json
from unittest.mock import MagicMock

ALLOWED = ["x"]

def lookup(name):
    raise RuntimeError("would call an API")

def rule(event):
    allowed = json.loads(ALLOWED()) if isinstance(ALLOWED, MagicMock) else ALLOWED
    return lookup(event.get("user")) == "bad" and event.get("user") not in allowed
""", """
        - Name: mocked lookup
          ExpectedResult: true
          Mocks:
            - objectName: lookup
              returnValue: bad
            - objectName: ALLOWED
              returnValue: '["y"]'
          Log: {user: u}
        - Name: without mocks the real function runs
          ExpectedResult: false
          Log: {user: u}
    """)
    result = repo.pytester.runpytest("-q")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*actual:   rule() raised RuntimeError: would call an API"])


def test_mock_naming_a_missing_attribute(repo: DetectionRepo) -> None:
    repo.rule("nomock", SIMPLE_RULE, """
        - Name: mock typo
          ExpectedResult: true
          Mocks:
            - objectName: lookpu
              returnValue: x
          Log: {eventName: Bad}
    """)
    result = repo.pytester.runpytest("-q")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "rules/nomock.yml:9:1: Test.nomock / test 'mock typo': Mocks name 'lookpu', which the detection's module does not define*",
    ])


def test_log_null_and_string_expected_result(repo: DetectionRepo) -> None:
    repo.rule("bad_cases", SIMPLE_RULE, """
        - Name: null log
          ExpectedResult: true
          Log: null
        - Name: string expectation
          ExpectedResult: "true"
          Log: {eventName: Bad}
    """)
    result = repo.pytester.runpytest("-q")
    # Both are also spec problems: the ::validate item fails as well as the two test cases.
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines(["rules/bad_cases.yml:9:1: Test.bad_cases / test 'null log': the test's event is null*"])
    result.stdout.fnmatch_lines(["*ExpectedResult must be true or false, got 'true' (write `ExpectedResult: true` without quotes)"])


def test_import_error_fails_only_that_detection(repo: DetectionRepo) -> None:
    repo.rule("syntax", "def rule(event)\n    return True\n", ONE_TRUE)
    repo.rule("noimport", "import not_a_helper\ndef rule(event):\n    return True\n", ONE_TRUE, rule_id="Test.noimport")
    repo.rule("ok", SIMPLE_RULE, SIMPLE_TESTS, rule_id="Test.ok")
    result = repo.pytester.runpytest("-q")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(["*the detection's module could not be loaded: *syntax.py:1:*: syntax error: expected ':'"])
    result.stdout.fnmatch_lines([
        "*could not be loaded: no module named 'not_a_helper': neither Panther's runtime nor this repository "
        "provides it (a global helper needs GlobalID 'not_a_helper'; a package must be installed in this "
        "environment, e.g. `pip install <package>`, and listed in the repository's requirements)",
    ])
    assert "Traceback (most recent call last)" not in result.stdout.str()


def test_global_helper_imported_by_global_id_and_sys_state_restored(repo: DetectionRepo) -> None:
    repo.write("global_helpers/file_name_differs.py", "def is_bad(name):\n    return name == 'Bad'\n")
    repo.write("global_helpers/h.yml", "AnalysisType: global\nGlobalID: my_helper\nFilename: file_name_differs.py\n")
    repo.rule("uses", "from my_helper import is_bad\ndef rule(event):\n    return is_bad(event.get('eventName'))\n",
              SIMPLE_TESTS)
    repo.write("conftest.py", """
        import sys
        def pytest_sessionfinish(session):
            pass
        def pytest_unconfigure(config):
            from pytest_panther.engine.helpers import GlobalHelperFinder
            assert not any(isinstance(f, GlobalHelperFinder) for f in sys.meta_path)
            assert "my_helper" not in sys.modules
            print("STATE RESTORED")
    """)
    result = repo.pytester.runpytest_subprocess("-q", "-s")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*STATE RESTORED*"])


def test_module_state_shared_by_default_and_fresh_on_request(repo: DetectionRepo) -> None:
    repo.rule("state", "SEEN = []\ndef rule(event):\n    SEEN.append(1)\n    return len(SEEN) == 1\n", """
        - Name: first
          ExpectedResult: true
          Log: {a: 1}
        - Name: second sees the first
          ExpectedResult: false
          Log: {a: 1}
    """)
    repo.pytester.runpytest("-q").assert_outcomes(passed=2)
    result = repo.pytester.runpytest("-q", "--panther-fresh-module")
    result.assert_outcomes(passed=1, failed=1)


def test_expected_destinations(repo: DetectionRepo) -> None:
    repo.rule("dest", "def rule(event):\n    return True\ndef destinations(event):\n    return ['slack-sec']\n", """
        - Name: right destination
          ExpectedResult: true
          ExpectedDestinations: [slack-sec]
          Log: {a: 1}
        - Name: wrong destination
          ExpectedResult: true
          ExpectedDestinations: [pagerduty]
          Log: {a: 1}
    """)
    result = repo.pytester.runpytest("-q")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*[[]FAIL[]] destinations: expected*got*(ExpectedDestinations)"])


def test_network_access_fails_with_advice_to_mock(repo: DetectionRepo) -> None:
    repo.rule("net", "import socket\ndef rule(event):\n    socket.create_connection(('192.0.2.1', 443), timeout=1)\n    return True\n",
              ONE_TRUE)
    result = repo.pytester.runpytest("-q")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*rule() raised NetworkAccessError: detection tests cannot use the network*mock*Mocks:*"])


def test_invalid_spec_counts_as_failed_detection_in_summary(repo: DetectionRepo) -> None:
    repo.rule("sev", SIMPLE_RULE, SIMPLE_TESTS)
    path = repo.root / "rules/sev.yml"
    path.write_text(path.read_text().replace("Severity: High", "Severity: high"))
    result = repo.pytester.runpytest()
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([
        "rules/sev.yml:6:11: Severity: 'high' is not one of*",
        "detections: 0 passed, 1 failed, 0 skipped, 0 without tests; test cases run: 2; invalid specs: 1",
    ])
