"""The issue 12 trial on synthetic upstream releases (original content, not panther-analysis):
a fork customised in the eight usual ways, and three upstream releases that change the
customised, the deleted and the pack files.

Customisations (made in place first, as a team does, then ``migrate-edits``):

1. three severities raised (Up.Sev.A/B/C), 2. a test case added (Up.Test.D), 3. a rule disabled
(Up.Noisy.E), 4. an allow-list added to a rule's Python (Up.Lambda.F), 5. a function added to a
global helper (up_helpers), 6. three own rules (Acme.Own.1-3), 7. an upstream rule deleted
(Up.Gone.G, ``git rm``), 8. a pack changed (Up.Core: adds Up.Extra.X, drops Up.Core.Drop).

Upstream releases: v2 changes F's Python on the allow-list's lines (a real conflict), G, the
pack, A's description; v3 appends a function to the helper (a real conflict), changes G's
code, F's code on other lines (merged by git), B's severity, the pack; v4 marks F ``Status: Experimental``, changes
G, E, the helper's first function and the pack (which drops F, as panther-analysis drops its
Experimental detections from packs).
"""
from __future__ import annotations

from pathlib import Path

from upstream_repos import commit
from upstream_repos import git
from upstream_repos import pack
from upstream_repos import release


def rule(ident: str, *, severity: str = "Medium", description: str = "An upstream rule.", event: str = "Ping",
         tests: str = "", status: str = "", filename: str = "") -> str:
    name = filename or ident.lower().replace(".", "_") + ".py"
    return (
        f"AnalysisType: rule\nFilename: {name}\nRuleID: {ident}\nEnabled: true\nLogTypes:\n  - AWS.CloudTrail\n"
        f"Severity: {severity}\nDescription: {description}\n" + (f"Status: {status}\n" if status else "")
        + f"Tests:\n  - Name: {event} alerts\n    ExpectedResult: true\n    Log:\n      eventName: {event}\n"
        + f"  - Name: other events do not\n    ExpectedResult: false\n    Log:\n      eventName: Other\n{tests}"
    )


def code(event: str, extra: str = "") -> str:
    return f'{extra}def rule(event):\n    return event.get("eventName") == "{event}"\n'


HELPER_YML = "AnalysisType: global\nGlobalID: up_helpers\nFilename: up_helpers.py\nDescription: Shared helpers.\n"
HELPER_V1 = 'def is_failure(event):\n    return event.get("outcome") == "FAILURE"\n'
HELPER_V3 = HELPER_V1 + '\n\ndef is_root(event):\n    return event.get("userIdentity", {}).get("type") == "Root"\n'
HELPER_V4 = HELPER_V3.replace('return event.get("outcome") == "FAILURE"', 'return str(event.get("outcome", "")).upper() == "FAILURE"')
OUR_HELPER = '\n\ndef is_acme_user(event):\n    return str(event.get("user", "")).endswith("@acme.example")\n'

F_V1 = (
    "def rule(event):\n"
    '    if event.get("eventName") != "UpdateFunctionCode":\n'
    "        return False\n"
    "    return True\n"
)
F_FORK = (
    'ALLOWED_DEPLOYERS = {"ci-deployer"}\n\n\n'
    "def rule(event):\n"
    '    if event.get("eventName") != "UpdateFunctionCode":\n'
    "        return False\n"
    '    return event.get("user") not in ALLOWED_DEPLOYERS\n'
)
F_V2 = F_V1.replace("    return True\n", '    return not event.get("readOnly", False)\n')
F_V3 = F_V2.replace('!= "UpdateFunctionCode"', 'not in ("UpdateFunctionCode", "UpdateFunctionCode20150331v2")')
F_RESOLVED_V2 = F_FORK.replace(
    '    return event.get("user") not in ALLOWED_DEPLOYERS\n',
    '    return not event.get("readOnly", False) and event.get("user") not in ALLOWED_DEPLOYERS\n',
)


def f_yml(status: str = "", read_only_test: bool = True) -> str:
    return rule("Up.Lambda.F", event="UpdateFunctionCode", status=status, filename="up_lambda_f.py", tests=(
        "  - Name: read-only change does not\n    ExpectedResult: false\n    Log:\n      eventName: UpdateFunctionCode\n      readOnly: true\n"
    ) if read_only_test else "")


def core_pack(*extra: str, without: str = "") -> str:
    ids = ["Up.Sev.A", "Up.Sev.B", "Up.Sev.C", "Up.Test.D", "Up.Noisy.E", "Up.Lambda.F", "Up.Gone.G", "Up.Core.Drop", "up_helpers"]
    return pack("Up.Core", [i for i in ids if i != without] + list(extra))


def _rule_files(ident: str, **kwargs: str) -> dict[str, str | None]:
    base = f"rules/up/{ident.lower().replace('.', '_')}"
    return {f"{base}.yml": rule(ident, **kwargs), f"{base}.py": code(kwargs.get("event", "Ping"))}


