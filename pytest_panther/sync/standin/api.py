"""The REST subset of the stand-in (sync-contract.md §5.2–5.3): list, get, create, upsert,
update (queries) and delete for every kind in :data:`resources.KINDS`.

Request bodies are validated against the OpenAPI component schemas (:mod:`.oas`); a body that
breaks them gets 400 ``{"message": "invalid rule: $.severity: ..."}``. Handlers never touch
HTTP; :class:`Rest` maps a :class:`wire.Request` to a :class:`wire.Response`.
"""
from __future__ import annotations

import base64
import binascii
import json
from typing import Any
from urllib.parse import unquote

from pytest_panther.sync.standin import oas
from pytest_panther.sync.standin.controls import TestOutcomes
from pytest_panther.sync.standin.resources import KINDS
from pytest_panther.sync.standin.resources import Kind
from pytest_panther.sync.standin.resources import stored_object
from pytest_panther.sync.standin.store import Store
from pytest_panther.sync.standin.wire import BadRequest
from pytest_panther.sync.standin.wire import Request
from pytest_panther.sync.standin.wire import Response
from pytest_panther.sync.standin.wire import error
from pytest_panther.sync.standin.wire import json_body

__all__ = ["Rest", "parse_path"]

DEFAULT_LIMIT = 100


def parse_path(path: str) -> tuple[Kind, str | None] | None:
    """``(kind, decoded id or None)`` for ``/<kind>`` or ``/<kind>/<id>``; ``None`` otherwise."""
    parts = path.split("/")
    if len(parts) not in (2, 3) or parts[0] or parts[1] not in KINDS:
        return None
    if len(parts) == 2:
        return KINDS[parts[1]], None
    item_id = unquote(parts[2])
    return (KINDS[parts[1]], item_id) if item_id else None


def _flag(query: dict[str, str], name: str, default: bool) -> bool:
    value = query.get(name)
    if value is None:
        return default
    if value.lower() in ("true", ""):
        return True
    if value.lower() == "false":
        return False
    raise BadRequest(f"query parameter {name} must be true or false, got {value!r}")


def _encode_cursor(kind: Kind, key: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([kind.name, key]).encode()).decode()


def _decode_cursor(kind: Kind, cursor: str) -> str:
    try:
        name, key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        name = key = None
    if name != kind.name or not isinstance(key, str):
        raise BadRequest(f"invalid cursor {cursor!r} (pass the 'next' value of the previous page)")
    return key


