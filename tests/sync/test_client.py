"""PantherClient against a real stand-in on loopback (no HTTP mocks)."""
from __future__ import annotations

import logging
import pickle
import time
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_panther.sync.client import RESOURCES
from pytest_panther.sync.client import ApiError
from pytest_panther.sync.client import PantherClient
from pytest_panther.sync.client import normalise_host
from pytest_panther.sync.standin import StandinServer
from pytest_panther.sync.standin import oas

TOKEN = "s3cr3t-token-value"
MakeClient = Callable[..., PantherClient]
RULE = {"body": "def rule(event):\n    return True\n", "severity": "HIGH", "logTypes": ["AWS.CloudTrail"]}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[StandinServer]:
    with StandinServer(token=TOKEN, db_path=tmp_path / "standin.db") as srv:
        yield srv


@pytest.fixture
def make_client(server: StandinServer) -> Callable[..., PantherClient]:
    def make(**kwargs: Any) -> PantherClient:
        options: dict[str, Any] = {"timeout": 2.0, "retries": 3, "backoff_factor": 0.001, "max_backoff": 0.01}
        options.update(kwargs)
        return PantherClient(server.url, options.pop("token", TOKEN), **options)

    return make


def statuses(server: StandinServer, method: str | None = None) -> list[int | None]:
    return [r["status"] for r in server.requests() if method is None or r["method"] == method]


# -- CRUD and pagination --------------------------------------------------------------------


def test_put_get_list_delete_round_trip(server: StandinServer, make_client: MakeClient) -> None:
    client = make_client()
    created = client.put("rules", "My.Rule", RULE)
    assert created["id"] == "My.Rule" and created["severity"] == "HIGH"
    replaced = client.put("rules", "My.Rule", {**RULE, "severity": "LOW"})
    assert replaced["createdAt"] == created["createdAt"]
    assert client.get("rules", "My.Rule")["severity"] == "LOW"
    assert [r["id"] for r in client.list("rules")] == ["My.Rule"]
    assert client.delete("rules", "My.Rule") is True
    assert client.get("rules", "My.Rule") is None
    assert statuses(server, "PUT") == [201, 200]
    assert server.state()["rules"] == {}


def test_delete_of_a_missing_id_is_success(server: StandinServer, make_client: MakeClient) -> None:
    client = make_client()
    assert client.delete("policies", "Never.Existed") is False
    assert statuses(server) == [404]  # answered once, not retried


def test_list_follows_the_cursor_to_the_last_page(server: StandinServer, make_client: MakeClient) -> None:
    server.seed({"rules": {f"Rule.{i:03d}": dict(RULE) for i in range(250)}})
    rules = make_client().list("rules")
    assert [r["id"] for r in rules] == [f"Rule.{i:03d}" for i in range(250)]
    pages = server.requests()
    assert [("cursor" in p["query"], p["query"]["limit"]) for p in pages] == [
        (False, "100"), (True, "100"), (True, "100"),
    ]


def test_every_resource_round_trips(server: StandinServer, make_client: MakeClient) -> None:
    client = make_client()
    bodies: dict[str, dict[str, Any]] = {
        "rules": RULE,
        "scheduled-rules": {"body": "def rule(e): return True", "severity": "LOW", "scheduledQueries": ["Q"]},
        "simple-rules": {"detection": "- KeyPath: a\n  Condition: Exists\n", "severity": "INFO"},
        "policies": {"body": "def policy(r): return True", "severity": "MEDIUM", "resourceTypes": ["AWS.S3.Bucket"]},
        "globals": {"body": "def helper(): pass", "description": "helpers"},
        "data-models": {"logTypes": ["Okta.SystemLog"], "mappings": [{"name": "actor_user", "path": "$.actor.id"}]},
        "queries": {"sql": "select 1", "description": "a saved query"},
    }
    assert set(bodies) == set(RESOURCES) == set(oas.KINDS)
    for resource, body in bodies.items():
        stored = client.put(resource, "Item.One", body)
        assert (stored["name"] if resource == "queries" else stored["id"]) == "Item.One"
        assert client.get(resource, "Item.One") == stored
        assert len(client.list(resource)) == 1
    # Every request body the client sent is valid against Panther's OpenAPI request schema.
    for entry in server.requests():
        if entry["method"] in ("PUT", "POST"):
            item = entry["path"].count("/") == 2
            schema, _ = oas.operation_schemas(entry["path"].split("/")[1], entry["method"], item)
            assert schema and oas.validate(schema, entry["body"]) == [], entry
    for resource in bodies:
        assert client.delete(resource, "Item.One") is True
        assert client.delete(resource, "Item.One") is False
    assert all(objects == {} for objects in server.state().values())


