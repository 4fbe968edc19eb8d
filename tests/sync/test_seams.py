"""Seams between the merged branches of issues 10–12: the guards of one branch (read-back,
the deployment record, the gate) applied to the routes and kinds of another (the upload route),
each with the exact input that showed the defect."""
from __future__ import annotations

from typing import Any

from everykind import FILES
from test_apply import client_for
from test_apply import sync


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
