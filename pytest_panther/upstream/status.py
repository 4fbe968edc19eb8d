"""``panther-gitops upstream status``: where the fork stands against upstream releases.

Reports the base release, newer ``vX.Y.Z`` tags, the upstream files the fork changed (diff
``base..HEAD`` limited to files that exist at the base), the upstream deletions and renames
since the base that touch customised files or overridden IDs, and which customisations are
overrides and which are in-place edits (sync-contract.md §3.5: rebase keeps customisations as
commits on top; overrides keep them out of upstream's files).
"""
from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from pytest_panther.spec.yaml import YamlError
from pytest_panther.upstream.config import UpstreamConfig
from pytest_panther.upstream.conflicts import Stop
from pytest_panther.upstream.conflicts import predict_stops
from pytest_panther.upstream.deployment import status_lines
from pytest_panther.upstream.git import Git
from pytest_panther.upstream.git import GitError
from pytest_panther.upstream.git import release_key
from pytest_panther.upstream.history import Edit
from pytest_panther.upstream.history import IdChanges
from pytest_panther.upstream.history import find_ids
from pytest_panther.upstream.history import fork_edits
from pytest_panther.upstream.history import id_changes
from pytest_panther.upstream.history import pack_drops
from pytest_panther.upstream.history import repo_at
from pytest_panther.upstream.history import spec_ids_at
from pytest_panther.upstream.history import status_drops
from pytest_panther.upstream.overrides import Override
from pytest_panther.upstream.overrides import apply_overrides
from pytest_panther.upstream.overrides import load_overrides
from pytest_panther.upstream.overrides import unknown_id_error
from pytest_panther.upstream.packs import check_packs
from pytest_panther.upstream.packs import deployable_ids
from pytest_panther.upstream.packs import upstream_ids

__all__ = ["Status", "collect_status", "fetch_tags", "format_status", "orphan_lines", "orphans", "status_exit_code", "status_json"]


@dataclass
class Status:
    base: str
    newer: list[str] = field(default_factory=list)
    edits: list[Edit] = field(default_factory=list)
    overrides: dict[str, str] = field(default_factory=dict)  # ID -> override file (relative)
    changes: IdChanges | None = None  # base -> latest newer release
    stops: list[Stop] = field(default_factory=list)  # the files `pull` onto ``latest`` stops on
    orphans: list[str] = field(default_factory=list)  # overrides for IDs gone now or in the latest release
    problems: list[str] = field(default_factory=list)
    packs: str = ""  # pack selection summary, when packs are selected
    tag: str | None = None  # the release asked for (``status --tag``); default the latest
    status_drops: list[str] = field(default_factory=list)  # detections a Status change takes out

    @property
    def latest(self) -> str | None:
        return self.newer[-1] if self.newer else None

    @property
    def target(self) -> str | None:
        """The release the predictions are for: ``tag`` or the latest."""
        return self.tag or self.latest


def fetch_tags(git: Git, config: UpstreamConfig) -> None:
    """``git fetch --tags <remote>``, adding the remote from the recorded ``url`` first when this
    clone does not have it (a fresh clone, CI). :raises GitError: when the fetch fails (the
    message suggests ``--no-fetch``)."""
    if not git.ok("remote", "get-url", config.remote):
        git.run("remote", "add", "--no-tags", config.remote, config.url)
    try:
        git.run("fetch", "--quiet", "--tags", config.remote)
    except GitError as exc:
        raise GitError(exc.args_list, exc.returncode, f"{exc.stderr} (use --no-fetch to work with the tags already fetched)") from None


def status_json(status: Status) -> dict[str, object]:
    """The status as plain data (``status --json``; the upstream workflow reads ``latest``)."""
    return {
        "base": status.base,
        "newer": status.newer,
        "latest": status.latest,
        "target": status.target,
        "status_drops": status.status_drops,
        "edits": [{"path": e.path, "status": e.status, "kind": e.kind, "ids": e.ids} for e in status.edits],
        "overrides": status.overrides,
        "removed": dict(status.changes.removed) if status.changes else {},
        "renamed": {k: list(v) for k, v in status.changes.renamed.items()} if status.changes else {},
        "stops": [{"path": s.path, "case": s.case, "id": s.spec.id if s.spec else None, "why": s.why} for s in status.stops],
        "orphans": status.orphans,
        "problems": status.problems,
    }


