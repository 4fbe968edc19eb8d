"""`upstream pull` at the edges: refusals, abort, git hooks, guidance for Python and deleted
files, rerere, pyproject.toml conflicts, merge commits, publishing the rebased branch."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from upstream_repos import V3_DESCRIPTION
from upstream_repos import brute_force
from upstream_repos import git
from upstream_repos import make_fork
from upstream_repos import upstream
from upstream_repos import write

import pytest_panther.upstream.pull as pull_module


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
    assert lines[2:18] == [
        "CONFLICT rules/aws/root_login.py (rule Up.AWS.RootLogin)",
        "  upstream v1.0.0 -> v2.0.0: changed the code (+2 -1 lines)",
        "  your commit:          changed the code (+1 -1 lines)",
        "  upstream changed this detection's logic where you did. Merge by hand; or take upstream's",
        "  code and keep your change out of it: an allow-list as an `InlineFilters` override (evaluated",
        "  before the rule), or your own copy under a new ID with this one `Excluded` in an override",
        "CONFLICT rules/gcp/legacy.yml (rule Up.GCP.Legacy)",
        "  upstream v1.0.0 -> v2.0.0: deleted the file",
        "  your commit:          changed Severity",
        "  upstream no longer has this file",
        "",
        "What to do next (during a rebase \"ours\" is upstream's side):",
        "  merge by hand: edit rules/aws/root_login.py (conflict markers) && git add rules/aws/root_login.py",
        "  or take upstream's code: git checkout --ours -- rules/aws/root_login.py && (write the override) && git add rules/aws/root_login.py overrides",
        "  git rm --quiet rules/gcp/legacy.yml   (accepts upstream's deletion; keep your change in a detection of your own)",
        "  then: panther-gitops upstream pull --continue",
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


def test_guidance_knows_the_existing_override(fork: Path, capsys: pytest.CaptureFixture[str], ran: list[list[str]]) -> None:
    write(fork, {"overrides/Up.Okta.BruteForce.yml": "Threshold: 12\n"})
    git(fork, "add", "overrides")
    git(fork, "commit", "-q", "-m", "Threshold through an override as well")
    code, out = upstream(fork, capsys, "pull")
    assert code == 1
    lines = out.splitlines()
    assert lines[2:7] == [
        "CONFLICT rules/okta/brute_force.yml (rule Up.Okta.BruteForce)",
        "  upstream v1.0.0 -> v3.0.0: changed Threshold, Description",
        "  your commit:          changed Threshold",
        "  overrides/Up.Okta.BruteForce.yml already sets Threshold: that value wins over this edit",
        "",
    ]
    assert "  or keep upstream's version (your override has the change): git checkout --ours -- rules/okta/brute_force.yml && git add rules/okta/brute_force.yml" in lines
