"""apply against the real stand-in on loopback, in process (real HTTP, real git)."""
from __future__ import annotations

import io
from typing import Any

from synchelpers import TOKEN
from synchelpers import deployed
from synchelpers import desired
from synchelpers import is_record

from pytest_panther.sync.apply import apply_plan
from pytest_panther.sync.client import PantherClient
from pytest_panther.sync.plan import make_plan
from pytest_panther.sync.state import read_synced
from pytest_panther.sync.targets import Target
from pytest_panther.sync.upload import RoutedWriter


def target_for(server: Any) -> Target:
    return Target(name="default", host=server.url, retries=2, backoff_factor=0.01, max_backoff=0.05, timeout=5)


def client_for(server: Any, token: str = TOKEN) -> RoutedWriter:
    """The client as ``sync`` makes it (:func:`pytest_panther.sync.run.make_client`)."""
    return RoutedWriter(PantherClient(server.url, token, retries=2, backoff_factor=0.01, max_backoff=0.05, timeout=5))


def sync(repo: Any, server: Any, **kwargs: Any) -> tuple[Any, Any, str]:
    target = target_for(server)
    client = kwargs.pop("client", None) or client_for(server)
    plan = make_plan(repo.path, target, client, refresh=kwargs.pop("refresh", False), prune=kwargs.pop("prune", False))
    client.expect(plan.changes)  # as sync_target does: upload items in batches
    out = io.StringIO()
    summary = apply_plan(repo.path, plan, client, out=out, tty=kwargs.pop("tty", False))
    return plan, summary, out.getvalue()


def writes(server: Any) -> list[tuple[str, str, int]]:
    """Writes of detection content (the sync's record of what it deployed left out)."""
    return [(r["method"], r["path"], r["status"]) for r in server.requests()
            if r["method"] in ("PUT", "POST", "DELETE") and not is_record(r["path"])]


def seed_repo(repo: Any, count: int = 3) -> None:
    repo.write("global_helpers/helper.py", "def helper():\n    return 1\n")
    repo.write("global_helpers/helper.yml", "AnalysisType: global\nGlobalID: helper\nFilename: helper.py\n")
    repo.write("data_models/dm.yml", "AnalysisType: datamodel\nDataModelID: Std.DM\nEnabled: true\nLogTypes: [AWS.CloudTrail]\nMappings:\n  - Name: actor_user\n    Path: $.user\n")
    for index in range(count):
        repo.add_rule(f"Rule.{index}", f"r{index}")


def test_first_apply_creates_everything_in_dependency_order(make_repo: Any, standin: Any) -> None:
    repo = make_repo()
    seed_repo(repo)
    head = repo.commit()
    plan, summary, out = sync(repo, standin)
    assert plan.mode == "refresh"
    assert summary.render() == "summary: 5 created, 0 updated, 0 deleted, 0 unchanged, 0 failed"
    assert [w[1] for w in writes(standin)] == ["/globals/helper", "/data-models/Std.DM", "/rules/Rule.0", "/rules/Rule.1", "/rules/Rule.2"]
    assert out.splitlines()[0] == "[1/5] created globals/helper"
    assert read_synced(repo.path, "default") == head
    assert deployed(standin) == desired(repo.path)
    # Nothing changed: nothing sent, the ref stays.
    standin.app.journal.clear() if hasattr(standin.app, "journal") else None
    before = len(standin.requests())
    plan, summary, _ = sync(repo, standin)
    assert (plan.mode, plan.changes, summary.render()) == ("incremental", [], "summary: 0 created, 0 updated, 0 deleted, 5 unchanged, 0 failed")
    assert len(standin.requests()) == before


def test_a_400_leaves_the_ref_and_the_rerun_finishes_without_duplicates(make_repo: Any, standin: Any) -> None:
    repo = make_repo()
    repo.add_rule("Base.Rule")
    base = repo.commit()
    sync(repo, standin)
    for index in range(10):
        repo.add_rule(f"Batch.{index:02d}")
    head = repo.commit()
    standin.inject(method="PUT", path_regex="^/rules/", status=400, times=1, skip=4, body={"message": "bad rule"})
    plan, summary, out = sync(repo, standin)
    assert summary.render() == "summary: 9 created, 0 updated, 0 deleted, 1 unchanged, 1 failed"
    assert summary.failures == ["rules/Batch.04: PUT /rules/Batch.04: 400 bad rule"]
    assert "[5/10] failed rules/Batch.04: PUT /rules/Batch.04: 400 bad rule\n" in out
    assert read_synced(repo.path, "default") == base
    plan, summary, _ = sync(repo, standin)
    assert summary.ok and summary.ref_moved
    assert read_synced(repo.path, "default") == head
    created = [w for w in writes(standin) if w[2] == 201]
    assert sorted(w[1] for w in created) == sorted({w[1] for w in created})  # each ID created once
    assert deployed(standin) == desired(repo.path)


