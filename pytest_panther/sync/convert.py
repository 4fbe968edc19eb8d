"""One spec (+ its Python file) → the Panther REST request body for its collection.

Field mapping: shared/reference/sync-contract.md §1.2 ("Mapping the PAT YAML format to REST
fields") and the request schemas of Panther's OpenAPI document (shared/data/
panther-rest-openapi.yaml: ``RuleAPI.ModifyRule``, ``ScheduledRuleAPI.ModifyRule``,
``SimpleRuleAPI.ModifyRule``, ``PolicyAPI.ModifyPolicy``, ``GlobalAPI.ModifyGlobal2``,
``DataModelAPI.ModifyDataModel``, ``QueryAPI.ModifyQuery``). REST has no field for
``Reference``, ``Status``, ``BaseVersion`` or ``CreatedBy`` (§1.2: REST is lossy).

Specs REST cannot carry whole (correlation rules, derived detections, packs, lookup tables,
scheduled prompts, and any spec with a key REST has no field for) are sent by upload instead
(:mod:`pytest_panther.sync.routes`); like PAT's upload (§2.1), specs with ``Status:
experimental`` or ``deprecated`` are never deployed.
"""
from __future__ import annotations

import json
from typing import Any

from pytest_panther.spec.model import Spec
from pytest_panther.spec.yaml import dump

__all__ = [
    "DETECTION_RESOURCES",
    "RESOURCES",
    "ConversionError",
    "resource_of",
    "skipped_status",
    "to_body",
]

#: Spec kind → REST collection (path segment).
RESOURCES: dict[str, str] = {
    "global": "globals",
    "datamodel": "data-models",
    "saved_query": "queries",
    "scheduled_query": "queries",
    "rule": "rules",
    "simple_detection": "simple-rules",
    "scheduled_rule": "scheduled-rules",
    "policy": "policies",
}

#: Collections holding detections (what ``OutputIds``-style overrides apply to).
DETECTION_RESOURCES = ("rules", "simple-rules", "scheduled-rules", "policies")

_SEVERITIES = {"INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"}
_NOT_DEPLOYED_STATUS = {"experimental", "deprecated"}


class ConversionError(Exception):
    """A spec that cannot become a request body; ``keys`` locate the offending value."""

    def __init__(self, keys: tuple[str | int, ...], message: str, hint: str = "") -> None:
        super().__init__(message)
        self.keys = keys
        self.message = message
        self.hint = hint


def skipped_status(spec: Spec) -> str | None:
    """``experimental`` or ``deprecated`` when the spec's ``Status`` keeps it from being deployed
    (as PAT's upload skips it), else None."""
    status = spec.data.get("Status")
    if isinstance(status, str) and status.lower() in _NOT_DEPLOYED_STATUS:
        return status.lower()
    return None


def resource_of(spec: Spec) -> str | None:
    """The REST collection for ``spec``, or None when it is not deployed over REST (see module doc)."""
    status = spec.data.get("Status")
    if isinstance(status, str) and status.lower() in _NOT_DEPLOYED_STATUS:
        return None
    return RESOURCES.get(spec.kind)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _strs(value: Any) -> list[str] | None:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    return None


def _yaml(value: Any) -> str | None:
    return None if value is None else dump(value)


def _mock_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _tests(spec: Spec, key: str) -> list[dict[str, Any]]:
    tests = []
    for index, case in enumerate(spec.data.get("Tests") or []):
        if not isinstance(case, dict):
            raise ConversionError(("Tests", index), "a test case must be a mapping")
        event = case.get(key, case.get("Log", case.get("Resource")))
        item: dict[str, Any] = {
            "name": str(case.get("Name", f"Tests[{index}]")),
            "resource": event if isinstance(event, str) else json.dumps(event),
            "expectedResult": bool(case.get("ExpectedResult")),
        }
        mocks = case.get("Mocks")
        if isinstance(mocks, list) and mocks:
            item["mocks"] = [
                {"objectName": str(m.get("objectName")), "returnValue": _mock_value(m.get("returnValue"))}
                for m in mocks
                if isinstance(m, dict)
            ]
        tests.append(item)
    return tests


def _reports(spec: Spec) -> dict[str, list[str]] | None:
    """``Reports`` with every item a string, as the API requires (``{key: [str]}``). YAML reads
    ``CIS: [3.10]`` as the float 3.1, so a non-string item is taken as written in the file."""
    reports = spec.data.get("Reports")
    if not isinstance(reports, dict):
        return None
    from_document = reports is spec.document.data.get("Reports")
    out: dict[str, list[str]] = {}
    for key, items in reports.items():
        values = []
        for index, item in enumerate(items if isinstance(items, list) else [items]):
            if isinstance(item, str):
                values.append(item)
                continue
            node = spec.document.node_at(("Reports", key, index)) if from_document else None
            raw = getattr(node, "value", None)
            values.append(raw if isinstance(raw, str) and isinstance(items, list) else json.dumps(item))
        out[str(key)] = values
    return out


def _severity(spec: Spec) -> str:
    value = spec.data.get("Severity")
    if not isinstance(value, str) or value.upper() not in _SEVERITIES:
        raise ConversionError(("Severity",), f"Severity must be one of Info, Low, Medium, High, Critical, not {value!r}")
    return value.upper()


