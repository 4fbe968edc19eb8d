"""Retries and guards of ``sync plan|apply`` (issue 11 §5), each with the audit's input
(shared/reference/measured/sync-audit-2026-12.md #8, #9, #33, #34, #36 and D10)."""
from __future__ import annotations

from typing import Any

import pytest
from synchelpers import TOKEN
from test_apply import sync
from test_apply import writes

from pytest_panther.cli.main import main
from pytest_panther.sync.state import read_synced
from pytest_panther.sync.state import read_uncertain


def query(name: str, sql: str = "select 1") -> str:
    return f"AnalysisType: saved_query\nQueryName: {name}\nQuery: {sql}\n"


@pytest.fixture
def cli_env(standin: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PANTHER_API_HOST", standin.url)
    monkeypatch.setenv("PANTHER_API_TOKEN", TOKEN)
    monkeypatch.setenv("PANTHER_SYNC_BACKOFF", "0.01")


def test_post_429_is_retried_and_the_sync_finishes(make_repo: Any, standin: Any) -> None:
    """#8: inject(method="POST", path_regex="^/queries$", status=429, times=1, retry_after=1) → exit 1."""
    repo = make_repo()
    repo.add_rule("R.1", "r")
    repo.write("queries/q.yml", query("Failed Logins"))
    repo.commit()
    standin.inject(method="POST", path_regex="^/queries$", status=429, times=1, retry_after=1)
    _, summary, _ = sync(repo, standin)
    assert summary.ok and summary.ref_moved
    assert [s for m, p, s in writes(standin) if p == "/queries"] == [429, 200]
    assert list(standin.state()["queries"]) == ["Failed Logins"]


def test_a_rate_limited_stand_in_no_longer_fails_the_sync(make_repo: Any, standin: Any) -> None:
    """#9: rate limit 2 rps / burst 2 and 8 objects: the saved-query POST failed on 429."""
    repo = make_repo()
    for i in range(4):
        repo.add_rule(f"R.{i}", f"r{i}")
    repo.write("queries/q.yml", query("Q one"))
    repo.commit()
    standin.configure(rate_limit={"rps": 20, "burst": 1})
    _, summary, _ = sync(repo, standin)
    assert summary.ok and summary.ref_moved, summary.failures
    assert 429 in [r["status"] for r in standin.requests()]  # the limiter did bite


def test_new_saved_queries_are_looked_up_with_one_listing(make_repo: Any, standin: Any) -> None:
    """D10: each new query listed every query again (395 new queries: 978 list calls)."""
    repo = make_repo()
    for i in range(30):
        repo.write(f"queries/q{i}.yml", query(f"Query {i:02}"))
    repo.commit()
    standin.configure(max_limit=10)
    _, summary, _ = sync(repo, standin)
    assert summary.created == 30 and summary.ok
    lists = [r for r in standin.requests() if r["method"] == "GET" and r["path"] == "/queries"]
    assert len(lists) == 1  # the plan's refresh listing; the writes reuse nothing else
    for i in range(30):
        repo.write(f"queries/q{i}.yml", query(f"Query {i:02}", "select 2"))
    repo.commit()
    mark = len(standin.requests())
    _, summary, _ = sync(repo, standin)
    assert summary.updated == 30
    lists = [r for r in standin.requests()[mark:] if r["method"] == "GET" and r["path"] == "/queries"]
    assert len(lists) == 3  # 30 queries, pages of 10: one listing for the whole run


@pytest.mark.parametrize("where", ["wip", "detached"])
def test_plan_and_apply_refuse_a_head_off_the_deploy_branch(make_repo: Any, standin: Any, cli_env: None, where: str,
                                                           monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """#33/#34: on wip (or a detached HEAD~1) `sync apply` deployed to the production target and moved the ref."""
    repo = make_repo()
    repo.add_rule("R.1", "r")
    repo.commit()
    monkeypatch.chdir(repo.path)
    assert main(["sync", "apply"]) == 0
    synced = read_synced(repo.path, "default")
    if where == "wip":
        repo.git("checkout", "-q", "-b", "wip")
        repo.add_rule("Wip.Rule", "wip")
        repo.commit()
        shown = "on branch wip"
    else:
        repo.add_rule("R.2", "r2")
        repo.commit()
        repo.git("checkout", "-q", "--detach", "HEAD~1")
        shown = "detached"
    mark = len(standin.requests())
    capsys.readouterr()
    for action in ("plan", "apply"):
        assert main(["sync", action]) == 1
        assert capsys.readouterr().err == (
            f"panther-gitops sync: HEAD is {shown}, not on main, the deploy branch of target default: nothing done "
            "(check out main, or pass --any-branch to use this HEAD anyway)\n"
        )
    assert standin.requests()[mark:] == [] and read_synced(repo.path, "default") == synced
    assert main(["sync", "plan", "--any-branch"]) == 0  # told explicitly


def test_a_write_whose_reply_was_lost_is_read_back_before_the_ref_moves(make_repo: Any, standin: Any) -> None:
    """#36: a PUT that timed out client-side may land later; before moving the ref, what the
    deployment holds is checked."""
    repo = make_repo()
    repo.add_rule("R.1", "r", severity="High")
    repo.commit()
    standin.inject(method="PUT", path_regex="^/rules/R.1$", delay_ms=1500, times=1)
    from test_apply import client_for

    client = client_for(standin)
    client.rest.timeout = 0.5  # the REST client under the upload router
    plan, summary, _ = sync(repo, standin, client=client)
    assert client.uncertain == {("PUT", "/rules/R.1")}
    assert summary.ok and summary.ref_moved
    gets = [r["path"] for r in standin.requests() if r["method"] == "GET"]
    assert gets[-1] == "/rules/R.1"  # the read-back
    assert standin.state()["rules"]["R.1"]["severity"] == "HIGH"


def test_a_lost_write_of_an_unfinished_sync_is_rewritten_and_read_back_by_the_next(make_repo: Any, standin: Any) -> None:
    """#36 across runs: synced at A (R.1 LOW); B sets HIGH, its PUT gets no reply and the run
    fails; C sets LOW again, so A..C does not touch R.1 — but run 2's HIGH may have landed late.
    The next run rewrites R.1 and reads it back before moving the ref."""
    repo = make_repo()
    repo.add_rule("R.1", "r")
    repo.add_rule("R.2", "s")
    repo.commit()
    assert sync(repo, standin)[1].ref_moved
    repo.add_rule("R.1", "r", severity="High")
    repo.commit()
    standin.inject(method="PUT", path_regex="^/rules/R.1$", drop_connection=True, times=3)
    _, summary, _ = sync(repo, standin)
    assert not summary.ok and read_uncertain(repo.path, "default", standin.url) == {("rules", "R.1")}
    state = standin.state(server_fields=False)
    state["rules"]["R.1"]["severity"] = "HIGH"  # the lost write lands late
    standin.seed(state)
    repo.add_rule("R.1", "r", severity="Low")
    repo.add_rule("R.2", "s", severity="Medium")
    repo.commit()
    plan, summary, _ = sync(repo, standin)
    assert [(c.label, c.reason) for c in plan.changes] == [
        ("rules/R.1", "an earlier write got no reply: rewritten"), ("rules/R.2", "changed"),
    ]
    assert summary.ok and summary.ref_moved
    assert standin.state()["rules"]["R.1"]["severity"] == "LOW"
    assert read_uncertain(repo.path, "default", standin.url) == set()
