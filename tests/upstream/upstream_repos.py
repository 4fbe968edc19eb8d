"""Small original detection repositories for the upstream e2e tests (not copied from
panther-analysis): an upstream with releases v1 -> v4 and a customised fork."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest


def git(root: Path, *args: str) -> str:
    proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stderr}"
    return proc.stdout


def write(root: Path, files: dict[str, str | None]) -> None:
    """Write (or, for None, delete) files relative to ``root``."""
    for rel, text in files.items():
        path = root / rel
        if text is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def commit(root: Path, message: str, files: dict[str, str | None]) -> str:
    write(root, files)
    git(root, "add", "-A", ".")
    git(root, "commit", "-q", "-m", message)
    return git(root, "rev-parse", "HEAD").strip()


def release(root: Path, tag: str, files: dict[str, str | None]) -> None:
    commit(root, f"Release {tag}", files)
    git(root, "tag", tag)



HELPER_YML = "AnalysisType: global\nGlobalID: up_helpers\nFilename: up_helpers.py\nDescription: Shared helpers.\n"
HELPER_V1 = 'def is_failure(event):\n    return event.get("outcome") == "FAILURE"\n'
HELPER_V3 = 'def is_failure(event):\n    return str(event.get("outcome", "")).upper() == "FAILURE"\n'


def brute_force(threshold: int, description: str = "Many failed logins for one user.") -> str:
    return f"""\
AnalysisType: rule
Filename: brute_force.py
RuleID: Up.Okta.BruteForce
DisplayName: Repeated failed Okta logins
Enabled: true
LogTypes:
  - Okta.SystemLog
Severity: Medium
Threshold: {threshold}
Description: {description}
DedupPeriodMinutes: 60
Tests:
  - Name: failed login
    ExpectedResult: true
    Log:
      outcome: FAILURE
  - Name: successful login
    ExpectedResult: false
    Log:
      outcome: SUCCESS
"""


BRUTE_PY = "from up_helpers import is_failure\n\n\ndef rule(event):\n    return is_failure(event)\n"

ROOT_LOGIN_YML = """\
AnalysisType: rule
Filename: root_login.py
RuleID: Up.AWS.RootLogin
DisplayName: Root account console login
Enabled: true
LogTypes:
  - AWS.CloudTrail
Severity: High
Tests:
  - Name: root console login
    ExpectedResult: true
    Log:
      eventName: ConsoleLogin
      userIdentity:
        type: Root
  - Name: iam user login
    ExpectedResult: false
    Log:
      eventName: ConsoleLogin
      userIdentity:
        type: IAMUser
"""
ROOT_LOGIN_PY_V1 = 'def rule(event):\n    return event.get("userIdentity", {}).get("type") == "Root"\n'
ROOT_LOGIN_PY_V2 = (
    "def rule(event):\n"
    '    identity = event.get("userIdentity") or {}\n'
    '    return identity.get("type") == "Root" and event.get("eventName") == "ConsoleLogin"\n'
)


def key_created(rule_id: str) -> str:
    return f"""\
AnalysisType: rule
Filename: key_created.py
RuleID: {rule_id}
DisplayName: IAM access key created
Enabled: true
LogTypes:
  - AWS.CloudTrail
Severity: Medium
Tests:
  - Name: key created
    ExpectedResult: true
    Log:
      eventName: CreateAccessKey
"""


KEY_PY = 'def rule(event):\n    return event.get("eventName") == "CreateAccessKey"\n'

ADMIN_YML = """\
AnalysisType: rule
Filename: admin_role.py
RuleID: Up.Okta.AdminRoleAssigned
DisplayName: Okta admin role assigned
Enabled: true
LogTypes:
  - Okta.SystemLog
Severity: High
Tags:
  - Identity
Tests:
  - Name: grant
    ExpectedResult: true
    Log:
      eventType: user.account.privilege.grant
"""
ADMIN_PY = 'def rule(event):\n    return event.get("eventType") == "user.account.privilege.grant"\n'

LEGACY_YML = """\
AnalysisType: rule
Filename: legacy.py
RuleID: Up.GCP.Legacy
Enabled: true
LogTypes:
  - GCP.AuditLog
Severity: Low
Tests:
  - Name: anything
    ExpectedResult: true
    Log: {}
"""
LEGACY_PY = "def rule(event):\n    return True\n"

MFA_YML = """\
AnalysisType: rule
Filename: mfa_reset.py
RuleID: Up.Okta.MFAReset
Enabled: true
LogTypes:
  - Okta.SystemLog
Severity: Medium
Tests:
  - Name: reset
    ExpectedResult: true
    Log:
      eventType: user.mfa.factor.reset_all
