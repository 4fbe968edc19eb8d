"""Issue 11: sync deploys every kind and field that ``pat upload`` deploys, and deletes what was
removed; the stand-in serves PAT's GraphQL operations and refuses oversized bodies.

The reference-client comparison runs PAT 1.11.1 (``/work/pat-venv`` or ``$PAT``) against one
stand-in and ``panther-gitops sync apply`` against another; it is skipped when PAT is absent.
"""
from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests
from everykind import FILES
from synchelpers import TOKEN
from synchelpers import is_record

from pytest_panther.sync.apply import apply_plan
from pytest_panther.sync.client import PantherClient
from pytest_panther.sync.plan import make_plan
from pytest_panther.sync.targets import Target
from pytest_panther.sync.upload import RoutedWriter


def content(server: Any) -> dict[str, Any]:
    """The deployment without the sync's record of what it deployed (PAT writes none)."""
    return {key: value for key, value in server.deployment().items() if not is_record(f"/{key}")}


def _target(server: Any) -> Target:
    return Target(name="default", host=server.url, retries=1, backoff_factor=0.01, max_backoff=0.05, timeout=10)


def _sync(repo: Any, server: Any, *, refresh: bool = False) -> Any:
    target = _target(server)
    client = RoutedWriter(PantherClient(server.url, TOKEN, retries=1, timeout=10))
    plan = make_plan(repo.path, target, client, refresh=refresh)
    client.expect(plan.changes)  # as sync_target does: upload items in batches
    summary = apply_plan(repo.path, plan, client, out=io.StringIO(), tty=False)
    return plan, summary


def _write_all(repo: Any, files: dict[str, str]) -> None:
    for path, text in files.items():
        repo.write(path, text)


def test_signal_only_rule_is_deployed_as_signal_only(make_repo: Any, standin: Any) -> None:
    """CreateAlert: false (with the other Python-rule alert fields) reaches the deployment."""
    repo = make_repo()
    _write_all(repo, {p: t for p, t in FILES.items() if p.startswith("rules/signal.")})
    repo.commit()
    plan, summary = _sync(repo, standin)
    assert summary.ok and summary.ref_moved, summary.failures
    deployed = content(standin)["rules/Kind.Signal"]
    assert deployed["extra"]["CreateAlert"] is False
    assert deployed["extra"]["Reference"] == "https://example.com/signal"
    assert deployed["extra"]["AlertTitle"] == "a signal"
    assert deployed["rest"]["severity"] == "MEDIUM"
    sent = [r for r in standin.requests() if r["path"] == "/public/graphql"]
    assert len(sent) == 1 and "uploadDetectionEntities" in sent[0]["body"]["query"]
    assert not [r for r in standin.requests() if r["method"] == "PUT" and not is_record(r["path"])]  # not as an alerting REST rule


def test_databricks_only_query_deploys_and_the_ref_moves(make_repo: Any, standin: Any) -> None:
    repo = make_repo()
    repo.write("queries/databricks.yml", FILES["queries/databricks.yml"])
    repo.commit()
    plan, summary = _sync(repo, standin)
    assert plan.errors == [] and summary.ok and summary.ref_moved
    assert content(standin)["queries/Kind Databricks Query"]["extra"]["DatabricksQuery"] == "SELECT 3"
    repo.write("queries/databricks.yml", FILES["queries/databricks.yml"].replace("SELECT 3", "SELECT 4"))
    repo.commit()
    plan, summary = _sync(repo, standin)
    assert [c.action for c in plan.changes] == ["update"] and summary.ref_moved
    assert content(standin)["queries/Kind Databricks Query"]["extra"]["DatabricksQuery"] == "SELECT 4"


