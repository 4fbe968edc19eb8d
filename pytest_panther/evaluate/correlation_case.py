"""Reading a correlation rule test case (``RuleOutputs``) into timed events per member.

Test format (PAT schema ``$defs.Test``; shared/reference/local-evaluation.md §7.1)::

    RuleOutputs:
      - ID: <member ID>
        Matches:
          <field path>:
            <value>: [<time>, ...]

A time is a number (minutes from an arbitrary origin, §9 #19), an ISO-8601 string (``Z``
allowed) or a ``datetime``. Entries of one member with the same time are merged into one event
``{field: value}`` (§7.2); two values of one field at the same time make two events.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from typing import Any

__all__ = ["CaseError", "Event", "parse_case", "parse_time"]


class CaseError(ValueError):
    """A malformed correlation test case (message names the offending entry)."""


@dataclass(frozen=True)
class Event:
    """One rule match of a member: ``time`` in minutes, ``label`` as written in the test."""

    time: float
    label: str
    fields: Mapping[str, Any]


def parse_time(value: Any) -> tuple[float, str]:
    """``(minutes, label)`` for a test time.

    :raises CaseError: for booleans, non-ISO strings and other types.
    """
    if isinstance(value, bool):
        raise CaseError(f"time {value!r} is not a number or an ISO-8601 timestamp")
    if isinstance(value, (int, float)):
        return float(value), str(value)
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise CaseError(f"time {value!r} is not a number or an ISO-8601 timestamp") from None
    elif isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    else:
        raise CaseError(f"time {value!r} is not a number or an ISO-8601 timestamp")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp() / 60.0, str(value)


def parse_case(case: Any, member_ids: set[str]) -> tuple[bool, dict[str, list[Event]]]:
    """``(ExpectedResult, {member ID: events sorted by time})`` of one test case.

    :raises CaseError: when the case is not a mapping, ``ExpectedResult`` is not a boolean,
        ``RuleOutputs`` is missing or malformed, or names an ID that is not a member.
    """
    if not isinstance(case, Mapping):
        raise CaseError("a test case must be a mapping")
    expected = case.get("ExpectedResult")
    if not isinstance(expected, bool):
        raise CaseError("ExpectedResult must be true or false")
    outputs = case.get("RuleOutputs")
    if not isinstance(outputs, list):
        raise CaseError("a correlation rule test needs RuleOutputs: a list of {ID, Matches}")
    merged: dict[str, dict[float, list[dict[str, Any]]]] = {}
    labels: dict[tuple[str, float], str] = {}
    for index, output in enumerate(outputs):
        where = f"RuleOutputs[{index}]"
        if not isinstance(output, Mapping) or not isinstance(output.get("ID"), str):
            raise CaseError(f"{where} needs an ID (a member of the rule) and Matches")
        member = output["ID"]
        if member not in member_ids:
            raise CaseError(f"{where}: ID {member!r} is not a member of this rule (members: {', '.join(sorted(member_ids))})")
        matches = output.get("Matches")
        if not isinstance(matches, Mapping):
            raise CaseError(f"{where}: Matches must map field paths to {{value: [times]}}")
        by_time = merged.setdefault(member, {})
        for field, values in matches.items():
            if not isinstance(values, Mapping):
                raise CaseError(f"{where}.Matches.{field} must map values to lists of times")
            for value, times in values.items():
                if not isinstance(times, list):
                    times = [times]
                for raw in times:
                    try:
                        minutes, label = parse_time(raw)
                    except CaseError as exc:
                        raise CaseError(f"{where}.Matches.{field}.{value}: {exc}") from None
                    labels[(member, minutes)] = label
                    slots = by_time.setdefault(minutes, [])
                    slot = next((s for s in slots if field not in s), None)
                    if slot is None:
                        slot = {}
                        slots.append(slot)
                    slot[field] = value
    events = {
        member: sorted(
            (Event(t, labels[(member, t)], fields) for t, slots in by_time.items() for fields in slots),
            key=lambda e: e.time,
        )
        for member, by_time in merged.items()
    }
    return expected, events