def test_queries_are_keyed_by_name_and_updated_with_post(server: StandinServer, make_client: MakeClient) -> None:
    client = make_client()
    first = client.put("queries", "Failed Logins", {"sql": "select 1"})
    second = client.put("queries", "Failed Logins", {"sql": "select 2"})
    assert second["id"] == first["id"] and second["sql"] == "select 2"
    writes = [(r["method"], r["path"]) for r in server.requests() if r["method"] != "GET"]
    assert writes == [("POST", "/queries"), ("POST", f"/queries/{first['id']}")]
    assert list(server.state()["queries"]) == ["Failed Logins"]


def test_globals_put_reply_is_unwrapped_and_sends_no_id(server: StandinServer, make_client: MakeClient) -> None:
    stored = make_client().put("globals", "panther_base_helpers", {"id": "panther_base_helpers", "body": "x = 1"})
    assert stored["id"] == "panther_base_helpers" and "data" not in stored
    assert server.requests()[0]["body"] == {"body": "x = 1"}


def test_ids_with_dots_spaces_and_slashes_are_one_path_segment(server: StandinServer, make_client: MakeClient) -> None:
    client = make_client()
    odd = "AWS CloudTrail 2-minute count.v1/a?b#c%d"
    client.put("rules", odd, RULE)
    for dots in (".", ".."):
        client.put("rules", dots, RULE)
    assert server.requests()[0]["path"] == "/rules/AWS%20CloudTrail%202-minute%20count.v1%2Fa%3Fb%23c%25d"
    assert [r["path"] for r in server.requests()[1:]] == ["/rules/%2E", "/rules/%2E%2E"]
    assert set(server.state()["rules"]) == {odd, ".", ".."}
    assert client.get("rules", odd)["id"] == odd


# -- retries, timeouts, faults -----------------------------------------------------------------


def test_503_twice_then_success(server: StandinServer, make_client: MakeClient) -> None:
    server.inject(method="PUT", path_regex="^/rules/", status=503, times=2)
    make_client().put("rules", "R", RULE)
    assert statuses(server) == [503, 503, 201]
    assert "R" in server.state()["rules"]


def test_retries_exhausted_report_the_last_status(server: StandinServer, make_client: MakeClient) -> None:
    server.inject(method="GET", path_regex="^/rules$", status=504, times=10, body={"message": "upstream timeout"})
    with pytest.raises(ApiError) as info:
        make_client(retries=2).list("rules")
    assert (info.value.status, info.value.method, info.value.path) == (504, "GET", "/rules")
    assert str(info.value) == "GET /rules: 504 upstream timeout (retries exhausted)"
    assert statuses(server) == [504, 504, 504]


def test_429_retry_after_is_honoured(server: StandinServer, make_client: MakeClient) -> None:
    server.inject(method="GET", path_regex="^/rules/", status=429, times=1, retry_after=1)
    start = time.monotonic()
    assert make_client(max_backoff=5.0).get("rules", "R") is None
    assert time.monotonic() - start >= 0.95
    assert statuses(server) == [429, 404]


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits urllib3's Retry makes (recorded, not slept)."""
    import urllib3.util.retry

    waited: list[float] = []
    monkeypatch.setattr(urllib3.util.retry.time, "sleep", waited.append)
    return waited


def test_retry_after_is_honoured_in_full_up_to_the_bound(server: StandinServer, make_client: MakeClient, sleeps: list[float]) -> None:
    """Audit #6/D14: a Retry-After of 120 s was cut to max_backoff (30 s) and bought another 429."""
    server.inject(method="GET", path_regex="^/rules/", status=429, times=1, retry_after=120)
    assert make_client(max_backoff=0.05).get("rules", "R") is None
    assert sleeps == [120] and statuses(server) == [429, 404]


def test_a_retry_after_above_the_bound_fails_at_once_and_says_so(server: StandinServer, make_client: MakeClient, sleeps: list[float]) -> None:
    server.inject(method="PUT", path_regex="^/rules/", status=429, times=1, retry_after=3600)
    with pytest.raises(ApiError) as info:
        make_client(max_retry_after=300).put("rules", "R", RULE)
    assert str(info.value) == (
        "PUT /rules/R: 429 injected fault (the server asked to retry after 3600s, more than the 300s this sync "
        "waits: rerun later, or raise PANTHER_SYNC_MAX_RETRY_AFTER)"
    )
    assert sleeps == [] and statuses(server) == [429]


def test_429_retries_exhausted_say_rate_limited(server: StandinServer, make_client: MakeClient) -> None:
    server.inject(method="PUT", path_regex="^/rules/", status=429, times=10, retry_after=0)
    with pytest.raises(ApiError, match=r"^PUT /rules/R: 429 injected fault \(rate limited; retries exhausted\)$"):
        make_client(retries=1).put("rules", "R", RULE)