def test_every_kind_is_planned_deployed_and_deleted(make_repo: Any, standin: Any) -> None:
    repo = make_repo()
    _write_all(repo, FILES)
    repo.commit()
    plan, summary = _sync(repo, standin)
    assert summary.ok, summary.failures
    labels = {c.label for c in plan.changes}
    for label in ("correlation-rules/Kind.Correlation", "lookup-tables/kind_lut", "packs/Kind.Pack", "rules/Kind.Derived"):
        assert label in labels
    assert set(content(standin)) == {
        "globals/helper_one", "data-models/Standard.Custom.Thing", "rules/Kind.Plain", "rules/Kind.Signal",
        "simple-rules/Kind.Simple", "rules/Kind.Derived", "scheduled-rules/Kind.Scheduled", "policies/Kind.Policy",
        "correlation-rules/Kind.Correlation", "lookup-tables/kind_lut", "packs/Kind.Pack", "queries/Kind Saved Query",
        "queries/Kind Scheduled Query", "queries/Kind Databricks Query", "scheduled-prompts/daily_summary",
    }
    # A change to a correlation rule is an update (it used to plan as "unchanged").
    repo.write("correlation_rules/corr.yml", FILES["correlation_rules/corr.yml"].replace("Severity: High", "Severity: Low"))
    repo.remove("lookup_tables/lut.yml")
    repo.remove("lookup_tables/lut.jsonl")
    repo.remove("packs/pack.yml")
    repo.commit()
    plan, summary = _sync(repo, standin)
    assert [(c.action, c.label) for c in plan.changes] == [("update", "correlation-rules/Kind.Correlation")]
    assert content(standin)["correlation-rules/Kind.Correlation"]["extra"]["Severity"] == "Low"
    # No API deletes lookup tables or packs: said by name, not lost in silence.
    assert any("lookup-tables/kind_lut is no longer in this repository" in note for note in plan.notes)
    assert any("packs/Kind.Pack is no longer in this repository" in note for note in plan.notes)
    repo.remove("correlation_rules/corr.yml")
    repo.commit()
    plan, summary = _sync(repo, standin)
    assert [(c.action, c.label) for c in plan.changes] == [("delete", "correlation-rules/Kind.Correlation")]
    assert summary.ok and "correlation-rules/Kind.Correlation" not in content(standin)


def test_an_uploaded_file_is_sent_as_committed(make_repo: Any) -> None:
    """panther-analysis daa10c88 correlation_rules/secret_exposed_and_not_quarantined.yml:
    disabled, with a long Description holding a double space. It was re-dumped (wrapped at the
    double space, which YAML folds to one) and deployed with one space less than pat upload."""
    from pytest_panther.sync.desired import desired_state
    from pytest_panther.sync.desired import snapshot

    text = (
        "AnalysisType: correlation_rule\nRuleID: Secret.Exposed\nEnabled: false\nSeverity: High\n"
        "Description: The rule detects when a GitHub Secret Scan detects an exposed secret, which is not followed by "
        "the expected quarantine operation in AWS.  When you make a repository public, or push changes to a public "
        "repository, GitHub always scans the code for secrets that match partner patterns.\nDetection: []\n"
    )
    repo = make_repo()
    repo.write("correlation_rules/secret.yml", text)
    repo.commit()
    state = desired_state(snapshot(repo.path, "HEAD"))
    assert state.items[("correlation-rules", "Secret.Exposed")].body == {"upload:correlation_rules/secret.yml": text}
    # A target override rewrites the file, one scalar per line: the double space survives.
    state = desired_state(snapshot(repo.path, "HEAD"), None, {"output_ids": ["muted"]})
    sent = state.items[("correlation-rules", "Secret.Exposed")].body["upload:correlation_rules/secret.yml"]
    assert "AWS.  When" in sent and "OutputIds:\n- muted" in sent


