"""What each detection-content kind looks like on the stand-in (sync-contract.md §5.2).

Stored object = the request body + the kind's defaults + server fields. Defaults come from the
OpenAPI document (``dedupPeriodMinutes`` 60, ``threshold`` 1) and the contract's choices
(``enabled`` true, ``managed`` false, only where the kind's schema has the field).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from typing import Any

__all__ = ["KINDS", "Kind", "now", "stored_object"]

_DETECTION_DEFAULTS = {"enabled": True, "managed": False, "dedupPeriodMinutes": 60, "threshold": 1}

#: The OAS puts the ``["user", "api-token", "system"]`` enum on ``createdBy.id`` (and leaves
#: ``type`` free), so the stand-in answers with a value that is valid under either reading.
CREATED_BY = {"id": "api-token", "type": "api-token"}


@dataclass(frozen=True)
class Kind:
    """One URL collection segment and its rules.

    ``detection``: takes ``run-tests-first``/``run-tests-only`` and the ``state`` /
    ``name-contains`` list filters, and gets ``createdBy``. ``by_name``: the server assigns the
    id and ``name`` is the unique key (queries). ``modified``: name of the "last changed" field.
    ``singular``: used in messages.
    """

    name: str
    singular: str
    detection: bool = False
    by_name: bool = False
    modified: str = "lastModified"
    defaults: dict[str, Any] = field(default_factory=dict)

    @property
    def server_fields(self) -> tuple[str, ...]:
        fields = ("createdAt", self.modified)
        return (*fields, "createdBy") if self.detection else fields


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind("rules", "rule", detection=True, defaults=_DETECTION_DEFAULTS),
        Kind("scheduled-rules", "scheduled rule", detection=True, defaults=_DETECTION_DEFAULTS),
        Kind("simple-rules", "simple rule", detection=True, defaults=_DETECTION_DEFAULTS),
        Kind("policies", "policy", detection=True, defaults={"enabled": True, "managed": False}),
        Kind("globals", "global helper"),
        Kind("data-models", "data model", defaults={"enabled": True}),
        Kind("queries", "saved query", by_name=True, modified="updatedAt", defaults={"managed": False}),
    )
}


def now() -> str:
    """The current time, RFC 3339 in UTC with microseconds (``2026-11-30T20:10:08.123456Z``)."""
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def stored_object(
    kind: Kind, key: str | None, body: dict[str, Any], old: dict[str, Any] | None
) -> dict[str, Any]:
    """The object to store for ``body`` (a full replace of ``old``, if any).

    ``key`` is the path id (``None`` on a create by POST, then the body's ``id`` is used, or a
    new UUID for queries). ``createdAt`` (and a query's ``id``) survive from ``old``; the
    modified time changes only when a stored field changes, so a no-op re-sync can be seen.
    """
    obj = {**kind.defaults, **body}
    if kind.by_name:
        obj["id"] = old["id"] if old else (key or str(uuid.uuid4()))
    elif key is not None:
        obj["id"] = key
    if kind.detection:
        obj["createdBy"] = dict(CREATED_BY)
    stamp = now()
    if old is None:
        obj["createdAt"] = obj[kind.modified] = stamp
        return obj
    obj["createdAt"] = old.get("createdAt", stamp)
    unchanged = _without(obj, kind.server_fields) == _without(old, kind.server_fields)
    obj[kind.modified] = old.get(kind.modified, stamp) if unchanged else stamp
    return obj


def _without(obj: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return {key: value for key, value in obj.items() if key not in names}