def collect_status(git: Git, config: UpstreamConfig, tag: str | None = None) -> Status:
    """The status of the fork at ``git.root`` (tags must already be fetched); predictions are
    for the release ``tag`` (default: the latest)."""
    status = Status(base=config.base, tag=tag)
    if not config.base:
        status.problems.append("no base release recorded; run `panther-gitops upstream init --release vX.Y.Z`")
        return status
    if git.rev(config.base) is None:
        status.problems.append(f"base release {config.base} is not a tag here; run `git fetch --tags {config.remote}`")
        return status
    if not git.ok("merge-base", "--is-ancestor", config.base, "HEAD"):
        status.problems.append(f"HEAD does not contain the base release {config.base}; was the branch rebased by hand?")
    status.newer = [t for t in git.release_tags() if release_key(t) > release_key(config.base)]
    status.edits = fork_edits(git, config.base)
    overrides, _errors = load_overrides(git.root, config.overrides)
    status.overrides = {i: o.path.relative_to(git.root).as_posix() for i, o in overrides.items()}
    status.orphans = orphans(git, overrides, "HEAD", None, "now")
    if config.packs:
        head_repo = repo_at(git, "HEAD")
        apply_overrides(head_repo, overrides)
        status.problems += check_packs(head_repo, config)
        deployable = deployable_ids(head_repo, config, upstream_ids(git.root, config))
        detections = [s for s in head_repo.detections if s.id]
        deployed = [s for s in detections if s.id in deployable]
        disabled = [s for s in deployed if deployable[s.id] is False and s.enabled]
        status.packs = (
            f"packs: {', '.join(config.packs)}; {len(deployed)} of {len(detections)} detections deployed"
            + (f", {len(disabled)} of them forced disabled" if disabled else "")
            + f" (unselected = {config.unselected})"
        )
    if tag is not None and tag not in status.newer:
        status.problems.append(f"{tag} is not a release newer than {config.base} (newer: {', '.join(status.newer) or 'none'})")
        status.tag = None
    target = status.target
    if target:
        status.changes = id_changes(git, config.base, target)
        status.stops = predict_stops(git, config.base, target)
        customised = set(overrides) | {i for e in status.edits for i in e.ids}
        gone = status.changes.gone()  # reported as removed or renamed
        dropped = {i: p for i, p in pack_drops(git, config.base, target, config.packs, overrides).items() if i not in gone}
        status.status_drops = status_lines(status_drops(git, config.base, target), overrides, customised, target, dropped)
        known = {line.split(":", 1)[0] for line in status.orphans}
        for line in orphans(git, overrides, target, status.changes, target):
            if line.split(":", 1)[0] not in known:
                status.orphans.append(line)
    return status


def orphans(git: Git, overrides: dict[str, Override], rev: str, changes: IdChanges | None, where: str) -> list[str]:
    """:func:`orphan_lines` for the overrides whose ID no spec has at ``rev`` (close IDs are
    suggested from every spec ID at ``rev``, read only when there is an orphan)."""
    present = set(find_ids(git, rev, overrides))
    if present >= set(overrides):
        return []
    return orphan_lines(overrides, present, changes, where, git.root, spec_ids_at(git, rev))


def orphan_lines(
    overrides: dict[str, Override], ids: set[str], changes: IdChanges | None, where: str,
    root: Path | None = None, suggest_from: set[str] | None = None,
) -> list[str]:
    """``path:line:col: message`` for each override whose ID is not in ``ids`` (paths relative
    to ``root`` when given; close IDs suggested from ``suggest_from``, default ``ids``)."""
    lines = []
    for ident, override in sorted(overrides.items()):
        if ident in ids:
            continue
        error: YamlError = unknown_id_error(override, suggest_from if suggest_from is not None else ids)
        if changes is not None and ident in changes.renamed:
            new_id, new_path = changes.renamed[ident]
            error = YamlError(error.path, error.line, error.col, f"upstream {where} renames {ident!r} to {new_id!r} ({new_path})", f"rename the override to {new_id}")
        elif changes is not None and ident in changes.removed:
            error = YamlError(error.path, error.line, error.col, f"upstream {where} removes {ident!r}", "delete the override")
        if root is not None and Path(error.path).is_relative_to(root):
            error.path = Path(error.path).relative_to(root).as_posix()
        lines.append(error.format())
    return lines


def format_status(status: Status) -> str:
    out = [f"base release: {status.base or '(none)'}"]
    out += [f"problem: {p}" for p in status.problems]
    if status.newer:
        out.append(f"newer releases: {', '.join(status.newer)} (run `panther-gitops upstream pull` for {status.latest})")
    elif status.base and not status.problems:
        out.append("newer releases: none")
    in_place = [e for e in status.edits if e.kind != "other"]
    out.append(f"in-place edits of upstream detections: {len(in_place)}")
    for e in in_place:
        verb = {"M": "modified", "D": "deleted", "R": "renamed", "T": "type changed"}[e.status]
        ids = f" ({', '.join(e.ids)})" if e.ids else ""
        hint = "  -> `upstream migrate-edits` can turn it into an override" if e.kind == "yaml" and e.status in "MD" else ""
        out.append(f"  {verb} {e.path}{ids}{hint}")
    others = [e.path for e in status.edits if e.kind == "other"]
    if others:
        out.append(f"other upstream files changed: {', '.join(others)}")
    if status.packs:
        out.append(status.packs)
    out.append(f"overrides: {len(status.overrides)}")
    out += [f"  {ident}: {path}" for ident, path in sorted(status.overrides.items())]
    target = status.target
    if status.changes is not None and target:
        for ident, path in sorted(status.changes.removed.items()):
            out.append(f"upstream {target} removes {ident} ({path})")
        for ident, (new_id, path) in sorted(status.changes.renamed.items()):
            out.append(f"upstream {target} renames {ident} to {new_id} ({path})")
    out += status.status_drops
    if target:
        out.append(f"pull to {target} stops on: {len(status.stops) or 'nothing'}")
        out += [f"  {s.label}: {s.why}" for s in status.stops]
    out += [f"orphaned override: {o}" for o in status.orphans]
    return "\n".join(out) + "\n"


def status_exit_code(status: Status) -> int:
    return 1 if status.problems or status.orphans else 0

