"""What an alert would carry, shown as PAT shows it for every alerting test (issue 10.6): ``-v``,
``-rA`` and JUnit properties; every test case in JUnit carries its spec file and line."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from pantherrepo import DetectionRepo

#: The shape of rules/okta_rules/okta_admin_disabled_mfa (panther-analysis daa10c88).
OKTA_PY = """
def rule(event):
    return event.get("eventType") == "system.mfa.factor.deactivate"

def title(event):
    return f"Okta System-wide MFA Disabled by Admin User {event.deep_get('actor', 'alternateId')}"

def severity(event):
    return "HIGH"

def alert_context(event):
    return {"actor": event.deep_get("actor", "alternateId"), "notes": "n" * 300}

def destinations(event):
    return ["security-slack"]
"""
OKTA_TESTS = """
- Name: MFA Disabled
  ExpectedResult: true
  Log: {eventType: system.mfa.factor.deactivate, actor: {alternateId: homer@springfield.gov}}
- Name: Login Event
  ExpectedResult: false
  Log: {eventType: user.session.start}
"""
TITLE = "title: Okta System-wide MFA Disabled by Admin User homer@springfield.gov"


@pytest.fixture
def okta(repo: DetectionRepo) -> DetectionRepo:
    repo.rule("okta_admin_disabled_mfa", OKTA_PY, OKTA_TESTS, rule_id="Okta.Global.MFA.Disabled")
    return repo


def test_verbose_shows_the_alert_fields_under_the_passed_line(okta: DetectionRepo) -> None:
    args = ("-p", "no:cacheprovider", "--panther-available-destination", "security-slack")
    result = okta.pytester.runpytest("-v", *args)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines([
        "*okta_admin_disabled_mfa.yml::Okta.Global.MFA.Disabled::MFA Disabled PASSED*",
        f"    {TITLE}",
        f"    dedup: {TITLE.removeprefix('title: ')}",  # no dedup(): Panther dedups on the title
        '    alert_context: {"actor": "homer@springfield.gov", "notes": "nnn*…',  # cut to the terminal width
        "    severity: HIGH",
        '    destinations: ["destination-0"]',
        "*okta_admin_disabled_mfa.yml::Okta.Global.MFA.Disabled::Login Event PASSED*",
    ])
    whole = okta.pytester.runpytest("-vv", *args)
    assert '    alert_context: {"actor": "homer@springfield.gov", "notes": "' + "n" * 300 + '"}' in whole.outlines
    quiet = okta.pytester.runpytest(*args)
    assert TITLE not in quiet.stdout.str()


def test_report_chars_a_show_the_alert_fields_among_the_passes(okta: DetectionRepo) -> None:
    result = okta.pytester.runpytest("-rA", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*Okta.Global.MFA.Disabled: MFA Disabled*", "*panther alert*", TITLE, "severity: HIGH"])


def test_junit_has_the_alert_fields_and_every_case_its_spec_file_and_line(okta: DetectionRepo) -> None:
    okta.rule("broken", "def rule(event):\n    return True\n", "- Name: wrong\n  ExpectedResult: false\n  Log: {}\n")
    okta.pytester.runpytest("-p", "no:cacheprovider", "--junitxml=junit.xml")
    cases = {c.get("name"): c for c in ET.parse(okta.root / "junit.xml").iter("testcase")}
    props = {name: dict((p.get("name"), p.get("value")) for p in case.iter("property")) for name, case in cases.items()}
    assert props["MFA Disabled"]["panther_file"] == "rules/okta_admin_disabled_mfa.yml"
    assert props["MFA Disabled"]["panther_line"] == "9"  # the line of `- Name: MFA Disabled`
    assert props["MFA Disabled"]["panther_alert_title"] == TITLE.removeprefix("title: ")
    assert props["MFA Disabled"]["panther_alert_severity"] == "HIGH"
    assert props["MFA Disabled"]["panther_alert_alert_context"].startswith('{"actor": "homer@springfield.gov"')
    assert props["Login Event"] == {"panther_detection": "Okta.Global.MFA.Disabled",
                                    "panther_file": "rules/okta_admin_disabled_mfa.yml", "panther_line": "12"}
    assert props["wrong"]["panther_file"] == "rules/broken.yml" and props["wrong"]["panther_line"] == "9"  # as its failure report says
    assert cases["wrong"].find("failure") is not None


def test_a_policy_alerts_when_it_returns_false(repo: DetectionRepo) -> None:
    repo.policy("versioning", """
def policy(resource):
    return resource.get("Versioning") == "Enabled"

def title(resource):
    return f"Bucket {resource.get('Name')} has no versioning"
""", """
- Name: unversioned bucket
  ExpectedResult: false
  Resource: {Name: logs, Versioning: Suspended}
- Name: versioned bucket
  ExpectedResult: true
  Resource: {Name: data, Versioning: Enabled}
""")
    result = repo.pytester.runpytest("-v", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*::unversioned bucket PASSED*", "    title: Bucket logs has no versioning",
                                 "*::versioned bucket PASSED*"])
    assert "Bucket data" not in result.stdout.str()
