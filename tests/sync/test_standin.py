"""The stand-in Panther server over real HTTP on loopback, checked against the OpenAPI document."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from pytest_panther.sync.client import PantherClient
from pytest_panther.sync.standin import StandinServer
from pytest_panther.sync.standin import oas
from pytest_panther.sync.standin.resources import KINDS

TOKEN = "standin-test-token-42"
AUTH = {"X-API-Key": TOKEN}
RULE = {"id": "R.1", "body": "def rule(e): return True", "severity": "HIGH"}
FULL_OAS = Path("/work/shared/data/panther-rest-openapi.yaml")


class Api:
    """Raw HTTP calls (no PantherClient) that check every reply against the OpenAPI document."""

    def __init__(self, server: StandinServer) -> None:
        self.server = server
        self.session = requests.Session()

    def call(self, method: str, path: str, body: Any = None, *, headers: dict[str, str] | None = None,
             params: dict[str, str] | None = None, data: bytes | None = None) -> requests.Response:
        response = self.session.request(
            method, self.server.url + path, json=body, data=data, params=params,
            headers=AUTH if headers is None else headers, timeout=5,
        )
        self._check(method, path, response)
        return response

    @staticmethod
    def _check(method: str, path: str, response: requests.Response) -> None:
        parts = path.split("/")
        if path.startswith("/__standin__") or parts[1] not in KINDS:
            return
        try:
            _, schemas = oas.operation_schemas(parts[1], method, len(parts) == 3)
        except KeyError:
            return
        schema = schemas.get(response.status_code)
        if schema:
            assert oas.validate(schema, response.json()) == [], (method, path, response.text)
        elif response.status_code in (200, 201):
            raise AssertionError(f"{method} {path} answered {response.status_code}, not in the OAS")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[StandinServer]:
    # validate_responses=False: the replies are checked here, independently of the server's own check.
    with StandinServer(token=TOKEN, db_path=tmp_path / "state.db", validate_responses=False) as srv:
        yield srv


@pytest.fixture
def api(server: StandinServer) -> Api:
    return Api(server)


# -- the OpenAPI subset ----------------------------------------------------------------------


@pytest.mark.skipif(not FULL_OAS.exists(), reason="the full OpenAPI document is not on this machine")
def test_shipped_subset_matches_panthers_openapi_document() -> None:
    from pytest_panther.spec.yaml import load_file

    shipped = json.loads(oas.SUBSET_PATH.read_text())
    assert shipped == json.loads(json.dumps(oas.extract_subset(load_file(FULL_OAS).data)))
    assert sorted(p.strip("/").split("/")[0] for p in shipped["paths"]) == sorted(list(oas.KINDS) * 2)
    assert tuple(KINDS) == oas.KINDS


def test_nullable_becomes_a_null_type() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string", "nullable": True, "enum": ["x"]}}}
    assert oas.translate_nullable(schema) == {
        "type": "object", "properties": {"a": {"type": ["string", "null"], "enum": ["x", None]}},
    }


def test_validate_names_the_field() -> None:
    assert oas.validate("RuleAPI.ModifyRule", {"id": "x", "body": "b", "severity": "Low", "threshold": 0}) == [
        "$.severity: 'Low' is not one of ['INFO', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL']",
        "$.threshold: 0 is less than the minimum of 1",
    ]


# -- REST behaviour ------------------------------------------------------------------------------


def test_auth_missing_wrong_and_read_only_keys(server: StandinServer, api: Api) -> None:
    assert api.call("GET", "/rules", headers={}).status_code == 401
    wrong = api.call("GET", "/rules", headers={"X-API-Key": "nope"})
    assert (wrong.status_code, wrong.json()) == (401, {"message": "missing or invalid API key (X-API-Key)"})
    server.configure(read_only_token="viewer")
    assert api.call("GET", "/rules", headers={"X-API-Key": "viewer"}).status_code == 200
    denied = api.call("PUT", "/rules/R.1", RULE, headers={"X-API-Key": "viewer"})
    assert (denied.status_code, denied.json()) == (403, {"message": "this API key may only read"})
    keys = [e["headers"].get("X-API-Key") for e in server.requests()]
    assert keys == [None, "[redacted]", "[redacted]", "[redacted]"]


def test_put_creates_then_replaces_fully(api: Api, server: StandinServer) -> None:
    created = api.call("PUT", "/rules/R.1", {**RULE, "threshold": 5, "tags": ["a"]})
    assert created.status_code == 201
    assert created.json()["threshold"] == 5 and created.json()["enabled"] is True
    same = api.call("PUT", "/rules/R.1", {**RULE, "threshold": 5, "tags": ["a"]})
    assert same.status_code == 200
    assert same.json()["lastModified"] == created.json()["lastModified"]  # a no-op keeps the time
    time.sleep(0.001)
    replaced = api.call("PUT", "/rules/R.1", RULE).json()
    assert replaced["threshold"] == 1 and "tags" not in replaced  # full replace, defaults back
    assert replaced["createdAt"] == created.json()["createdAt"]
    assert replaced["lastModified"] > created.json()["lastModified"]
    assert server.state(server_fields=False)["rules"] == {
        "R.1": {**RULE, "enabled": True, "managed": False, "dedupPeriodMinutes": 60, "threshold": 1},
    }


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/rules/R.1", {**RULE, "id": "Other"}, "body id 'Other' differs from the id in the path 'R.1'"),
        ("/rules/R.1", {**RULE, "severity": "Low"},
         "invalid rule: $.severity: 'Low' is not one of ['INFO', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL']"),
        ("/rules/R.1", {**RULE, "tests": [{"name": "t"}]},
         "invalid rule: $.tests[0]: 'resource' is a required property; "
         "$.tests[0]: 'expectedResult' is a required property"),
        ("/policies/P", {"id": "P", "severity": "LOW"}, "invalid policy: $: 'body' is a required property"),
        ("/simple-rules/S", {"id": "S", "body": "x", "severity": "LOW"},
         "invalid simple rule: $: 'detection' is a required property; "
         "$: Additional properties are not allowed ('body' was unexpected)"),
        ("/rules/R.1", {**RULE, "createAlert": False},  # not in the published OpenAPI copy: refused, not stored
         "invalid rule: $: Additional properties are not allowed ('createAlert' was unexpected)"),
        ("/globals/G", {"description": "no body"}, "invalid global helper: $: 'body' is a required property"),
        ("/rules/R.1", [1, 2], "request body must be a JSON object, got list"),
    ],
)
def test_bad_bodies_are_400_and_change_nothing(
    api: Api, server: StandinServer, path: str, body: Any, message: str
) -> None:
    response = api.call("PUT", path, body)
    assert (response.status_code, response.json()) == (400, {"message": message})
    assert all(objects == {} for objects in server.state().values())


def test_non_json_body_is_400(api: Api) -> None:
    response = api.call("PUT", "/rules/R.1", data=b"{not json", headers={**AUTH, "Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["message"].startswith("request body is not JSON: ")


def test_post_create_conflict_get_and_delete(api: Api) -> None:
    assert api.call("POST", "/rules", RULE).status_code == 200
    conflict = api.call("POST", "/rules", RULE)
    assert (conflict.status_code, conflict.json()) == (409, {"message": "rule 'R.1' already exists"})
    assert api.call("GET", "/rules/R.1").json()["id"] == "R.1"
    deleted = api.call("DELETE", "/rules/R.1")
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert api.call("GET", "/rules/R.1").json() == {"message": "rule 'R.1' not found"}
    assert api.call("DELETE", "/rules/R.1").status_code == 404


def test_globals_put_reply_is_wrapped(api: Api) -> None:
    response = api.call("PUT", "/globals/panther_base_helpers", {"body": "x = 1"})
    assert response.status_code == 201
    assert response.json()["data"]["id"] == "panther_base_helpers"
    assert api.call("GET", "/globals/panther_base_helpers").json()["body"] == "x = 1"


def test_queries_have_server_ids_unique_names_and_no_put(api: Api, server: StandinServer) -> None:
    created = api.call("POST", "/queries", {"name": "Q", "sql": "select 1"}).json()
    assert created["id"] != "Q" and created["managed"] is False
    assert api.call("POST", "/queries", {"name": "Q", "sql": "select 2"}).status_code == 409
    updated = api.call("POST", f"/queries/{created['id']}", {"name": "Q", "sql": "select 2"})
    assert updated.status_code == 200 and updated.json()["sql"] == "select 2"
    assert api.call("POST", "/queries/unknown-id", {"name": "Q", "sql": "x"}).status_code == 404
    assert api.call("PUT", f"/queries/{created['id']}", {"name": "Q", "sql": "x"}).status_code == 405
    assert server.state()["queries"]["Q"]["id"] == created["id"]


def test_pagination_filters_and_cursors(api: Api, server: StandinServer) -> None:
    server.seed({"rules": {
        f"R.{i}": {"body": "x", "severity": "LOW", "enabled": i % 2 == 0, "displayName": f"Okta thing {i}"}
        for i in range(5)
    }})
    first = api.call("GET", "/rules", params={"limit": "2"}).json()
    assert [r["id"] for r in first["results"]] == ["R.0", "R.1"]
    second = api.call("GET", "/rules", params={"limit": "2", "cursor": first["next"]}).json()
    third = api.call("GET", "/rules", params={"limit": "2", "cursor": second["next"]}).json()
    assert [r["id"] for r in second["results"] + third["results"]] == ["R.2", "R.3", "R.4"]
    assert "next" not in third
    enabled = api.call("GET", "/rules", params={"state": "enabled"}).json()
    assert [r["id"] for r in enabled["results"]] == ["R.0", "R.2", "R.4"]
    named = api.call("GET", "/rules", params={"name-contains": "OKTA THING 3"}).json()
    assert [r["id"] for r in named["results"]] == ["R.3"]
    bad = api.call("GET", "/rules", params={"cursor": "garbage"})
    assert bad.status_code == 400 and bad.json()["message"].startswith("invalid cursor 'garbage'")
    server.configure(max_limit=3)
    assert len(api.call("GET", "/rules", params={"limit": "1000"}).json()["results"]) == 3


def test_unit_test_flags_and_forced_failures(api: Api, server: StandinServer) -> None:
    only = api.call("PUT", "/rules/R.1", RULE, params={"run-tests-only": "true"})
    assert (only.status_code, only.content) == (204, b"")
    assert server.state()["rules"] == {}
    server.force_tests("rules", "R.1", passed=False)
    body = {**RULE, "tests": [{"name": "hit", "resource": "{}", "expectedResult": True}]}
    failed = api.call("PUT", "/rules/R.1", body)
    assert failed.status_code == 400
    assert failed.json()["testResults"][0] == {
        "name": "hit", "passed": False, "errored": False, "triggerAlert": False,
        "error": {"code": "TEST_FAILED", "message": "failure forced by the stand-in"},
    }
    assert oas.validate("RuleAPI.BadRequestWithTestResultsErr", failed.json()) == []
    assert server.state()["rules"] == {}
    assert api.call("PUT", "/rules/R.1", body, params={"run-tests-first": "false"}).status_code == 201


def test_every_reply_matches_the_openapi_document(api: Api) -> None:
    # Api._check validates each of these replies against its OAS response schema.
    bodies = {
        "rules": RULE,
        "scheduled-rules": {**RULE, "scheduledQueries": ["Q"]},
        "simple-rules": {"id": "R.1", "detection": "x", "severity": "LOW"},
        "policies": {**RULE, "resourceTypes": ["AWS.S3.Bucket"]},
        "globals": {"body": "x"},
        "data-models": {"id": "R.1", "mappings": [{"name": "a", "path": "b"}]},
    }
    for kind, body in bodies.items():
        for expected in (201, 200):
            assert api.call("PUT", f"/{kind}/R.1", body).status_code == expected
        assert api.call("GET", f"/{kind}/R.1").status_code == 200
        assert api.call("GET", f"/{kind}").status_code == 200
        assert api.call("DELETE", f"/{kind}/R.1").status_code == 204
        assert api.call("GET", f"/{kind}/R.1").status_code == 404
    query = api.call("POST", "/queries", {"name": "Q", "sql": "select 1"}).json()
    assert api.call("GET", "/queries").status_code == 200
    assert api.call("GET", f"/queries/{query['id']}").status_code == 200


def test_the_server_catches_its_own_bad_replies(tmp_path: Path) -> None:
    with StandinServer(token=TOKEN) as srv:
        srv.seed({"rules": {"R.1": {"body": "x", "severity": "LOW"}}})
        srv.app.store.put("rules", "R.2", {"id": "R.2", "severity": "lowercase"})  # corrupt on purpose
        response = requests.get(srv.url + "/rules/R.2", headers=AUTH, timeout=5)
        assert response.status_code == 500
        assert response.json()["message"].startswith("stand-in bug: reply breaks RuleAPI.Rule: $.severity")


# -- admin API -----------------------------------------------------------------------------------


def test_admin_faults_state_requests_reset_and_config(api: Api, server: StandinServer) -> None:
    fault = {"method": "PUT", "path_regex": "^/rules/", "status": 400, "skip": 2, "times": 1,
             "body": {"message": "third put refused"}}
    assert api.call("POST", "/__standin__/faults", fault, headers={}).status_code == 204
    codes = [api.call("PUT", f"/rules/R.{i}", {**RULE, "id": f"R.{i}"}).status_code for i in range(4)]
    assert codes == [201, 201, 400, 201]
    assert sorted(api.call("GET", "/__standin__/state", headers={}).json()["rules"]) == ["R.0", "R.1", "R.3"]
    faults = api.call("GET", "/__standin__/faults", headers={}).json()["faults"]
    assert [(f["status"], f["fired"]) for f in faults] == [(400, 1)]
    journal = api.call("GET", "/__standin__/requests", headers={}).json()["requests"]
    assert [(e["method"], e["path"], e["status"], e["fault"]) for e in journal][2] == ("PUT", "/rules/R.2", 400, True)
    assert TOKEN not in json.dumps(journal)

    bad = api.call("POST", "/__standin__/faults", {"method": "PUT", "tims": 1}, headers={})
    assert bad.status_code == 400 and bad.json()["message"].startswith("unknown fault field(s): tims")

    seeded = {"queries": {"Q": {"sql": "select 1"}}, "globals": {"G": {"body": "x"}}}
    assert api.call("PUT", "/__standin__/state", seeded, headers={}).status_code == 204
    state = api.call("GET", "/__standin__/state", headers={}).json()
    assert state["queries"]["Q"]["sql"] == "select 1" and state["globals"]["G"]["id"] == "G"
    invalid = api.call("PUT", "/__standin__/state", {"rules": {"X": {"body": "x"}}}, headers={})
    assert invalid.json() == {"message": "rules/X: $: 'severity' is a required property"}

    api.call("POST", "/__standin__/config", {"rate_limit": {"rps": 0.5, "burst": 1}}, headers={})
    assert api.call("GET", "/rules").status_code == 200
    limited = api.call("GET", "/rules")
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "2")
    api.call("POST", "/__standin__/config", {"rate_limit": None}, headers={})

    assert api.call("POST", "/__standin__/reset", headers={}).status_code == 204
    assert all(v == {} for v in server.state().values()) and server.requests() == []


def test_admin_forces_test_outcomes(api: Api) -> None:
    forced = api.call("POST", "/__standin__/tests", {"kind": "rules", "id": "*", "passed": False}, headers={})
    assert forced.status_code == 204
    assert api.call("PUT", "/rules/R.1", RULE).status_code == 400
    bad = api.call("POST", "/__standin__/tests", {"kind": "globals", "id": "*", "passed": False}, headers={})
    assert bad.json()["message"].startswith("kind must be one of rules, scheduled-rules, simple-rules, policies")


def test_a_faulted_or_dropped_write_changes_nothing(api: Api, server: StandinServer) -> None:
    server.inject(method="PUT", path_regex="", drop_connection=True, times=1)
    with pytest.raises(requests.ConnectionError):
        requests.put(server.url + "/rules/R.1", json=RULE, headers=AUTH, timeout=5)
    server.inject(method="DELETE", path_regex="", status=503, times=1, retry_after=1)
    api.call("PUT", "/rules/R.1", RULE)
    response = api.call("DELETE", "/rules/R.1")
    assert (response.status_code, response.headers["Retry-After"]) == (503, "1")
    assert list(server.state()["rules"]) == ["R.1"]
    assert [e["status"] for e in server.requests()] == [None, 201, 503]


# -- persistence and the command -------------------------------------------------------------------


def test_state_survives_a_restart_with_the_same_db(tmp_path: Path) -> None:
    db = tmp_path / "keep.db"
    with StandinServer(token=TOKEN, db_path=db) as first:
        PantherClient(first.url, TOKEN).put("rules", "Kept Rule.v1", RULE | {"id": "Kept Rule.v1"})
        created = first.state()["rules"]["Kept Rule.v1"]["createdAt"]
    with StandinServer(token=TOKEN, db_path=db) as second:
        client = PantherClient(second.url, TOKEN)
        assert client.get("rules", "Kept Rule.v1")["createdAt"] == created
        assert [r["id"] for r in client.list("rules")] == ["Kept Rule.v1"]
    assert TOKEN.encode() not in db.read_bytes()


def _start_cli(*args: str) -> tuple[subprocess.Popen[str], str]:
    script = Path(sys.executable).with_name("panther-gitops")
    proc = subprocess.Popen([str(script), "standin", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PANTHER_API_TOKEN": ""})
    try:
        line = proc.stdout.readline() if proc.stdout else ""  # the first line names the URL
    except BaseException:
        proc.kill()
        raise
    if not line.startswith("serving http://127.0.0.1:"):
        proc.kill()
        raise AssertionError(f"unexpected first line {line!r}; stderr: {proc.communicate(timeout=5)[1]}")
    return proc, line.split()[1]


def _stop(proc: subprocess.Popen[str]) -> tuple[int, str]:
    proc.terminate()
    try:
        _, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    return proc.returncode, err


def test_the_standin_command_serves_and_keeps_state(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    proc, url = _start_cli("--port", "0", "--token", TOKEN, "--db", str(db), "--access-log")
    try:
        PantherClient(url, TOKEN).put("rules", "CLI.Rule", {"body": "x", "severity": "LOW"})
        assert requests.get(url + "/__standin__/health", timeout=5).json() == {"ok": True}
    finally:
        code, err = _stop(proc)
    assert code == 0
    assert "PUT /rules/CLI.Rule 201" in err and TOKEN not in err
    proc, url = _start_cli("--port", "0", "--token", TOKEN, "--db", str(db))
    try:
        assert PantherClient(url, TOKEN).get("rules", "CLI.Rule")["severity"] == "LOW"
    finally:
        assert _stop(proc)[0] == 0


def test_the_standin_command_refuses_bad_arguments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from pytest_panther.cli.main import main

    monkeypatch.delenv("PANTHER_API_TOKEN", raising=False)
    assert main(["standin", "--port", "0", "--token", "t", "--host", "0.0.0.0"]) == 2
    assert capsys.readouterr().err == (
        "panther-gitops standin: --host 0.0.0.0 is not a loopback address "
        "(the stand-in listens on 127.0.0.1, ::1 or localhost only)\n"
    )
    assert main(["standin", "--port", "0"]) == 2
    assert capsys.readouterr().err == "panther-gitops standin: no token (pass --token or set PANTHER_API_TOKEN)\n"
    (tmp_path / "not.db").write_text("this is not a database, just text " * 100)
    assert main(["standin", "--port", "0", "--token", "t", "--db", str(tmp_path / "not.db")]) == 2
    assert capsys.readouterr().err == "panther-gitops standin: cannot start: file is not a database\n"


@pytest.mark.parametrize(("port", "message"), [
    ("99999", "port 99999 is out of range (0-65535; 0 picks a free one)"),
    ("-1", "port -1 is out of range (0-65535; 0 picks a free one)"),
    ("abc", "invalid port 'abc' (a number 0-65535)"),
])
def test_the_standin_command_refuses_a_port_out_of_range(
    port: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # `standin --port 99999 --token t` used to end in bind()'s OverflowError traceback.
    from pytest_panther.cli.main import main

    with pytest.raises(SystemExit) as info:
        main(["standin", "--port", port, "--token", "t"])
    assert info.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == f"panther-gitops standin: error: argument --port: {message}"


def test_a_chunked_body_is_refused_with_a_clear_message(server: StandinServer) -> None:
    response = requests.put(server.url + "/rules/R.1", data=iter([json.dumps(RULE).encode()]), headers=AUTH, timeout=5)
    assert (response.status_code, response.json()) == (
        400, {"message": "send the body with a Content-Length header (chunked bodies are not supported)"})
    assert server.state()["rules"] == {}
