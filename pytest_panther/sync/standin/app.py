"""The stand-in as one object: auth, faults, rate limit, REST, admin API and the journal.

:meth:`StandinApp.handle` is what the HTTP layer calls for every request; the Python API of
:class:`~pytest_panther.sync.standin.server.StandinServer` calls the same methods directly.
"""
from __future__ import annotations

import hmac
import json
import time
from pathlib import Path
from typing import Any

from pytest_panther.sync.standin import oas
from pytest_panther.sync.standin.admin import handle_admin
from pytest_panther.sync.standin.api import Rest
from pytest_panther.sync.standin.api import parse_path
from pytest_panther.sync.standin.controls import Fault
from pytest_panther.sync.standin.controls import Faults
from pytest_panther.sync.standin.controls import Journal
from pytest_panther.sync.standin.controls import RateLimiter
from pytest_panther.sync.standin.controls import TestOutcomes
from pytest_panther.sync.standin.graphql_api import PATH as GRAPHQL_PATH
from pytest_panther.sync.standin.graphql_api import handle_graphql
from pytest_panther.sync.standin.resources import KINDS
from pytest_panther.sync.standin.resources import stored_object
from pytest_panther.sync.standin.store import Store
from pytest_panther.sync.standin.uploads import UPLOADS
from pytest_panther.sync.standin.uploads import Uploads
from pytest_panther.sync.standin.uploads import deployment
from pytest_panther.sync.standin.wire import BadRequest
from pytest_panther.sync.standin.wire import Request
from pytest_panther.sync.standin.wire import Response
from pytest_panther.sync.standin.wire import error

__all__ = ["ADMIN_PREFIX", "StandinApp"]

#: Test-only admin API prefix (sync-contract.md §5.5); never needs a token.
ADMIN_PREFIX = "/__standin__"

_WRITES = frozenset({"POST", "PUT", "DELETE"})
DEFAULT_MAX_BODY = 20 * 1024 * 1024


