"""``sync plan``: what must change in a deployment so that it equals HEAD's desired state.

Two modes (issue 4, "Desired state, not events"):

* **incremental** — the target has a synced commit: compare the desired state at that commit with
  HEAD's, by content, parsing only specs whose blobs differ (a rebase that rewrote commits but not
  content plans nothing);
* **refresh** — no synced commit yet (first run, a fresh CI clone without the ref) or
  ``--refresh``: compare HEAD's desired state with what the deployment holds (list endpoints,
  paginated) and report drift.

Deletes are guarded: an ID is deleted only if the synced commit deployed it (a removed spec, a
RuleID renamed in place), if ``deprecated.txt`` lists it, or with ``--prune``; other objects only
in the deployment are reported as unmanaged.
"""
from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any
from typing import Protocol

from pytest_panther.sync.desired import DesiredState
from pytest_panther.sync.desired import Item
from pytest_panther.sync.desired import Snapshot
from pytest_panther.sync.desired import changed_units
from pytest_panther.sync.desired import desired_state
from pytest_panther.sync.desired import snapshot
from pytest_panther.sync.desired import target_table
from pytest_panther.sync.git import rev_parse
from pytest_panther.sync.manifest import Manifest
from pytest_panther.sync.manifest import is_manifest
from pytest_panther.sync.manifest import manifest_id
from pytest_panther.sync.manifest import parse_manifest
from pytest_panther.sync.manifest import repo_identity
from pytest_panther.sync.routes import UPLOAD_ONLY
from pytest_panther.sync.routes import compare_uploads
from pytest_panther.sync.routes import settle
from pytest_panther.sync.state import read_pending
from pytest_panther.sync.state import read_synced
from pytest_panther.sync.state import read_synced_host
from pytest_panther.sync.state import read_uncertain
from pytest_panther.sync.targets import Target
from pytest_panther.sync.targets import same_host

__all__ = ["ANY_DETECTION", "ORDER", "Change", "Plan", "make_plan", "normalize"]

#: Collections in dependency order: helpers and data models before the detections using them.
ORDER = (
    "globals", "data-models", "lookup-tables", "queries", "rules", "simple-rules", "scheduled-rules", "policies",
    "correlation-rules", "scheduled-prompts", "packs",
)
#: Resource of a ``deprecated.txt`` delete whose collection is unknown: tried on every detection one.
ANY_DETECTION = "*"

_SERVER_FIELDS = {"createdAt", "lastModified", "updatedAt", "createdBy", "createdByExternal", "lastModifiedBy", "managed"}
_DEFAULTS = {"dedupPeriodMinutes": 60, "threshold": 1}


class Lister(Protocol):
    def list(self, resource: str) -> list[dict[str, Any]]: ...


@dataclass
class Change:
    """One call to make: ``action`` is ``create``, ``update`` or ``delete``."""

    action: str
    resource: str
    id: str
    reason: str
    body: dict[str, Any] | None = None
    before: dict[str, Any] | None = None
    path: str | None = None
    view: dict[str, Any] | None = None  # an upload body's REST view (desired.Item.view): what a read shows

    @property
    def label(self) -> str:
        return f"{self.resource}/{self.id}"

    def diff(self) -> list[str]:
        """Readable field changes (``field: old → new``; a unified diff for multi-line text)."""
        if self.action != "update" or self.body is None or self.before is None:
            return []
        old, new = normalize(self.resource, self.before), normalize(self.resource, self.body)
        lines: list[str] = []
        for key in sorted(set(old) | set(new)):
            a, b = old.get(key), new.get(key)
            if a == b:
                continue
            if isinstance(a, str) and isinstance(b, str) and ("\n" in a or "\n" in b):
                body = list(difflib.unified_diff(a.splitlines(), b.splitlines(), "before", "after", n=1, lineterm=""))[2:]
                lines.append(f"{key}:")
                lines.extend(f"  {line}" for line in body[:20])
                if len(body) > 20:
                    lines.append(f"  … {len(body) - 20} more lines")
            else:
                lines.append(f"{key}: {_short(a)} → {_short(b)}")
        return lines


def _short(value: Any) -> str:
    text = "(absent)" if value is None else json.dumps(value, sort_keys=True)
    return text if len(text) <= 100 else text[:97] + "…"


def normalize(resource: str, body: dict[str, Any]) -> dict[str, Any]:
    """Comparable view of a request body or a stored object: server fields, empty values and
    Panther's defaults (``dedupPeriodMinutes`` 60, ``threshold`` 1; sync-contract.md §1.2) dropped;
    ``id`` dropped for globals and queries (not part of their bodies)."""
    out = {}
    for key, value in body.items():
        if key in _SERVER_FIELDS or value is None or value == [] or value == {} or value == "":
            continue
        if key == "id" and resource in ("globals", "queries"):
            continue
        if _DEFAULTS.get(key) == value:
            continue
        out[key] = value
    return out


