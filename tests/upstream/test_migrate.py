"""`upstream migrate-edits`: what cannot move, merging into an existing override."""
from __future__ import annotations

from pathlib import Path

import pytest
from upstream_repos import effective
from upstream_repos import git
from upstream_repos import upstream
from upstream_repos import write


def test_migrate_edits_reports_what_it_cannot_move(fork: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(fork, {
        "rules/aws/root_login.py": "def rule(event):\n    return False\n",
        "rules/okta/admin_role.yml": (fork / "rules/okta/admin_role.yml").read_text().replace("Okta.SystemLog", "Okta.Other"),
    })
    git(fork, "commit", "-q", "-am", "more in-place edits")
    code, out = upstream(fork, capsys, "migrate-edits")
    assert code == 1
    assert out.splitlines() == [
        "migrated Up.Okta.BruteForce: rules/okta/brute_force.yml -> overrides/Up.Okta.BruteForce.yml",
        "not migrated: rules/aws/root_login.py (Up.AWS.RootLogin): Python edits cannot become overrides; keep the commit or write a new detection",
        "not migrated: rules/okta/admin_role.yml (Up.Okta.AdminRoleAssigned): cannot override LogTypes; left in place",
        out.splitlines()[-1],
    ]
    assert out.splitlines()[-1].startswith("committed ")
    assert git(fork, "status", "--porcelain", "--untracked-files=no") == ""


def test_migrate_merges_into_an_existing_override(fork: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(fork, {"rules/aws/root_login.yml": (fork / "rules/aws/root_login.yml").read_text().replace("Severity: High", "Severity: Medium\nRunbook: Call the on-call.")})
    git(fork, "commit", "-q", "-am", "edit an overridden rule in place")
    before, _ = effective(fork)
    code, out = upstream(fork, capsys, "migrate-edits")
    assert code == 0, out
    after, errors = effective(fork)
    assert errors == [] and after["Up.AWS.RootLogin"] == before["Up.AWS.RootLogin"]
    assert after["Up.AWS.RootLogin"]["Severity"] == "Critical" and after["Up.AWS.RootLogin"]["Runbook"] == "Call the on-call."