def test_the_cli_deploys_every_kind(make_repo: Any, standin: Any) -> None:
    """``panther-gitops sync apply`` as users run it (batches through sync_target)."""
    repo = make_repo()
    _write_all(repo, FILES)
    repo.commit()
    env = {**os.environ, "PANTHER_API_HOST": standin.url, "PANTHER_API_TOKEN": TOKEN}
    cli = str(Path(sys.executable).parent / "panther-gitops")
    proc = subprocess.run([cli, "sync", "apply", "-C", str(repo.path)], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "+ create correlation-rules/Kind.Correlation" in proc.stdout
    assert "summary: 15 created, 0 updated, 0 deleted, 0 unchanged, 0 failed" in proc.stdout
    assert len(content(standin)) == 15
    uploads = [r for r in standin.requests() if r["path"] == "/public/graphql"]
    assert len(uploads) == 7  # one zip per collection with upload items, not one per spec
    assert TOKEN not in proc.stdout + proc.stderr


def test_a_policy_runbook_is_deployed_by_upload(make_repo: Any, standin: Any) -> None:
    """PolicyAPI.ModifyPolicy has no runbook: a policy with one (every AWS policy of
    panther-analysis) goes by upload, where it was lost (and now refused) over REST."""
    repo = make_repo()
    repo.write("policies/p.py", FILES["policies/policy.py"])
    repo.write("policies/p.yml", (
        "AnalysisType: policy\nPolicyID: AWS.ACM.Certificate.Expiration\nFilename: p.py\nEnabled: true\nSeverity: Medium\n"
        "ResourceTypes:\n  - AWS.ACM.Certificate\nRunbook: Renew the certificate before it expires.\n"
        "Tests:\n  - Name: ok\n    ExpectedResult: true\n    Resource:\n      ok: true\n"
    ))
    repo.commit()
    _, summary = _sync(repo, standin)
    assert summary.ok
    deployed = content(standin)["policies/AWS.ACM.Certificate.Expiration"]
    assert deployed["extra"] == {"Runbook": "Renew the certificate before it expires."}
    assert "runbook" not in deployed["rest"]
    reply = requests.put(standin.url + "/policies/P.2", timeout=10, headers={"X-API-Key": TOKEN},
                         json={"id": "P.2", "body": "x", "severity": "LOW", "runbook": "r"})
    assert reply.status_code == 400 and "'runbook' was unexpected" in reply.json()["message"]


def test_refresh_checks_uploaded_objects_on_their_rest_fields(make_repo: Any, standin: Any) -> None:
    repo = make_repo()
    _write_all(repo, {p: t for p, t in FILES.items() if p.startswith(("rules/signal.", "policies/"))})
    repo.commit()
    _sync(repo, standin)
    plan = make_plan(repo.path, _target(standin), RoutedWriter(PantherClient(standin.url, TOKEN)), refresh=True)
    assert plan.changes == [] and plan.unchanged == 2
    assert "2 object(s) sent by upload were compared on the fields REST shows only" in plan.notes
    # Someone edits the rule in the console: drift, named by field, and the upload is sent again.
    rule = standin.state(server_fields=False)["rules"]["Kind.Signal"]
    standin.seed({"rules": {"Kind.Signal": {**rule, "severity": "LOW"}}})
    plan = make_plan(repo.path, _target(standin), RoutedWriter(PantherClient(standin.url, TOKEN)), refresh=True)
    assert [(c.action, c.label, c.reason) for c in plan.changes] == [
        ("update", "rules/Kind.Signal", "drift in severity: sent by upload again")
    ]


def test_a_failing_unit_test_on_upload_is_named(make_repo: Any, standin: Any) -> None:
    repo = make_repo()
    _write_all(repo, {p: t for p, t in FILES.items() if p.startswith("rules/signal.")})
    repo.commit()
    standin.force_tests("rules", "Kind.Signal", False)
    plan, summary = _sync(repo, standin)
    assert not summary.ok and not summary.ref_moved
    assert "unit tests of rules/Kind.Signal failed: test 'signal hit'" in summary.failures[0]


def test_a_rest_400_shows_the_failing_unit_test_and_its_message(make_repo: Any, standin: Any) -> None:
    """Audit #17/#18: a 400 with ``testResults`` printed only ``message``."""
    repo = make_repo()
    repo.add_rule("Audit.Rule.One", "one")
    repo.commit()
    standin.force_tests("rules", "Audit.Rule.One", False)
    _, summary = _sync(repo, standin)
    assert not summary.ok and not summary.ref_moved
    assert summary.failures == [
        "rules/Audit.Rule.One: PUT /rules/Audit.Rule.One: 400 unit tests of rule 'Audit.Rule.One' failed; "
        "test 'hit' failed: failure forced by the stand-in"
    ]


def test_the_standin_runs_the_unit_tests_of_an_upload_and_names_the_failing_one(make_repo: Any, standin: Any) -> None:
    """The signal-only rule (upload route) with a test its code fails: Panther runs the tests
    before saving, so the upload is refused and the sync shows which test and why."""
    repo = make_repo()
    _write_all(repo, {p: t for p, t in FILES.items() if p.startswith("rules/signal.")})
    repo.write("rules/signal.py", "def rule(event):\n    return event.get('x') == 2\n")
    repo.commit()
    _, summary = _sync(repo, standin)
    assert not summary.ok and not summary.ref_moved
    failure = summary.failures[0]
    assert failure.startswith("rules/Kind.Signal: POST /public/graphql UploadDetections: 400 unit tests of rules/Kind.Signal failed: ")
    assert "test 'signal hit'" in failure and "ExpectedResult: true" in failure
    assert "rules/Kind.Signal" not in content(standin)


def test_uploads_go_in_batches_and_a_refused_batch_names_its_failing_spec(make_repo: Any, standin: Any) -> None:
    repo = make_repo()
    for index in range(3):
        text = FILES["rules/signal.yml"].replace("Kind.Signal", f"Kind.Signal{index}").replace("signal.py", f"signal{index}.py")
        repo.write(f"rules/signal{index}.yml", text)
        repo.write(f"rules/signal{index}.py", FILES["rules/signal.py"])
    repo.commit()
    _, summary = _sync(repo, standin)
    uploads = [r for r in standin.requests() if r["path"] == "/public/graphql"]
    assert summary.ok and len(uploads) == 1  # three specs, one zip
    repo.write("rules/signal1.py", "def rule(event):\n    return False\n")
    repo.write("rules/signal2.yml", (repo.path / "rules/signal2.yml").read_text().replace("Severity: Medium", "Severity: Low"))
    repo.commit()
    standin.reset()
    _, summary = _sync(repo, standin)
    # The zip of both changes is refused (a failing test), then each is sent alone.
    assert len([r for r in standin.requests() if r["path"] == "/public/graphql"]) == 3
    assert summary.updated == 1 and summary.failed == 1 and not summary.ref_moved
    assert summary.failures[0].startswith("rules/Kind.Signal1: ") and "test 'signal hit'" in summary.failures[0]
    assert "rules/Kind.Signal2" in content(standin)


def test_an_upload_is_tested_with_the_helper_version_it_brings(standin: Any) -> None:
    """pat upload sends helpers and rules in one zip: the rule's tests must see the new helper,
    not the one deployed before (which would fail them)."""
    from pytest_panther.sync.routes import upload_body

    client = RoutedWriter(PantherClient(standin.url, TOKEN, retries=1, timeout=10))
    client.put("globals", "helper_one", {"body": "def is_one(value):\n    return False\n"})
    files = {p: t for p, t in FILES.items() if p.startswith(("global_helpers/", "rules/plain."))}
    client.put("rules", "Kind.Plain", upload_body(files))
    assert standin.state()["globals"]["helper_one"]["body"] == FILES["global_helpers/helper_one.py"]
    assert "Kind.Plain" in standin.state()["rules"]


def test_the_standin_runs_the_unit_tests_of_a_rest_write(make_repo: Any, standin: Any) -> None:
    """A plain Python rule (REST route) whose test fails: 400 with testResults, shown by name."""
    repo = make_repo()
    repo.add_rule("Audit.Rule.Two", "two", body="def rule(event):\n    return False\n")
    repo.commit()
    _, summary = _sync(repo, standin)
    assert not summary.ok
    assert summary.failures[0].startswith(
        "rules/Audit.Rule.Two: PUT /rules/Audit.Rule.Two: 400 unit tests of rule 'Audit.Rule.Two' failed; test 'hit' failed: "
    )
    assert "expected" in summary.failures[0]
    assert standin.state()["rules"] == {}
    standin.configure(run_tests=False)  # the admin switch: tests not run, the write is saved
    _, summary = _sync(repo, standin)
    assert summary.ok and "Audit.Rule.Two" in standin.state()["rules"]


def test_the_standin_runs_the_unit_tests_of_a_simple_rule_rest_write(standin: Any) -> None:
    body = {
        "id": "Kind.Simple", "severity": "HIGH", "logTypes": ["Custom.Thing"],
        "detection": "- KeyPath: x\n  Condition: Equals\n  Value: 1\n",
        "tests": [{"name": "miss", "expectedResult": True, "resource": json.dumps({"x": 2})}],
    }
    reply = requests.put(standin.url + "/simple-rules/Kind.Simple", json=body, timeout=30, headers={"X-API-Key": TOKEN})
    assert reply.status_code == 400 and reply.json()["testResults"][0]["name"] == "miss"
    body["tests"][0]["resource"] = json.dumps({"x": 1})
    reply = requests.put(standin.url + "/simple-rules/Kind.Simple", json=body, timeout=30, headers={"X-API-Key": TOKEN})
    assert reply.status_code == 201


def test_a_30_mb_body_is_refused_with_413(standin: Any) -> None:
    body = json.dumps({"id": "Big.Rule", "severity": "LOW", "body": "x" * (30 * 1024 * 1024)})
    reply = requests.put(
        standin.url + "/rules/Big.Rule", data=body, timeout=30,
        headers={"X-API-Key": TOKEN, "Content-Type": "application/json"},
    )
    assert reply.status_code == 413
    assert "larger than" in reply.json()["message"]
    assert standin.state()["rules"] == {}


def test_unknown_graphql_fields_are_refused(standin: Any) -> None:
    reply = requests.post(
        standin.url + "/public/graphql", timeout=10, headers={"X-API-Key": TOKEN},
        json={"query": "mutation { deleteDetections(input: {ids: [\"x\"], bogus: true}) { ids } }"},
    )
    assert reply.status_code == 200 and reply.json()["errors"] and reply.json()["data"] is None


def test_graphql_needs_the_token(standin: Any) -> None:
    reply = requests.post(standin.url + "/public/graphql", timeout=10, json={"query": "{ generalSettings { pantherVersion } }"})
    assert reply.status_code == 401


def _pat() -> str | None:
    pat = os.environ.get("PAT", "/work/pat-venv/bin/pat")
    return pat if Path(pat).exists() else shutil.which("pat")


def _pat_run(pat: str, server: Any, *args: str, cwd: Path) -> None:
    proc = subprocess.run(
        [pat, *args, "--api-host", server.url + "/public/graphql", "--api-token", TOKEN],
        cwd=cwd, capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]


@pytest.mark.slow
@pytest.mark.skipif(_pat() is None, reason="PAT (pat upload) is not installed: set $PAT to its executable")
def test_same_deployment_as_pat_upload_through_changes_renames_and_deletes(make_repo: Any) -> None:
    """``pat upload`` (+ ``pat delete``) to one stand-in, ``sync apply`` to another: equal
    deployments, every kind and every field, after each commit."""
    from pytest_panther.sync.standin import StandinServer

    pat = _pat()
    assert pat is not None
    repo = make_repo()
    _write_all(repo, FILES)
    repo.commit()
    with StandinServer(token=TOKEN) as theirs, StandinServer(token=TOKEN) as ours:

        def check() -> None:
            _sync(repo, ours)
            assert content(ours) == content(theirs)

        _pat_run(pat, theirs, "upload", "--path", ".", "--skip-tests", cwd=repo.path)
        check()
        # Change, rename and delete a rule, a correlation rule, a saved query; change a lookup
        # table and a pack (no API deletes those two: see the note test above).
        repo.write("rules/plain.yml", FILES["rules/plain.yml"].replace("Severity: Low", "Severity: High"))
        repo.write("rules/signal.yml", FILES["rules/signal.yml"].replace("Kind.Signal", "Kind.Signal2"))
        repo.write("correlation_rules/corr.yml", FILES["correlation_rules/corr.yml"].replace("Kind.Correlation", "Kind.Correlation2"))
        repo.write("queries/saved.yml", FILES["queries/saved.yml"].replace("Kind Saved Query", "Kind Saved Query 2"))
        repo.write("lookup_tables/lut.jsonl", '{"ip": "10.0.0.2", "tag": "b"}\n')
        repo.write("packs/pack.yml", FILES["packs/pack.yml"].replace("a pack", "the pack"))
        repo.remove("rules/scheduled.yml")
        repo.remove("rules/scheduled.py")
        repo.remove("queries/databricks.yml")
        repo.commit()
        _pat_run(pat, theirs, "upload", "--path", ".", "--skip-tests", cwd=repo.path)
        _pat_run(
            pat, theirs, "delete", "--no-confirm", "--analysis-id", "Kind.Signal", "--analysis-id", "Kind.Correlation",
            "--analysis-id", "Kind.Scheduled", "--query-id", "Kind Saved Query", "--query-id", "Kind Databricks Query",
            cwd=repo.path,
        )
        check()
        after = content(ours)
        assert "rules/Kind.Signal2" in after and "correlation-rules/Kind.Correlation2" in after
        for gone in ("rules/Kind.Signal", "correlation-rules/Kind.Correlation", "rules/Kind.Scheduled",
                     "queries/Kind Saved Query", "queries/Kind Databricks Query"):
            assert gone not in after


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