def test_a_timeout_is_retried(server: StandinServer, make_client: MakeClient) -> None:
    server.inject(method="GET", path_regex="^/rules/", delay_ms=700, times=1)
    assert make_client(timeout=0.25).get("rules", "R") is None
    deadline = time.monotonic() + 3  # the delayed first try is logged once its delay is over
    while len(statuses(server)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert statuses(server) == [404, 404]


def test_timeouts_exhausted_raise_with_no_status(server: StandinServer, make_client: MakeClient) -> None:
    server.inject(method="PUT", path_regex="^/rules/", delay_ms=500, status=500, times=5)
    with pytest.raises(ApiError) as info:
        make_client(timeout=0.2, retries=1).put("rules", "R", RULE)
    assert info.value.status is None
    assert str(info.value) == "PUT /rules/R: no response, timed out after 0.2s (retries exhausted)"


def test_a_dropped_connection_is_retried(server: StandinServer, make_client: MakeClient) -> None:
    server.inject(method="PUT", path_regex="^/rules/", drop_connection=True, times=1)
    make_client().put("rules", "R", RULE)
    assert statuses(server) == [None, 201]
    assert "R" in server.state()["rules"]


def test_a_dropped_connection_without_retries_fails_cleanly(server: StandinServer, make_client: MakeClient) -> None:
    server.inject(method="DELETE", path_regex="", drop_connection=True, times=1)
    with pytest.raises(ApiError) as info:
        make_client(retries=0).delete("rules", "R")
    assert info.value.status is None
    assert "closed the connection without a reply" in str(info.value)


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_client_errors_are_not_retried(server: StandinServer, make_client: MakeClient, status: int) -> None:
    server.inject(method="PUT", path_regex="^/rules/", status=status, times=5, body={"message": "nope"})
    with pytest.raises(ApiError) as info:
        make_client().put("rules", "R", RULE)
    assert str(info.value) == f"PUT /rules/R: {status} nope"
    assert statuses(server) == [status]


def test_the_nth_put_fails_with_400(server: StandinServer, make_client: MakeClient) -> None:
    server.inject(method="PUT", path_regex="^/rules/", status=400, skip=4, times=1)
    client = make_client()
    results = []
    for i in range(1, 7):
        try:
            client.put("rules", f"R{i}", RULE)
            results.append("ok")
        except ApiError as exc:
            results.append(exc.status)
    assert results == ["ok", "ok", "ok", "ok", 400, "ok"]
    assert sorted(server.state()["rules"]) == ["R1", "R2", "R3", "R4", "R6"]


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_post_is_retried_on_statuses_that_mean_not_processed(server: StandinServer, make_client: MakeClient, status: int) -> None:
    """Audit #8/D5: a 429 on POST /queries failed the sync; nothing was retried for POST."""
    server.inject(method="POST", path_regex="^/queries$", status=status, times=1, retry_after=1 if status == 429 else None)
    created = make_client(max_retry_after=1).put("queries", "Q", {"sql": "select 1"})
    assert statuses(server, "POST") == [status, 200]
    assert server.state()["queries"]["Q"]["id"] == created["id"]


def test_a_post_whose_reply_timed_out_is_not_resent_blindly(server: StandinServer, make_client: MakeClient) -> None:
    """The create may have landed: no second POST in this call; it is named uncertain, and the
    next put finds the query (409 → update) instead of duplicating it."""
    server.inject(method="POST", path_regex="^/queries$", delay_ms=1500, times=1)
    client = make_client(timeout=0.5)
    with pytest.raises(ApiError, match="timed out"):
        client.put("queries", "Q", {"sql": "select 1"})
    assert client.uncertain == {("POST", "/queries")}
    assert client.put("queries", "Q", {"sql": "select 2"})["sql"] == "select 2"
    assert [q["sql"] for q in server.state()["queries"].values()] == ["select 2"]


def test_queries_are_listed_once_per_client(server: StandinServer, make_client: MakeClient) -> None:
    """Audit D10: every new query listed all queries again (395 new queries: 978 list calls)."""
    server.configure(max_limit=10)
    client = make_client()
    for index in range(25):
        client.put("queries", f"Q{index:02}", {"sql": f"select {index}"})
    client.put("queries", "Q03", {"sql": "select 'again'"})
    assert client.delete("queries", "Q04") is True and client.delete("queries", "Nope") is False
    gets = [r for r in server.requests() if r["method"] == "GET"]
    assert [r["path"] for r in gets] == ["/queries"]  # one page: nothing existed yet
    assert len(server.state()["queries"]) == 24


def test_a_non_json_error_body_is_reported_trimmed(server: StandinServer, make_client: MakeClient) -> None:
    html = "<html><body>502 Bad Gateway</body></html>" + " " * 2000 + "tail"
    server.inject(method="GET", path_regex="", status=502, times=1, body=html, content_type="text/html")
    with pytest.raises(ApiError) as info:
        make_client(retries=0).list("rules")
    assert info.value.message == "<html><body>502 Bad Gateway</body></html> (retries exhausted)"


# -- auth and the token ------------------------------------------------------------------------


def test_wrong_token_is_401_and_the_token_leaks_nowhere(
    server: StandinServer, make_client: MakeClient, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-token-0123456789"
    client = make_client(token=wrong)
    with pytest.raises(ApiError) as info:
        client.put("rules", "R", RULE)
    assert str(info.value) == "PUT /rules/R: 401 missing or invalid API key (X-API-Key)"
    assert statuses(server) == [401]
    make_client().put("rules", "R", RULE)
    texts = [str(info.value), repr(info.value), repr(client), repr(make_client()), caplog.text,
             repr(server.requests()), repr(pickle.loads(pickle.dumps(info.value)))]
    assert "PUT /rules/R" in caplog.text or "/rules/R" in caplog.text  # urllib3 did log the calls
    for text in texts:
        assert wrong not in text and TOKEN not in text
    assert server.requests()[0]["headers"]["X-API-Key"] == "[redacted]"
    server.stop()  # flush the SQLite file
    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert wrong.encode() not in data and TOKEN.encode() not in data, path


def test_token_echoed_by_a_server_is_scrubbed(server: StandinServer, make_client: MakeClient) -> None:
    server.inject(method="GET", path_regex="", status=403, times=1, body={"message": f"key {TOKEN} lacks View Rules"})
    with pytest.raises(ApiError) as info:
        make_client().list("rules")
    assert str(info.value) == "GET /rules: 403 key *** lacks View Rules"


# -- host handling and argument checks ---------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://api.example.runpanther.net", "https://api.example.runpanther.net"),
        ("https://api.example.runpanther.net/", "https://api.example.runpanther.net"),
        ("https://api.example.runpanther.net/v1", "https://api.example.runpanther.net"),
        ("https://api.example.runpanther.net/v1/", "https://api.example.runpanther.net"),
        ("https://api.example.runpanther.net/public/graphql", "https://api.example.runpanther.net"),
        ("api.example.runpanther.net", "https://api.example.runpanther.net"),
        ("http://127.0.0.1:8765", "http://127.0.0.1:8765"),
        ("http://127.1.2.3:8765/v1", "http://127.1.2.3:8765"),
        ("http://localhost:8765", "http://localhost:8765"),
        ("http://[::1]:8765", "http://[::1]:8765"),
    ],
)
def test_host_is_normalised(given: str, expected: str) -> None:
    assert normalise_host(given) == expected