def test_a_wrong_token_stops_at_the_first_call(make_repo: Any, standin: Any) -> None:
    repo = make_repo()
    repo.add_rule("R.1")
    repo.commit()
    repo_plan = make_plan(repo.path, target_for(standin), client_for(standin))
    bad = client_for(standin, "wrong-token")
    summary = apply_plan(repo.path, repo_plan, bad, out=io.StringIO(), tty=False)
    assert summary.failed == 1 and not summary.ref_moved
    assert summary.failures == ["rules/R.1: PUT /rules/R.1: 401 " + summary.failures[0].split(" 401 ", 1)[1]]
    assert "the token was refused" in summary.failures[0]
    assert read_synced(repo.path, "default") is None


def test_deletes_are_guarded_and_404_counts_as_done(make_repo: Any, standin: Any) -> None:
    repo = make_repo()
    repo.add_rule("Ours.Keep", "keep")
    repo.add_rule("Ours.Drop", "drop")
    repo.commit()
    standin.seed({"rules": {"Console.Made": {"id": "Console.Made", "body": "x", "severity": "LOW"}}})
    sync(repo, standin)
    repo.remove("rules/drop.yml")
    repo.write("deprecated.txt", "Gone.Already\n")
    repo.commit()
    plan, summary, out = sync(repo, standin)
    assert [f"{c.action} {c.label}" for c in plan.changes] == ["delete rules/Ours.Drop", "delete */Gone.Already"]
    assert summary.render() == "summary: 0 created, 0 updated, 2 deleted, 1 unchanged, 0 failed"
    assert "deleted */Gone.Already (already gone)" in out
    assert sorted(standin.state()["rules"]) == ["Console.Made", "Ours.Keep"]
    plan, summary, _ = sync(repo, standin, refresh=True)
    assert [c.label for c in plan.unmanaged] == ["rules/Console.Made"] and plan.changes == []
    plan, summary, _ = sync(repo, standin, prune=True, refresh=True)
    assert sorted(standin.state()["rules"]) == ["Ours.Keep"]


def test_progress_bar_on_a_terminal(make_repo: Any, standin: Any) -> None:
    repo = make_repo()
    seed_repo(repo, 1)
    repo.commit()
    _, summary, out = sync(repo, standin, tty=True)
    assert summary.ok
    assert out.startswith("\r[##########....................] 1/3 globals/helper")
    assert out.endswith("\n") and out.count("\n") == 1


def test_spec_errors_keep_the_ref(make_repo: Any, standin: Any) -> None:
    repo = make_repo()
    repo.add_rule("Good.Rule", "good")
    repo.write("rules/bad.yml", "AnalysisType: rule\nRuleID: Bad.Rule\nSeverity: Low\n")
    repo.commit()
    plan, summary, _ = sync(repo, standin)
    assert plan.errors == [
        "rules/bad.yml:1:1: missing required key 'Enabled'",
        "rules/bad.yml:1:1: missing required key 'Filename' or 'Detection'",
        "rules/bad.yml:1:1: missing required key 'LogTypes' or 'ScheduledQueries'",
    ]
    assert summary.created == 1 and not summary.ref_moved
    assert read_synced(repo.path, "default") is None


