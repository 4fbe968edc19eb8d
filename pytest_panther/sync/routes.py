"""Which route carries a spec to Panther: REST (field by field) or PAT's bulk upload (the files).

Panther's REST API carries only part of the PAT YAML format (sync-contract.md §1.2 and the
request schemas of ``shared/data/panther-rest-openapi.yaml``): no ``CreateAlert``,
``Reference``, ``OnlyUseBaseRiskScore``, ``AlertTitle``/``AlertContext``/``DynamicSeverities``/
``GroupBy`` on Python rules, ``ActionDelaySeconds`` or auto-remediation on policies, ``Tags``,
``Lookback``, ``EmailConfig`` or ``DatabricksQuery`` on queries, ``CreatedBy`` anywhere, and no
route at all for correlation rules, derived detections, lookup tables, packs or scheduled
prompts. ``pat upload`` sends the spec files themselves (a zip, GraphQL
``uploadDetectionEntities``), so the server reads every field.

So the route is chosen per spec: a spec whose keys REST carries all goes over REST as before
(per-object upserts, drift visible with ``--refresh``); any other spec is sent as PAT sends it,
its YAML file plus the file its ``Filename`` names, through the bulk-upload operation
(:mod:`pytest_panther.sync.upload`). Either way the key stays ``(collection, ID)``, so a spec
that gains a REST-less field is an *update*, never a delete plus a create.

docs/reference.md ("Sync: what is sent where") has the table spec field → what is sent → route.
"""
from __future__ import annotations

from typing import Any

from pytest_panther.sync.convert import RESOURCES

__all__ = [
    "UNDELETABLE",
    "UPLOAD_ONLY",
    "UPLOAD_PREFIX",
    "collection_of",
    "is_upload",
    "lost_keys",
    "readable",
    "upload_body",
    "upload_files",
]

#: Key prefix of an upload body: ``{"upload:<path>": <file text>, ...}``.
UPLOAD_PREFIX = "upload:"

#: Kinds with no REST route at all → the collection name used in plans and state.
UPLOAD_ONLY: dict[str, str] = {
    "correlation_rule": "correlation-rules",
    "lookup_table": "lookup-tables",
    "pack": "packs",
    "scheduled_prompt": "scheduled-prompts",
}

#: Collections neither REST nor PAT's GraphQL operations can delete (PAT 1.11.1 ``delete``
#: takes detection IDs and saved-query names only): a removal is reported by name instead.
UNDELETABLE = frozenset({"lookup-tables", "packs", "scheduled-prompts"})

_DETECTION = frozenset({
    "AnalysisType", "Filename", "Enabled", "Severity", "DisplayName", "Description", "Runbook",
    "Tags", "OutputIds", "Reports", "SummaryAttributes", "DedupPeriodMinutes", "Threshold", "Tests",
})
# ``PolicyAPI.ModifyPolicy`` has no runbook, summaryAttributes, threshold or dedupPeriodMinutes.
_POLICY = (_DETECTION - {"Runbook", "SummaryAttributes", "DedupPeriodMinutes", "Threshold"}) | {"PolicyID", "ResourceTypes", "Suppressions"}
_QUERY = frozenset({"AnalysisType", "QueryName", "Query", "SnowflakeQuery", "AthenaQuery", "Description"})

#: Spec keys the REST body of each kind carries (:func:`pytest_panther.sync.convert.to_body`).
REST_KEYS: dict[str, frozenset[str]] = {
    "rule": _DETECTION | {"RuleID", "LogTypes", "InlineFilters"},
    "scheduled_rule": _DETECTION | {"RuleID", "ScheduledQueries"},
    "policy": _POLICY,
    "simple_detection": _DETECTION | {
        "RuleID", "Detection", "LogTypes", "InlineFilters", "AlertTitle", "AlertContext", "DynamicSeverities", "GroupBy",
    },
    "global": frozenset({"AnalysisType", "GlobalID", "Filename", "Description", "Tags"}),
    "datamodel": frozenset({"AnalysisType", "DataModelID", "Filename", "Description", "DisplayName", "Enabled", "LogTypes", "Mappings"}),
    "saved_query": _QUERY,
    "scheduled_query": _QUERY | {"Schedule", "Enabled"},
}
_TEST_KEYS = frozenset({"Name", "ExpectedResult", "Log", "Resource", "Mocks"})
_SCHEDULE_KEYS = frozenset({"CronExpression", "RateMinutes", "TimeoutMinutes"})


def collection_of(kind: str, analysis_type: str) -> str | None:
    """The collection of a spec: its REST collection, or an upload-only one; derived detections
    live in the collection of their ``AnalysisType`` (a derived rule is a rule)."""
    if kind in UPLOAD_ONLY:
        return UPLOAD_ONLY[kind]
    if kind == "derived":
        return RESOURCES.get(analysis_type)
    return RESOURCES.get(kind)