@dataclass
class Plan:
    target: Target
    head: str
    base: str | None  # synced commit compared with (None in refresh mode)
    synced: str | None  # raw value of the synced ref, for the compare-and-swap
    mode: str  # "incremental" or "refresh"
    changes: list[Change] = field(default_factory=list)
    unchanged: int = 0
    unmanaged: list[Change] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    error_paths: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)
    pending: set[tuple[str, str]] = field(default_factory=set)  # written by unfinished syncs
    uncertain: set[tuple[str, str]] = field(default_factory=set)  # of those, writes that got no reply
    repository: str | None = None  # this repository's identity (see pytest_panther.sync.manifest)
    manifest: Manifest | None = None  # the deployment's record (refresh mode: listed with the globals)
    defined: set[tuple[str, str]] | None = None  # every key HEAD defines (refresh mode only)
    remote: set[tuple[str, str]] = field(default_factory=set)  # keys the deployment listed (refresh)

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)

    def render(self, *, verbose: bool = True) -> str:
        """The plan as text (no secrets: host and IDs only)."""
        span = f"{self.base[:12]}..{self.head[:12]}" if self.base else f"deployment vs {self.head[:12]}"
        out = [f"target {self.target.name} ({self.target.host}): {span} ({self.mode})"]
        out.extend(f"note: {note}" for note in self.notes)
        out.extend(f"error: {err}" for err in self.errors)
        signs = {"create": "+", "update": "~", "delete": "-"}
        for change in self.changes:
            where = f"  ({change.reason})" if change.reason else ""
            out.append(f"  {signs[change.action]} {change.action} {change.label}{where}")
            if verbose:
                out.extend(f"      {line}" for line in change.diff())
        for change in self.unmanaged:
            out.append(f"  ? unmanaged {change.label}  (in the deployment, not in this repository; --prune deletes it)")
        out.append(
            f"plan: {self.count('create')} to create, {self.count('update')} to update, "
            f"{self.count('delete')} to delete, {self.unchanged} unchanged"
            + (f", {len(self.unmanaged)} unmanaged" if self.unmanaged else "")
            + (f", {len(self.errors)} spec errors" if self.errors else "")
        )
        return "\n".join(out)


def _sort(changes: list[Change]) -> list[Change]:
    rank = {res: i for i, res in enumerate(ORDER)}
    return sorted(changes, key=lambda c: (c.action == "delete", rank.get(c.resource, len(ORDER)), c.id))


def _compare(plan: Plan, old: dict[tuple[str, str], Item], new: DesiredState, reason_new: str) -> None:
    for key, item in new.items.items():
        before = old.get(key)
        if before is None:
            plan.changes.append(Change("create", item.resource, item.id, reason_new, item.body, None, item.path, item.view))
        elif normalize(item.resource, before.body) != normalize(item.resource, item.body):
            plan.changes.append(Change("update", item.resource, item.id, "changed", item.body, before.body, item.path, item.view))
        else:
            plan.unchanged += 1


def _overrides(snap: Snapshot, target: Target) -> dict[str, Any]:
    table = target_table(snap.pyproject, target.name)
    return {key: table[key] for key in ("output_ids", "enabled") if key in table}


def make_plan(repo: Path, target: Target, client: Lister | None = None, *, refresh: bool = False, prune: bool = False) -> Plan:
    """Plan the sync of HEAD to ``target``.

    ``client`` is needed (and used read-only) in refresh mode only.

    :raises pytest_panther.sync.git.GitError: not a git repository, or HEAD has no commit.
    :raises ValueError: refresh mode without a client.
    :raises pytest_panther.sync.selection.SelectionError: HEAD's upstream settings are invalid.
    """
    head = rev_parse(repo, "HEAD")
    if head is None:
        raise ValueError("HEAD has no commit yet: commit your detections first")
    synced = read_synced(repo, target.name)
    recorded = read_synced_host(repo, target.name) if synced else None
    other_host = recorded is not None and not same_host(recorded, target.host)
    base = rev_parse(repo, synced) if synced and not other_host else None
    plan = Plan(target, head, None if refresh else base, synced, "refresh" if refresh or base is None else "incremental")
    plan.pending = read_pending(repo, target.name, target.host)
    plan.uncertain = read_uncertain(repo, target.name, target.host)
    plan.repository = repo_identity(repo)
    if other_host:
        plan.notes.append(f"{target.ref} was synced to {recorded}, not {target.host}: comparing with the deployment (a full first sync)")
    elif synced and base is None:
        plan.notes.append(f"{target.ref} names {synced[:12]}, which this clone lacks; comparing with the deployment")
    new_snap = snapshot(repo, head)
    new_snap.selection  # noqa: B018 - raises SelectionError early on invalid settings
    if plan.mode == "incremental" and base is not None:
        _incremental(plan, repo, base, new_snap, target)
    else:
        if client is None:
            raise ValueError("comparing with the deployment needs an API client")
        _refresh(plan, repo, base, new_snap, target, client, prune)
    settle(plan)  # the upload route (kinds and fields REST cannot carry)
    plan.changes = _sort(plan.changes)
    return plan