def _detection_common(spec: Spec) -> dict[str, Any]:
    data = spec.data
    body: dict[str, Any] = {
        "id": spec.id,
        "severity": _severity(spec),
        "enabled": data.get("Enabled") is True,
        "displayName": _str(data.get("DisplayName")),
        "description": _str(data.get("Description")),
        "runbook": _str(data.get("Runbook")),
        "tags": _strs(data.get("Tags")),
        "outputIDs": _strs(data.get("OutputIds")),
        "reports": _reports(spec),
        "summaryAttributes": _strs(data.get("SummaryAttributes")),
    }
    for key, field in (("DedupPeriodMinutes", "dedupPeriodMinutes"), ("Threshold", "threshold")):
        if isinstance(data.get(key), int) and not isinstance(data.get(key), bool):
            body[field] = data[key]
    return body


def _require_python(spec: Spec, python: str | None) -> str:
    if python is None:
        filename = spec.data.get("Filename")
        if not filename:
            raise ConversionError((spec.id_field,), "no Filename: the Python body is required", "add `Filename: <name>.py`")
        raise ConversionError(("Filename",), f"Python file {filename!r} is not in the commit")
    return python


def to_body(spec: Spec, python: str | None) -> dict[str, Any]:
    """The request body for ``spec`` (``python`` = text of its ``Filename``, None if absent).

    Fields whose spec value is absent are left out (PUT is a full replace, so they return to
    Panther's defaults). Globals carry no ``id`` (``ModifyGlobal2``); queries are keyed by
    ``name``.

    :raises ConversionError: missing ID, severity or Python body, or a malformed test case.
    """
    kind = spec.kind
    if not spec.id:
        raise ConversionError((spec.id_field,), f"{spec.id_field} is missing or not a string")
    data = spec.data
    body: dict[str, Any]
    if kind in ("rule", "scheduled_rule", "policy"):
        body = _detection_common(spec)
        body["body"] = _require_python(spec, python)
        if kind == "rule":
            body["logTypes"] = _strs(data.get("LogTypes"))
            body["inlineFilters"] = _yaml(data.get("InlineFilters"))
            body["tests"] = _tests(spec, "Log")
        elif kind == "scheduled_rule":
            body["scheduledQueries"] = _strs(data.get("ScheduledQueries"))
            body["tests"] = _tests(spec, "Log")
        else:
            body["resourceTypes"] = _strs(data.get("ResourceTypes"))
            body["suppressions"] = _strs(data.get("Suppressions"))
            body["tests"] = _tests(spec, "Resource")
    elif kind == "simple_detection":
        body = _detection_common(spec)
        body["detection"] = _yaml(data.get("Detection"))
        body["logTypes"] = _strs(data.get("LogTypes"))
        for key, field in (
            ("InlineFilters", "inlineFilters"),
            ("AlertTitle", "alertTitle"),
            ("AlertContext", "alertContext"),
            ("DynamicSeverities", "dynamicSeverities"),
            ("GroupBy", "groupBy"),
        ):
            value = data.get(key)
            body[field] = value if isinstance(value, str) and key == "AlertTitle" else _yaml(value)
        body["pythonBody"] = python
        body["tests"] = _tests(spec, "Log")
    elif kind == "global":
        body = {
            "body": _require_python(spec, python),
            "description": _str(data.get("Description")),
            "tags": _strs(data.get("Tags")),
        }
    elif kind == "datamodel":
        mappings = []
        for index, mapping in enumerate(data.get("Mappings") or []):
            if not isinstance(mapping, dict) or not isinstance(mapping.get("Name"), str):
                raise ConversionError(("Mappings", index), "a mapping needs a Name")
            mappings.append(
                {"name": mapping["Name"], "path": _str(mapping.get("Path")), "method": _str(mapping.get("Method"))}
            )
        body = {
            "id": spec.id,
            "body": python,
            "description": _str(data.get("Description")),
            "displayName": _str(data.get("DisplayName")),
            "enabled": data.get("Enabled") is True,
            "logTypes": _strs(data.get("LogTypes")),
            "mappings": [{k: v for k, v in m.items() if v is not None} for m in mappings],
        }
    elif kind in ("saved_query", "scheduled_query"):
        sql = data.get("Query") or data.get("SnowflakeQuery") or data.get("AthenaQuery")
        if not isinstance(sql, str):
            raise ConversionError(("Query",), "a query needs a Query (SQL text)")
        body = {"name": spec.id, "sql": sql, "description": _str(data.get("Description"))}
        schedule = data.get("Schedule")
        if kind == "scheduled_query" and isinstance(schedule, dict):
            body["schedule"] = {
                key: value
                for key, value in {
                    "cron": _str(schedule.get("CronExpression")),
                    "rateMinutes": schedule.get("RateMinutes"),
                    "timeoutMinutes": schedule.get("TimeoutMinutes"),
                    "disabled": data.get("Enabled") is not True,
                }.items()
                if value is not None
            }
    else:  # pragma: no cover - resource_of filters these
        raise ConversionError((), f"{kind} specs are not deployed over the REST API")
    return {key: value for key, value in body.items() if value is not None}
