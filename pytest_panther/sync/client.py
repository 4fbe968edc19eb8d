"""A small client for Panther's REST API: the detection-content endpoints a sync needs.

Facts from shared/reference/sync-contract.md §1 ([OAS] = Panther's OpenAPI 3.0.3 document,
https://docs.panther.com/panther-developer-workflows/api/rest):

* Base URL ``https://api.<your-panther-domain>``; paths hang directly off it (no ``/v1``); the
  GraphQL URL is ``<base>/public/graphql`` (§1.1). :func:`normalise_host` accepts any of these.
* Auth is the ``X-API-Key`` header only (§1.1). Lists are paginated with ``cursor``/``limit``,
  ``{"results": [...], "next": "..."}``, a missing or empty ``next`` ends (§1.1).
* ``PUT /<kind>/{id}`` is an upsert (201 created, 200 replaced); ``DELETE`` answers 204, or 404
  when the id is unknown (§1.3–1.4). Globals wrap the PUT reply in ``{"data": ...}``.
* Saved queries have server-assigned ids and no PUT (§1.3): this client keys them by ``name``
  (as PAT's REST client does) and turns ``put`` into ``POST /queries`` or ``POST /queries/{id}``.
* Retries (§1.5 proposal): every method, POST included, is retried on 429, 502, 503 and 504
  (the request was not processed — and a saved-query POST that was, answers 409 on the retry,
  which becomes an update) and when the connection could not be made (nothing was sent), with
  exponential backoff capped at ``max_backoff``. A ``Retry-After`` is honoured in full up to
  ``max_retry_after`` seconds; a longer one is not waited for: the call fails at once and its
  error says how long the server asked for. Read timeouts and dropped connections are retried
  for GET, PUT and DELETE only (a POST may have been processed). 400/401/403/404 are never
  retried. Redirects are not followed, so the token never reaches another host.
* A write whose reply never came (a timed-out or dropped try, even one a retry then made good) is
  named in :attr:`PantherClient.uncertain`: it may still land later, so the sync reads it back
  before moving its ref.
* Saved queries are listed once per client (one run): 395 new queries cost one paginated list,
  not 978 (audit D10).

The token is sent only in ``X-API-Key``: it is not in ``repr``, log records or :class:`ApiError`
text (any echo of it in a reply is replaced by ``***``).
"""
from __future__ import annotations

from typing import Any
from typing import Self
from typing import cast
from urllib.parse import quote
from urllib.parse import urlencode

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError
from urllib3.util.retry import Retry

from pytest_panther.sync.targets import normalise_host

__all__ = ["GRAPHQL_PATH", "RESOURCES", "ApiError", "PantherClient", "normalise_host"]

RESOURCES: tuple[str, ...] = (
    "rules", "scheduled-rules", "simple-rules", "policies", "globals", "data-models", "queries",
)
"""URL collection segments of Panther's detection-content endpoints, exactly as the OpenAPI
paths name them (``/rules``, ``/rules/{id}``, ...); the order says nothing about upload order.
``queries`` are saved (and scheduled) queries, keyed by ``name`` in this client. Correlation
rules, lookup tables and packs have no REST endpoints (sync-contract.md §1.2)."""

#: Where the GraphQL operations (PAT's backend client: uploads, deletes) are sent.
GRAPHQL_PATH = "/public/graphql"

_RETRY_STATUSES = frozenset({429, 502, 503, 504})
_IDEMPOTENT = frozenset({"GET", "PUT", "DELETE", "HEAD", "OPTIONS"})
_ALL_METHODS = _IDEMPOTENT | {"POST"}
_PAGE_SIZE = 100
_MAX_ERROR_TEXT = 512


