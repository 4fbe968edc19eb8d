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
    assert code == 0  # done: it committed what can be an override (docs/reference.md exit codes)
    lines = out.splitlines()
    assert lines == [
        "migrated Up.Okta.BruteForce: rules/okta/brute_force.yml -> overrides/Up.Okta.BruteForce.yml",
        "not migrated: rules/aws/root_login.py (Up.AWS.RootLogin): Python edits cannot become overrides; keep the commit or write a new detection",
        "not migrated: rules/okta/admin_role.yml (Up.Okta.AdminRoleAssigned): cannot override LogTypes; left in place",
        lines[3],
        "2 edit(s) stay as your commits; `upstream status` shows which ones the next pull stops on",
    ]
    assert lines[3].startswith("committed ")
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


def test_migrate_turns_a_deleted_upstream_rule_into_an_exclusion(fork: Path, capsys: pytest.CaptureFixture[str]) -> None:
    git(fork, "rm", "-q", "rules/gcp/legacy.yml", "rules/gcp/legacy.py")
    git(fork, "commit", "-q", "-m", "We have no GCP")
    code, out = upstream(fork, capsys, "migrate-edits")
    assert code == 0, out
    assert "migrated Up.GCP.Legacy: deleted rules/gcp/legacy.yml -> overrides/Up.GCP.Legacy.yml (Excluded)" in out.splitlines()
    # upstream's files are back untouched; the override says why the fork does not run it
    assert git(fork, "diff", "--stat", "v1.0.0", "HEAD", "--", "rules/gcp") == ""
    assert (fork / "overrides/Up.GCP.Legacy.yml").read_text() == (
        "# Override of upstream Up.GCP.Legacy, moved out of the fork's deletion of rules/gcp/legacy.yml\n"
        "# by `panther-gitops upstream migrate-edits`.\n"
        "RuleID: Up.GCP.Legacy\n"
        "Excluded: We have no GCP\n"
    )
    assert git(fork, "status", "--porcelain", "--untracked-files=no") == ""
    code, out = upstream(fork, capsys, "status", "--no-fetch")
    assert "in-place edits of upstream detections: 0" in out


def test_migrate_turns_a_pack_edit_into_a_pack_override(fork: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from upstream_repos import pack

    write(fork, {"packs/okta.yml": pack("Up.Okta", ["Up.Okta.BruteForce", "up_helpers", "Acme.Own.Heartbeat"])})
    git(fork, "commit", "-q", "-am", "Our Okta pack: no admin rule, plus our heartbeat")
    code, out = upstream(fork, capsys, "migrate-edits")
    assert code == 0, out
    assert "migrated Up.Okta: packs/okta.yml -> overrides/Up.Okta.yml" in out.splitlines()
    assert (fork / "overrides/Up.Okta.yml").read_text().endswith(
        "PackID: Up.Okta\nPackDefinition:\n  IDs:\n    remove:\n    - Up.Okta.AdminRoleAssigned\n    add:\n    - Acme.Own.Heartbeat\n"
    )
    specs, errors = effective(fork)
    assert errors == []
    assert specs["Up.Okta"]["PackDefinition"]["IDs"] == ["Up.Okta.BruteForce", "up_helpers", "Acme.Own.Heartbeat"]
