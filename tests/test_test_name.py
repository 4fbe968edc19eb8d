"""``--panther-test-name``: select test cases by their exact name, spaces included (issue 10.7)."""
from __future__ import annotations

from pantherrepo import SIMPLE_RULE
from pantherrepo import DetectionRepo

#: The shape of panther-analysis's names (rules/okta_rules/okta_admin_disabled_mfa.yml).
OKTA_TESTS = """
- Name: MFA Disabled
  ExpectedResult: true
  Log: {eventName: Bad}
- Name: Login Event
  ExpectedResult: false
  Log: {eventName: Good}
"""


def test_a_name_with_spaces_selects_exactly_that_case(repo: DetectionRepo) -> None:
    repo.rule("okta_admin_disabled_mfa", SIMPLE_RULE, OKTA_TESTS, rule_id="Okta.Global.MFA.Disabled")
    repo.rule("other", SIMPLE_RULE, OKTA_TESTS, rule_id="Other.Rule")
    result = repo.pytester.runpytest("-v", "--panther-test-name", "Login Event", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, deselected=2)
    result.stdout.fnmatch_lines([
        "*okta_admin_disabled_mfa.yml::Okta.Global.MFA.Disabled::Login Event PASSED*",
        "*other.yml::Other.Rule::Login Event PASSED*",
    ])
    # With a detection ID from -k, as `pat test --filter RuleID=... --test-names ...` does.
    one = repo.pytester.runpytest("-q", "-k", "Okta", "--panther-test-name", "Login Event",
                                  "--panther-test-name", "MFA Disabled", "-p", "no:cacheprovider")
    one.assert_outcomes(passed=2, deselected=2)


def test_k_with_a_name_with_spaces_is_what_the_option_replaces(repo: DetectionRepo) -> None:
    repo.rule("okta_admin_disabled_mfa", SIMPLE_RULE, OKTA_TESTS, rule_id="Okta.Global.MFA.Disabled")
    result = repo.pytester.runpytest("-q", "-k", "Okta.Global.MFA.Disabled and Login Event")
    assert result.ret == 4  # pytest's -k grammar rejects it (the newcomer trial's P7)


def test_a_name_no_case_has_is_a_warning_with_a_suggestion(repo: DetectionRepo) -> None:
    repo.rule("okta_admin_disabled_mfa", SIMPLE_RULE, OKTA_TESTS, rule_id="Okta.Global.MFA.Disabled")
    result = repo.pytester.runpytest("-q", "--panther-test-name", "Login event", "-p", "no:cacheprovider")
    assert result.ret == 5  # nothing selected
    result.stdout.fnmatch_lines([
        "*PytestWarning: --panther-test-name 'Login event': no collected test case has this name "
        "(did you mean 'Login Event'?)",
    ])
    # Located at the option the user typed, not at a line of the installed plugin (user trial).
    assert "selection.py" not in result.stdout.str()
    result.stdout.fnmatch_lines(["--panther-test-name:0"])


def test_validation_problems_of_the_chosen_spec_still_run(repo: DetectionRepo) -> None:
    repo.rule("okta_admin_disabled_mfa", SIMPLE_RULE, OKTA_TESTS, rule_id="Okta.Global.MFA.Disabled",
              extra="Severtiy: High")
    result = repo.pytester.runpytest("-q", "--panther-test-name", "Login Event", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1, deselected=1)
    result.stdout.fnmatch_lines(["*unknown key 'Severtiy'*"])