def _incremental(plan: Plan, repo: Path, base: str, new_snap: Snapshot, target: Target) -> None:
    """Desired state at the synced commit vs HEAD, parsing only the specs that differ."""
    overrides = target.overrides
    base_snap = new_snap if base == new_snap.commit else snapshot(repo, base, reuse=new_snap)
    if _overrides(base_snap, target) != overrides:
        old_paths, new_paths = set(base_snap.units), set(new_snap.units)
        plan.notes.append("target overrides changed: every spec is compared")
    elif base_snap.selection.signature != new_snap.selection.signature:
        old_paths, new_paths = set(base_snap.units), set(new_snap.units)
        plan.notes.append("upstream settings, overrides or packs changed: every spec is compared")
    else:
        old_paths, new_paths = changed_units(base_snap, new_snap)
    added_deprecated = new_snap.deprecated - base_snap.deprecated
    # A newly deprecated ID, or one an unfinished sync wrote, may still be defined by an
    # unchanged spec: parse those too.
    for dep in added_deprecated | {item_id for _, item_id in plan.pending}:
        needle = dep.encode()
        hits = {p for p, u in new_snap.units.items() if needle in new_snap.blobs[u.yaml_sha]}
        old_paths |= {p for p in hits if p in base_snap.units}
        new_paths |= hits
    old_state = desired_state(base_snap, old_paths, _overrides(base_snap, target))
    new_state = desired_state(new_snap, new_paths, overrides)
    _record_errors(plan, new_state)
    _compare(plan, old_state.items, new_state, "new")
    _rewrite_uncertain(plan, new_state)
    plan.unchanged += sum(1 for p, u in new_snap.units.items() if u.rest and p not in new_paths)
    new_ids_by_path: dict[str, list[str]] = {}
    for item in new_state.items.values():
        new_ids_by_path.setdefault(item.path, []).append(item.id)
    for key, item in old_state.items.items():
        if key in new_state.items or item.path in plan.error_paths:  # a broken spec never deletes
            continue
        if item.id in new_snap.deprecated:
            reason = "deprecated.txt"
        elif item.path not in new_snap.units:
            reason = "spec removed"
        elif new_ids_by_path.get(item.path):
            reason = f"renamed to {', '.join(new_ids_by_path[item.path])}"
        else:
            reason = new_snap.selection.reasons.get(item.id, "no longer deployed")
        plan.changes.append(Change("delete", item.resource, item.id, reason, None, item.body, item.path))
    deleting = {c.id for c in plan.changes if c.action == "delete"}
    live = {item.id for item in new_state.items.values()}
    for dep in sorted(added_deprecated - deleting - live):
        plan.changes.append(Change("delete", ANY_DETECTION, dep, "deprecated.txt"))
    _pending_deletes(plan, set(new_state.items))


def _rewrite_uncertain(plan: Plan, new_state: DesiredState) -> None:
    """An earlier write that got no reply may have landed late with older content than the synced
    commit's (audit D15): write HEAD's version again; apply reads it back before moving the ref."""
    planned = {(c.resource, c.id) for c in plan.changes}
    for key in sorted(plan.uncertain - planned):
        item = new_state.items.get(key)
        if item is not None:
            plan.changes.append(Change("update", item.resource, item.id, "an earlier write got no reply: rewritten", item.body, None, item.path, item.view))
            plan.unchanged -= 1


def _pending_deletes(plan: Plan, live: set[tuple[str, str]]) -> None:
    """Delete what an unfinished sync wrote and HEAD no longer defines (never while a spec has
    errors: its ID is unknown)."""
    deleting = {(c.resource, c.id) for c in plan.changes if c.action == "delete"}
    orphans = sorted(plan.pending - live - deleting)
    if orphans and plan.errors:
        plan.notes.append(f"specs have errors: {len(orphans)} object(s) written by an unfinished sync are kept until they are fixed")
        return
    for resource, item_id in orphans:
        plan.changes.append(Change("delete", resource, item_id, "written by an unfinished sync, no longer defined"))


