"""The fields an override file may set, their types and checks
(:mod:`pytest_panther.upstream.overrides` has the format and applies them)."""
from __future__ import annotations

import difflib
from typing import Any

from pytest_panther.spec.yaml import Document
from pytest_panther.spec.yaml import YamlError

__all__ = ["FORBIDDEN", "ID_KEYS", "LIST_FIELDS", "SET_FIELDS", "check_field"]

#: Keys that name the detection an override is for (first one present wins).
ID_KEYS: tuple[str, ...] = ("DetectionID", "RuleID", "PolicyID", "PackID")

_SEVERITIES = ("Info", "Low", "Medium", "High", "Critical")

#: Scalar and mapping fields an override may set: field → (Python type, description).
SET_FIELDS: dict[str, tuple[type | tuple[type, ...], str]] = {
    "Enabled": (bool, "true or false"),
    "Severity": (str, " | ".join(_SEVERITIES)),
    "DedupPeriodMinutes": (int, "an integer (minutes)"),
    "Threshold": (int, "an integer"),
    "CreateAlert": (bool, "true or false"),
    "Runbook": (str, "a string"),
    "Reference": (str, "a string"),
    "Description": (str, "a string"),
    "DisplayName": (str, "a string"),
    "Reports": (dict, "a mapping of framework to a list of strings"),
    "Status": (str, "a string such as Stable (Experimental and Deprecated are not deployed)"),
    "Excluded": (str, "the reason the fork does not run this detection"),
}

#: List fields: field → item type. A plain list replaces, ``{add, remove}`` patches.
LIST_FIELDS: dict[str, type] = {
    "OutputIds": str,
    "Tags": str,
    "SummaryAttributes": str,
    "Suppressions": str,
    "InlineFilters": dict,
}

#: Spec fields that cannot be overridden, with the reason shown as the hint.
FORBIDDEN: dict[str, str] = {
    "AnalysisType": "it decides what kind of spec this is",
    "Filename": "the Python file belongs to upstream; write a new detection to change code",
    "DataModelID": "the ID selects the spec, it cannot be changed",
    "GlobalID": "the ID selects the spec, it cannot be changed",
    "QueryName": "the ID selects the spec, it cannot be changed",
    "LogTypes": "log types define what the detection reads; write a new detection instead",
    "ResourceTypes": "resource types define what the policy reads; write a new detection instead",
    "Detection": "the detection logic belongs to upstream; use InlineFilters or a new detection",
    "BaseDetection": "write a new derived detection instead",
    "ScheduledQueries": "the query link belongs to upstream",
    "Query": "the query belongs to upstream",
    "BaseVersion": "PAT's merge bookkeeping is not used with overrides",
}



def _type_name(kind: type) -> str:
    return {bool: "true or false", int: "an integer", str: "a string", dict: "a mapping", list: "a list"}[kind]


def _is(value: Any, kind: type | tuple[type, ...]) -> bool:
    if isinstance(value, bool) and kind is int:
        return False
    return isinstance(value, kind)


def check_field(doc: Document, key: Any, value: Any) -> YamlError | None:
    if key in FORBIDDEN or key in ID_KEYS:
        reason = FORBIDDEN.get(key, "one ID key selects the detection; remove the others")
        return doc.error((key,), f"{key} cannot be overridden", reason, of_key=True)
    if key == "Tests":
        return _check_tests(doc, value)
    if key == "PackDefinition":
        if not isinstance(value, dict) or list(value) != ["IDs"]:
            return doc.error((key,), "PackDefinition must be a mapping with IDs only", "PackDefinition: {IDs: {add: [...], remove: [...]}}")
        return _check_list(doc, "IDs", value["IDs"], str, (key,))
    if key in SET_FIELDS:
        kind, expected = SET_FIELDS[key]
        if not _is(value, kind):
            return doc.error((key,), f"{key} must be {expected}, not {_show(value)}")
        if key == "Severity" and value not in _SEVERITIES:
            return doc.error((key,), f"Severity must be one of {', '.join(_SEVERITIES)}, not {value!r}")
        if key == "Excluded" and not value.strip():
            return doc.error((key,), "Excluded needs the reason (shown when tests skip the detection)")
        if key == "Reports" and not all(isinstance(v, list) for v in value.values()):
            return doc.error((key,), "Reports must be a mapping of framework to a list of strings")
        return None
    if key in LIST_FIELDS:
        return _check_list(doc, key, value, LIST_FIELDS[key])
    known = [*SET_FIELDS, *LIST_FIELDS, "Tests", "PackDefinition"]
    close = difflib.get_close_matches(str(key), known, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"fields that can be overridden: {', '.join(known)}"
    return doc.error((key,), f"unknown override field {key!r}", hint, of_key=True)


def _check_list(doc: Document, key: str, value: Any, item: type, at: tuple[str, ...] = ()) -> YamlError | None:
    """Check a list field (``at``: the keys above ``key`` in the file, e.g. PackDefinition)."""
    if isinstance(value, list):
        bad = next((i for i, v in enumerate(value) if not _is(v, item)), None)
        if bad is not None:
            return doc.error((*at, key, bad), f"{key}[{bad}] must be {_type_name(item)}, not {_show(value[bad])}")
        return None
    if isinstance(value, dict):
        extra = [k for k in value if k not in ("add", "remove")]
        if extra:
            return doc.error((*at, key, extra[0]), f"{key}: unknown patch key {extra[0]!r}", "use add: [...] and/or remove: [...]", of_key=True)
        for op, items in value.items():
            if not isinstance(items, list):
                return doc.error((*at, key, op), f"{key}.{op} must be a list, not {_show(items)}")
            bad = next((i for i, v in enumerate(items) if not _is(v, item)), None)
            if bad is not None:
                return doc.error((*at, key, op, bad), f"{key}.{op}[{bad}] must be {_type_name(item)}, not {_show(items[bad])}")
        return None
    return doc.error((*at, key), f"{key} must be a list (replaces) or a mapping with add/remove (patches), not {_show(value)}")


def _check_tests(doc: Document, value: Any) -> YamlError | None:
    if not isinstance(value, dict):
        return doc.error(("Tests",), "Tests must be a mapping with add and/or remove", "an override cannot replace upstream's tests; use Tests: {add: [...]}")
    shape = {k: (v if k == "add" else []) for k, v in value.items()}
    problem = _check_list(doc, "Tests", shape, dict)
    if problem is not None:
        return problem
    if not isinstance(value.get("remove", []), list):
        return doc.error(("Tests", "remove"), f"Tests.remove must be a list of test Names, not {_show(value['remove'])}")
    for i, name in enumerate(value.get("remove", [])):
        if not isinstance(name, str):
            return doc.error(("Tests", "remove", i), f"Tests.remove[{i}] must be a test Name (a string), not {_show(name)}")
    for i, case in enumerate(value.get("add", [])):
        if not isinstance(case.get("Name"), str) or not case["Name"]:
            return doc.error(("Tests", "add", i), f"Tests.add[{i}] needs a Name")
    return None


def _show(value: Any) -> str:
    kind = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list", dict: "a mapping"}
    return f"{kind.get(type(value), type(value).__name__)} ({value!r})" if not isinstance(value, (list, dict)) else kind[type(value)]