class ApiError(Exception):
    """A REST call that failed: ``status`` is the HTTP status, or ``None`` when no response came
    (connection refused or dropped, timeout). ``str(e)`` is ``"METHOD path: status message"``
    (``"METHOD path: no response, reason"`` without a response) and never contains the token."""

    def __init__(self, status: int | None, method: str, path: str, message: str) -> None:
        self.status = status
        self.method = method
        self.path = path
        self.message = message
        super().__init__(f"{method} {path}: {status if status is not None else 'no response,'} {message}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.status, self.method, self.path, self.message))


class _Retry(Retry):
    """urllib3 ``Retry`` that retries statuses for every method but read errors only for
    idempotent ones, and gives up at once on a ``Retry-After`` above ``max_retry_after``."""

    max_retry_after: float = 300.0

    def new(self, **kw: Any) -> Self:
        new = super().new(**kw)
        new.max_retry_after = self.max_retry_after
        return new

    def increment(self, method: str | None = None, url: str | None = None, response: Any = None,
                  error: Exception | None = None, _pool: Any = None, _stacktrace: Any = None) -> Self:
        if error is not None and self._is_read_error(error) and (method or "").upper() not in _IDEMPOTENT:
            raise error.with_traceback(_stacktrace)
        if response is not None:
            asked = _retry_after(self, response)
            if asked is not None and asked > self.max_retry_after:
                raise MaxRetryError(_pool, url or "", "Retry-After above the bound")  # type: ignore[arg-type]
        return super().increment(method, url, response, error, _pool, _stacktrace)


def _retry_after(retry: Retry, response: Any) -> float | None:
    value = response.headers.get("Retry-After") if response.headers is not None else None
    if not value:
        return None
    try:
        return retry.parse_retry_after(value)
    except Exception:  # noqa: BLE001 - an unparsable header: urllib3 decides as usual
        return None


def _segment(item_id: str) -> str:
    """``item_id`` percent-encoded as exactly one path segment (dots and spaces included)."""
    if not isinstance(item_id, str) or not item_id:
        raise ValueError(f"an id must be a non-empty string, got {item_id!r}")
    encoded = quote(item_id, safe="")
    # "." and ".." would be removed by URL normalisation; spell their dots out.
    return encoded.replace(".", "%2E") if encoded in (".", "..") else encoded


class PantherClient:
    """Panther REST client for the kinds in :data:`RESOURCES`.

    ``host``: see :func:`normalise_host` (``ValueError`` when refused). ``token``: the API
    token. ``timeout``: seconds per request (connect and read). ``retries``: retries per call
    after the first try. ``backoff_factor``/``max_backoff``: sleep
    ``backoff_factor * 2**(n-1)`` seconds before retry n>1 (plus jitter up to
    ``backoff_factor``), never more than ``max_backoff``. ``max_retry_after``: the longest
    ``Retry-After`` waited for (longer: the call fails, saying so). ``session``: an existing
    ``requests.Session`` to use (the retrying adapter is mounted for this host only).
    Every method raises :class:`ApiError` when the call fails.
    """

    def __init__(
        self,
        host: str,
        token: str,
        *,
        timeout: float = 30.0,
        retries: int = 5,
        backoff_factor: float = 0.5,
        max_backoff: float = 30.0,
        max_retry_after: float = 300.0,
        session: requests.Session | None = None,
    ) -> None:
        if not token:
            raise ValueError("the Panther API token is empty (set PANTHER_API_TOKEN)")
        self.base_url = normalise_host(host)
        self.timeout = timeout
        self.__token = token
        retry = _Retry(
            total=retries, connect=retries, read=retries, status=retries, other=0, redirect=0,
            allowed_methods=_ALL_METHODS, status_forcelist=_RETRY_STATUSES,
            backoff_factor=backoff_factor, backoff_max=max_backoff, backoff_jitter=backoff_factor,
            respect_retry_after_header=True, raise_on_status=False, raise_on_redirect=False,
        )
        retry.max_retry_after = max_retry_after
        self.max_backoff = max_backoff
        self.max_retry_after = max_retry_after
        self.session = session if session is not None else requests.Session()
        self.session.mount(self.base_url + "/", HTTPAdapter(max_retries=retry))
        self._query_ids: dict[str, str] = {}
        self._queries_listed = False
        #: ``(method, path)`` of writes with a try that got no reply (it may land later).
        self.uncertain: set[tuple[str, str]] = set()
        #: Why each retry so far was made (``"503"``, ``"429"``, ``"no reply"``), in order.
        self.retried: list[str] = []

    def __repr__(self) -> str:
        return f"PantherClient(host={self.base_url!r})"

    # -- transport ---------------------------------------------------------------------------

    def _request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                 body: dict[str, Any] | None = None) -> requests.Response:
        headers = {"X-API-Key": self.__token, "Accept": "application/json"}
        url = self.base_url + path + ("?" + urlencode(params) if params else "")
        try:
            prepared = self.session.prepare_request(requests.Request(method, url, json=body, headers=headers))
            prepared.url = url  # exactly as encoded: requests would turn "%2E" back into "."
            settings = self.session.merge_environment_settings(url, {}, None, None, None)
            return self.session.send(prepared, timeout=self.timeout, allow_redirects=False, **settings)
        except requests.RequestException as exc:
            raise ApiError(None, method, path, self._scrub(_describe(exc, self.timeout))) from None

    def _call(self, method: str, path: str, *, params: dict[str, Any] | None = None,
              body: dict[str, Any] | None = None, ok: tuple[int, ...] = (200, 201, 204)) -> requests.Response:
        try:
            response = self._request(method, path, params=params, body=body)
        except ApiError:
            if method != "GET":
                self.uncertain.add((method, path))
            raise
        history = getattr(getattr(response.raw, "retries", None), "history", ())
        if method != "GET" and any(entry.error is not None and entry.status is None for entry in history):
            self.uncertain.add((method, path))
        self.retried.extend(str(entry.status) if entry.status else "no reply" for entry in history)
        if response.status_code not in ok:
            raise ApiError(response.status_code, method, path, self._scrub(_error_text(response) + self._waited(response)))
        return response

    def _waited(self, response: requests.Response) -> str:
        """What a retryable status that was given up on means, for the error text."""
        if response.status_code not in _RETRY_STATUSES:
            return ""
        asked = response.headers.get("Retry-After")
        seconds = _retry_after(Retry(), response.raw) if asked else None
        if seconds is not None and seconds > self.max_retry_after:
            return (f" (the server asked to retry after {seconds:.0f}s, more than the {self.max_retry_after:.0f}s "
                    "this sync waits: rerun later, or raise PANTHER_SYNC_MAX_RETRY_AFTER)")
        rate = "rate limited; " if response.status_code == 429 else ""
        return f" ({rate}retries exhausted)"

    def _json(self, method: str, path: str, response: requests.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            text = self._scrub(response.text[:_MAX_ERROR_TEXT])
            raise ApiError(response.status_code, method, path, f"reply is not JSON: {text!r}") from None

    def _scrub(self, text: str) -> str:
        return text.replace(self.__token, "***")

    # -- public API ----------------------------------------------------------------------------

    def list(self, resource: str) -> list[dict[str, Any]]:
        """Every object of ``resource``, following ``next`` cursors to the last page."""
        path = "/" + _resource(resource)
        out: list[dict[str, Any]] = []
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            params: dict[str, Any] = {"limit": _PAGE_SIZE}
            if cursor:
                params["cursor"] = cursor
            response = self._call("GET", path, params=params, ok=(200,))
            page = self._json("GET", path, response)
            if not isinstance(page, dict) or not isinstance(page.get("results"), list):
                raise ApiError(200, "GET", path, "reply has no 'results' list")
            out.extend(page["results"])
            cursor = page.get("next") or None
            if cursor is None:
                break
            if cursor in seen:
                raise ApiError(200, "GET", path, "the server returned the same 'next' cursor twice")
            seen.add(cursor)
        if resource == "queries":
            self._query_ids = {q["name"]: q["id"] for q in out if "name" in q and "id" in q}
            self._queries_listed = True
        return out

    def get(self, resource: str, item_id: str) -> dict[str, Any] | None:
        """One object, or ``None`` when it does not exist (404). Queries: ``item_id`` is the name."""
        if _resource(resource) == "queries":
            return self._query(item_id)
        path = f"/{resource}/{_segment(item_id)}"
        response = self._call("GET", path, ok=(200, 404))
        return None if response.status_code == 404 else self._json("GET", path, response)

    def put(self, resource: str, item_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Create or replace ``item_id`` with ``body`` (a full replace); returns the stored object.

        ``body["id"]`` is set to ``item_id`` when missing (and left out for globals, whose PUT
        body has no id); a different ``body["id"]`` raises ``ValueError``. Queries: ``item_id``
        is the query name (create by ``POST /queries``, update by ``POST /queries/{id}``).
        """
        resource = _resource(resource)
        if resource == "queries":
            return self._put_query(item_id, body)
        if "id" in body and body["id"] != item_id:
            raise ValueError(f"body id {body['id']!r} differs from the id to write {item_id!r}")
        body = {k: v for k, v in body.items() if k != "id"} if resource == "globals" else {**body, "id": item_id}
        path = f"/{resource}/{_segment(item_id)}"
        stored = self._json("PUT", path, self._call("PUT", path, body=body, ok=(200, 201)))
        # The stored object as the API documents it (sync-contract.md); apply ignores it.
        if resource == "globals" and isinstance(stored, dict) and isinstance(stored.get("data"), dict):
            return cast("dict[str, Any]", stored["data"])
        return cast("dict[str, Any]", stored)

    def delete(self, resource: str, item_id: str) -> bool:
        """Delete ``item_id``: ``True`` when deleted, ``False`` when it was already gone (404)."""
        if _resource(resource) == "queries":
            query_id = self._query_id(item_id)
            if query_id is None:
                return False
            path = f"/queries/{_segment(query_id)}"
            if self._call("DELETE", path, ok=(200, 204, 404)).status_code == 404:
                self._query_ids.pop(item_id, None)
                return False
            return True
        path = f"/{resource}/{_segment(item_id)}"
        return self._call("DELETE", path, ok=(200, 204, 404)).status_code != 404

    def graphql(self, operation: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """Run one GraphQL ``query`` at ``<base>/public/graphql`` (the API PAT's backend client
        uses, same ``X-API-Key``) and return its ``data``. GraphQL ``errors`` raise
        :class:`ApiError` with status 400 and their messages (``operation`` names the call)."""
        path = GRAPHQL_PATH
        response = self._call("POST", path, body={"query": query, "variables": variables, "operationName": operation}, ok=(200,))
        reply = self._json("POST", path, response)
        errors = reply.get("errors") if isinstance(reply, dict) else None
        if errors:
            messages = [e.get("message", str(e)) if isinstance(e, dict) else str(e) for e in errors]
            raise ApiError(400, "POST", f"{path} {operation}", self._scrub("; ".join(messages)))
        data = reply.get("data") if isinstance(reply, dict) else None
        if not isinstance(data, dict):
            raise ApiError(200, "POST", f"{path} {operation}", "reply has no 'data' object")
        return data

    # -- queries (keyed by name) ---------------------------------------------------------------

    def _query_id(self, name: str, *, fresh: bool = False) -> str | None:
        """The id of the query called ``name``, from one listing per client (``fresh``: list again)."""
        if fresh or not self._queries_listed:
            self.list("queries")
        return self._query_ids.get(name)

    def _query(self, name: str) -> dict[str, Any] | None:
        listed_before = self._queries_listed
        query_id = self._query_id(name)
        found = self._by_id(query_id, name) if query_id is not None else None
        if found is None and listed_before:  # renamed, deleted or created meanwhile: list again
            query_id = self._query_id(name, fresh=True)
            found = self._by_id(query_id, name) if query_id is not None else None
        return found

    def _by_id(self, query_id: str, name: str) -> dict[str, Any] | None:
        path = f"/queries/{_segment(query_id)}"
        response = self._call("GET", path, ok=(200, 404))
        found = None if response.status_code == 404 else self._json("GET", path, response)
        return found if isinstance(found, dict) and found.get("name") == name else None

    def _put_query(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("name", name) != name:
            raise ValueError(f"body name {body['name']!r} differs from the query name {name!r}")
        body = {**body, "name": name}
        body.pop("id", None)
        query_id = self._query_id(name)
        if query_id is not None:
            path = f"/queries/{_segment(query_id)}"
            response = self._call("POST", path, body=body, ok=(200, 404))
            if response.status_code == 200:
                return self._json("POST", path, response)  # type: ignore[no-any-return]
            self._query_ids.pop(name, None)  # deleted meanwhile: create it
        response = self._call("POST", "/queries", body=body, ok=(200, 201, 409))
        if response.status_code != 409:
            created = self._json("POST", "/queries", response)
            if isinstance(created, dict) and isinstance(created.get("id"), str):
                self._query_ids[name] = created["id"]
            return created  # type: ignore[no-any-return]
        query_id = self._query_id(name, fresh=True)  # created meanwhile (e.g. by a try whose reply was lost)
        if query_id is None:
            raise ApiError(409, "POST", "/queries", f"query {name!r} exists but cannot be found")
        path = f"/queries/{_segment(query_id)}"
        return self._json("POST", path, self._call("POST", path, body=body, ok=(200,)))  # type: ignore[no-any-return]


def _resource(resource: str) -> str:
    if resource not in RESOURCES:
        raise ValueError(f"unknown Panther resource {resource!r} (known: {', '.join(RESOURCES)})")
    return resource


def _error_text(response: requests.Response) -> str:
    """The ``message`` of a JSON error body, else the raw body trimmed to 512 characters."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        message: str = data["message"]
        return message + failed_tests(data.get("testResults"))
    text = response.text.strip()[:_MAX_ERROR_TEXT].rstrip()
    return text or response.reason or "no body"


def failed_tests(results: Any, limit: int = 5) -> str:
    """``"; test 'name' failed: why"`` for each failed entry of a 400's ``testResults``
    (``BadRequestWithTestResultsErr``, sync-contract.md §1.1), the first ``limit`` and a count."""
    if not isinstance(results, list):
        return ""
    lines = []
    for result in results:
        if not isinstance(result, dict) or result.get("passed") is True:
            continue
        error: dict[str, Any] = result["error"] if isinstance(result.get("error"), dict) else {}
        why = error.get("message") if isinstance(error.get("message"), str) else ""
        functions: dict[str, Any] = result["functions"] if isinstance(result.get("functions"), dict) else {}
        for name, outcome in functions.items():
            if not why and isinstance(outcome, dict) and isinstance(outcome.get("error"), dict):
                why = f"{name}(): {outcome['error'].get('message', 'error')}"
        if not why and "triggerAlert" in result:
            why = f"the detection returned {bool(result['triggerAlert'])}"
        lines.append(f"test {str(result.get('name', '?'))!r} failed: {why or 'no reason given'}")
    more = f"; … {len(lines) - limit} more failed tests" if len(lines) > limit else ""
    return "".join(f"; {line}" for line in lines[:limit]) + more


def _describe(exc: requests.RequestException, timeout: float) -> str:
    """A one-line reason for a request that got no response."""
    text = str(exc)
    if isinstance(exc, requests.Timeout) or "timed out" in text.lower():
        return f"timed out after {timeout:g}s (retries exhausted)"
    if "RemoteDisconnected" in text or "Connection aborted" in text:
        return "the server closed the connection without a reply (retries exhausted)"
    if "Connection refused" in text or "NewConnectionError" in text:
        return "could not connect (retries exhausted)"
    return f"request failed ({type(exc).__name__}: {text[:_MAX_ERROR_TEXT]})"
