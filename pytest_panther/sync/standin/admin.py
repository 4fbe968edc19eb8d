"""The stand-in's test-only admin API under ``/__standin__`` (sync-contract.md §5.5; no auth).

| Method + path | Body | Reply |
|---|---|---|
| ``POST /__standin__/reset`` | — | 204; drops state, faults, forced outcomes, journal |
| ``GET /__standin__/state`` | — | 200 ``{kind: {key: object}}`` (queries keyed by name) |
| ``GET /__standin__/deployment`` | — | 200 every object, every field, by route (uploads too) |
| ``PUT /__standin__/state`` | ``{kind: {key: body}}`` | 204; seeds objects, server fields filled in |
| ``GET /__standin__/requests`` | — | 200 ``{"requests": [journal entry, ...]}`` |
| ``POST /__standin__/faults`` | a fault (:class:`controls.Fault`) or a list of them | 204 |
| ``GET /__standin__/faults`` | — | 200 ``{"faults": [fault with its "fired" count, ...]}`` |
| ``DELETE /__standin__/faults`` | — | 204; removes every fault |
| ``POST /__standin__/tests`` | ``{"kind", "id" (or "*"), "passed": bool}`` | 204 |
| ``POST /__standin__/config`` | settings (below) | 204 |
| ``GET /__standin__/health`` | — | 200 ``{"ok": true}`` |

Settings: ``{token?, read_only_token?, rate_limit?: {"rps": float, "burst": int} or null,
max_limit?, validate_responses?}``. Bad input → 400 ``{"message": ...}``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING
from typing import Any

from pytest_panther.sync.standin.controls import parse_fault
from pytest_panther.sync.standin.resources import KINDS
from pytest_panther.sync.standin.wire import BadRequest
from pytest_panther.sync.standin.wire import Request
from pytest_panther.sync.standin.wire import Response
from pytest_panther.sync.standin.wire import error
from pytest_panther.sync.standin.wire import json_body

if TYPE_CHECKING:
    from pytest_panther.sync.standin.app import StandinApp

__all__ = ["handle_admin"]


def _tests(app: StandinApp, spec: Any) -> None:
    if not isinstance(spec, dict) or not isinstance(spec.get("passed"), bool):
        raise ValueError('expected {"kind": ..., "id": ... or "*", "passed": true|false}')
    if spec.get("kind") not in KINDS or not KINDS[spec["kind"]].detection:
        detections = [k for k, v in KINDS.items() if v.detection]
        raise ValueError(f"kind must be one of {', '.join(detections)}, got {spec.get('kind')!r}")
    if not isinstance(spec.get("id"), str) or not spec["id"]:
        raise ValueError('id must be a detection id or "*"')
    app.outcomes.force(spec["kind"], spec["id"], spec["passed"])


def handle_admin(app: StandinApp, request: Request) -> Response:
    """Answer one admin request."""
    route = (request.method, request.path.rstrip("/").rsplit("/", 1)[-1])
    try:
        if route == ("POST", "reset"):
            app.reset()
        elif route == ("GET", "state"):
            return Response(200, app.state())
        elif route == ("GET", "deployment"):
            return Response(200, app.deployment())
        elif route == ("PUT", "state"):
            app.seed(json_body(request))
        elif route == ("GET", "requests"):
            return Response(200, {"requests": app.journal.entries()})
        elif route == ("POST", "faults"):
            specs = json_body(request)
            faults = [parse_fault(spec) for spec in (specs if isinstance(specs, list) else [specs])]
            for fault in faults:
                app.inject(fault)
        elif route == ("GET", "faults"):
            return Response(200, {"faults": app.faults.list()})
        elif route == ("DELETE", "faults"):
            app.faults.clear()
        elif route == ("POST", "tests"):
            _tests(app, json_body(request))
        elif route == ("POST", "config"):
            settings = json_body(request)
            if not isinstance(settings, dict):
                raise ValueError("config must be a JSON object")
            app.configure(settings)
        elif route == ("GET", "health"):
            return Response(200, {"ok": True})
        else:
            return error(404, f"no admin route {request.method} {request.path}")
    except BadRequest as exc:
        return error(exc.status, exc.message)
    except (ValueError, TypeError, KeyError) as exc:
        return error(400, str(exc))
    return Response(204)
