"""Hook decisions, the sync lock and the ``sync`` command line (real git, no network unless the
stand-in fixture is used)."""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from synchelpers import TOKEN

from pytest_panther.cli.main import main
from pytest_panther.sync.git import rebase_in_progress
from pytest_panther.sync.hooks import LockTimeout
from pytest_panther.sync.hooks import run_hook
from pytest_panther.sync.hooks import skip_reason
from pytest_panther.sync.hooks import sync_lock
from pytest_panther.sync.state import read_synced
from pytest_panther.sync.state import write_synced

NO_TARGET = (
    "panther-sync: no target configured (set PANTHER_API_HOST and PANTHER_API_TOKEN, or "
    "[tool.pytest-panther.targets.<name>] in pyproject.toml); nothing synced\n"
)


def hook(repo: Any, stage: str, *args: str, env: dict[str, str] | None = None) -> str:
    err = io.StringIO()
    assert run_hook(repo.path, stage, args, env=env or {}, err=err) == 0
    return err.getvalue()


@pytest.fixture
def repo(make_repo: Any) -> Any:
    repo = make_repo()
    repo.add_rule("R.1", "r")
    repo.commit()
    return repo


def test_squash_merges_and_file_checkouts_are_skipped(repo: Any) -> None:
    assert skip_reason(repo.path, "post-merge", ["1"], {}) == "squash merge: nothing is committed yet; the sync runs after its commit"
    assert skip_reason(repo.path, "post-merge", [], {"PRE_COMMIT_IS_SQUASH_MERGE": "1"}) is not None
    assert skip_reason(repo.path, "post-merge", ["0"], {"PRE_COMMIT_IS_SQUASH_MERGE": "0"}) is None
    assert skip_reason(repo.path, "post-checkout", ["a", "b", "0"], {}) == "file checkout: nothing to sync"
    assert skip_reason(repo.path, "post-checkout", [], {"PRE_COMMIT_CHECKOUT_TYPE": "0"}) is not None
    assert skip_reason(repo.path, "post-checkout", ["a", "b", "1"], {}) is None
    assert skip_reason(repo.path, "post-rewrite", ["amend"], {}) is None


def test_rebase_in_progress_means_state_folder_and_detached_head(repo: Any) -> None:
    base = repo.head()
    repo.add_rule("R.1", "r", severity="High")
    repo.commit("ours")
    repo.git("checkout", "-q", "-b", "other", base)
    repo.add_rule("R.1", "r", severity="Critical")
    repo.commit("theirs")
    repo.git("checkout", "-q", "main")
    assert repo.git("rebase", "other", check=False).returncode != 0
    assert rebase_in_progress(repo.path)
    assert skip_reason(repo.path, "post-commit", [], {}) == "a rebase is in progress: the sync runs when it finishes"
    repo.git("rebase", "--abort")
    assert not rebase_in_progress(repo.path)
    # post-rewrite runs with the state folder still present but HEAD back on the branch.
    (repo.path / ".git" / "rebase-merge").mkdir()
    assert not rebase_in_progress(repo.path)


def test_no_target_prints_one_line(repo: Any) -> None:
    assert hook(repo, "post-merge", "0") == NO_TARGET


def test_unknown_stage_and_feature_branch(repo: Any) -> None:
    env = {"PANTHER_API_HOST": "http://127.0.0.1:9", "PANTHER_API_TOKEN": TOKEN}
    assert hook(repo, "pre-push", env=env) == (
        "panther-sync: unknown hook stage 'pre-push' (expected one of post-merge, post-rewrite, post-commit, post-checkout)\n"
    )
    repo.git("checkout", "-q", "-b", "topic")
    assert hook(repo, "post-checkout", "x", "y", "1", env=env) == (
        "panther-sync: HEAD is on topic, not a deploy branch (main); nothing synced\n"
    )
    env["PANTHER_DEPLOY_BRANCH"] = "topic"
    del env["PANTHER_API_TOKEN"]
    assert hook(repo, "post-commit", env=env) == (
        "panther-sync: target 'default': the token variable PANTHER_API_TOKEN is not set; nothing synced\n"
    )


def test_a_failure_never_fails_the_git_command(tmp_path: Path, git_env: Any) -> None:
    err = io.StringIO()
    assert run_hook(tmp_path, "post-merge", ["0"], env={}, err=err) == 0
    assert err.getvalue().startswith("panther-sync: sync FAILED (GitError: git rev-parse --absolute-git-dir: fatal: not a git repository")
    assert err.getvalue().endswith("the next hook run or `panther-gitops sync apply` retries\n")


def test_an_unreachable_server_is_reported_and_the_ref_stays(repo: Any) -> None:
    env = {"PANTHER_API_HOST": "http://127.0.0.1:9", "PANTHER_API_TOKEN": TOKEN, "PANTHER_SYNC_RETRIES": "0"}
    out = hook(repo, "post-merge", "0", env=env)
    assert "panther-sync: target default: sync FAILED while planning: GET /globals: no response" in out
    assert TOKEN not in out
    assert read_synced(repo.path, "default") is None


def test_the_lock_excludes_a_second_sync(repo: Any) -> None:
    with sync_lock(repo.path):
        with pytest.raises(LockTimeout, match=r"another sync has held .*panther-sync.lock for 0s"):
            with sync_lock(repo.path, timeout=0.1):
                pass
    with sync_lock(repo.path, timeout=0.1):
        pass


