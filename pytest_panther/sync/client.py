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
* Retries (§1.5 proposal): GET, PUT and DELETE are retried on connection errors, read timeouts,
  429, 502, 503 and 504 with exponential backoff capped at ``max_backoff``, honouring
  ``Retry-After`` (also capped); 400/401/403/404 are never retried; POST is retried only when
  the connection could not be made (nothing was sent). Redirects are not followed, so the token
  never reaches another host.

The token is sent only in ``X-API-Key``: it is not in ``repr``, log records or :class:`ApiError`
text (any echo of it in a reply is replaced by ``***``).
"""
from __future__ import annotations

from typing import Any
from urllib.parse import quote
from urllib.parse import urlencode
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from pytest_panther.sync.loopback import is_loopback

__all__ = ["RESOURCES", "ApiError", "PantherClient", "normalise_host"]

RESOURCES: tuple[str, ...] = (
    "rules", "scheduled-rules", "simple-rules", "policies", "globals", "data-models", "queries",
)
"""URL collection segments of Panther's detection-content endpoints, exactly as the OpenAPI
paths name them (``/rules``, ``/rules/{id}``, ...); the order says nothing about upload order.
``queries`` are saved (and scheduled) queries, keyed by ``name`` in this client. Correlation
rules, lookup tables and packs have no REST endpoints (sync-contract.md §1.2)."""

_RETRY_STATUSES = frozenset({429, 502, 503, 504})
_IDEMPOTENT = frozenset({"GET", "PUT", "DELETE", "HEAD", "OPTIONS"})
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
    """urllib3 ``Retry`` whose ``Retry-After`` wait is capped at ``backoff_max`` as well."""

    def parse_retry_after(self, retry_after: str) -> float:
        return min(super().parse_retry_after(retry_after), self.backoff_max)


def normalise_host(host: str) -> str:
    """The REST base URL for ``host``, without a trailing slash.

    Accepts ``api.example.runpanther.net`` (https is assumed), ``https://api.example...``, with
    or without a trailing ``/v1`` or ``/public/graphql`` (both removed: the REST paths hang off
    the server root, sync-contract.md §1.1). Raises ``ValueError`` for other schemes, a missing
    host, or ``http://`` to a host that is not loopback (127.0.0.0/8, ::1, localhost).
    """
    text = host.strip()
    if "://" not in text:
        text = "https://" + text
    split = urlsplit(text)
    scheme = split.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError(f"Panther API host must be an https:// URL, got scheme {split.scheme!r}")
    if not split.hostname:
        raise ValueError(f"Panther API host has no host name: {host!r}")
    if scheme == "http" and not is_loopback(split.hostname):
        raise ValueError(
            f"refusing plain http:// to {split.hostname}: the API token would travel unencrypted "
            "(use https://; http:// is allowed only for loopback hosts such as 127.0.0.1)"
        )
    path = split.path.rstrip("/")
    for suffix in ("/public/graphql", "/v1"):
        if path.endswith(suffix):
            path = path[: -len(suffix)].rstrip("/")
    return f"{scheme}://{split.netloc}{path}"


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
    ``backoff_factor``), never more than ``max_backoff``. ``session``: an existing
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
        session: requests.Session | None = None,
    ) -> None:
        if not token:
            raise ValueError("the Panther API token is empty (set PANTHER_API_TOKEN)")
        self.base_url = normalise_host(host)
        self.timeout = timeout
        self.__token = token
        retry = _Retry(
            total=retries, connect=retries, read=retries, status=retries, other=0, redirect=0,
            allowed_methods=_IDEMPOTENT, status_forcelist=_RETRY_STATUSES,
            backoff_factor=backoff_factor, backoff_max=max_backoff, backoff_jitter=backoff_factor,
            respect_retry_after_header=True, raise_on_status=False, raise_on_redirect=False,
        )
        self.session = session if session is not None else requests.Session()
        self.session.mount(self.base_url + "/", HTTPAdapter(max_retries=retry))
        self._query_ids: dict[str, str] = {}

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
        response = self._request(method, path, params=params, body=body)
        if response.status_code not in ok:
            raise ApiError(response.status_code, method, path, self._scrub(_error_text(response)))
        return response

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
        if resource == "globals" and isinstance(stored, dict) and isinstance(stored.get("data"), dict):
            return stored["data"]
        return stored

    def delete(self, resource: str, item_id: str) -> bool:
        """Delete ``item_id``: ``True`` when deleted, ``False`` when it was already gone (404)."""
        if _resource(resource) == "queries":
            query = self._query(item_id)
            if query is None:
                return False
            item_id = query["id"]
        path = f"/{resource}/{_segment(item_id)}"
        return self._call("DELETE", path, ok=(200, 204, 404)).status_code != 404

    def graphql(self, operation: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """Run one GraphQL ``query`` at ``<base>/public/graphql`` (the API PAT's backend client
        uses, same ``X-API-Key``) and return its ``data``. GraphQL ``errors`` raise
        :class:`ApiError` with status 400 and their messages (``operation`` names the call)."""
        path = "/public/graphql"
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

    def _query(self, name: str) -> dict[str, Any] | None:
        query_id = self._query_ids.get(name)
        if query_id is not None:
            path = f"/queries/{_segment(query_id)}"
            response = self._call("GET", path, ok=(200, 404))
            if response.status_code == 200:
                found = self._json("GET", path, response)
                if found.get("name") == name:
                    return found
        for query in self.list("queries"):
            if query.get("name") == name:
                return query
        return None

    def _put_query(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("name", name) != name:
            raise ValueError(f"body name {body['name']!r} differs from the query name {name!r}")
        body = {**body, "name": name}
        body.pop("id", None)
        existing = self._query(name)
        if existing is None:
            response = self._call("POST", "/queries", body=body, ok=(200, 201, 409))
            if response.status_code != 409:
                created = self._json("POST", "/queries", response)
                self._query_ids[name] = created.get("id", "")
                return created
            existing = self._query(name)  # created meanwhile (e.g. by an earlier try)
            if existing is None:
                raise ApiError(409, "POST", "/queries", f"query {name!r} exists but cannot be found")
        path = f"/queries/{_segment(existing['id'])}"
        return self._json("POST", path, self._call("POST", path, body=body, ok=(200,)))


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
        return data["message"] + failed_tests(data.get("testResults"))
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
