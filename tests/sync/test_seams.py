"""Seams between the merged branches of issues 10–12: the guards of one branch (read-back,
the deployment record, the gate) applied to the routes and kinds of another (the upload route),
each with the exact input that showed the defect."""
from __future__ import annotations

import io
from typing import Any

from everykind import FILES
from synchelpers import TOKEN
from synchelpers import GitRepo
from test_apply import client_for
from test_apply import sync
from test_apply import target_for

import pytest_panther.sync.upload as upload
from pytest_panther.cli.main import main
from pytest_panther.sync.apply import apply_plan
from pytest_panther.sync.manifest import manifest_id
from pytest_panther.sync.manifest import parse_manifest
from pytest_panther.sync.plan import make_plan


def _write(repo: Any, prefixes: tuple[str, ...]) -> None:
    for path, text in FILES.items():
        if path.startswith(prefixes):
            repo.write(path, text)


def test_an_upload_whose_reply_was_lost_is_read_back_on_what_rest_shows(make_repo: Any, standin: Any) -> None:
    """A batch upload (signal-only rule + correlation rule) timed out once, the one-at-a-time
    uploads then succeeded. The read-back compared the REST object with the upload body
    (``{"upload:rules/signal.yml": ...}``), never equal: the sync failed with "the deployment
    does not hold what was written", and a correlation rule (no REST route) raised ValueError."""
    repo = make_repo()
    _write(repo, ("rules/signal.", "correlation_rules/corr.", "rules/plain.", "global_helpers/"))
    repo.write("rules/signal2.yml", FILES["rules/signal.yml"].replace("Kind.Signal", "Kind.Signal2"))
    repo.write("rules/signal2.py", FILES["rules/signal.py"])
    repo.commit()
    standin.inject(method="POST", path_regex="^/public/graphql$", drop_connection=True, times=1)
    client = client_for(standin)
    plan, summary, out = sync(repo, standin, client=client)
    assert client.rest.uncertain == {("POST", "/public/graphql")}
    assert client.uncertain == {("UPLOAD", "rules/Kind.Signal"), ("UPLOAD", "rules/Kind.Signal2")}  # per spec
    assert summary.ok and summary.ref_moved, (summary.failures, out)
    assert {"Kind.Signal", "Kind.Signal2"} <= set(standin.state()["rules"])


def test_a_lost_upload_of_a_kind_rest_cannot_read_is_sent_again_and_named(make_repo: Any, standin: Any) -> None:
    """Two correlation rules, their batch upload dropped once: the read-back called
    ``GET correlation-rules/...``, which the REST client refuses (ValueError: unknown Panther
    resource), a traceback out of ``sync apply``. Now it is uploaded once more and said."""
    repo = make_repo()
    _write(repo, ("correlation_rules/corr.",))
    repo.write("correlation_rules/corr2.yml", FILES["correlation_rules/corr.yml"].replace("Kind.Correlation", "Kind.Correlation2"))
    repo.commit()
    standin.inject(method="POST", path_regex="^/public/graphql$", drop_connection=True, times=1)
    plan, summary, out = sync(repo, standin)
    assert summary.ok and summary.ref_moved, (summary.failures, out)
    assert summary.notes == [
        f"correlation-rules/{name}: a reply was lost; REST cannot read this kind back, so it was uploaded once more"
        for name in ("Kind.Correlation", "Kind.Correlation2")
    ]
    assert {"correlation-rules/Kind.Correlation", "correlation-rules/Kind.Correlation2"} <= set(standin.deployment())


def test_a_shallow_clone_deletes_removed_kinds_rest_cannot_list(make_repo: Any, standin: Any, tmp_path: Any,
                                                                monkeypatch: Any, capsys: Any) -> None:
    """The record (issue 11 §4) named the correlation rule, the derived detection and the lookup
    table the laptop deployed, but a clone without the synced commit compares with what REST
    lists, and REST lists none of them: their removal was lost in silence (still deployed, not
    in the plan) and the record dropped them, so no later run could delete them either."""
    monkeypatch.setenv("PANTHER_API_HOST", standin.url)
    monkeypatch.setenv("PANTHER_API_TOKEN", TOKEN)
    laptop = make_repo("laptop")
    laptop.git("init", "-q", "--bare", "-b", "main", str(tmp_path / "remote.git"))
    laptop.git("remote", "add", "origin", str(tmp_path / "remote.git"))
    _write(laptop, ("global_helpers/", "rules/plain.", "rules/derived.", "correlation_rules/", "lookup_tables/"))
    laptop.commit("every kind")
    assert main(["sync", "apply", "-C", str(laptop.path)]) == 0, capsys.readouterr()
    for path in ("rules/derived.yml", "correlation_rules/corr.yml", "lookup_tables/lut.yml", "lookup_tables/lut.jsonl"):
        laptop.remove(path)
    laptop.commit("remove the derived detection, the correlation rule and the lookup table")
    laptop.git("push", "-q", "origin", "main")
    ci = GitRepo(tmp_path / "ci")
    laptop.git("clone", "-q", "--depth", "1", f"file://{tmp_path / 'remote.git'}", str(ci.path))
    capsys.readouterr()
    standin.inject(method="POST", path_regex="^/public/graphql$", status=500, times=1)  # one delete fails
    assert main(["sync", "apply", "-C", str(ci.path)]) == 1
    out = "".join(capsys.readouterr())  # the plan, and the progress lines (stderr)
    failed = {key for key in (("rules", "Kind.Derived"), ("correlation-rules", "Kind.Correlation")) if f"failed {'/'.join(key)}" in out}
    assert len(failed) == 1, out
    kept = parse_manifest(standin.state()["globals"][manifest_id("default")])
    assert kept is not None and failed <= kept.keys  # the record still names it, so the next run deletes it
    assert main(["sync", "apply", "-C", str(ci.path)]) == 0
    out += capsys.readouterr().out
    assert "  - delete rules/Kind.Derived  (deployed by this repository (its record in the deployment), now removed)" in out
    assert "  - delete correlation-rules/Kind.Correlation  (deployed by this repository (its record in the deployment), now removed)" in out
    assert "lookup-tables/kind_lut is no longer in this repository" in out and "delete it in the Panther console" in out
    deployed = set(standin.deployment())
    assert "rules/Kind.Derived" not in deployed and "correlation-rules/Kind.Correlation" not in deployed
    record = parse_manifest(standin.state()["globals"][manifest_id("default")])
    assert record is not None and ("correlation-rules", "Kind.Correlation") not in record.keys