def lost_keys(kind: str, data: dict[str, Any]) -> list[str]:
    """The keys of ``data`` a REST body of ``kind`` would drop (empty: REST carries the spec)."""
    allowed = REST_KEYS.get(kind)
    if allowed is None:
        return sorted(str(k) for k in data) or ["AnalysisType"]
    lost = [str(k) for k in data if k not in allowed]
    for case in data.get("Tests") or []:
        if isinstance(case, dict):
            lost.extend(f"Tests[].{k}" for k in case if k not in _TEST_KEYS)
    schedule = data.get("Schedule")
    if isinstance(schedule, dict):
        lost.extend(f"Schedule.{k}" for k in schedule if k not in _SCHEDULE_KEYS)
    if kind in ("saved_query", "scheduled_query") and not any(
        isinstance(data.get(k), str) for k in ("Query", "SnowflakeQuery", "AthenaQuery")
    ):
        lost.append("Query")  # e.g. a DatabricksQuery-only query: REST has no field for it
    return sorted(set(lost))


def upload_body(files: dict[str, str]) -> dict[str, Any]:
    """The body of an item sent by upload: its files, ``{"upload:<path>": text}``."""
    return {UPLOAD_PREFIX + path: text for path, text in sorted(files.items())}


def is_upload(body: dict[str, Any] | None) -> bool:
    return bool(body) and all(isinstance(k, str) and k.startswith(UPLOAD_PREFIX) for k in body)  # type: ignore[union-attr]


def upload_files(body: dict[str, Any]) -> dict[str, str]:
    """``{path: text}`` of an upload body."""
    return {k[len(UPLOAD_PREFIX):]: v for k, v in body.items() if k.startswith(UPLOAD_PREFIX)}


#: Fields the sync's REST body has but the collection's REST schema lacks (a read never shows
#: them): left out when a drift check compares an uploaded object's REST view.
_UNREAD = {"policies": frozenset({"runbook", "summaryAttributes", "threshold", "dedupPeriodMinutes"})}


def readable(resource: str, body: dict[str, Any]) -> dict[str, Any]:
    """``body`` without the fields a REST read of ``resource`` never shows (see :data:`_UNREAD`)."""
    unread = _UNREAD.get(resource, frozenset())
    return {k: v for k, v in body.items() if k not in unread}


def compare_uploads(plan: Any, items: dict[tuple[str, str], Any], normalize: Any) -> None:
    """In refresh mode, check uploaded objects on what REST shows of them (in place).

    An update planned for an upload item whose REST view equals the deployment's object is
    dropped (counted unchanged); one that differs says which fields drifted. Fields REST cannot
    show are not checked, and the plan notes how many objects that concerns.
    """
    kept, checked = [], 0
    for change in plan.changes:
        item = items.get((change.resource, change.id))
        if change.action != "update" or item is None or item.view is None or change.before is None:
            kept.append(change)
            continue
        checked += 1
        want = normalize(change.resource, readable(change.resource, item.view))
        have = normalize(change.resource, readable(change.resource, change.before))
        if want == have:
            plan.unchanged += 1
            continue
        fields = sorted(k for k in set(want) | set(have) if want.get(k) != have.get(k))
        change.reason = f"drift in {', '.join(fields)}: sent by upload again"
        change.before = None
        kept.append(change)
    plan.changes = kept
    if checked:
        plan.notes.append(f"{checked} object(s) sent by upload were compared on the fields REST shows only")


def settle(plan: Any) -> None:
    """Adjust a :class:`pytest_panther.sync.plan.Plan` for the upload route (in place).

    * A removal that no API can make (lookup tables, packs, scheduled prompts) becomes a note
      naming it, so it is said instead of failing every later run.
    * In refresh mode, upload items cannot be compared field by field (REST lists show only part
      of them, and nothing for upload-only kinds): they are sent again, and the plan says why.
    """
    kept = []
    for change in plan.changes:
        if change.action == "delete" and change.resource in UNDELETABLE:
            plan.notes.append(
                f"{change.label} is no longer in this repository ({change.reason}), but neither Panther's REST API "
                "nor PAT's GraphQL operations can delete it: delete it in the Panther console"
            )
            continue
        if plan.mode == "refresh" and change.action != "delete" and is_upload(change.body):
            if change.resource in UPLOAD_ONLY.values():
                change.reason = "sent by upload (REST cannot list this kind)"
            elif change.action == "create":
                change.reason = "not in the deployment (sent by upload: REST cannot carry all its fields)"
            elif not change.reason.startswith("drift in "):
                change.reason = "sent by upload again (REST shows only part of its fields)"
            change.before = None
        kept.append(change)
    plan.changes = kept
    if plan.mode == "refresh":
        plan.notes.append(
            f"{', '.join(sorted(UPLOAD_ONLY.values()))} cannot be listed over REST: "
            "drift and unmanaged objects of those kinds are not checked"
        )
