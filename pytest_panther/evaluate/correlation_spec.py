"""Parsing and validating a correlation rule's ``Detection`` (Group or Sequence).

Grammar: PAT schema ``$defs.MatchExpressions`` (last two shapes) and the panther-analysis corpus
(shared/reference/local-evaluation.md §7.1). Every problem is a ``YamlError`` at its key.
"""
from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from pytest_panther.spec.yaml import Document

__all__ = ["Member", "Transition", "parse_detection"]

_MEMBER_KEYS = {"ID", "RuleID", "MinMatchCount", "MaxMatchCount", "Absence"}
_COMMON_KEYS = {"LookbackWindowMinutes", "Schedule", "EventEvaluationOrder"}
_GROUP_KEYS = {"Group", "MatchCriteria", "MinMatchCount", *_COMMON_KEYS}
_SEQUENCE_KEYS = {"Sequence", "Transitions", *_COMMON_KEYS}
_ORDERS = ("Chronological", "ReverseChronological")


@dataclass(frozen=True)
class Member:
    """One Group/Sequence entry: the correlated rule's outputs under ``id``."""

    id: str
    rule_id: str
    min_count: int = 1
    max_count: int | None = None
    absence: bool = False


@dataclass(frozen=True)
class Transition:
    """A Sequence step From→To within ``within`` minutes; ``pairs`` are (From field, To field)."""

    id: str
    source: str
    target: str
    within: float
    pairs: tuple[tuple[str, str], ...]