def test_a_wrong_token_stops_the_upload_batches_at_the_first(make_repo: Any, standin: Any, monkeypatch: Any) -> None:
    """i11safe stops a run at the first 401 (every later call would fail too); the upload route
    sent every batch of the collection anyway: three signal-only rules, batches of one, a wrong
    token — three refused uploads, where the REST route makes one call."""
    repo = make_repo()
    for n in range(3):
        repo.write(f"rules/signal{n}.yml", FILES["rules/signal.yml"].replace("Kind.Signal", f"Kind.Signal{n}").replace("signal.py", f"signal{n}.py"))
        repo.write(f"rules/signal{n}.py", FILES["rules/signal.py"])
    repo.commit()
    monkeypatch.setattr(upload, "BATCH", 1)
    plan = make_plan(repo.path, target_for(standin), client_for(standin))
    bad = client_for(standin, "wrong-token")
    bad.expect(plan.changes)
    summary = apply_plan(repo.path, plan, bad, out=io.StringIO(), tty=False)
    assert summary.failed == 3 and not summary.ref_moved
    assert [r["status"] for r in standin.requests() if r["path"] == "/public/graphql"] == [401]


def test_the_record_keeps_what_a_spec_with_errors_deployed(make_repo: Any, standin: Any, monkeypatch: Any,
                                                           capsys: Any) -> None:
    """A run without the synced ref (``--refresh``, as a shallow clone) while the correlation
    rule's spec fails validation (the gate keeps it out): the record was rebuilt from what HEAD
    deploys plus what REST lists, neither of which has the correlation rule, so it dropped out;
    once the spec was removed, no run deleted it."""
    monkeypatch.setenv("PANTHER_API_HOST", standin.url)
    monkeypatch.setenv("PANTHER_API_TOKEN", TOKEN)
    repo = make_repo()
    _write(repo, ("global_helpers/", "rules/plain.", "correlation_rules/"))
    repo.commit()
    assert main(["sync", "apply", "-C", str(repo.path)]) == 0
    repo.write("correlation_rules/corr.yml", FILES["correlation_rules/corr.yml"].replace("Severity: High", "Severity: Urgent"))
    repo.add_rule("R.New", "new")
    repo.commit("a bad severity")
    assert main(["sync", "apply", "-C", str(repo.path), "--refresh"]) == 1  # the spec error
    record = parse_manifest(standin.state()["globals"][manifest_id("default")])
    assert record is not None and ("correlation-rules", "Kind.Correlation") in record.keys
    repo.remove("correlation_rules/corr.yml")
    repo.commit("drop it")
    capsys.readouterr()
    assert main(["sync", "apply", "-C", str(repo.path), "--refresh"]) == 0
    assert "  - delete correlation-rules/Kind.Correlation" in capsys.readouterr().out
    assert "correlation-rules/Kind.Correlation" not in standin.deployment()


def test_a_retried_upload_batch_is_said_for_each_of_its_specs(make_repo: Any, standin: Any) -> None:
    """Retries are never silent (i11safe): a batch of two signal-only rules answered 503 once was
    said for the first spec only ('created rules/Kind.Signal (after 1 retry: 503)', then a bare
    'created rules/Kind.Signal2'), though both were in the retried upload."""
    repo = make_repo()
    _write(repo, ("rules/signal.",))
    repo.write("rules/signal2.yml", FILES["rules/signal.yml"].replace("Kind.Signal", "Kind.Signal2"))
    repo.write("rules/signal2.py", FILES["rules/signal.py"])
    repo.commit()
    standin.inject(method="POST", path_regex="^/public/graphql$", status=503, times=1)
    _, summary, out = sync(repo, standin)
    assert summary.ok, summary.failures
    assert out.splitlines() == [
        "[1/2] created rules/Kind.Signal (after 1 retry: 503)",
        "[2/2] created rules/Kind.Signal2 (after 1 retry: 503)",
    ]
