"""A fork of panther-analysis is green on its first ``pytest`` (issue 10), with the exact inputs
of the newcomer trial (shared/reference/measured/newcomer-trial-2026-12.md, P1, P2, P9)."""
from __future__ import annotations

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