def test_every_kind_deploys_and_a_refresh_finds_no_drift(make_repo: Any, standin: Any) -> None:
    """Bodies of every REST kind pass the stand-in's OpenAPI validation, and what is stored
    compares equal to what the repository says (no false drift)."""
    repo = make_repo()
    seed_repo(repo, 1)
    repo.write("rules/r0.yml", (repo.path / "rules/r0.yml").read_text() + (
        "Reports:\n  CIS:\n    - 3.10\n    - '1.1'\n  MITRE ATT&CK:\n    - TA0001:T1078\n"
        "InlineFilters:\n  - KeyPath: eventName\n    Condition: Equals\n    Value: ConsoleLogin\n"
        "SummaryAttributes: [p_any_ip_addresses]\nThreshold: 5\nDedupPeriodMinutes: 15\n"
    ))
    # Its test mocks `lookup`, so the module defines it (the stand-in runs the tests, as Panther does).
    repo.write("policies/p.py", "def lookup():\n    return 0\n\n\ndef policy(resource):\n    return True\n")
    repo.write("policies/p.yml", "AnalysisType: policy\nPolicyID: Pol.One\nFilename: p.py\nEnabled: true\nSeverity: High\n"
               "ResourceTypes: [AWS.S3.Bucket]\nSuppressions: ['aws::s3::*']\nTests:\n  - Name: ok\n    ExpectedResult: true\n"
               "    Resource: {Name: b}\n    Mocks:\n      - objectName: lookup\n        returnValue: '3'\n")
    repo.write("queries/q.yml", "AnalysisType: scheduled_query\nQueryName: Hourly Logins\nEnabled: true\n"
               "Query: select 1\nSchedule:\n  CronExpression: '0 * * * *'\n  TimeoutMinutes: 2\n")
    repo.write("queries/s.yml", "AnalysisType: saved_query\nQueryName: Saved One\nQuery: select 2\nDescription: kept\n")
    repo.write("rules/sched.py", "def rule(event):\n    return True\n")
    repo.write("rules/sched.yml", "AnalysisType: scheduled_rule\nRuleID: Sched.One\nFilename: sched.py\nEnabled: true\n"
               "Severity: Info\nScheduledQueries: [Hourly Logins]\n")
    repo.write("rules/simple.yml", "AnalysisType: rule\nRuleID: Simple.One\nEnabled: true\nSeverity: Medium\n"
               "LogTypes: [Okta.SystemLog]\nDetection:\n  - Key: eventType\n    Condition: Equals\n    Value: user.session.start\n"
               "AlertTitle: Login\nGroupBy:\n  - Key: actor\n")
    repo.commit()
    plan, summary, _ = sync(repo, standin)
    assert summary.ok and summary.created == 8, (summary.failures, plan.errors)
    assert standin.state()["rules"]["Rule.0"]["reports"] == {"CIS": ["3.10", "1.1"], "MITRE ATT&CK": ["TA0001:T1078"]}
    assert deployed(standin) == desired(repo.path)
    plan, _, _ = sync(repo, standin, refresh=True)
    assert plan.changes == [] and plan.unmanaged == []
    repo.remove("queries/s.yml")
    repo.commit()
    plan, summary, _ = sync(repo, standin)
    assert [c.label for c in plan.changes] == ["queries/Saved One"] and summary.deleted == 1
    assert deployed(standin) == desired(repo.path)


def test_objects_of_an_unfinished_sync_are_deleted_when_their_spec_goes(make_repo: Any, standin: Any) -> None:
    from pytest_panther.sync.state import read_pending

    repo = make_repo()
    repo.add_rule("Base.Rule", "base")
    base = repo.commit()
    sync(repo, standin)
    repo.add_rule("Short.Lived", "short")
    repo.add_rule("Will.Fail", "will_fail")
    repo.commit()
    standin.inject(method="PUT", path_regex="^/rules/Will.Fail$", status=400, times=1)
    _, summary, _ = sync(repo, standin)
    assert summary.failures == ["rules/Will.Fail: PUT /rules/Will.Fail: 400 injected fault"]
    assert read_synced(repo.path, "default") == base
    assert read_pending(repo.path, "default") == {("rules", "Short.Lived"), ("rules", "Will.Fail")}
    repo.remove("rules/short.yml")  # removed before any sync finished
    repo.commit()
    plan, summary, _ = sync(repo, standin)
    assert [f"{c.action} {c.label} ({c.reason})" for c in plan.changes] == [
        "create rules/Will.Fail (new)",
        "delete rules/Short.Lived (written by an unfinished sync, no longer defined)",
    ]
    assert summary.ok and summary.ref_moved
    assert read_pending(repo.path, "default") == set()
    assert deployed(standin) == desired(repo.path)