def test_cli_hook_and_status(repo: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo.path)
    assert main(["sync", "hook", "--stage", "post-merge", "--", "0"]) == 0
    assert capsys.readouterr().err == NO_TARGET
    monkeypatch.setenv("PANTHER_API_HOST", "http://127.0.0.1:9")
    assert main(["sync", "status"]) == 0
    head = repo.head()
    assert capsys.readouterr().out == (
        f"HEAD {head[:12]} on main\n"
        "default: http://127.0.0.1:9 branch main, token $PANTHER_API_TOKEN NOT SET: never synced (the first apply compares with the deployment)\n"
    )
    write_synced(repo.path, "default", head, None)
    repo.add_rule("R.2", "s")
    repo.commit()
    assert main(["sync", "status"]) == 0
    assert capsys.readouterr().out.endswith(f"synced at {head[:12]}; HEAD is 1 commit(s) ahead\n")
    # An incremental plan needs no token and no network.
    assert main(["sync", "plan"]) == 0
    out = capsys.readouterr().out
    assert out.endswith("  + create rules/R.2  (new)\nplan: 1 to create, 0 to update, 0 to delete, 1 unchanged\n")
    assert main(["sync", "apply"]) == 1
    assert capsys.readouterr().err == "panther-gitops sync: target 'default': the token variable PANTHER_API_TOKEN is not set\n"


def test_cli_apply_against_the_standin(repo: Any, standin: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo.path)
    monkeypatch.setenv("PANTHER_API_HOST", standin.url)
    monkeypatch.setenv("PANTHER_API_TOKEN", TOKEN)
    assert main(["sync", "plan"]) == 0
    assert capsys.readouterr().out.endswith("  + create rules/R.1  (not in the deployment)\nplan: 1 to create, 0 to update, 0 to delete, 0 unchanged\n")
    assert main(["sync", "apply"]) == 0
    captured = capsys.readouterr()
    assert captured.err == "[1/1] created rules/R.1\n"
    assert captured.out.endswith(f"summary: 1 created, 0 updated, 0 deleted, 0 unchanged, 0 failed\nrefs/panther/default/synced → {repo.head()[:12]}\n")
    assert main(["sync", "apply", "--target", "prod"]) == 1
    assert capsys.readouterr().err == "panther-gitops sync: unknown target 'prod' (configured: default)\n"
    monkeypatch.setenv("PANTHER_API_TOKEN", "not-the-token")
    assert main(["sync", "plan", "--refresh"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("panther-gitops sync: GET /globals: 401 ") and "the token was refused" in err


def test_a_large_sync_shows_the_first_changes_a_count_and_progress() -> None:
    """Audit D17: a hook run with more than 20 changes listed no IDs (30 deletes were "30 deleted")."""
    from pytest_panther.sync.hooks import _Quiet

    err = io.StringIO()
    quiet = _Quiet(err)
    creates = "".join(f"  + create rules/R.{i:02}  (new)\n" for i in range(30))
    quiet.write(f"target default (http://h): a..b (incremental)\n{creates}plan: 30 to create, 0 to update, 0 to delete, 2 unchanged\n")
    for i in range(30):
        quiet.write(f"[{i + 1}/30] created rules/R.{i:02}\n" if i != 4 else "[5/30] failed rules/R.04: PUT /rules/R.04: 400 bad\n")
    lines = err.getvalue().splitlines()
    assert lines[:2] == ["panther-sync: target default (http://h): a..b (incremental)", "panther-sync:   + create rules/R.00  (new)"]
    assert lines[20:24] == [
        "panther-sync:   + create rules/R.19  (new)",
        "panther-sync:   … and 10 more (`panther-gitops sync plan` lists every change before an apply)",
        "panther-sync: plan: 30 to create, 0 to update, 0 to delete, 2 unchanged",
        "panther-sync: [3/30] created rules/R.02",
    ]
    assert lines[24:] == [
        "panther-sync: [5/30] failed rules/R.04: PUT /rules/R.04: 400 bad",
        "panther-sync: [6/30] created rules/R.05",
        *(f"panther-sync: [{n}/30] created rules/R.{n - 1:02}" for n in (9, 12, 15, 18, 21, 24, 27, 30)),
    ]
    small = io.StringIO()
    quiet = _Quiet(small)
    quiet.write("target t\n  + create rules/A  (new)\nplan: 1 to create, 0 to update, 0 to delete, 0 unchanged\n")
    quiet.write("[1/1] created rules/A\n")
    assert small.getvalue().splitlines() == [
        "panther-sync: target t",
        "panther-sync:   + create rules/A  (new)",
        "panther-sync: plan: 1 to create, 0 to update, 0 to delete, 0 unchanged",
        "panther-sync: [1/1] created rules/A",
    ]


def test_the_hook_filter_answers_isatty_as_apply_asks_a_stream(make_repo: Any, standin: Any) -> None:
    """mypy: the hook passed its filter where a TextIO goes; ``apply_plan`` without ``tty`` asks
    ``out.isatty()``, which the filter lacked (AttributeError). It is never a terminal: no bar."""
    from pytest_panther.sync.apply import apply_plan
    from pytest_panther.sync.client import PantherClient
    from pytest_panther.sync.hooks import _Quiet
    from pytest_panther.sync.plan import make_plan
    from pytest_panther.sync.targets import Target
    from pytest_panther.sync.upload import RoutedWriter

    repo = make_repo()
    repo.add_rule("Rule.0", "r0")
    repo.commit()
    target = Target(name="default", host=standin.url, retries=2, backoff_factor=0.01, max_backoff=0.05, timeout=5)
    client = RoutedWriter(PantherClient(standin.url, TOKEN, retries=2, backoff_factor=0.01, max_backoff=0.05, timeout=5))
    plan = make_plan(repo.path, target, client)
    client.expect(plan.changes)
    err = io.StringIO()
    summary = apply_plan(repo.path, plan, client, out=_Quiet(err), tty=None)
    assert summary.ok and summary.created == 1
    assert err.getvalue() == "panther-sync: [1/1] created rules/Rule.0\n"
