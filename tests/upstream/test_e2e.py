"""End to end with real git repositories (issue 6): upstream releases v1 -> v2 -> v3 (a changed
rule, a deleted rule, a renamed RuleID, a changed global helper, a new pack member) and a fork
with overrides on three upstream rules and one in-place edit."""
from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from upstream_repos import OVERRIDES
from upstream_repos import brute_force
from upstream_repos import git
from upstream_repos import make_fork
from upstream_repos import make_upstream
from upstream_repos import write

import pytest_panther.upstream.pull as pull_module
from pytest_panther.cli.main import main
from pytest_panther.spec.repository import load_repository
from pytest_panther.upstream.overrides import apply_overrides
from pytest_panther.upstream.overrides import load_overrides

V3_DESCRIPTION = "Many failed logins for one user within the dedup window."

GUIDANCE = """\
CONFLICT rules/okta/brute_force.yml (rule Up.Okta.BruteForce)
  upstream v1.0.0 -> v3.0.0: changed Threshold, Description
  your commit:          changed Threshold
  your change as an override (overrides/Up.Okta.BruteForce.yml):
    RuleID: Up.Okta.BruteForce
    Threshold: 10

What to do next:
  resolve the conflict markers, then:  git add <file> && panther-gitops upstream pull --continue
  or keep upstream's version and move your edit into an override
  (during a rebase "ours" is upstream's side):
    git checkout --ours -- rules/okta/brute_force.yml && (write overrides/Up.Okta.BruteForce.yml as above) && git add rules/okta/brute_force.yml overrides/Up.Okta.BruteForce.yml
    then: panther-gitops upstream pull --continue
  or go back to where you were:        git rebase --abort
`upstream pull --continue` finishes the rebase, records v3.0.0 as the base release and
runs the tests of the affected detections.
"""

RENAME_ORPHAN = (
    "orphaned override: overrides/Up.AWS.AccessKeyCreated.yml:1:1: upstream v3.0.0 renames 'Up.AWS.AccessKeyCreated'"
    " to 'Up.AWS.IAMKeyCreated' (rules/aws/key_created.yml) (rename the override to Up.AWS.IAMKeyCreated)"
)


@pytest.fixture
def fork(make_repo: Callable[[str], Path], tmp_path: Path) -> Path:
    upstream = make_repo("upstream")
    make_upstream(upstream, 1)
    fork = tmp_path / "fork"
    make_fork(upstream, fork)
    make_upstream(upstream, 3)
    return fork


