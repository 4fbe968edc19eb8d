"""Collection: one item per test case, stable node ids, unrelated YAML ignored, duplicates."""
from __future__ import annotations

import pytest
from pantherrepo import SIMPLE_RULE
from pantherrepo import SIMPLE_TESTS
from pantherrepo import DetectionRepo


def test_each_test_case_is_an_item_with_detection_id_and_name(repo: DetectionRepo) -> None:
    repo.rule("bad", SIMPLE_RULE, SIMPLE_TESTS)
    result = repo.pytester.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines([
        "rules/bad.yml::Test.bad::bad event alerts",
        "rules/bad.yml::Test.bad::good event is quiet",
        "2 tests collected*",
    ])


def test_node_ids_select_one_case(repo: DetectionRepo) -> None:
    repo.rule("bad", SIMPLE_RULE, SIMPLE_TESTS)
    result = repo.pytester.runpytest("rules/bad.yml::Test.bad::good event is quiet", "-q")
    result.assert_outcomes(passed=1)


def test_a_detections_python_file_as_the_path_runs_its_test_cases(repo: DetectionRepo) -> None:
    # User trial: `pytest rules/okta_rules/okta_admin_disabled_mfa.py` collected nothing (rc 5).
    repo.rule("bad", SIMPLE_RULE, SIMPLE_TESTS)
    repo.rule("other", SIMPLE_RULE, SIMPLE_TESTS)
    result = repo.pytester.runpytest("rules/bad.py", "-v", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["rules/bad.yml::Test.bad::bad event alerts PASSED*"])
    assert "Test.other" not in result.stdout.str()
    # A Python file that is no detection's stays a pytest test module.
    repo.write("rules/test_plain.py", "def test_x():\n    assert True\n")
    plain = repo.pytester.runpytest("rules/test_plain.py", "-q", "-p", "no:cacheprovider")
    plain.assert_outcomes(passed=1)


def test_unrelated_yaml_is_never_an_error(repo: DetectionRepo) -> None:
    repo.rule("bad", SIMPLE_RULE, SIMPLE_TESTS)
    repo.write(".github/workflows/ci.yml", "on: [push]\njobs: {a: {runs-on: x}}\n")
    repo.write("templates/example_rule.yml", "AnalysisType: rule\nRuleID: <YOUR ID>\nFilename: {{name}}.py\n")
    repo.write("rules/fixtures/sample.yml", "just: data\nno: analysis type\n")
    repo.write("ci/broken.yml", "a: [1, 2\n")
    result = repo.pytester.runpytest("-q")
    result.assert_outcomes(passed=2)


def test_duplicate_test_names_are_an_error_item_not_merged(repo: DetectionRepo) -> None:
    repo.rule("dup", SIMPLE_RULE, """
        - Name: same
          ExpectedResult: true
          Log: {eventName: Bad}
        - Name: same
          ExpectedResult: false
          Log: {eventName: Good}
    """)
    result = repo.pytester.runpytest("-q")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["rules/dup.yml:12:1: duplicate test name 'same' (first used on line 9*"])


@pytest.mark.parametrize("name", ["Other [x]", "Other a::b user"])
def test_last_failed_reruns_only_a_failed_case_with_brackets_or_colons_in_its_name(
    repo: DetectionRepo, name: str
) -> None:
    # pytest 9 parses cached ids: "Other [x]" became name "Other " + params "x" and never
    # matched its item, so `pytest --lf` reran every test.
    repo.rule("lf", SIMPLE_RULE, f"""
        - Name: "{name}"
          ExpectedResult: false
          Log: {{eventName: Bad}}
        - Name: passes
          ExpectedResult: true
          Log: {{eventName: Bad}}
    """)
    repo.rule("other", SIMPLE_RULE, SIMPLE_TESTS)
    repo.pytester.runpytest("-q").assert_outcomes(passed=3, failed=1)
    result = repo.pytester.runpytest("-q", "--lf")
    result.assert_outcomes(failed=1, deselected=3)
    assert f"FAILED rules/lf.yml::Test.lf::{name} - rules/lf.yml:9:" in result.stdout.str()


def test_last_failed_reruns_only_a_minimum_tests_item(repo: DetectionRepo) -> None:
    repo.rule("few", SIMPLE_RULE, "- Name: only\n  ExpectedResult: true\n  Log: {eventName: Bad}\n")
    repo.rule("other", SIMPLE_RULE, SIMPLE_TESTS)
    repo.pytester.runpytest("-q", "--panther-minimum-tests", "2").assert_outcomes(passed=3, failed=1)
    result = repo.pytester.runpytest("-q", "--panther-minimum-tests", "2", "--lf")
    result.assert_outcomes(failed=1, deselected=3)


def test_xdist_collects_the_same_items(repo: DetectionRepo) -> None:
    pytest.importorskip("xdist")
    repo.rule("bad", SIMPLE_RULE, SIMPLE_TESTS)
    repo.rule("other", SIMPLE_RULE, SIMPLE_TESTS, rule_id="Test.Other")
    plain = repo.pytester.runpytest("--collect-only", "-q", "-n", "0")
    parallel = repo.pytester.runpytest_subprocess("-n", "2", "-q", "-rA")
    parallel.assert_outcomes(passed=4)
    ids = sorted(line for line in plain.outlines if "::" in line)
    ran = sorted(line.split(" ", 1)[1] for line in parallel.outlines if line.startswith("PASSED "))
    assert ids == ran