V1: dict[str, str | None] = {
    "global_helpers/up_helpers.yml": HELPER_YML,
    "global_helpers/up_helpers.py": HELPER_V1,
    **_rule_files("Up.Sev.A", event="StopLogging"),
    **_rule_files("Up.Sev.B", event="DeleteTrail"),
    **_rule_files("Up.Sev.C", event="PutBucketPolicy"),
    **_rule_files("Up.Test.D", event="CreateUser"),
    **_rule_files("Up.Noisy.E", event="ConsoleLogin", severity="Low"),
    **_rule_files("Up.Gone.G", event="GetObject", severity="Low"),
    **_rule_files("Up.Core.Drop", event="ListBuckets", severity="Info"),
    **_rule_files("Up.Extra.X", event="CreateKeyPair"),
    "rules/up/up_lambda_f.yml": f_yml(read_only_test=False),
    "rules/up/up_lambda_f.py": F_V1,
    "packs/core.yml": core_pack(),
    "packs/extra.yml": pack("Up.Extra", ["Up.Extra.X"]),
}
V2: dict[str, str | None] = {
    "rules/up/up_lambda_f.py": F_V2,
    "rules/up/up_lambda_f.yml": f_yml(),
    "rules/up/up_gone_g.yml": rule("Up.Gone.G", event="GetObject", severity="Medium"),
    "rules/up/up_sev_a.yml": rule("Up.Sev.A", event="StopLogging", description="CloudTrail logging stopped (v2)."),
    **_rule_files("Up.New.H", event="DeleteBucket"),
    "packs/core.yml": core_pack("Up.New.H"),
}
V3: dict[str, str | None] = {
    "global_helpers/up_helpers.py": HELPER_V3,
    "rules/up/up_gone_g.py": code("GetObject", "# v3: still noisy\n"),
    "rules/up/up_lambda_f.py": F_V3,
    "rules/up/up_sev_b.yml": rule("Up.Sev.B", event="DeleteTrail", severity="High"),
    **_rule_files("Up.New.I", event="DeleteDetector"),
    "packs/core.yml": core_pack("Up.New.H", "Up.New.I"),
}
V4: dict[str, str | None] = {
    "rules/up/up_lambda_f.yml": f_yml("Experimental"),
    "rules/up/up_gone_g.yml": rule("Up.Gone.G", event="GetObject", severity="High"),
    "rules/up/up_noisy_e.yml": rule("Up.Noisy.E", event="ConsoleLogin", severity="Low", description="Console logins (v4)."),
    "global_helpers/up_helpers.py": HELPER_V4,
    **_rule_files("Up.New.K", event="DisableKey"),
    "packs/core.yml": core_pack("Up.New.H", "Up.New.I", "Up.New.K", without="Up.Lambda.F"),
}
RELEASES = (V1, V2, V3, V4)


def own_rule(number: int) -> dict[str, str | None]:
    ident = f"Acme.Own.{number}"
    yml = rule(ident, event="AssumeRole", filename=f"own_{number}.py", severity="High").replace("Log:\n      eventName: AssumeRole\n", "Log:\n      eventName: AssumeRole\n      user: bob@acme.example\n")
    py = f'from up_helpers import is_acme_user\n\n\ndef rule(event):\n    return event.get("eventName") == "AssumeRole" and is_acme_user(event)  # {number}\n'
    return {f"rules/acme/own_{number}.yml": yml, f"rules/acme/own_{number}.py": py}


def make_scenario_upstream(root: Path, upto: int) -> None:
    have = set(git(root, "tag", "--list").split())
    for number, files in enumerate(RELEASES, start=1):
        if number <= upto and f"v{number}.0.0" not in have:
            release(root, f"v{number}.0.0", files)


def customise(fork: Path) -> None:
    """The eight customisations, in place, one commit each (as the trial's team made them)."""
    def edit(path: str, old: str, new: str) -> dict[str, str | None]:
        text = (fork / path).read_text()
        assert old in text, (path, old)
        return {path: text.replace(old, new)}

    commit(fork, "Raise three severities", {
        **edit("rules/up/up_sev_a.yml", "Severity: Medium", "Severity: Critical"),
        **edit("rules/up/up_sev_b.yml", "Severity: Medium", "Severity: Critical"),
        **edit("rules/up/up_sev_c.yml", "Severity: Medium", "Severity: High"),
    })
    text = (fork / "rules/up/up_test_d.yml").read_text()
    commit(fork, "A test case from our environment", {"rules/up/up_test_d.yml": text + (
        "  - Name: our automation user\n    ExpectedResult: true\n    Log:\n      eventName: CreateUser\n      user: automation\n"
    )})
    commit(fork, "Disable the noisy console login rule", edit("rules/up/up_noisy_e.yml", "Enabled: true", "Enabled: false"))
    commit(fork, "Allow our CI deployer to change Lambda code", {"rules/up/up_lambda_f.py": F_FORK})
    commit(fork, "Our helper for ACME users", {"global_helpers/up_helpers.py": HELPER_V1 + OUR_HELPER})
    commit(fork, "Our own rules", {**own_rule(1), **own_rule(2), **own_rule(3)})
    git(fork, "rm", "-q", "rules/up/up_gone_g.yml", "rules/up/up_gone_g.py")
    git(fork, "commit", "-q", "-m", "We do not run the GetObject rule")
    commit(fork, "Our core pack: with the extra rule, without the drop rule", {
        "packs/core.yml": core_pack("Up.Extra.X").replace("    - Up.Core.Drop\n", ""),
    })