@pytest.fixture
def ran(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Spec files (relative) that `upstream pull` asked pytest to run, per run."""
    runs: list[list[str]] = []

    def record(root: Path, files: list[Path]) -> int:
        runs.append([f.relative_to(root).as_posix() for f in files])
        return 0

    monkeypatch.setattr(pull_module, "run_pytest", record)
    return runs


def upstream(fork: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["upstream", "--root", str(fork), *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def effective(fork: Path) -> tuple[dict[str, dict], list[str]]:
    """Spec data with overrides applied, as tests, validation and sync see it."""
    overrides, errors = load_overrides(fork)
    repo = load_repository(fork)
    errors += apply_overrides(repo, overrides)
    return {s.id: s.data for s in repo.specs}, [e.format().replace(f"{fork}/", "") for e in errors]


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
        "conflict ahead: rules/okta/brute_force.yml (Up.Okta.BruteForce): you and upstream v3.0.0 both changed"
        " Threshold (run `upstream migrate-edits` first)\n"
        f"{RENAME_ORPHAN}\n"
    )
    assert code == 1


def test_status_reports_the_pack_selection(fork: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pytest_panther.upstream.config import write_config

    write_config(fork, {"packs": ["Up.Okta", "Up.Oktaa"], "unselected": "disable"})
    git(fork, "commit", "-q", "-am", "deploy the Okta pack only")
    code, out = upstream(fork, capsys, "status", "--no-fetch")
    lines = out.splitlines()
    assert lines[1] == "problem: pyproject.toml [tool.pytest-panther.upstream] packs: no pack 'Up.Oktaa'; did you mean 'Up.Okta'?"
    assert "packs: Up.Okta, Up.Oktaa; 6 of 6 detections deployed, 3 of them forced disabled (unselected = disable)" in lines
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
        "recorded v4.0.0 as the base release; the sync hook deploys the result",
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
        "recorded v2.0.0 as the base release; the sync hook deploys the result",
    ]
    assert code == 0
    assert ran == [["rules/aws/key_created.yml", "rules/aws/root_login.yml", "rules/okta/admin_role.yml"]]
    assert effective(fork)[0]["Up.Okta.BruteForce"]["Threshold"] == 10


def test_abort_leaves_the_fork_as_it_was(fork: Path, capsys: pytest.CaptureFixture[str], ran: list[list[str]]) -> None:
    head = git(fork, "rev-parse", "HEAD")
    assert upstream(fork, capsys, "pull")[0] == 1
    git(fork, "rebase", "--abort")
    assert git(fork, "rev-parse", "HEAD") == head
    assert upstream(fork, capsys, "pull", "--continue") == (
        1,
        "panther-gitops upstream pull: the rebase was aborted; nothing to continue (run `panther-gitops upstream pull` to start again)\n",
    )
    assert 'base = "v1.0.0"' in (fork / "pyproject.toml").read_text()


@pytest.mark.parametrize(
    ("args", "setup", "message"),
    [
        (["--tag", "v9.0.0"], None, "no tag v9.0.0 (known newer releases: v2.0.0, v3.0.0)"),
        (["--tag", "v1.0.0"], None, "v1.0.0 is not newer than the base release v1.0.0"),
        ([], "dirty", "commit or stash your changes before pulling upstream"),
        (["--continue"], None, "no upstream pull to continue; run `panther-gitops upstream pull`"),
    ],
)
def test_pull_refuses(fork: Path, capsys: pytest.CaptureFixture[str], args: list[str], setup: str | None, message: str) -> None:
    if setup == "dirty":
        write(fork, {"rules/acme/own.py": "def rule(event):\n    return False\n"})
    assert upstream(fork, capsys, "pull", *args) == (1, f"panther-gitops upstream pull: {message}\n")


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


def test_init_detects_the_base_release(make_repo: Callable[[str], Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    up = make_repo("up")
    make_upstream(up, 2)
    git(tmp_path, "clone", "-q", str(up), "fork2")
    fork = tmp_path / "fork2"
    code, out = upstream(fork, capsys, "init", "--url", str(up))
    assert code == 0
    assert out.splitlines() == [
        f"added remote upstream -> {up}",
        "enabled git rerere (conflict resolutions are remembered)",
        "recorded base release v2.0.0 in pyproject.toml",
        "committed pyproject.toml",
    ]
    assert git(fork, "config", "rerere.enabled").strip() == "true"
    assert (fork / "pyproject.toml").read_text() == f'[tool.pytest-panther.upstream]\nurl = "{up}"\nremote = "upstream"\nbase = "v2.0.0"\n'


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


@pytest.fixture
def standin(monkeypatch: pytest.MonkeyPatch):
    from pytest_panther.sync.standin import StandinServer

    with StandinServer(token="upstream-e2e-token") as server:
        monkeypatch.setenv("PANTHER_API_HOST", server.url)
        monkeypatch.setenv("PANTHER_API_TOKEN", "upstream-e2e-token")
        monkeypatch.setenv("PANTHER_SYNC_RETRIES", "0")
        monkeypatch.setenv("PANTHER_SYNC_TIMEOUT", "5")
        yield server


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


def test_status_json_in_a_fresh_clone_adds_the_remote(fork: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    git(tmp_path, "clone", "-q", str(fork), "ci-clone")
    clone = tmp_path / "ci-clone"
    assert "upstream" not in git(clone, "remote").split()
    code, out = upstream(clone, capsys, "status", "--json")
    import json

    data = json.loads(out)
    assert (data["base"], data["newer"], data["latest"]) == ("v1.0.0", ["v2.0.0", "v3.0.0"], "v3.0.0")
    assert data["renamed"] == {"Up.AWS.AccessKeyCreated": ["Up.AWS.IAMKeyCreated", "rules/aws/key_created.yml"]}
    assert data["edits"] == [{"ids": ["Up.Okta.BruteForce"], "kind": "yaml", "path": "rules/okta/brute_force.yml", "status": "M"}]
    assert code == 1  # the override for the renamed ID
    assert "upstream" in git(clone, "remote").split()


def install_logging_hooks(fork: Path) -> Path:
    log = fork.parent / "hooks.log"
    hooks = fork / ".git" / "hooks"
    for name in ("post-commit", "post-rewrite", "post-checkout"):
        (hooks / name).write_text(f'#!/bin/sh\necho "{name} $(git log -1 --format=%s)" >> "{log}"\n')
        (hooks / name).chmod(0o755)
    return log


def test_only_the_final_commit_fires_the_sync_hooks(fork: Path, capsys: pytest.CaptureFixture[str], ran: list[list[str]]) -> None:
    log = install_logging_hooks(fork)
    assert upstream(fork, capsys, "pull", "--tag", "v2.0.0")[0] == 0
    assert log.read_text() == "post-commit Record upstream release v2.0.0 as the base release (was v1.0.0)\n"


def test_no_hook_fires_when_the_result_is_not_fit_to_deploy(fork: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pull_module, "run_pytest", lambda root, files: 1)  # a failing test
    log = install_logging_hooks(fork)
    code, out = upstream(fork, capsys, "pull", "--tag", "v2.0.0")
    assert code == 1
    assert out.splitlines()[-2:] == [
        "tests FAILED (pytest exit code 1)",
        "recorded v2.0.0 as the base release with git hooks off: nothing is deployed until the problems above are fixed and committed",
    ]
    assert not log.exists()


def test_guidance_for_python_and_deleted_files(fork: Path, capsys: pytest.CaptureFixture[str], ran: list[list[str]]) -> None:
    write(fork, {
        "rules/aws/root_login.py": 'def rule(event):\n    return event.get("userIdentity", {}).get("type") in ("Root", "root")\n',
        "rules/gcp/legacy.yml": (fork / "rules/gcp/legacy.yml").read_text().replace("Severity: Low", "Severity: High"),
    })
    git(fork, "commit", "-q", "-am", "Tune root login and legacy in place")
    code, out = upstream(fork, capsys, "pull", "--tag", "v2.0.0")
    assert code == 1
    lines = out.splitlines()
    assert lines[2:11] == [
        "CONFLICT rules/aws/root_login.py (rule Up.AWS.RootLogin)",
        "  upstream v1.0.0 -> v2.0.0: changed the code (+2 -1 lines)",
        "  your commit:          changed the code (+1 -1 lines)",
        "  Python edits cannot become overrides: merge by hand, or copy the detection under a new ID",
        "CONFLICT rules/gcp/legacy.yml (rule Up.GCP.Legacy)",
        "  upstream v1.0.0 -> v2.0.0: deleted the file",
        "  your commit:          changed Severity",
        "  upstream no longer has this file: `git rm rules/gcp/legacy.yml` accepts the deletion",
        "",
    ]
    # Take upstream's side for both and go on.
    git(fork, "checkout", "--ours", "--", "rules/aws/root_login.py")
    git(fork, "rm", "-q", "rules/gcp/legacy.yml")
    git(fork, "add", "rules/aws/root_login.py")
    code, out = upstream(fork, capsys, "pull", "--continue")
    assert code == 0, out
    assert out.splitlines()[0] == "rebased 4 fork commit(s) from v1.0.0 onto v2.0.0"  # the emptied commit is dropped
    assert not (fork / "rules/gcp/legacy.yml").exists()


def test_rerere_replays_a_resolution_when_the_pull_is_redone(fork: Path, capsys: pytest.CaptureFixture[str], ran: list[list[str]]) -> None:
    before = git(fork, "rev-parse", "HEAD").strip()
    assert upstream(fork, capsys, "pull")[0] == 1
    write(fork, {"rules/okta/brute_force.yml": brute_force(10, V3_DESCRIPTION)})
    git(fork, "add", "rules/okta/brute_force.yml")
    assert upstream(fork, capsys, "pull", "--continue")[1].startswith("rebased 4 fork commit(s)")
    resolved = (fork / "rules/okta/brute_force.yml").read_text()
    # Throw the pull away and do it again: the same conflict is resolved from rerere's record.
    git(fork, "reset", "-q", "--hard", before)
    code, out = upstream(fork, capsys, "pull")
    assert out.splitlines()[:2] == [
        "rebased 4 fork commit(s) from v1.0.0 onto v3.0.0",
        "auto-resolved rules/okta/brute_force.yml: git rerere replayed your earlier resolution (check it)",
    ]
    assert (fork / "rules/okta/brute_force.yml").read_text() == resolved


def test_pyproject_conflict_keeps_upstreams_file_and_our_table(make_repo: Callable[[str], Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], ran: list[list[str]]) -> None:
    """panther-analysis has its own pyproject.toml; upstream appending to it must not stop a pull."""
    from upstream_repos import V1
    from upstream_repos import release

    up = make_repo("upstream")
    release(up, "v1.0.0", {**V1, "pyproject.toml": "[tool.black]\nline-length = 100\n"})
    fork = tmp_path / "fork"
    make_fork(up, fork)
    release(up, "v2.0.0", {"pyproject.toml": "[tool.black]\nline-length = 100\n\n[tool.isort]\nprofile = \"black\"\n"})
    code, out = upstream(fork, capsys, "pull")
    assert code == 0, out
    assert "auto-resolved pyproject.toml: upstream's file with your [tool.pytest-panther.upstream] table" in out.splitlines()
    assert (fork / "pyproject.toml").read_text() == (
        "[tool.black]\nline-length = 100\n\n[tool.isort]\nprofile = \"black\"\n\n"
        f"[tool.pytest-panther.upstream]\nurl = \"{up}\"\nremote = \"upstream\"\nbase = \"v2.0.0\"\n"
    )


def test_unreachable_upstream_says_how_to_work_offline(fork: Path, capsys: pytest.CaptureFixture[str]) -> None:
    git(fork, "remote", "set-url", "upstream", str(fork.parent / "nowhere"))
    code, out = upstream(fork, capsys, "status")
    assert code == 1
    assert out.startswith("panther-gitops upstream status: `git fetch --quiet --tags upstream` failed (128): fatal: ")
    assert out.endswith("(use --no-fetch to work with the tags already fetched)\n")
    assert upstream(fork, capsys, "status", "--no-fetch")[1].startswith("base release: v1.0.0\n")


def test_merge_commits_of_the_fork_are_linearised(fork: Path, capsys: pytest.CaptureFixture[str], ran: list[list[str]]) -> None:
    git(fork, "checkout", "-q", "-b", "feature")
    write(fork, {"rules/acme/own.py": "def rule(event):\n    return bool(event)\n"})
    git(fork, "commit", "-q", "-am", "Heartbeat only on non-empty events")
    git(fork, "checkout", "-q", "main")
    git(fork, "merge", "-q", "--no-ff", "-m", "Merge pull request #1 from acme/feature", "feature")
    code, out = upstream(fork, capsys, "pull", "--tag", "v2.0.0")
    assert code == 0, out
    assert out.splitlines()[0] == "rebased 5 fork commit(s) from v1.0.0 onto v2.0.0"
    assert (fork / "rules/acme/own.py").read_text() == "def rule(event):\n    return bool(event)\n"
    assert git(fork, "rev-list", "--merges", "v2.0.0..HEAD") == ""


def test_pull_says_how_to_publish_the_rebased_branch(fork: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], ran: list[list[str]]) -> None:
    git(tmp_path, "init", "-q", "--bare", "github.git")
    git(fork, "remote", "add", "github", str(tmp_path / "github.git"))
    git(fork, "push", "-q", "-u", "github", "main")
    code, out = upstream(fork, capsys, "pull", "--tag", "v2.0.0")
    assert code == 0, out
    assert out.splitlines()[-1] == "the branch was rebased: publish it with `git push --force-with-lease github HEAD:main`"
