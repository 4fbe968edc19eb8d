"""A fork of panther-analysis is green on its first ``pytest`` (issue 10), with the exact inputs
of the newcomer trial (shared/reference/measured/newcomer-trial-2026-12.md, P1, P2, P9)."""
from __future__ import annotations

import sys

import pytest
from pantherrepo import SIMPLE_RULE
from pantherrepo import SIMPLE_TESTS
from pantherrepo import DetectionRepo

AWS_HELPERS = '''
import boto3

def aws_rule_context(event):
    return {"eventName": event.get("eventName"), "client": type(boto3).__name__}
'''

HELPERS_UNITTEST = '''
import unittest

import panther_aws_helpers


class TestAws(unittest.TestCase):
    def test_context(self):
        self.assertEqual(panther_aws_helpers.aws_rule_context({"eventName": "x"})["eventName"], "x")
'''

USES_HELPER = '''
from panther_aws_helpers import aws_rule_context

def rule(event):
    return event.get("eventName") == "Bad"

def alert_context(event):
    return aws_rule_context(event)
'''


def _aws_helpers(repo: DetectionRepo, code: str = AWS_HELPERS) -> None:
    repo.write("global_helpers/panther_aws_helpers.py", code)
    repo.write("global_helpers/panther_aws_helpers.yml",
               "AnalysisType: global\nGlobalID: panther_aws_helpers\nFilename: panther_aws_helpers.py\n")
    repo.write("global_helpers/global_helpers_test.py", HELPERS_UNITTEST)


def test_panthers_runtime_libraries_import_with_the_package_alone(repo: DetectionRepo) -> None:
    # Item 1: global_helpers/panther_aws_helpers.py imports boto3; Panther's runtime has it, and
    # so do we without extras. jsonpath-ng, policyuniverse and requests likewise.
    _aws_helpers(repo)
    repo.rule("aws", USES_HELPER, SIMPLE_TESTS)
    repo.rule("libs", "import boto3\nimport jsonpath_ng\nimport policyuniverse\nimport requests\n" + SIMPLE_RULE,
              SIMPLE_TESTS, rule_id="Test.libs")
    repo.pytester.runpytest("-q", "-p", "no:cacheprovider").assert_outcomes(passed=5)


def test_a_package_nobody_provides_fails_its_detection_with_one_line(repo: DetectionRepo) -> None:
    repo.rule("needs", "import not_installed_anywhere\n" + SIMPLE_RULE, SIMPLE_TESTS)
    repo.rule("ok", SIMPLE_RULE, SIMPLE_TESTS, rule_id="Test.ok")
    result = repo.pytester.runpytest("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines([
        "*could not be loaded: no module named 'not_installed_anywhere': neither Panther's runtime nor this "
        "repository provides it (*`pip install <package>`, and listed in the repository's requirements)",
    ])


