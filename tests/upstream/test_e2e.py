"""End to end with real git repositories (issue 6): upstream releases v1 -> v2 -> v3 (a changed
rule, a deleted rule, a renamed RuleID, a changed global helper, a new pack member) and a fork
with overrides on three upstream rules and one in-place edit; then migrate-edits and v4; then
the sync against the stand-in Panther."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from upstream_repos import OVERRIDES
from upstream_repos import RENAME_ORPHAN
from upstream_repos import V3_DESCRIPTION
from upstream_repos import brute_force
from upstream_repos import effective
from upstream_repos import git
from upstream_repos import make_upstream
from upstream_repos import upstream
from upstream_repos import write

from pytest_panther.cli.main import main

NO_HOOK = (
    "no sync hook is installed (post-commit): nothing is deployed automatically;"
    " `panther-gitops sync plan` shows what `sync apply` would change"
)

GUIDANCE = """\
CONFLICT rules/okta/brute_force.yml (rule Up.Okta.BruteForce)
  upstream v1.0.0 -> v3.0.0: changed Threshold, Description
  your commit:          changed Threshold
  your change as an override (overrides/Up.Okta.BruteForce.yml):
    RuleID: Up.Okta.BruteForce
    Threshold: 10

What to do next (during a rebase "ours" is upstream's side):
  merge by hand: edit rules/okta/brute_force.yml (conflict markers) && git add rules/okta/brute_force.yml
  or keep upstream's version and move your edit into an override: git checkout --ours -- rules/okta/brute_force.yml && (write overrides/Up.Okta.BruteForce.yml as above) && git add rules/okta/brute_force.yml overrides/Up.Okta.BruteForce.yml
  then: panther-gitops upstream pull --continue
  or go back to where you were: git rebase --abort
`upstream pull --continue` finishes the rebase, records v3.0.0 as the base release and
runs the tests of the affected detections; git rerere replays a resolution when the same
conflict comes back (the same pull again), not when a later release changes those lines.
"""


def test_status_before_pulling(fork: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = upstream(fork, capsys, "status")
    assert out == (
        "base release: v1.0.0\n"
        "newer releases: v2.0.0, v3.0.0 (run `panther-gitops upstream pull` for v3.0.0)\n"
        "in-place edits of upstream detections: 1\n"
        "  modified rules/okta/brute_force.yml (Up.Okta.BruteForce)  -> `upstream migrate-edits` can turn it into an override\n"
        "overrides: 3\n"
        "  Up.AWS.AccessKeyCreated: overrides/Up.AWS.AccessKeyCreated.yml\n"
        "  Up.AWS.RootLogin: overrides/Up.AWS.RootLogin.yml\n"
        "  Up.Okta.AdminRoleAssigned: overrides/okta-admin.yml\n"
        "upstream v3.0.0 removes Up.GCP.Legacy (rules/gcp/legacy.yml)\n"
        "upstream v3.0.0 renames Up.AWS.AccessKeyCreated to Up.AWS.IAMKeyCreated (rules/aws/key_created.yml)\n"
        "pull to v3.0.0 stops on: 1\n"
        "  rules/okta/brute_force.yml (rule Up.Okta.BruteForce): upstream v3.0.0 changed Threshold, Description;"
        " you changed Threshold (`upstream migrate-edits` moves your edit into an override)\n"
        f"{RENAME_ORPHAN}\n"
    )
    assert code == 1


def test_pull_to_v3_then_migrate_then_pull_v4(fork: Path, capsys: pytest.CaptureFixture[str], ran: list[list[str]]) -> None:
    override_bytes = {rel: (fork / rel).read_bytes() for rel in OVERRIDES}
    commit = git(fork, "log", "-1", "--format=%h", "HEAD").strip()

    # 1. The in-place edit conflicts with upstream's change on the same lines: stop, name it.
    code, out = upstream(fork, capsys, "pull")
    assert code == 1
    assert out == (
        f"upstream pull stopped: conflict while replaying your commit {commit} Raise the brute force threshold"
        " for our office NAT onto v3.0.0\n\n" + GUIDANCE
    )
    assert ran == []

    # 2. Resolve by hand (keep upstream's change and our threshold) and continue.
    write(fork, {"rules/okta/brute_force.yml": brute_force(10, V3_DESCRIPTION)})
    git(fork, "add", "rules/okta/brute_force.yml")
    code, out = upstream(fork, capsys, "pull", "--continue")
    assert out.splitlines() == [
        "rebased 4 fork commit(s) from v1.0.0 onto v3.0.0",
        "upstream v3.0.0 removed Up.GCP.Legacy (rules/gcp/legacy.yml); the sync deletes it from Panther",
        "upstream v3.0.0 renamed Up.AWS.AccessKeyCreated to Up.AWS.IAMKeyCreated (rules/aws/key_created.yml);"
        " the sync deletes Up.AWS.AccessKeyCreated and deploys Up.AWS.IAMKeyCreated",
        RENAME_ORPHAN,
        "running the tests of 5 affected detection(s)",
        "tests passed",
        "recorded v3.0.0 as the base release with git hooks off: nothing is deployed until the problems above are fixed and committed",
    ]
    assert code == 1  # the orphaned override must be dealt with
    # changed rule (v2 code), renamed rule, changed helper's user, new pack member, overrides
    assert ran == [[
        "rules/aws/key_created.yml",
        "rules/aws/root_login.yml",
        "rules/okta/admin_role.yml",
        "rules/okta/brute_force.yml",
        "rules/okta/mfa_reset.yml",
    ]]
    assert 'base = "v3.0.0"' in (fork / "pyproject.toml").read_text()
    assert git(fork, "status", "--porcelain", "--untracked-files=no") == ""

    # Overrides survived untouched and still apply; the one for the renamed ID is reported.
    assert {rel: (fork / rel).read_bytes() for rel in OVERRIDES} == override_bytes
    specs, errors = effective(fork)
    assert specs["Up.AWS.RootLogin"]["Severity"] == "Critical"
    assert specs["Up.AWS.RootLogin"]["OutputIds"] == ["pagerduty-acme"]
    assert [t["Name"] for t in specs["Up.AWS.RootLogin"]["Tests"]][-1] == "root login by break-glass automation"
    assert specs["Up.Okta.AdminRoleAssigned"]["Enabled"] is False
    assert specs["Up.Okta.AdminRoleAssigned"]["Tags"] == ["Identity", "ACME.Tuned"]
    assert specs["Up.Okta.BruteForce"]["Threshold"] == 10
    assert "Up.GCP.Legacy" not in specs
    assert errors == [
        "overrides/Up.AWS.AccessKeyCreated.yml:1:1: override for unknown detection ID 'Up.AWS.AccessKeyCreated':"
        " upstream removed or renamed it (did you mean 'Up.AWS.IAMKeyCreated'?)"
    ]
    git(fork, "mv", "overrides/Up.AWS.AccessKeyCreated.yml", "overrides/Up.AWS.IAMKeyCreated.yml")
    git(fork, "commit", "-q", "-m", "Follow upstream's rename of the access key rule")
    specs, errors = effective(fork)
    assert errors == [] and specs["Up.AWS.IAMKeyCreated"]["Severity"] == "Low"

    # 3. migrate-edits: the in-place edit becomes an override, upstream's YAML comes back.
    code, out = upstream(fork, capsys, "migrate-edits")
    assert code == 0
    assert out.splitlines()[0] == "migrated Up.Okta.BruteForce: rules/okta/brute_force.yml -> overrides/Up.Okta.BruteForce.yml"
    assert (fork / "rules/okta/brute_force.yml").read_text() == git(fork, "show", "v3.0.0:rules/okta/brute_force.yml")
    assert (fork / "overrides/Up.Okta.BruteForce.yml").read_text() == (
        "# Override of upstream Up.Okta.BruteForce, moved out of an in-place edit of rules/okta/brute_force.yml\n"
        "# by `panther-gitops upstream migrate-edits`.\n"
        "RuleID: Up.Okta.BruteForce\n"
        "Threshold: 10\n"
    )
    assert effective(fork)[0]["Up.Okta.BruteForce"]["Threshold"] == 10
    code, out = upstream(fork, capsys, "status")
    assert "in-place edits of upstream detections: 0\n" in out and code == 0

    # 4. A later release changes the same lines again: the pull is clean.
    make_upstream(fork.parent / "upstream", 4)
    code, out = upstream(fork, capsys, "pull")
    assert out.splitlines() == [
        "rebased 6 fork commit(s) from v3.0.0 onto v4.0.0",
        "auto-resolved rules/okta/brute_force.yml: no fork changes left in it, took upstream's version",
        "running the tests of 4 affected detection(s)",
        "tests passed",
        "recorded v4.0.0 as the base release",
        NO_HOOK,
    ]
    assert code == 0
    assert (fork / "rules/okta/brute_force.yml").read_text() == git(fork, "show", "v4.0.0:rules/okta/brute_force.yml")
    specs, errors = effective(fork)
    assert errors == []
    assert specs["Up.Okta.BruteForce"]["Threshold"] == 10  # ours, through the override
    assert specs["Up.Okta.BruteForce"]["Description"] == "Failed logins for one user, tuned in v4."  # upstream's
    assert git(fork, "diff", "--stat", "v4.0.0", "HEAD", "--", "rules") == " rules/acme/own.py  |  2 ++\n rules/acme/own.yml | 11 +++++++++++\n 2 files changed, 13 insertions(+)\n"


def test_conflict_resolved_by_moving_the_edit_into_an_override(fork: Path, capsys: pytest.CaptureFixture[str], ran: list[list[str]]) -> None:
    assert upstream(fork, capsys, "pull")[0] == 1
    # Follow the printed guidance.
    git(fork, "checkout", "--ours", "--", "rules/okta/brute_force.yml")
    write(fork, {"overrides/Up.Okta.BruteForce.yml": "RuleID: Up.Okta.BruteForce\nThreshold: 10\n"})
    git(fork, "add", "rules/okta/brute_force.yml", "overrides/Up.Okta.BruteForce.yml")
    code, out = upstream(fork, capsys, "pull", "--continue")
    assert out.splitlines()[0] == "rebased 4 fork commit(s) from v1.0.0 onto v3.0.0"
    assert (fork / "rules/okta/brute_force.yml").read_text() == git(fork, "show", "v3.0.0:rules/okta/brute_force.yml")
    specs, _ = effective(fork)
    assert specs["Up.Okta.BruteForce"]["Threshold"] == 10
    assert specs["Up.Okta.BruteForce"]["Description"] == V3_DESCRIPTION


def test_in_place_edit_rebases_cleanly_when_upstream_changed_other_lines(fork: Path, capsys: pytest.CaptureFixture[str], ran: list[list[str]]) -> None:
    code, out = upstream(fork, capsys, "pull", "--tag", "v2.0.0")
    assert out.splitlines() == [
        "rebased 4 fork commit(s) from v1.0.0 onto v2.0.0",
        "upstream v2.0.0 removed Up.GCP.Legacy (rules/gcp/legacy.yml); the sync deletes it from Panther",
        "running the tests of 3 affected detection(s)",
        "tests passed",
        "recorded v2.0.0 as the base release",
        NO_HOOK,
    ]
    assert code == 0
    assert ran == [["rules/aws/key_created.yml", "rules/aws/root_login.yml", "rules/okta/admin_role.yml"]]
    assert effective(fork)[0]["Up.Okta.BruteForce"]["Threshold"] == 10


def test_real_pytest_runs_the_affected_detections(fork: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without a stub: `pull` runs pytest (this plugin) on the affected spec files."""
    code, out = upstream(fork, capsys, "pull", "--tag", "v2.0.0")
    assert code == 0, out
    assert "running the tests of 3 affected detection(s)" in out
    assert "tests passed" in out
    # The plugin applies the overrides: the test case the fork added to an upstream rule runs.
    proc = subprocess.run([sys.executable, "-m", "pytest", "-v", "-p", "no:randomly", "rules/aws/root_login.yml"],
                          cwd=fork, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout
    assert "rules/aws/root_login.yml::Up.AWS.RootLogin::root login by break-glass automation PASSED" in proc.stdout
    # The whole fork passes validation and tests after the pull (no stale pack, no orphan).
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:randomly"], cwd=fork, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout


def deployed_rules(server) -> dict[str, dict]:
    return server.state(server_fields=False).get("rules", {})


def test_pull_then_sync_deletes_removed_and_renamed_detections(fork: Path, capsys: pytest.CaptureFixture[str], ran: list[list[str]], standin) -> None:
    assert upstream(fork, capsys, "pull", "--tag", "v2.0.0")[0] == 0  # clean rebase, base v2
    capsys.readouterr()
    assert main(["sync", "apply", "-C", str(fork)]) == 0, capsys.readouterr()
    before = deployed_rules(standin)
    assert {"Up.AWS.AccessKeyCreated", "Up.Okta.BruteForce", "Acme.Own.Heartbeat"} <= set(before)
    # v3 renames Up.AWS.AccessKeyCreated; go there (conflict on the in-place edit resolved by hand).
    assert upstream(fork, capsys, "pull")[0] == 1
    write(fork, {"rules/okta/brute_force.yml": brute_force(10, V3_DESCRIPTION)})
    git(fork, "add", "rules/okta/brute_force.yml")
    upstream(fork, capsys, "pull", "--continue")
    capsys.readouterr()
    assert main(["sync", "apply", "-C", str(fork)]) == 0, capsys.readouterr()
    after = deployed_rules(standin)
    assert "Up.AWS.AccessKeyCreated" not in after
    assert "Up.AWS.IAMKeyCreated" in after
    assert "Up.Okta.MFAReset" in after
    assert after["Up.Okta.BruteForce"]["threshold"] == 10


def test_pull_to_v3_deletes_the_removed_rule_from_the_deployment(fork: Path, capsys: pytest.CaptureFixture[str], ran: list[list[str]], standin) -> None:
    capsys.readouterr()
    assert main(["sync", "apply", "-C", str(fork)]) == 0, capsys.readouterr()
    assert "Up.GCP.Legacy" in deployed_rules(standin)
    assert upstream(fork, capsys, "pull", "--tag", "v2.0.0")[0] == 0
    capsys.readouterr()
    assert main(["sync", "apply", "-C", str(fork)]) == 0, capsys.readouterr()
    assert "Up.GCP.Legacy" not in deployed_rules(standin)


def test_sync_deploys_overridden_values_and_the_selected_packs(fork: Path, capsys: pytest.CaptureFixture[str], standin) -> None:
    capsys.readouterr()
    assert main(["sync", "apply", "-C", str(fork)]) == 0, capsys.readouterr()
    rules = deployed_rules(standin)
    assert rules["Up.AWS.RootLogin"]["severity"] == "CRITICAL"
    assert rules["Up.AWS.RootLogin"]["outputIDs"] == ["pagerduty-acme"]
    assert rules["Up.Okta.AdminRoleAssigned"]["enabled"] is False
    assert rules["Up.Okta.AdminRoleAssigned"]["tags"] == ["Identity", "ACME.Tuned"]
    # Deploy the Okta pack only: the AWS and GCP rules go, our own detection stays.
    from pytest_panther.upstream.config import write_config

    write_config(fork, {"packs": ["Up.Okta"]})
    git(fork, "commit", "-q", "-am", "Deploy the Okta pack only")
    assert main(["sync", "apply", "-C", str(fork)]) == 0, capsys.readouterr()
    assert sorted(deployed_rules(standin)) == ["Acme.Own.Heartbeat", "Up.Okta.AdminRoleAssigned", "Up.Okta.BruteForce"]