@pytest.mark.parametrize("host", ["http://api.example.runpanther.net", "http://10.0.0.1:8080", "http://[::2]:80"])
def test_plain_http_to_a_remote_host_is_refused(host: str) -> None:
    with pytest.raises(ValueError, match=r"^refusing plain http:// to .*: the API token would travel unencrypted"):
        PantherClient(host, TOKEN)


def test_bad_arguments_are_value_errors(make_client: MakeClient) -> None:
    client = make_client()
    with pytest.raises(ValueError, match="^unknown Panther resource 'correlation-rules'"):
        client.list("correlation-rules")
    with pytest.raises(ValueError, match="^body id 'B' differs from the id to write 'A'$"):
        client.put("rules", "A", {**RULE, "id": "B"})
    with pytest.raises(ValueError, match="^an id must be a non-empty string"):
        client.get("rules", "")
    with pytest.raises(ValueError, match="^Panther API host must be an https:// URL, got scheme 'ftp'$"):
        PantherClient("ftp://x", TOKEN)
    with pytest.raises(ValueError, match="token is empty"):
        PantherClient("https://x", "")


def test_connection_refused_is_retried_then_reported() -> None:
    import socket

    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = PantherClient(f"http://127.0.0.1:{port}", TOKEN, retries=2, backoff_factor=0.001, max_backoff=0.01)
    with pytest.raises(ApiError) as info:
        client.list("rules")
    # Was "GET /rules: no response could not connect (...)", which reads as one garbled phrase.
    assert str(info.value) == "GET /rules: no response, could not connect (retries exhausted)"


def test_a_given_session_is_used_and_keeps_no_token(server: StandinServer) -> None:
    import requests

    session = requests.Session()
    session.headers["User-Agent"] = "sync-test/1"
    client = PantherClient(server.url, TOKEN, session=session, backoff_factor=0.001)
    client.put("rules", "R", RULE)
    assert server.requests()[0]["headers"]["User-Agent"] == "sync-test/1"
    assert TOKEN not in repr(dict(session.headers))
