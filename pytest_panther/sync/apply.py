"""``sync apply``: carry out a :class:`~pytest_panther.sync.plan.Plan` and move the synced ref.

Order: upserts (``PUT``, idempotent) in :data:`~pytest_panther.sync.plan.ORDER` — globals and
data models before the detections that use them — then deletes in reverse order. A 404 on delete
counts as done. A failed call does not stop the others (except 401/403, which would fail them
all), but the synced ref moves only when every call succeeded and no spec had errors, so the
next run redoes the remainder; re-sending an upsert is harmless (issue 4 §3). Objects written
by a run that did not finish are recorded under ``refs/panther/<target>/pending`` (see
:func:`pytest_panther.sync.state.read_pending`) until a run finishes.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any
from typing import Protocol

from pytest_panther.sync.convert import DETECTION_RESOURCES
from pytest_panther.sync.plan import ANY_DETECTION
from pytest_panther.sync.plan import ORDER
from pytest_panther.sync.plan import Change
from pytest_panther.sync.plan import Plan
from pytest_panther.sync.state import StateError
from pytest_panther.sync.state import write_pending
from pytest_panther.sync.state import write_synced

if TYPE_CHECKING:
    from pytest_panther.sync.client import ApiError

__all__ = ["Output", "Summary", "apply_plan", "describe_error"]


class Output(Protocol):
    """Where a sync's plan and progress go: a text stream (``sys.stdout``) or a hook's filter."""

    def write(self, text: str, /) -> int: ...

    def flush(self) -> None: ...

    def isatty(self) -> bool: ...


class Writer(Protocol):
    def put(self, resource: str, item_id: str, body: dict[str, Any]) -> dict[str, Any]: ...

    def delete(self, resource: str, item_id: str) -> bool: ...

    def get(self, resource: str, item_id: str) -> dict[str, Any] | None: ...


@dataclass
class Summary:
    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    failed: int = 0
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    ref_moved: bool = False

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def render(self) -> str:
        return (
            f"summary: {self.created} created, {self.updated} updated, {self.deleted} deleted, "
            f"{self.unchanged} unchanged, {self.failed} failed"
        )


def describe_error(exc: ApiError) -> str:
    """One line for an API error (method, path, status, message; never headers or the token)."""
    status, method, path, message = exc.status, exc.method, exc.path, exc.message
    hint = ""
    if status == 401:
        hint = " (the token was refused: check the variable it comes from)"
    elif status == 403:
        hint = " (the token lacks a permission: Manage Rules/Policies is needed to write)"
    where = f"{method} {path}: " if method else ""
    return f"{where}{status if status is not None else 'no response,'} {message}{hint}"


class _Progress:
    """A bar on a terminal, one plain line per call otherwise (CI logs)."""

    def __init__(self, total: int, out: Output, tty: bool) -> None:
        self.total, self.out, self.tty, self.done = total, out, tty, 0

    def step(self, change: Change, outcome: str) -> None:
        self.done += 1
        if self.tty:
            width = 30
            filled = width * self.done // max(self.total, 1)
            label = change.label if len(change.label) <= 50 else change.label[:49] + "…"
            self.out.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} {label:<50}")
            if outcome.startswith("failed"):
                self.out.write(f"\n{_line(outcome, change)}\n")
        else:
            self.out.write(f"[{self.done}/{self.total}] {_line(outcome, change)}\n")
        self.out.flush()

    def close(self) -> None:
        if self.tty and self.total:
            self.out.write("\n")
            self.out.flush()


def _retries(reasons: list[str]) -> str:
    """`` (after 2 retries: 503, 503)`` — a retried call is never silent; empty without retries."""
    if not reasons:
        return ""
    return f" (after {len(reasons)} {'retry' if len(reasons) == 1 else 'retries'}: {', '.join(reasons)})"


def _line(outcome: str, change: Change) -> str:
    """``created rules/X (after 1 retry: 503)``, ``failed rules/X: <why>``: what happened, the
    object, then the details."""
    if outcome.startswith("failed: "):
        return f"failed {change.label}: {outcome[len('failed: '):]}"
    word, _, rest = outcome.partition(" ")
    return f"{word} {change.label} {rest}" if rest else f"{word} {change.label}"


def _order(plan: Plan) -> list[Change]:
    rank = {res: i for i, res in enumerate(ORDER)}
    upserts = [c for c in plan.changes if c.action != "delete"]
    deletes = [c for c in plan.changes if c.action == "delete"]
    upserts.sort(key=lambda c: (rank.get(c.resource, len(ORDER)), c.id))
    deletes.sort(key=lambda c: (-rank.get(c.resource, -1), c.id))
    return upserts + deletes


def _delete(client: Writer, change: Change) -> bool:
    if change.resource != ANY_DETECTION:
        return client.delete(change.resource, change.id)
    found = False
    for resource in DETECTION_RESOURCES:
        found = client.delete(resource, change.id) or found
    return found


def apply_plan(repo: Path, plan: Plan, client: Writer, *, out: Output | None = None, tty: bool | None = None) -> Summary:
    """Make the calls of ``plan``; move ``refs/panther/<target>/synced`` to ``plan.head`` when all
    succeeded (compare-and-swap against the value the plan read).

    Never raises for API failures (they are counted in the summary); other exceptions
    (programming errors, git failures) propagate with the ref untouched.
    """
    from pytest_panther.sync.client import ApiError  # requests is slow to import; plans need none

    out = out if out is not None else sys.stderr
    tty = out.isatty() if tty is None else tty
    summary = Summary(unchanged=plan.unchanged)
    changes = _order(plan)
    progress = _Progress(len(changes), out, tty)
    stopped = False
    written: set[tuple[str, str]] = set()
    uncertain: set[tuple[str, str]] = set()  # writes with a try that got no reply
    deleted: set[tuple[str, str]] = set()
    planned = {(c.resource, c.id) for c in changes if c.action != "delete"}
    if planned - plan.pending:  # recorded before any call, so that it survives a kill -9
        write_pending(repo, plan.target.name, plan.pending | planned, plan.target.host)
    for change in changes:
        if stopped:
            summary.failed += 1
            continue
        try:
            if change.action == "delete":
                gone_before = not _delete(client, change)
                deleted.update((r, change.id) for r in (DETECTION_RESOURCES if change.resource == ANY_DETECTION else (change.resource,)))
                summary.deleted += 1
                progress.step(change, "deleted (already gone)" if gone_before else "deleted")
            else:
                assert change.body is not None
                written.add((change.resource, change.id))  # before the call: it may land anyway
                tries_unanswered = len(getattr(client, "uncertain", ()))
                retries_before = len(getattr(client, "retried", ()))
                try:
                    client.put(change.resource, change.id, change.body)
                finally:
                    if len(getattr(client, "uncertain", ())) > tries_unanswered:
                        uncertain.add((change.resource, change.id))
                if change.action == "create":
                    summary.created += 1
                else:
                    summary.updated += 1
                progress.step(change, f"{change.action}d{_retries(getattr(client, 'retried', [])[retries_before:])}")
        except ApiError as exc:
            summary.failed += 1
            line = f"{change.label}: {describe_error(exc)}"
            summary.failures.append(line)
            progress.step(change, f"failed: {describe_error(exc)}")  # "failed rules/X: PUT …"
            if getattr(exc, "status", None) in (401, 403):
                stopped = True
    progress.close()
    if summary.failed == 0 and uncertain:
        _read_back(client, [c for c in changes if (c.resource, c.id) in uncertain], summary)
    if not stopped:
        _record(repo, plan, client, written, deleted, summary)
    if summary.failed == 0 and not plan.errors:
        try:
            write_synced(repo, plan.target.name, plan.head, plan.synced, plan.target.host)
            summary.ref_moved = True
        except StateError as exc:
            summary.failures.append(f"{plan.target.ref} not moved: {exc}")
    # What was written while the ref stays behind is ours: remember it so that a later plan
    # deletes it if the spec goes away before a sync finishes (no orphans).
    if plan.pending or planned:
        keys = set() if summary.ref_moved else plan.pending | written
        write_pending(repo, plan.target.name, keys, plan.target.host, (plan.uncertain | uncertain) & keys)
    return summary


def _record(repo: Path, plan: Plan, client: Writer, written: set[tuple[str, str]], deleted: set[tuple[str, str]],
            summary: Summary) -> None:
    """Update the deployment's record of what this repository deployed
    (:mod:`pytest_panther.sync.manifest`): one GET and one PUT when something was written or
    deleted; nothing in an incremental run without changes."""
    from pytest_panther.sync.client import ApiError
    from pytest_panther.sync.manifest import Manifest
    from pytest_panther.sync.manifest import manifest_id
    from pytest_panther.sync.manifest import parse_manifest

    if plan.defined is None and not (written or deleted):
        return
    name = manifest_id(plan.target.name)
    try:
        old = plan.manifest if plan.defined is not None else parse_manifest(client.get("globals", name))
        if old is not None and not old.owned_by(plan.repository):
            summary.notes.append(f"the deployment's record belongs to {old.repository}: not updated "
                                 "(give each repository syncing to one Panther its own target name)")
            return
        if plan.defined is not None:
            # kept: what the deployment still lists, and what a planned delete failed to remove
            # (REST cannot list upload-only kinds; the record is the only memory of them); while
            # specs have errors, everything (their IDs are unknown, so is whether they are gone)
            doomed = {(c.resource, c.id) for c in plan.changes if c.action == "delete"}
            kept = set() if old is None else old.keys if plan.errors else old.keys & (plan.remote | doomed)
            base = plan.defined | kept
        elif old is not None:
            base = old.keys
        else:  # no record yet: start it from everything HEAD defines
            from pytest_panther.sync.desired import desired_state
            from pytest_panther.sync.desired import snapshot

            base = set(desired_state(snapshot(repo, plan.head), None, plan.target.overrides).items)
        new = Manifest(base).updated(written, deleted, repository=plan.repository, commit=plan.head)
        if old is not None and old.keys == new.keys and old.repository == new.repository:
            return
        client.put("globals", name, new.body(plan.target.name))
    except ApiError as exc:
        summary.failed += 1
        summary.failures.append(f"globals/{name} (the record of what this repository deployed): {describe_error(exc)}")


def _read_back(client: Writer, changes: list[Change], summary: Summary) -> None:
    """Before the ref moves past writes whose reply was lost (a timeout, a dropped connection),
    check that the deployment holds what was sent; write once more where it does not (an older
    try landed last). What still differs is a failure: the ref stays and the next run retries.

    A spec sent by upload is compared on what REST shows of it (``Change.view``); one of a kind
    REST cannot read (correlation rules, lookup tables, packs, scheduled prompts) is uploaded
    once more (an upsert) and named in the notes, as it cannot be checked."""
    from pytest_panther.sync.client import ApiError
    from pytest_panther.sync.plan import normalize
    from pytest_panther.sync.routes import is_upload
    from pytest_panther.sync.routes import readable

    for change in changes:
        assert change.body is not None
        upload = is_upload(change.body)
        sent = change.view if upload else change.body
        try:
            if sent is None:
                client.put(change.resource, change.id, change.body)
                summary.notes.append(f"{change.label}: a reply was lost; REST cannot read this kind back, so it was uploaded once more")
                continue
            want = normalize(change.resource, readable(change.resource, sent) if upload else sent)
            for attempt in range(2):
                stored = client.get(change.resource, change.id)
                if stored is not None and normalize(change.resource, readable(change.resource, stored) if upload else stored) == want:
                    break
                if attempt == 0:
                    client.put(change.resource, change.id, change.body)
            else:
                raise ApiError(None, "GET", change.label, "the deployment does not hold what was written (a reply was lost)")
        except ApiError as exc:
            summary.failed += 1
            summary.failures.append(f"{change.label}: read back after a lost reply: {describe_error(exc)}")