"""
MFA_PY = 'def rule(event):\n    return event.get("eventType") == "user.mfa.factor.reset_all"\n'


def pack(pack_id: str, ids: list[str]) -> str:
    members = "".join(f"    - {i}\n" for i in ids)
    return f"AnalysisType: pack\nPackID: {pack_id}\nDisplayName: {pack_id}\nPackDefinition:\n  IDs:\n{members}"


V1 = {
    "global_helpers/up_helpers.yml": HELPER_YML,
    "global_helpers/up_helpers.py": HELPER_V1,
    "rules/okta/brute_force.yml": brute_force(5),
    "rules/okta/brute_force.py": BRUTE_PY,
    "rules/okta/admin_role.yml": ADMIN_YML,
    "rules/okta/admin_role.py": ADMIN_PY,
    "rules/aws/root_login.yml": ROOT_LOGIN_YML,
    "rules/aws/root_login.py": ROOT_LOGIN_PY_V1,
    "rules/aws/key_created.yml": key_created("Up.AWS.AccessKeyCreated"),
    "rules/aws/key_created.py": KEY_PY,
    "rules/gcp/legacy.yml": LEGACY_YML,
    "rules/gcp/legacy.py": LEGACY_PY,
    "packs/okta.yml": pack("Up.Okta", ["Up.Okta.BruteForce", "Up.Okta.AdminRoleAssigned", "up_helpers"]),
    "packs/aws.yml": pack("Up.AWS", ["Up.AWS.RootLogin", "Up.AWS.AccessKeyCreated"]),
    "packs/gcp.yml": pack("Up.GCP", ["Up.GCP.Legacy"]),
}
# v2: a changed rule (code) and a deleted rule.
V2 = {
    "rules/aws/root_login.py": ROOT_LOGIN_PY_V2,
    "rules/gcp/legacy.yml": None,
    "rules/gcp/legacy.py": None,
    "packs/gcp.yml": None,
}
# v3: the in-place-edited rule changes on the same lines, a renamed RuleID, a changed global
# helper, a new pack member.
V3 = {
    "rules/okta/brute_force.yml": brute_force(7, "Many failed logins for one user within the dedup window."),
    "rules/aws/key_created.yml": key_created("Up.AWS.IAMKeyCreated"),
    "packs/aws.yml": pack("Up.AWS", ["Up.AWS.RootLogin", "Up.AWS.IAMKeyCreated"]),
    "global_helpers/up_helpers.py": HELPER_V3,
    "rules/okta/mfa_reset.yml": MFA_YML,
    "rules/okta/mfa_reset.py": MFA_PY,
    "packs/okta.yml": pack("Up.Okta", ["Up.Okta.BruteForce", "Up.Okta.AdminRoleAssigned", "Up.Okta.MFAReset", "up_helpers"]),
}
# v4: upstream touches the formerly edited lines again.
V4 = {"rules/okta/brute_force.yml": brute_force(8, "Failed logins for one user, tuned in v4.")}

OVERRIDES = {
    "overrides/Up.AWS.RootLogin.yml": """\
# Paging for root activity; one more case from our environment.
Severity: Critical
OutputIds: [pagerduty-acme]
Tests:
  add:
    - Name: root login by break-glass automation
      ExpectedResult: true
      Log:
        eventName: ConsoleLogin
        userIdentity:
          type: Root
""",
    "overrides/okta-admin.yml": "RuleID: Up.Okta.AdminRoleAssigned\nEnabled: false\nTags:\n  add: [ACME.Tuned]\n",
    "overrides/Up.AWS.AccessKeyCreated.yml": "Severity: Low\n",
}

OWN = {
    "rules/acme/own.yml": """\
AnalysisType: rule
Filename: own.py
RuleID: Acme.Own.Heartbeat
Enabled: true
LogTypes:
  - Okta.SystemLog
Severity: Info
Tests:
  - Name: heartbeat
    ExpectedResult: true
    Log: {}
""",
    "rules/acme/own.py": "def rule(event):\n    return True\n",
}


def make_upstream(root: Path, upto: int) -> None:
    """Releases v1..v<upto> on ``root``'s main branch (adds the missing ones)."""
    have = set(git(root, "tag", "--list").split())
    for number, files in enumerate((V1, V2, V3, V4), start=1):
        if number <= upto and f"v{number}.0.0" not in have:
            release(root, f"v{number}.0.0", files)


def make_fork(upstream: Path, fork: Path) -> None:
    """Clone of upstream at v1 with overrides, an own detection and one in-place edit."""
    git(fork.parent, "clone", "-q", str(upstream), fork.name)
    git(fork, "checkout", "-q", "-B", "main", "v1.0.0")
    from pytest_panther.cli.main import main

    assert main(["upstream", "--root", str(fork), "init", "--url", str(upstream), "--release", "v1.0.0"]) == 0
    commit(fork, "Our overrides of upstream detections", OVERRIDES)
    commit(fork, "Our own heartbeat detection", OWN)
    commit(fork, "Raise the brute force threshold for our office NAT", {"rules/okta/brute_force.yml": brute_force(10)})


V3_DESCRIPTION = "Many failed logins for one user within the dedup window."

RENAME_ORPHAN = (
    "orphaned override: overrides/Up.AWS.AccessKeyCreated.yml:1:1: upstream v3.0.0 renames 'Up.AWS.AccessKeyCreated'"
    " to 'Up.AWS.IAMKeyCreated' (rules/aws/key_created.yml) (rename the override to Up.AWS.IAMKeyCreated)"
)


def upstream(fork: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """Run ``panther-gitops upstream --root fork ARGS``; return the exit code and the output."""
    from pytest_panther.cli.main import main

    capsys.readouterr()
    code = main(["upstream", "--root", str(fork), *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def effective(fork: Path) -> tuple[dict[str, dict], list[str]]:
    """Spec data with overrides applied, as tests, validation and sync see it."""
    from pytest_panther.spec.repository import load_repository
    from pytest_panther.upstream.overrides import apply_overrides
    from pytest_panther.upstream.overrides import load_overrides

    overrides, errors = load_overrides(fork)
    repo = load_repository(fork)
    errors += apply_overrides(repo, overrides)
    return {s.id: s.data for s in repo.specs}, [e.format().replace(f"{fork}/", "") for e in errors]
