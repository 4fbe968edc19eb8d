"""A stand-in Panther REST server for tests and trials without a Panther deployment.

It implements the detection-content REST subset and the test controls of sync-contract.md §5
(shared/reference): resources ``rules``, ``scheduled-rules``, ``simple-rules``, ``policies``,
``globals``, ``data-models`` and ``queries`` with paginated list, get, create, upsert and delete;
auth by ``X-API-Key``; state in SQLite; injected faults; a request journal; and the admin API
under ``/__standin__`` (see :mod:`.admin`). Bodies are validated against Panther's OpenAPI
document (:mod:`.oas`). It listens on loopback only.

Modules: :mod:`.server` (HTTP, :class:`StandinServer`), :mod:`.app` (auth, faults, dispatch),
:mod:`.api` (REST), :mod:`.admin` (admin API), :mod:`.store` (SQLite), :mod:`.controls`
(faults, forced test outcomes, rate limit, journal), :mod:`.resources` (per-kind rules),
:mod:`.oas` (OpenAPI schemas), :mod:`.wire` (request/response values).
"""
from __future__ import annotations

from pytest_panther.sync.standin.server import StandinServer

__all__ = ["StandinServer"]