class Rest:
    """REST handlers over ``store`` with forced test ``outcomes``; ``max_limit`` caps ``limit``."""

    def __init__(self, store: Store, outcomes: TestOutcomes, max_limit: int = 1000) -> None:
        self.store = store
        self.outcomes = outcomes
        self.max_limit = max_limit
        #: Run the unit tests of Python rules and policies with this project's engine before
        #: saving (as Panther does); the admin setting ``run_tests`` turns it off.
        self.run_tests = True

    def handle(self, request: Request) -> Response:
        route = parse_path(request.path)
        if route is None:
            return error(404, f"no such resource: {request.path}")
        kind, item_id = route
        method = request.method
        try:
            if item_id is None and method == "GET":
                return self.list(kind, request.query)
            if item_id is None and method == "POST":
                return self.create(kind, request)
            if item_id is not None and method == "GET":
                return self.get(kind, item_id)
            if item_id is not None and method == "PUT" and not kind.by_name:
                return self.upsert(kind, item_id, request)
            if item_id is not None and method == "POST" and kind.by_name:
                return self.update(kind, item_id, request)
            if item_id is not None and method == "DELETE":
                return self.delete(kind, item_id)
        except BadRequest as exc:
            return error(exc.status, exc.message)
        return error(405, f"{method} is not supported on {request.path}")

    # -- reads -------------------------------------------------------------------------------

    def list(self, kind: Kind, query: dict[str, str]) -> Response:
        raw_limit = query.get("limit") or str(DEFAULT_LIMIT)
        try:
            limit = int(raw_limit)
        except ValueError:
            raise BadRequest(f"limit must be an integer, got {raw_limit!r}") from None
        limit = max(1, min(limit, self.max_limit))
        cursor = query.get("cursor")
        after = _decode_cursor(kind, cursor) if cursor else None
        results, last = self.store.page(kind.name, after, limit, self._filter(kind, query))
        body: dict[str, Any] = {"results": results}
        if last is not None:
            body["next"] = _encode_cursor(kind, last)
        return Response(200, body)

    def _filter(self, kind: Kind, query: dict[str, str]) -> Any:
        state = query.get("state") if kind.detection else None
        if state not in (None, "", "enabled", "disabled"):
            raise BadRequest(f"state must be enabled or disabled, got {state!r}")
        needle = (query.get("name-contains") or "").lower() if kind.name != "queries" else ""

        def keep(obj: dict[str, Any]) -> bool:
            if state and bool(obj.get("enabled", True)) != (state == "enabled"):
                return False
            names = (str(obj.get("id", "")), str(obj.get("displayName", "")))
            return not needle or any(needle in name.lower() for name in names)

        return keep

    def get(self, kind: Kind, item_id: str) -> Response:
        obj = self.store.get(kind.name, item_id)
        if obj is None:
            return error(404, f"{kind.singular} {item_id!r} not found")
        return Response(200, obj)

    # -- writes ------------------------------------------------------------------------------

    def _body(self, kind: Kind, request: Request, schema: str | None) -> dict[str, Any]:
        body = json_body(request)
        if not isinstance(body, dict):
            raise BadRequest(f"request body must be a JSON object, got {type(body).__name__}")
        problems = oas.validate_request(schema, body) if schema else []
        if problems:
            raise BadRequest(f"invalid {kind.singular}: " + "; ".join(problems))
        return body

    def _tests_gate(self, kind: Kind, item_id: str, body: dict[str, Any], query: dict[str, str]) -> Response | None:
        """The reply that stops a write because of the unit-test flags (§5.3), or ``None``."""
        if not kind.detection:
            return None
        run_first = _flag(query, "run-tests-first", True)
        run_only = _flag(query, "run-tests-only", False)
        if (run_first or run_only) and not self.outcomes.passed(kind.name, item_id):
            tests = body.get("tests") or [{"name": "(no tests)", "expectedResult": True}]
            results = [
                {
                    "name": str(test.get("name", "")),
                    "passed": False,
                    "errored": False,
                    "triggerAlert": not bool(test.get("expectedResult", True)),
                    "error": {"code": "TEST_FAILED", "message": "failure forced by the stand-in"},
                }
                for test in tests
            ]
            return error(400, f"unit tests of {kind.singular} {item_id!r} failed", testResults=results)
        if (run_first or run_only) and self.run_tests:
            from pytest_panther.sync.standin.unit_tests import first_failure
            from pytest_panther.sync.standin.unit_tests import rest_files

            files = rest_files(kind.name, item_id, body)
            failure = first_failure(files, self.store.dump(), {item_id}) if files else None
            if failure is not None:
                name, _, why = failure[1].partition(": ")
                result = {
                    "name": name.removeprefix("test ").strip("'\""), "passed": False, "errored": False,
                    "error": {"code": "TEST_FAILED", "message": why},
                }
                return error(400, f"unit tests of {kind.singular} {item_id!r} failed", testResults=[result])
        if run_only:
            return Response(204)
        return None

    def create(self, kind: Kind, request: Request) -> Response:
        schema, _ = oas.operation_schemas(kind.name, "POST", item=False)
        body = self._body(kind, request, schema)
        key = str(body["name"] if kind.by_name else body["id"])
        if not key:
            raise BadRequest(f"{kind.singular} needs a non-empty {'name' if kind.by_name else 'id'}")
        with self.store.transaction():
            exists = self.store.key_by_name(kind.name, key) if kind.by_name else self.store.get(kind.name, key)
            if exists is not None:
                return error(409, f"{kind.singular} {key!r} already exists")
            gate = self._tests_gate(kind, key, body, request.query)
            if gate is not None:
                return gate
            obj = stored_object(kind, None, body, None)
            self.store.put(kind.name, obj["id"], obj, name=key if kind.by_name else None)
        return Response(200, obj)

    def upsert(self, kind: Kind, item_id: str, request: Request) -> Response:
        schema, _ = oas.operation_schemas(kind.name, "PUT", item=True)
        body = self._body(kind, request, schema)
        if kind.name != "globals" and body.get("id") != item_id:
            raise BadRequest(f"body id {body.get('id')!r} differs from the id in the path {item_id!r}")
        with self.store.transaction():
            gate = self._tests_gate(kind, item_id, body, request.query)
            if gate is not None:
                return gate
            old = self.store.get(kind.name, item_id)
            obj = stored_object(kind, item_id, body, old)
            self.store.put(kind.name, item_id, obj)
        status = 200 if old is not None else 201
        return Response(status, {"data": obj} if kind.name == "globals" else obj)

    def update(self, kind: Kind, item_id: str, request: Request) -> Response:
        schema, _ = oas.operation_schemas(kind.name, "POST", item=True)
        body = self._body(kind, request, schema)
        with self.store.transaction():
            old = self.store.get(kind.name, item_id)
            if old is None:
                return error(404, f"{kind.singular} {item_id!r} not found")
            owner = self.store.key_by_name(kind.name, body["name"])
            if owner not in (None, item_id):
                raise BadRequest(f"{kind.singular} name {body['name']!r} is already used by {owner!r}")
            obj = stored_object(kind, item_id, body, old)
            self.store.put(kind.name, item_id, obj, name=body["name"])
        return Response(200, obj)

    def delete(self, kind: Kind, item_id: str) -> Response:
        if not self.store.delete(kind.name, item_id):
            return error(404, f"{kind.singular} {item_id!r} not found")
        return Response(204)