def test_a_helper_syntax_error_fails_only_its_importers_with_the_helpers_line(repo: DetectionRepo) -> None:
    # Item 2: the `:` removed from `def aws_rule_context(event)`, as in the trial. The unittest file
    # and the detection that import the helper fail naming its file:line; the rest runs.
    _aws_helpers(repo, AWS_HELPERS.replace("def aws_rule_context(event):", "def aws_rule_context(event)"))
    repo.rule("aws", USES_HELPER, SIMPLE_TESTS)
    repo.rule("other", SIMPLE_RULE, SIMPLE_TESTS, rule_id="Test.other")
    result = repo.pytester.runpytest("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=3)
    out = result.stdout.str()
    assert "Interrupted" not in out and "errors during collection" not in out
    result.stdout.fnmatch_lines([
        "global_helpers/global_helpers_test.py: could not be imported, so its tests did not run: "
        "*global_helpers/panther_aws_helpers.py:3:28: syntax error: expected ':'",
    ])
    result.stdout.fnmatch_lines(["*could not be loaded: *global_helpers/panther_aws_helpers.py:3:28: syntax error: expected ':'"])


@pytest.mark.parametrize("body", ["import not_installed_anywhere\n", "raise RuntimeError('boom')\n", "def broken(:\n"])
def test_a_test_file_that_does_not_import_is_an_error_on_that_file_only(repo: DetectionRepo, body: str) -> None:
    repo.rule("ok", SIMPLE_RULE, SIMPLE_TESTS)
    repo.write("data_models/data_models_test.py", body + "def test_x():\n    pass\n")
    repo.write("global_helpers/fine_test.py", "def test_fine():\n    assert 1 + 1 == 2\n")
    result = repo.pytester.runpytest("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["data_models/data_models_test.py: could not be imported, so its tests did not run: *"])


def test_a_test_file_importing_pat_itself_is_skipped_with_the_reason(repo: DetectionRepo) -> None:
    repo.rule("ok", SIMPLE_RULE, SIMPLE_TESTS)
    repo.write("data_models/data_models_test.py", "import panther_analysis_tool.main\n")
    result = repo.pytester.runpytest("-q", "-rs", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, skipped=1)
    result.stdout.fnmatch_lines(["*data_models_test.py imports panther_analysis_tool, which is not installed"])


AWS_PACK = """
AnalysisType: pack
PackID: PantherManaged.AWS
DisplayName: AWS pack
PackDefinition:
  IDs:
    - Test.bad
    - AWS.EC2.Instance.DetailedMonitoring
    - AWS.EC2.Instance.DetailedMonitoring
"""


def test_a_duplicate_pack_id_is_a_warning_and_strict_mode_fails_it(repo: DetectionRepo) -> None:
    # Item 3: panther-analysis packs/aws.yml lists one ID twice; PAT and Panther accept it.
    repo.rule("bad", SIMPLE_RULE, SIMPLE_TESTS)
    repo.rule("monitoring", SIMPLE_RULE, SIMPLE_TESTS, rule_id="AWS.EC2.Instance.DetailedMonitoring")
    repo.write("packs/aws.yml", AWS_PACK)
    result = repo.pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=4, warnings=1)
    out = result.stdout.str()
    assert "warnings summary" in out
    assert ("  packs/aws.yml:8: PantherSpecWarning: packs/aws.yml:8:7: PackDefinition.IDs[2]: duplicate value "
            "'AWS.EC2.Instance.DetailedMonitoring' (same as PackDefinition.IDs[1] 'AWS.EC2.Instance.DetailedMonitoring'"
            " on line 7) (Panther accepts this; strict mode fails it: --panther-strict, ini panther_strict)\n") in out
    strict = repo.pytester.runpytest("-p", "no:cacheprovider", "--panther-strict")
    strict.assert_outcomes(passed=4, failed=1)
    strict.stdout.fnmatch_lines(["FAILED packs/aws.yml::validate*"])
    repo.pytester.makeini("[pytest]\npanther_strict = true\n")
    repo.pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=4, failed=1)


