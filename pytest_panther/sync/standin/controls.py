"""Test-only controls of the stand-in (sync-contract.md §5.4–5.5): faults, forced unit-test
outcomes, an optional rate limit, and the request journal. All in memory, all thread-safe.
"""
from __future__ import annotations

import math
import re
import threading
import time
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from typing import Any

__all__ = ["Fault", "Faults", "Journal", "RateLimiter", "TestOutcomes", "parse_fault"]

_METHODS = frozenset({"*", "GET", "PUT", "POST", "DELETE"})


@dataclass
class Fault:
    """One injected fault: matches ``method`` (or ``"*"``) and ``path_regex`` (``re.search`` on
    the raw, still percent-encoded path without the query string).

    The first ``skip`` matching requests pass untouched; the next ``times`` ones get the fault,
    then it is spent. A fault sleeps ``delay_ms`` first, then either closes the connection with
    no reply (``drop_connection``), or answers ``status`` with ``body`` (a JSON value, or a
    string sent as ``content_type``, default ``{"message": "injected fault"}``) and
    ``Retry-After: retry_after`` when given. With no status and no drop it only delays, and the
    request is then handled normally.
    """

    method: str = "*"
    path_regex: str = ""
    status: int | None = None
    times: int = 1
    skip: int = 0
    retry_after: int | str | None = None
    delay_ms: int = 0
    body: Any = None
    content_type: str = "application/json"
    drop_connection: bool = False
    fired: int = field(default=0)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def parse_fault(spec: Any) -> Fault:
    """A :class:`Fault` from its JSON form (the fields above, ``fired`` excluded).

    Raises ``ValueError`` naming the bad field.
    """
    if not isinstance(spec, dict):
        raise ValueError("a fault must be a JSON object")
    known = set(Fault.__dataclass_fields__) - {"fired"}
    unknown = sorted(set(spec) - known)
    if unknown:
        raise ValueError(f"unknown fault field(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    fault = Fault(**spec)
    fault.method = str(fault.method).upper()
    if fault.method not in _METHODS:
        raise ValueError(f"method must be one of {sorted(_METHODS)}, got {fault.method!r}")
    try:
        re.compile(fault.path_regex)
    except (re.error, TypeError) as exc:
        raise ValueError(f"path_regex is not a regular expression: {exc}") from None
    for name in ("times", "skip", "delay_ms"):
        value = getattr(fault, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
    if fault.status is not None and not (isinstance(fault.status, int) and 100 <= fault.status <= 599):
        raise ValueError(f"status must be an HTTP status code, got {fault.status!r}")
    return fault


class Faults:
    """The active faults, checked in the order they were added."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._seen: dict[int, int] = {}

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)
            self._seen[id(fault)] = 0

    def take(self, method: str, path: str) -> Fault | None:
        """The first fault that fires for this request (its counters are advanced), or ``None``."""
        with self._lock:
            for fault in self._faults:
                if fault.fired >= fault.times:
                    continue
                if fault.method not in ("*", method) or not re.search(fault.path_regex, path):
                    continue
                seen = self._seen[id(fault)]
                self._seen[id(fault)] = seen + 1
                if seen < fault.skip:
                    continue
                fault.fired += 1
                return fault
        return None

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.to_json() for f in self._faults]

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self._seen.clear()


class TestOutcomes:
    """Forced unit-test outcomes per ``(kind, id)``; id ``"*"`` covers every id of a kind."""

    __test__ = False  # not a pytest class

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._forced: dict[tuple[str, str], bool] = {}

    def force(self, kind: str, item_id: str, passed: bool) -> None:
        with self._lock:
            self._forced[(kind, item_id)] = passed

    def passed(self, kind: str, item_id: str) -> bool:
        with self._lock:
            return self._forced.get((kind, item_id), self._forced.get((kind, "*"), True))

    def clear(self) -> None:
        with self._lock:
            self._forced.clear()


class RateLimiter:
    """A token bucket per API key: ``rps`` tokens per second, at most ``burst`` stored.

    :meth:`acquire` returns 0 when the request may go, else the whole seconds to wait (>= 1),
    for ``Retry-After``.
    """

    def __init__(self, rps: float, burst: int) -> None:
        if rps <= 0 or burst < 1:
            raise ValueError("rate_limit needs rps > 0 and burst >= 1")
        self.rps = rps
        self.burst = burst
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}

    def acquire(self, key: str) -> int:
        now = time.monotonic()
        with self._lock:
            tokens, then = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - then) * self.rps)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return 0
            self._buckets[key] = (tokens, now)
            return max(1, math.ceil((1 - tokens) / self.rps))


class Journal:
    """Received REST requests in order (admin requests excluded), capped at ``limit`` entries.

    Entry: ``{"method", "path", "query", "headers", "body", "status", "fault"}`` where ``path``
    is the raw path as received, ``query`` maps a parameter to its last value, ``headers`` has
    the ``X-API-Key`` value replaced by ``"[redacted]"``, ``body`` is the parsed JSON (or the raw
    text, or ``None``), ``status`` is ``None`` for a dropped connection and ``fault`` tells
    whether an injected fault answered.
    """

    REDACTED = "[redacted]"

    def __init__(self, limit: int = 100_000) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._entries: list[dict[str, Any]] = []

    def record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            if len(self._entries) < self.limit:
                self._entries.append(entry)

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
