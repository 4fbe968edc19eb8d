"""Correlation rules (``AnalysisType: correlation_rule``) evaluated locally against their tests.

PAT can run these only through the backend (GraphQL ``testCorrelationRuleYAML``) and skips them
offline (shared/reference/semantics.md §5.6). The semantics here are *inferred* from the
documentation and from every backend-verified test in panther-analysis
(shared/reference/local-evaluation.md §7.2); results are "evaluated locally".

Group: for one join value (the value of each member's ``MatchCriteria`` field; without criteria
everything joins), every non-absent member needs ``MinMatchCount`` (default 1) matches inside one
window of ``LookbackWindowMinutes``, in any order, and at most ``MaxMatchCount`` matches in the
neighbourhood the absence check uses [INFER: no test covers MaxMatchCount]. The
group-level ``MinMatchCount`` is how many non-absent members must be satisfied (default all).
An ``Absence`` member must have no match with that join value near the chosen matches
(:class:`CorrelationOptions.group_absence`).

Sequence: events e1, e2 … in member order, where each transition From→To needs
``0 <= t(To) - t(From) <= WithinTimeFrameMinutes`` and its ``Match`` join (``On: field`` equal on
both sides, or ``From: field`` = ``To: field``), all inside the lookback. A member with
``MinMatchCount: m`` needs m such matches sharing the next join value; its time is the m-th.
An ``Absence`` step holds when no event of that member joins the previous step within its window
after it (:class:`CorrelationOptions.sequence_absence`); Absence steps *before* the first present
step mean "not preceded by" (no joining match within the window before it). A transition without
``WithinTimeFrameMinutes`` uses the lookback; without ``Match`` every event joins. A join field
missing from a match reads as null (:class:`CorrelationOptions.null_joins`).

Besides the 91 current panther-analysis tests, all 95 test cases of the distinct correlation-rule
file versions in the repository's history (ancestors of daa10c88: 28 Sequence versions with 77
tests, 2 with a leading Absence, 14 with a transition lacking a window) pass with the defaults.

``EventEvaluationOrder`` and ``Schedule`` do not change test outcomes here.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from pytest_panther.evaluate.correlation_case import CaseError
from pytest_panther.evaluate.correlation_case import Event
from pytest_panther.evaluate.correlation_case import parse_case
from pytest_panther.evaluate.correlation_spec import Member
from pytest_panther.evaluate.correlation_spec import Transition
from pytest_panther.evaluate.correlation_spec import parse_detection
from pytest_panther.spec.model import Spec

__all__ = ["CorrelationOptions", "CorrelationOutcome", "CorrelationRule", "compile_correlation"]

_WILD = object()


@dataclass(frozen=True)
class CorrelationOptions:
    """Behaviours no merged test decides (local-evaluation.md §7.2, §9 #18).

    - ``group_absence``: ``"lookback"`` (default; forced by panther-analysis tests where the absent
      match comes *before* the present one and the result is false): an absent match conflicts
      when one lookback window could hold it together with all chosen matches. ``"after"``: only
      absent matches between the first chosen match and the end of its lookback window count.
    - ``sequence_absence``: ``"after"`` (default; forced by backend-verified Sequence tests): only
      absent matches within ``WithinTimeFrameMinutes`` *after* the previous step count.
      ``"around"``: also those up to that many minutes before it. (An Absence step *before* the
      first present step always looks back from it: "not preceded by".)
    - ``null_joins``: True (default; forced by a backend-verified Sequence test in panther-analysis
      history, 64046443 ``aws_sso_access_token_retrieved_by_unauthenticated_ip``): a join field
      missing from a match reads as null, and null equals null. False: a match without the join
      field never joins.
    """

    group_absence: str = "lookback"
    sequence_absence: str = "after"
    null_joins: bool = True

    def __post_init__(self) -> None:
        if self.group_absence not in ("lookback", "after"):
            raise ValueError("group_absence must be 'lookback' or 'after'")
        if self.sequence_absence not in ("after", "around"):
            raise ValueError("sequence_absence must be 'after' or 'around'")


@dataclass(frozen=True)
class CorrelationOutcome:
    """One test's verdict: ``passed`` (result == ExpectedResult), the rule's ``matched`` result
    (None when the case is malformed) and a human-readable ``explanation``."""

    passed: bool
    matched: bool | None
    explanation: str


@dataclass
class CorrelationRule:
    """A parsed correlation rule; :meth:`run_test` evaluates one ``Tests`` entry."""

    rule_id: str
    kind: str  # "Group" or "Sequence"
    members: list[Member]
    lookback: float
    criteria: dict[str, dict[str, str]] = field(default_factory=dict)  # name -> member ID -> field
    group_min: int | None = None
    transitions: list[Transition] = field(default_factory=list)
    options: CorrelationOptions = field(default_factory=CorrelationOptions)

    def run_test(self, case_data: dict[str, Any]) -> CorrelationOutcome:
        """Evaluate one test case (``{Name, ExpectedResult, RuleOutputs}``).

        Never raises for bad test data: a malformed case gives ``passed=False, matched=None`` and
        an explanation starting ``invalid test case:``.
        """
        try:
            expected, events = parse_case(case_data, {m.id for m in self.members})
        except CaseError as exc:
            return CorrelationOutcome(False, None, f"invalid test case: {exc}")
        if self.kind == "Group":
            matched, why = self._group(events)
        else:
            matched, why = self._sequence(events)
        verdict = "as expected" if matched == expected else f"expected {str(expected).lower()}"
        text = f"{self.kind} rule {'matched' if matched else 'did not match'} ({verdict}; evaluated locally): {why}"
        return CorrelationOutcome(matched == expected, matched, text)

    # -- Group -----------------------------------------------------------------------------

    def _key(self, member: str, event: Event) -> tuple[Any, ...] | None:
        key = []
        for fields in self.criteria.values():
            name = fields.get(member)
            if name is None:
                key.append(_WILD)
            elif name in event.fields or self.options.null_joins:
                key.append(event.fields.get(name))
            else:
                return None
        return tuple(key)

    def _join(self, left: Event, right: Event, pairs: tuple[tuple[str, str], ...]) -> bool:
        """Whether ``left.fields[a] == right.fields[b]`` for every (a, b) (missing = null if null_joins)."""
        for a, b in pairs:
            if a not in left.fields or b not in right.fields:
                if not self.options.null_joins:
                    return False
            if left.fields.get(a) != right.fields.get(b):
                return False
        return True

    @staticmethod
    def _joins(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
        return all(x is _WILD or y is _WILD or x == y for x, y in zip(a, b))

    def _group(self, events: dict[str, list[Event]]) -> tuple[bool, str]:
        present = [m for m in self.members if not m.absence]
        absent = [m for m in self.members if m.absence]
        keyed = {m.id: [(k, e) for e in events.get(m.id, []) if (k := self._key(m.id, e)) is not None] for m in self.members}
        candidates = list(dict.fromkeys(k for m in present for k, _ in keyed[m.id]))
        if not candidates:
            return False, f"no matches for {', '.join(repr(m.id) for m in present)} on their MatchCriteria fields"
        need = self.group_min if self.group_min is not None else len(present)
        reasons = []
        for key in candidates:
            shown = _show_key(key)
            times = {m.id: [e for k, e in keyed[m.id] if self._joins(k, key)] for m in self.members}
            ok, why = self._group_window(present, absent, times, need)
            if ok:
                return True, f"{shown}: {why}"
            reasons.append(f"{shown}: {why}")
        return False, "; ".join(reasons)

    def _group_window(self, present: list[Member], absent: list[Member], times: dict[str, list[Event]], need: int) -> tuple[bool, str]:
        lookback = self.lookback
        starts = sorted({e.time for m in present for e in times[m.id]})
        best: dict[str, int] = {m.id: 0 for m in present}
        conflict = ""
        for start in starts:
            chosen: list[Event] = []
            satisfied = 0
            for m in present:
                inside = [e for e in times[m.id] if start <= e.time <= start + lookback]
                best[m.id] = max(best[m.id], len(inside))
                if len(inside) >= m.min_count:
                    satisfied += 1
                    chosen.extend(inside[: max(m.min_count, 1)])
            if satisfied < need or not chosen:
                continue
            first, last = min(e.time for e in chosen), max(e.time for e in chosen)
            if self.options.group_absence == "lookback":
                low, high = last - lookback, first + lookback
            else:
                low, high = first, first + lookback
            hits = [(m.id, e) for m in absent for e in times[m.id] if low <= e.time <= high]
            too_many = [
                (m, n) for m in present if m.max_count is not None and (n := sum(1 for e in times[m.id] if low <= e.time <= high)) > m.max_count
            ]
            if too_many and not hits:
                m, n = too_many[0]
                conflict = f"{m.id!r} matched {n} times within the {lookback:g}-minute lookback, MaxMatchCount is {m.max_count}"
                continue
            if not hits:
                labels = ", ".join(f"{e.label}" for e in sorted(chosen, key=lambda e: e.time))
                return True, f"{satisfied} member(s) matched within {lookback:g} minutes (at {labels})"
            conflict = f"absent member {hits[0][0]!r} matched at {hits[0][1].label}, within the {lookback:g}-minute lookback"
        if conflict:
            return False, conflict
        short = [
            f"{m.id!r} has {best[m.id]} match(es) within {lookback:g} minutes, needs {m.min_count}"
            for m in present
            if best[m.id] < m.min_count
        ]
        if not short:
            short = [f"fewer than {need} members match together within {lookback:g} minutes"]
        return False, "; ".join(short)

    # -- Sequence --------------------------------------------------------------------------

    def _sequence(self, events: dict[str, list[Event]]) -> tuple[bool, str]:
        k = next(i for i, m in enumerate(self.members) if not m.absence)
        first = self.members[k]
        out = self.transitions[k].pairs if k < len(self.transitions) else ()
        starts = _with_min_count(events.get(first.id, []), first, [a for a, _ in out], self.lookback, None, self.options.null_joins)
        if not starts:
            count = "" if first.min_count == 1 else f"{first.min_count} "
            return False, f"first step {first.id!r} has no {count}matches"
        failures: list[tuple[int, str]] = []
        for event, chain_start in starts:
            blocked = self._leading_absence(k, event, events)
            if blocked:
                failures.append((k + 1, blocked))
                continue
            trail = [*(f"no {m.id}" for m in self.members[:k]), f"{first.id}@{event.label}"]
            ok, depth, why = self._extend(k + 1, event, chain_start, events, trail)
            if ok:
                return True, why
            failures.append((depth, why))
        failures.sort(key=lambda f: -f[0])
        return False, failures[0][1]

    def _leading_absence(self, k: int, event: Event, events: dict[str, list[Event]]) -> str:
        """Why absent steps before the first present step ``k`` block ``event`` ("" if they do not):
        an absent match joining it within the transition's window *before* it."""
        for j in range(k):
            step, transition = self.members[j], self.transitions[j]
            for e in events.get(step.id, []):
                if not event.time - transition.within <= e.time <= event.time:
                    continue
                if self._join(e, event, transition.pairs):
                    return (
                        f"absent step {step.id!r} matched at {e.label}, within {transition.within:g} minutes before "
                        f"{self.members[k].id}@{event.label} (transition {transition.id!r})"
                    )
        return ""

    def _extend(
        self, index: int, prev: Event, chain_start: float, events: dict[str, list[Event]], trail: list[str]
    ) -> tuple[bool, int, str]:
        if index == len(self.members):
            return True, index, "sequence " + " -> ".join(trail)
        step = self.members[index]
        transition = self.transitions[index - 1]
        low = prev.time - (transition.within if step.absence and self.options.sequence_absence == "around" else 0)
        high = prev.time + transition.within
        joined = [
            e for e in events.get(step.id, [])
            if low <= e.time <= high and self._join(prev, e, transition.pairs)
        ]
        if step.absence:
            if joined:
                return False, index, f"absent step {step.id!r} matched at {joined[0].label}, within {transition.within:g} minutes of {trail[-1]} (transition {transition.id!r})"
            return self._extend(index + 1, prev, chain_start, events, [*trail, f"no {step.id}"])
        joined = [e for e in joined if e.time - chain_start <= self.lookback]
        following = self.transitions[index].pairs if index < len(self.transitions) else []
        candidates = _with_min_count(joined, step, [a for a, _ in following], self.lookback, chain_start, self.options.null_joins)
        if not candidates:
            joins = " and ".join(a if a == b else f"{a} = {b}" for a, b in transition.pairs) or "nothing"
            return False, index, (
                f"no {'' if step.min_count == 1 else str(step.min_count) + ' '}match(es) of {step.id!r} joining on {joins} "
                f"within {transition.within:g} minutes after {trail[-1]} (transition {transition.id!r}) and inside the {self.lookback:g}-minute lookback"
            )
        deepest = (index, "")
        for event, _ in candidates:
            ok, depth, why = self._extend(index + 1, event, chain_start, events, [*trail, f"{step.id}@{event.label}"])
            if ok:
                return True, depth, why
            if depth >= deepest[0]:
                deepest = (depth, why)
        return False, deepest[0], deepest[1]


def _with_min_count(
    events: list[Event], member: Member, out_fields: list[str], lookback: float, chain_start: float | None, null_joins: bool
) -> list[tuple[Event, float]]:
    """Candidate (event, chain start) pairs: the m-th of m matches sharing the outgoing join value."""
    groups: dict[tuple[Any, ...], list[Event]] = {}
    for e in events:
        if null_joins or all(f in e.fields for f in out_fields):
            groups.setdefault(tuple(e.fields.get(f) for f in out_fields), []).append(e)
    m = member.min_count
    result = []
    for group in groups.values():
        if member.max_count is not None and len(group) > member.max_count:
            continue
        for j in range(m - 1, len(group)):
            start = group[j - m + 1].time if chain_start is None else chain_start
            if group[j].time - start <= lookback:
                result.append((group[j], start))
    return result


def _show_key(key: tuple[Any, ...]) -> str:
    shown = [repr(k) for k in key if k is not _WILD]
    return "join value " + ", ".join(shown) if shown else "all matches"


def compile_correlation(spec: Spec, options: CorrelationOptions | None = None) -> CorrelationRule:
    """Parse a correlation rule spec once.

    :raises YamlError: (``path:line:col``) for a malformed ``Detection``: not a one-item list,
        neither/both of Group and Sequence, bad members (ID, RuleID, MinMatchCount,
        MaxMatchCount, Absence), MatchCriteria naming unknown members, Transitions that do not
        link consecutive Sequence steps, a missing/non-positive ``LookbackWindowMinutes``.
    """
    parsed: Mapping[str, Any] = parse_detection(spec.document, spec.data)
    return CorrelationRule(rule_id=spec.id, options=options or CorrelationOptions(), **parsed)