def test_a_misspelled_log_type_fails_with_did_you_mean(repo: DetectionRepo) -> None:
    # Item 8: Panther does not deploy a rule whose log type it does not know.
    repo.rule("typo", SIMPLE_RULE, SIMPLE_TESTS, log_types="[Okta.SystemLogs]")
    repo.rule("ok", SIMPLE_RULE, SIMPLE_TESTS, rule_id="Test.ok")
    result = repo.pytester.runpytest("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4, failed=1)
    result.stdout.fnmatch_lines([
        "rules/typo.yml:5:12: LogTypes[0]: 'Okta.SystemLogs' is not a Panther log type (did you mean "
        "'Okta.SystemLog'? or a type of your own or one newer than pytest-panther's catalogue: add it to the ini "
        "setting panther_log_types)",
    ])


def test_a_misspelled_test_log_type_is_a_warning_with_did_you_mean(repo: DetectionRepo) -> None:
    repo.rule("legacy", SIMPLE_RULE, SIMPLE_TESTS.replace("  ExpectedResult: false", "  LogType: AWS.CloudTrial\n  ExpectedResult: false"))
    result = repo.pytester.runpytest("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, warnings=1)
    assert ("rules/legacy.yml:13:14: Tests[1].LogType: 'AWS.CloudTrial' is not one of the rule's LogTypes "
            "(AWS.CloudTrail), and not a Panther log type (did you mean 'AWS.CloudTrail'?) (Panther accepts this"
            ) in result.stdout.str()


def test_custom_and_declared_log_types_are_accepted(repo: DetectionRepo) -> None:
    repo.rule("custom", SIMPLE_RULE, SIMPLE_TESTS, log_types="[Custom.Acme.Audit, Acme.Firewall]")
    result = repo.pytester.runpytest("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)
    assert "rules/custom.yml:5:31: LogTypes[1]: 'Acme.Firewall' is not a Panther log type" in result.stdout.str()
    repo.pytester.makeini("[pytest]\npanther_log_types =\n    Acme.Firewall\n")
    repo.pytester.runpytest("-q", "-p", "no:cacheprovider").assert_outcomes(passed=2)


SIDECAR_RULE = "import sidecar\n\ndef rule(event):\n    return sidecar.is_bad(event)\n"
SIDECAR = "def is_bad(event):\n    return event.get('eventName') == 'Bad'\n"
SIDECAR_TEST = "import sidecar\n\ndef test_sidecar():\n    assert sidecar.is_bad({'eventName': 'Bad'})\n"
NOT_PROVIDED = "no module named 'sidecar': neither Panther's runtime nor this repository provides it"


@pytest.mark.parametrize("import_mode", ["prepend", "importlib"])
@pytest.mark.parametrize("neighbour", ["none", "test file next to the rule", "test file importing it"])
def test_a_detection_never_imports_from_its_own_folder(repo: DetectionRepo, import_mode: str, neighbour: str) -> None:
    # Item 5: `import sidecar` next to the rule fails in Panther (and PAT), whatever other test
    # files pytest imported or put on sys.path.
    repo.rule("uses_sidecar", SIDECAR_RULE, SIMPLE_TESTS)
    repo.write("rules/sidecar.py", SIDECAR)
    if neighbour == "test file next to the rule":
        repo.write("rules/other_test.py", "def test_other():\n    assert True\n")
    elif neighbour == "test file importing it":
        repo.write("rules/sidecar_test.py", SIDECAR_TEST)
    result = repo.pytester.runpytest("-q", "-rf", "-p", "no:cacheprovider", f"--import-mode={import_mode}", "rules")
    failed = [line for line in result.outlines if line.startswith("FAILED rules/uses_sidecar.yml::")]
    assert len(failed) == 2, result.stdout.str()
    assert NOT_PROVIDED in result.stdout.str()


def test_python_m_pytest_does_not_leak_the_current_directory(repo: DetectionRepo) -> None:
    repo.rule("uses_sidecar", SIDECAR_RULE, SIMPLE_TESTS)
    repo.write("sidecar.py", SIDECAR)
    repo.write("rules/sidecar.py", SIDECAR)
    repo.write("rules/other_test.py", "def test_other():\n    assert True\n")
    result = repo.pytester.run(sys.executable, "-m", "pytest", "-q", "-rf", "-p", "no:cacheprovider")
    failed = [line for line in result.outlines if line.startswith("FAILED rules/uses_sidecar.yml::")]
    assert len(failed) == 2, result.stdout.str()
    assert NOT_PROVIDED in result.stdout.str()


def test_a_global_helper_with_the_same_file_as_a_test_import_still_imports(repo: DetectionRepo) -> None:
    # The helper's unittest file puts global_helpers/ on sys.path (prepend mode) and imports it
    # by file name; the detection imports it by GlobalID: both work, as in panther-analysis.
    _aws_helpers(repo)
    repo.rule("aws", USES_HELPER, SIMPLE_TESTS)
    repo.pytester.runpytest("-q", "-p", "no:cacheprovider", "--import-mode=prepend").assert_outcomes(passed=3)