def _count(document: Document, at: list[str | int], value: Any, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise document.error(at, f"{name} must be a positive integer")
    return value


def _unknown(document: Document, at: list[str | int], mapping: Mapping[str, Any], allowed: set[str], what: str) -> None:
    for key in mapping:
        if key not in allowed:
            raise document.error([*at, key], f"unknown key {key!r} in {what}", f"allowed: {', '.join(sorted(allowed))}", of_key=True)


def _members(document: Document, at: list[str | int], items: Any, kind: str) -> list[Member]:
    if not isinstance(items, list) or not items:
        raise document.error(at, f"{kind} must be a non-empty list of {{ID, RuleID}} entries")
    members: list[Member] = []
    for i, item in enumerate(items):
        where = [*at, i]
        if not isinstance(item, Mapping):
            raise document.error(where, f"{kind} entries must be mappings with ID and RuleID")
        _unknown(document, where, item, _MEMBER_KEYS, f"a {kind} entry")
        for key in ("ID", "RuleID"):
            if not isinstance(item.get(key), str) or not item.get(key):
                raise document.error(where, f"{kind} entry needs a non-empty string {key}")
        if any(m.id == item["ID"] for m in members):
            raise document.error([*where, "ID"], f"duplicate {kind} ID {item['ID']!r}")
        low = _count(document, [*where, "MinMatchCount"], item["MinMatchCount"], "MinMatchCount") if "MinMatchCount" in item else 1
        high = _count(document, [*where, "MaxMatchCount"], item["MaxMatchCount"], "MaxMatchCount") if "MaxMatchCount" in item else None
        if high is not None and high < low:
            raise document.error([*where, "MaxMatchCount"], f"MaxMatchCount {high} is below MinMatchCount {low}")
        absence = item.get("Absence", False)
        if not isinstance(absence, bool):
            raise document.error([*where, "Absence"], "Absence must be true or false")
        members.append(Member(item["ID"], item["RuleID"], low, high, absence))
    return members


def _criteria(document: Document, at: list[str | int], value: Any, ids: set[str]) -> dict[str, dict[str, str]]:
    if not isinstance(value, Mapping) or not value:
        raise document.error(at, "MatchCriteria must map a name to a list of {GroupID, Match}")
    result: dict[str, dict[str, str]] = {}
    for name, entries in value.items():
        where = [*at, name]
        if not isinstance(entries, list) or len(entries) < 2:
            raise document.error(where, "each MatchCriteria entry lists at least 2 {GroupID, Match} items")
        fields: dict[str, str] = {}
        for i, entry in enumerate(entries):
            if not isinstance(entry, Mapping) or not isinstance(entry.get("GroupID"), str) or not isinstance(entry.get("Match"), str):
                raise document.error([*where, i], "MatchCriteria items need GroupID and Match (a field path)")
            _unknown(document, [*where, i], entry, {"GroupID", "Match"}, "a MatchCriteria item")
            if entry["GroupID"] not in ids:
                raise document.error([*where, i, "GroupID"], f"GroupID {entry['GroupID']!r} is not a Group ID", f"Group IDs: {', '.join(sorted(ids))}")
            fields[entry["GroupID"]] = entry["Match"]
        result[str(name)] = fields
    return result


def _transitions(
    document: Document, at: list[str | int], value: Any, members: Sequence[Member], lookback: float
) -> list[Transition]:
    if not isinstance(value, list):
        raise document.error(at, "Transitions must be a list of {ID, From, To, WithinTimeFrameMinutes, Match}")
    by_pair: dict[tuple[str, str], Transition] = {}
    for i, item in enumerate(value):
        where = [*at, i]
        if not isinstance(item, Mapping):
            raise document.error(where, "a transition must be a mapping")
        _unknown(document, where, item, {"ID", "From", "To", "WithinTimeFrameMinutes", "Match"}, "a transition")
        for key in ("ID", "From", "To"):
            if not isinstance(item.get(key), str):
                raise document.error(where, f"transition needs {key} (a string)")
        # Both keys are optional: older backend-verified panther-analysis Sequence rules omit them
        # (then the window is the lookback and every event joins) [INFER].
        within = item.get("WithinTimeFrameMinutes", lookback)
        if not isinstance(within, (int, float)) or isinstance(within, bool) or within <= 0:
            raise document.error([*where, "WithinTimeFrameMinutes"], "WithinTimeFrameMinutes must be a positive number")
        match = item.get("Match", [])
        if not isinstance(match, list) or ("Match" in item and not match):
            raise document.error(
                [*where, "Match"], "transition Match must be a list like [{On: field}] or [{From: field, To: field}]"
            )
        pairs = []
        for j, entry in enumerate(match):
            if isinstance(entry, Mapping) and set(entry) == {"On"} and isinstance(entry["On"], str):
                pairs.append((entry["On"], entry["On"]))
            elif isinstance(entry, Mapping) and set(entry) == {"From", "To"} and all(isinstance(v, str) for v in entry.values()):
                pairs.append((entry["From"], entry["To"]))
            else:
                raise document.error([*where, "Match", j], "a Match item is {On: field} or {From: field, To: field}")
        pair = (item["From"], item["To"])
        if pair in by_pair:
            raise document.error(where, f"a second transition from {pair[0]!r} to {pair[1]!r}")
        by_pair[pair] = Transition(item["ID"], item["From"], item["To"], float(within), tuple(pairs))
    ordered = []
    for a, b in pairwise(members):
        if (a.id, b.id) not in by_pair:
            raise document.error(at, f"no transition from {a.id!r} to {b.id!r}", "Transitions must link consecutive Sequence steps in order")
        ordered.append(by_pair.pop((a.id, b.id)))
    if by_pair:
        extra = next(iter(by_pair.values()))
        raise document.error(at, f"transition {extra.id!r} does not link consecutive Sequence steps", f"{extra.source!r} -> {extra.target!r}")
    return ordered


def parse_detection(document: Document, data: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments for ``CorrelationRule`` (kind, members, lookback, criteria,
    group_min, transitions) from a correlation rule spec mapping.

    :raises YamlError: see :func:`pytest_panther.evaluate.correlation.compile_correlation`.
    """
    detection = data.get("Detection")
    if not isinstance(detection, list) or len(detection) != 1 or not isinstance(detection[0], Mapping):
        raise document.error(["Detection"], "a correlation rule's Detection is a one-item list holding a Group or a Sequence")
    body = detection[0]
    at: list[str | int] = ["Detection", 0]
    kinds = [k for k in ("Group", "Sequence") if k in body]
    if len(kinds) != 1:
        raise document.error(at, "Detection needs exactly one of Group or Sequence")
    kind = kinds[0]
    _unknown(document, at, body, _GROUP_KEYS if kind == "Group" else _SEQUENCE_KEYS, f"a {kind} detection")
    members = _members(document, [*at, kind], body[kind], kind)
    lookback = body.get("LookbackWindowMinutes")
    if not isinstance(lookback, (int, float)) or isinstance(lookback, bool) or lookback <= 0:
        raise document.error([*at, "LookbackWindowMinutes"] if "LookbackWindowMinutes" in body else at, "LookbackWindowMinutes must be a positive number of minutes")
    order = body.get("EventEvaluationOrder", "Chronological")
    if order not in _ORDERS:
        raise document.error([*at, "EventEvaluationOrder"], f"unknown EventEvaluationOrder {order!r}", "Chronological or ReverseChronological")
    result: dict[str, Any] = {"kind": kind, "members": members, "lookback": float(lookback)}
    if not any(not m.absence for m in members):
        raise document.error([*at, kind], f"a {kind} needs at least one member without Absence")
    if kind == "Group":
        ids = {m.id for m in members}
        if "MatchCriteria" in body:
            result["criteria"] = _criteria(document, [*at, "MatchCriteria"], body["MatchCriteria"], ids)
        if "MinMatchCount" in body:
            need = _count(document, [*at, "MinMatchCount"], body["MinMatchCount"], "MinMatchCount")
            present = sum(1 for m in members if not m.absence)
            if need > present:
                raise document.error([*at, "MinMatchCount"], f"MinMatchCount {need} exceeds the {present} Group members without Absence")
            result["group_min"] = need
    else:
        if len(members) < 2:
            raise document.error([*at, kind], "a Sequence needs at least 2 steps")
        if "Transitions" not in body:
            raise document.error(at, "a Sequence needs Transitions")
        transitions = _transitions(document, [*at, "Transitions"], body["Transitions"], members, float(lookback))
        result["transitions"] = transitions
    return result