def _refresh(plan: Plan, repo: Path, base: str | None, new_snap: Snapshot, target: Target, client: Lister, prune: bool) -> None:
    """HEAD's desired state vs what the deployment lists; guarded deletes of the rest."""
    new_state = desired_state(new_snap, None, target.overrides)
    _record_errors(plan, new_state)
    owned: dict[tuple[str, str], Item] = {}
    if base is not None:  # --refresh with a synced commit: what it deployed is ours
        owned = desired_state(snapshot(repo, base, reuse=new_snap), None, target.overrides).items
    remote: dict[tuple[str, str], Item] = {}
    for resource in ORDER:
        if resource in UPLOAD_ONLY.values():  # no REST list: see routes.settle
            continue
        for obj in client.list(resource):
            key_id = obj.get("name") if resource == "queries" else obj.get("id")
            if key_id == manifest_id(target.name) and resource == "globals":
                plan.manifest = parse_manifest(obj) or Manifest()
            elif isinstance(key_id, str) and not is_manifest(resource, key_id):
                remote[(resource, key_id)] = Item(resource, key_id, obj, "")
    plan.defined, plan.remote = set(new_state.items), set(remote)
    recorded = _recorded(plan)
    _compare(plan, remote, new_state, "not in the deployment")
    for change in plan.changes:
        if change.action == "update":
            change.reason = "drift: the deployment differs"
    compare_uploads(plan, new_state.items, normalize)  # uploaded objects: on their REST fields
    if prune and plan.errors:
        plan.notes.append("specs have errors: --prune deletes nothing until they are fixed")
        prune = False
    for key, item in sorted(remote.items()):
        if key in new_state.items:
            continue
        if key in plan.pending and not plan.errors:
            plan.changes.append(Change("delete", item.resource, item.id, "written by an unfinished sync, no longer defined", None, item.body))
        elif item.id in new_snap.deprecated:
            plan.changes.append(Change("delete", item.resource, item.id, "deprecated.txt", None, item.body))
        elif key in owned and owned[key].path not in plan.error_paths:
            plan.changes.append(Change("delete", item.resource, item.id, "deployed by this repository, now removed", None, item.body))
        elif key in recorded:
            plan.changes.append(Change("delete", item.resource, item.id, "deployed by this repository (its record in the deployment), now removed", None, item.body))
        elif prune:
            plan.changes.append(Change("delete", item.resource, item.id, "--prune", None, item.body))
        else:
            plan.unmanaged.append(Change("delete", item.resource, item.id, "unmanaged", None, item.body))
    _unlisted_deletes(plan, recorded, owned, new_state)


def _unlisted_deletes(plan: Plan, recorded: set[tuple[str, str]], owned: dict[tuple[str, str], Item],
                      new_state: DesiredState) -> None:
    """Delete what this repository deployed (record or synced commit), no longer defines, and
    REST does not list: upload-only kinds, derived detections, Databricks-only queries. Not
    being listed proves nothing for them, so the delete is made (one already gone counts as
    done); :func:`~pytest_panther.sync.routes.settle` names those no API deletes."""
    mine = recorded | {key for key, item in owned.items() if item.path not in plan.error_paths}
    for resource, item_id in sorted(mine - set(new_state.items) - plan.remote):
        reason = "deployed by this repository, now removed" if (resource, item_id) in owned else \
            "deployed by this repository (its record in the deployment), now removed"
        plan.changes.append(Change("delete", resource, item_id, reason))


def _recorded(plan: Plan) -> set[tuple[str, str]]:
    """The keys the deployment's record says this repository deployed (empty while specs have
    errors: a broken spec's ID is unknown, so nothing is deleted for it)."""
    manifest = plan.manifest
    if manifest is None or not manifest.keys:
        return set()
    if not manifest.owned_by(plan.repository):
        plan.notes.append(f"the deployment's record was written by {manifest.repository}, not {plan.repository}: "
                          "its objects are not deleted from here")
        return set()
    if plan.errors:
        plan.notes.append("specs have errors: nothing the deployment's record names is deleted until they are fixed")
        return set()
    return manifest.keys


def _record_errors(plan: Plan, state: DesiredState) -> None:
    plan.errors.extend(state.errors)
    plan.notes.extend(state.notes)
    for err in state.errors:
        path = err.split(":", 1)[0]
        plan.error_paths.add(path)