def test_panther_paths_ini_chooses_the_folders(repo: DetectionRepo) -> None:
    repo.rule("bad", SIMPLE_RULE, SIMPLE_TESTS, folder="detections")
    assert repo.pytester.runpytest("-q").ret == pytest.ExitCode.NO_TESTS_COLLECTED
    repo.pytester.makeini("[pytest]\npanther_paths = detections\n")
    repo.pytester.runpytest("-q").assert_outcomes(passed=2)


def test_nested_folders_are_collected_where_pat_finds_them(repo: DetectionRepo) -> None:
    # PAT's default `pat test` reads every folder whose path matches *rules*, *policies*, ...
    # at any depth (issue 10): team_content/aws_policies/ is tested, team_content/ itself is not.
    repo.rule("nested", SIMPLE_RULE, SIMPLE_TESTS, folder="team_content/aws_policies")
    repo.rule("stray", SIMPLE_RULE, SIMPLE_TESTS, folder="team_content", rule_id="Test.stray")
    repo.rule("in_venv", SIMPLE_RULE, SIMPLE_TESTS, folder="venv/lib/rules", rule_id="Test.venv")
    repo.write("venv/pyvenv.cfg", "home = /usr/bin\n")
    result = repo.pytester.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(["team_content/aws_policies/nested.yml::Test.nested::bad event alerts"])
    assert "stray" not in result.stdout.str() and "venv" not in result.stdout.str()
    repo.pytester.runpytest("-q").assert_outcomes(passed=2)


def test_specs_with_tests_outside_panther_paths_are_named_in_the_summary(repo: DetectionRepo) -> None:
    repo.rule("kept", SIMPLE_RULE, SIMPLE_TESTS, rule_id="Test.kept")
    repo.rule("nested", SIMPLE_RULE, SIMPLE_TESTS, folder="team_content/aws_policies")
    repo.pytester.makeini("[pytest]\npanther_paths = rules\n")
    result = repo.pytester.runpytest()
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines([
        "*not collected (outside panther_paths): 1",
        "not collected (outside panther_paths; PAT's `pat test` would test them): team_content/aws_policies/nested.yml",
    ])


def test_markers_allow_m_selection(repo: DetectionRepo) -> None:
    repo.rule("bad", SIMPLE_RULE, SIMPLE_TESTS, extra="Tags: [Initial Access]")
    repo.policy("pol", "def policy(resource):\n    return True\n", """
        - Name: ok
          ExpectedResult: true
          Resource: {Name: b}
    """)
    repo.pytester.runpytest("-q", "-m", "policy").assert_outcomes(passed=1)
    repo.pytester.runpytest("-q", "-m", "severity_high and rule").assert_outcomes(passed=2)
    repo.pytester.runpytest("-q", "-m", "log_type(name='AWS.CloudTrail')").assert_outcomes(passed=2)
    repo.pytester.runpytest("-q", "-m", "tag(name='Initial Access')").assert_outcomes(passed=2)
    repo.pytester.runpytest("-q", "-m", "log_type(name='AWS.S3.Bucket')").assert_outcomes(passed=1)
    repo.pytester.runpytest("-q", "-k", "Test.bad and alerts").assert_outcomes(passed=1)


def test_junit_has_one_testcase_per_case(repo: DetectionRepo) -> None:
    repo.rule("bad", SIMPLE_RULE, SIMPLE_TESTS)
    repo.pytester.runpytest("-q", "--junitxml=out.xml").assert_outcomes(passed=2)
    xml = (repo.root / "out.xml").read_text()
    assert xml.count("<testcase ") == 2
    assert 'name="bad event alerts"' in xml


def test_global_helper_unittest_files_import_helpers_by_global_id(repo: DetectionRepo) -> None:
    repo.write("global_helpers/my_helpers.py", "def double(x):\n    return 2 * x\n")
    repo.write("global_helpers/my_helpers.yml", "AnalysisType: global\nGlobalID: my_helpers\nFilename: my_helpers.py\n")
    repo.write("global_helpers/my_helpers_test.py",
               "import unittest\nimport my_helpers\n\nclass T(unittest.TestCase):\n"
               "    def test_double(self):\n        self.assertEqual(my_helpers.double(2), 4)\n")
    repo.pytester.runpytest("-q").assert_outcomes(passed=1)


def test_override_problems_fail_a_validate_item(repo: DetectionRepo) -> None:
    repo.rule("bad", SIMPLE_RULE, SIMPLE_TESTS)
    repo.write("overrides/Test.bad.yml", "Severity: Critical\nTags: [Team]\n")
    repo.write("overrides/Test.gone.yml", "Severity: Low\n")
    result = repo.pytester.runpytest("-q")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["overrides/Test.gone.yml:1:1: *Test.gone*"])


def test_bad_upstream_table_in_pyproject_is_reported(repo: DetectionRepo) -> None:
    repo.rule("bad", SIMPLE_RULE, SIMPLE_TESTS)
    repo.write("pyproject.toml", "[tool.pytest-panther.upstream]\nsurprise = 1\n")
    result = repo.pytester.runpytest("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["pyproject.toml:1:1: *unknown key(s) surprise*"])


def test_a_test_case_added_by_an_override_is_reported_at_the_override_line(repo: DetectionRepo) -> None:
    repo.rule("bad", SIMPLE_RULE, SIMPLE_TESTS)
    repo.write("overrides/Test.bad.yml", """
        Tests:
          add:
            - Name: team case that fails
              ExpectedResult: true
              Log: {eventName: Good}
    """)
    result = repo.pytester.runpytest("-q")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["overrides/Test.bad.yml:3: rule Test.bad / test 'team case that fails'"])