class StandinApp:
    """State and controls of one stand-in.

    ``token``: the API key every REST request must send in ``X-API-Key`` (else 401).
    ``read_only_token``: optional second key whose writes get 403. ``db_path``: SQLite file
    (state survives a restart) or ``None`` (memory). ``validate_responses``: check every REST
    reply against the OpenAPI response schema and answer 500 when it breaks it (a stand-in bug).
    """

    def __init__(
        self,
        token: str,
        db_path: str | Path | None = None,
        *,
        read_only_token: str | None = None,
        validate_responses: bool = True,
    ) -> None:
        if not token:
            raise ValueError("the stand-in needs a non-empty token")
        self.token = token
        self.read_only_token = read_only_token
        self.validate_responses = validate_responses
        self.store = Store(db_path)
        self.faults = Faults()
        self.outcomes = TestOutcomes()
        self.journal = Journal()
        self.rate_limiter: RateLimiter | None = None
        self.rest = Rest(self.store, self.outcomes)
        self.uploads = Uploads(self.store, self.outcomes)
        #: Largest request body accepted (bytes); larger ones get 413 unread. Panther does not
        #: publish its limit; AWS API Gateway, in front of such APIs, caps payloads at 10 MB.
        self.max_body = DEFAULT_MAX_BODY
        self._graphql_roots: dict[int, Any] = {}

    def __repr__(self) -> str:
        return f"StandinApp(db_path={self.store.path!s})"

    def close(self) -> None:
        self.store.close()

    # -- Python API (the admin routes call these too) ----------------------------------------

    def state(self) -> dict[str, dict[str, dict[str, Any]]]:
        """``{kind: {key: stored object}}`` for every kind; queries are keyed by ``name``."""
        dump = self.store.dump()
        out: dict[str, dict[str, dict[str, Any]]] = {kind: {} for kind in KINDS}
        for kind, objects in dump.items():
            if kind == UPLOADS:
                continue
            by_name = KINDS[kind].by_name
            out[kind] = {(obj["name"] if by_name else key): obj for key, obj in objects.items()}
        return out

    def uploaded(self) -> dict[str, dict[str, Any]]:
        """Fields of uploaded specs that REST objects lack, ``{"<collection>/<id>": {...}}``."""
        return self.store.dump().get(UPLOADS, {})

    def deployment(self) -> dict[str, Any]:
        """Every object, every field, whichever route wrote it (:func:`.uploads.deployment`)."""
        return deployment(self.state(), self.uploaded())

    def seed(self, state: dict[str, Any]) -> None:
        """Add or replace objects, ``{kind: {key: body}}`` (queries keyed by name), filling in
        server fields. Raises ``ValueError`` (nothing stored) when a body breaks its schema."""
        if not isinstance(state, dict):
            raise ValueError("state must be an object {kind: {key: object}}")
        with self.store.transaction():
            for kind_name, objects in state.items():
                kind = KINDS.get(kind_name)
                if kind is None or not isinstance(objects, dict):
                    raise ValueError(f"unknown kind {kind_name!r} (known: {', '.join(KINDS)})")
                method, item = ("POST", False) if kind.by_name or kind.name == "globals" else ("PUT", True)
                schema, _ = oas.operation_schemas(kind.name, method, item)
                for key, body in objects.items():
                    body = {**body, "name": key} if kind.by_name else {**body, "id": key}
                    problems = oas.validate_request(schema, body) if schema else ["not an object"]
                    if problems:
                        raise ValueError(f"{kind_name}/{key}: " + "; ".join(problems))
                    if kind.by_name:
                        old_key = self.store.key_by_name(kind.name, key)
                        old = self.store.get(kind.name, old_key) if old_key else None
                        obj = stored_object(kind, body.get("id"), body, old)
                        self.store.put(kind.name, obj["id"], obj, name=key)
                    else:
                        obj = stored_object(kind, key, body, self.store.get(kind.name, key))
                        self.store.put(kind.name, key, obj)

    def inject(self, fault: Fault) -> None:
        self.faults.add(fault)

    def configure(self, settings: dict[str, Any]) -> None:
        """Apply ``{token, read_only_token, rate_limit: {rps, burst} | null, max_limit,
        validate_responses}`` (each optional). Raises ``ValueError`` on a bad value."""
        known = {"token", "read_only_token", "rate_limit", "max_limit", "validate_responses", "max_body", "run_tests"}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        if "token" in settings:
            if not isinstance(settings["token"], str) or not settings["token"]:
                raise ValueError("token must be a non-empty string")
            self.token = settings["token"]
        if "read_only_token" in settings:
            self.read_only_token = settings["read_only_token"] or None
        if "rate_limit" in settings:
            limit = settings["rate_limit"]
            self.rate_limiter = RateLimiter(float(limit["rps"]), int(limit["burst"])) if limit else None
        if "max_limit" in settings:
            if not isinstance(settings["max_limit"], int) or settings["max_limit"] < 1:
                raise ValueError("max_limit must be an integer >= 1")
            self.rest.max_limit = settings["max_limit"]
        if "run_tests" in settings:
            self.rest.run_tests = self.uploads.run_tests = bool(settings["run_tests"])
        if "max_body" in settings:
            if not isinstance(settings["max_body"], int) or settings["max_body"] < 1:
                raise ValueError("max_body must be an integer >= 1 (bytes)")
            self.max_body = settings["max_body"]
        if "validate_responses" in settings:
            self.validate_responses = bool(settings["validate_responses"])

    def reset(self) -> None:
        """Drop all state, faults, forced test outcomes and the journal (settings stay)."""
        self.store.clear()
        self.faults.clear()
        self.outcomes.clear()
        self.journal.clear()
        self._graphql_roots.clear()

    # -- request handling --------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        if request.path == ADMIN_PREFIX or request.path.startswith(ADMIN_PREFIX + "/"):
            return handle_admin(self, request)
        response = self._handle_rest(request)
        self.journal.record(self._journal_entry(request, response))
        return response

    def _handle_rest(self, request: Request) -> Response:
        fault = self.faults.take(request.method, request.path)
        if fault is not None:
            if fault.delay_ms:
                time.sleep(fault.delay_ms / 1000)
            if fault.drop_connection:
                return Response(0, drop=True, fault=True)
            if fault.status is not None:
                return _fault_response(fault)
        key = request.header("X-API-Key") or ""
        read_only = bool(self.read_only_token) and hmac.compare_digest(key, self.read_only_token or "")
        if not (hmac.compare_digest(key, self.token) or read_only):
            return error(401, "missing or invalid API key (X-API-Key)")
        if read_only and request.method in _WRITES:
            return error(403, "this API key may only read")
        if self.rate_limiter is not None:
            wait = self.rate_limiter.acquire("ro" if read_only else "rw")
            if wait:
                return Response(429, {"message": "rate limit exceeded"}, {"Retry-After": str(wait)})
        if request.path == GRAPHQL_PATH:
            return handle_graphql(self.uploads, self._graphql_roots, request)
        try:
            response = self.rest.handle(request)
        except BadRequest as exc:
            response = error(exc.status, exc.message)
        if request.method in _WRITES and 200 <= response.status < 300:
            self._forget_upload(request, response)
        if self.validate_responses:
            response = self._checked(request, response)
        return response

    def _forget_upload(self, request: Request, response: Response) -> None:
        """A REST write replaces the whole object: fields an earlier upload set beyond REST go."""
        route = parse_path(request.path)
        if route is None:
            return
        kind, item_id = route
        if kind.by_name:
            obj = response.body if isinstance(response.body, dict) else {}
            item_id = obj.get("name") if isinstance(obj.get("name"), str) else None
        if item_id is not None:
            self.uploads.forget(kind.name, item_id)

    def _checked(self, request: Request, response: Response) -> Response:
        route = parse_path(request.path)
        if route is None or response.body is None:
            return response
        kind, item_id = route
        try:
            _, schemas = oas.operation_schemas(kind.name, request.method, item_id is not None)
        except KeyError:
            return response
        schema = schemas.get(response.status)
        problems = oas.validate(schema, response.body) if schema else []
        if problems:
            return error(500, f"stand-in bug: reply breaks {schema}: " + "; ".join(problems))
        return response

    def _journal_entry(self, request: Request, response: Response) -> dict[str, Any]:
        headers = {
            name: (Journal.REDACTED if name.lower() == "x-api-key" else value)
            for name, value in request.headers.items()
        }
        body: Any = None
        if request.body:
            try:
                body = json.loads(request.body)
            except ValueError:
                body = request.body.decode("utf-8", "replace")
        return {
            "method": request.method,
            "path": request.path,
            "query": dict(request.query),
            "headers": headers,
            "body": body,
            "status": None if response.drop else response.status,
            "fault": response.fault,
        }


def _fault_response(fault: Fault) -> Response:
    headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
    body = fault.body if fault.body is not None else {"message": "injected fault"}
    content_type = fault.content_type if isinstance(body, str) else "application/json"
    return Response(fault.status or 500, body, headers, content_type=content_type, fault=True)
