"""What changed between two commits, in detection terms: removed and renamed IDs, the fork's
edits to upstream files, and where given IDs live.

Specs are read from git blobs (:func:`pytest_panther.spec.repository.load_repository_from_texts`),
never by checking out, and only the files a question needs are parsed: a full parse of
panther-analysis (~1,300 specs) takes seconds per revision, a diff between two releases touches
tens of files.
"""
from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_panther.config import spec_paths_from
from pytest_panther.spec.model import ID_FIELDS
from pytest_panther.spec.model import Spec
from pytest_panther.spec.repository import Repository
from pytest_panther.spec.repository import in_committed_spec_paths
from pytest_panther.spec.repository import load_repository_from_texts
from pytest_panther.upstream.git import Git

if TYPE_CHECKING:
    from pytest_panther.upstream.overrides import Override

__all__ = [
    "Edit",
    "IdChanges",
    "find_ids",
    "fork_edits",
    "id_changes",
    "rel",
    "repo_at",
    "repo_of_files",
    "spec_for_path",
    "spec_ids_at",
    "spec_paths_at",
    "spec_ids_in",
    "pack_drops",
    "status_drops",
]

_ID_LINE = re.compile(
    r"^(?:%s)[ \t]*:[ \t]*(?:\"([^\"\n]*)\"|'([^'\n]*)'|([^#\n]*?))[ \t]*(?:#.*)?\r?$"
    % "|".join(sorted(set(ID_FIELDS.values()))),
    re.MULTILINE,
)

_YAML = (".yml", ".yaml")


def rel(spec: Spec, root: Path) -> str:
    """The spec file's path relative to ``root``, POSIX style."""
    return spec.path.relative_to(root).as_posix()


def spec_paths_at(git: Git, rev: str) -> tuple[str, ...]:
    """Where specs are read at ``rev``, as the sync reads that commit
    (:func:`pytest_panther.sync.desired.snapshot`): its ``panther_paths``, else PAT's walk."""
    return spec_paths_from(lambda name: git.blob(rev, name))


def _in_paths(path: str, paths: Iterable[str]) -> bool:
    return in_committed_spec_paths(path, paths)


def _pathspecs(git: Git, revs: tuple[str, ...], paths: tuple[str, ...] | None) -> list[str]:
    """Pathspecs covering where specs are read at each of ``revs`` (a diff's two sides)."""
    if paths is not None:
        return list(paths)
    return sorted({p for rev in revs for p in spec_paths_at(git, rev)})


def _load(git: Git, rev: str, files: Iterable[str]) -> Repository:
    """The specs of ``files`` (already chosen by :func:`_in_paths`) at ``rev``."""
    texts = git.texts(rev, sorted(files))
    return load_repository_from_texts(git.root, texts, sorted({p.split("/", 1)[0] for p in texts}) or ["-"])


def repo_at(git: Git, rev: str, paths: tuple[str, ...] | None = None) -> Repository:
    """Every spec in the tree of ``rev`` (paths are ``git.root / relative``), read where the sync
    reads that commit (``paths``: :func:`spec_paths_at` by default)."""
    paths = spec_paths_at(git, rev) if paths is None else paths
    return _load(git, rev, [f for f in git.files(rev) if _in_paths(f, paths) and f.endswith(_YAML)])


def repo_of_files(git: Git, rev: str, files: Iterable[str], paths: tuple[str, ...] | None = None) -> Repository:
    """The specs of ``files`` at ``rev``: each YAML file itself and, for a ``.py`` file, the
    YAML files of its folder (one of them names it in ``Filename``)."""
    wanted = {f for f in files if f.endswith(_YAML)}
    folders = sorted({posixpath.dirname(f) + "/" for f in files if f.endswith(".py") and posixpath.dirname(f)})
    if folders:
        listed = git.out("ls-tree", "--name-only", "-z", rev, "--", *folders).split("\0")
        wanted.update(f for f in listed if f.endswith(_YAML))
    paths = spec_paths_at(git, rev) if paths is None else paths
    return _load(git, rev, [f for f in wanted if _in_paths(f, paths)])


def spec_for_path(repo: Repository, root: Path, path: str) -> Spec | None:
    """The spec whose YAML is ``path``, or whose ``Filename`` points at ``path``."""
    target = root / path
    spec = repo.by_path.get(target)
    if spec is not None:
        return spec
    for candidate in repo.specs:
        if candidate.python_path == target:
            return candidate
    return None


def find_ids(git: Git, rev: str, ids: Iterable[str], paths: tuple[str, ...] | None = None) -> dict[str, str]:
    """``{ID: spec path}`` for those of ``ids`` that a spec at ``rev`` has (``git grep`` picks
    the candidate files, which are then parsed)."""
    ids = sorted(set(ids))
    if not ids:
        return {}
    paths = spec_paths_at(git, rev) if paths is None else paths
    patterns = [arg for ident in ids for arg in ("-e", ident)]
    proc = git.run("grep", "-l", "-F", *patterns, rev, "--", *paths, check=False)
    candidates = [line.split(":", 1)[1] for line in proc.stdout.splitlines() if ":" in line]
    repo = repo_of_files(git, rev, [c for c in candidates if c.endswith(_YAML)], paths)
    found: dict[str, str] = {}
    for spec in repo.specs:
        if spec.id in ids and spec.id not in found:
            found[spec.id] = rel(spec, git.root)
    return found


def spec_ids_at(git: Git, rev: str, paths: tuple[str, ...] | None = None) -> set[str]:
    """The IDs of every spec at ``rev``, read from top-level ID lines (``RuleID: X``, quoted or
    not) without parsing YAML: fast enough for a whole panther-analysis release."""
    # The first line per file that starts with an ID key, found by `git grep -m 1` in C (about
    # twice as fast as reading every blob); the same lines _ID_LINE.search finds, since any line
    # starting with "<ID key>:" matches it. Git older than 2.38 has no -m: read the blobs then.
    paths = spec_paths_at(git, rev) if paths is None else paths
    keys = "|".join(sorted(set(ID_FIELDS.values())))
    specs = [f"{p.rstrip('/')}/*{suffix}" for p in paths for suffix in _YAML]
    proc = git.run("-c", "grep.lineNumber=false", "-c", "grep.column=false", "-c", "grep.fallbackToNoIndex=false",
                   "grep", "-I", "-m", "1", "-E", f"^({keys})[ \t]*:", rev, "--", *specs, check=False)
    if proc.returncode in (0, 1):  # 1: no match; lines are "<rev>:<path>:<line>"
        found = (line[len(rev) + 1:].partition(":") for line in proc.stdout.splitlines())
        return spec_ids_in(text for path, _, text in found if _in_paths(path, paths))
    files = [f for f in git.files(rev) if _in_paths(f, paths) and f.endswith(_YAML)]
    return spec_ids_in(git.texts(rev, files).values())


def spec_ids_in(texts: Iterable[str]) -> set[str]:
    """The IDs of the specs whose file contents are ``texts``, read as :func:`spec_ids_at` does
    (the first top-level ID line of each; texts without one are skipped)."""
    ids: set[str] = set()
    for text in texts:
        match = _ID_LINE.search(text)
        if match is not None:
            value = next(g for g in match.groups() if g is not None).strip()
            if value:
                ids.add(value)
    return ids


@dataclass
class IdChanges:
    """Spec IDs (packs aside) that disappeared between two revisions: ``removed``
    ``{ID: old path}``, ``renamed`` ``{old ID: (new ID, new path)}`` (same file, or a
    git-detected file rename, new ID)."""

    removed: dict[str, str] = field(default_factory=dict)
    renamed: dict[str, tuple[str, str]] = field(default_factory=dict)
    specs: dict[str, Spec] = field(default_factory=dict)  # old ID -> its spec at the old revision

    def gone(self) -> set[str]:
        return set(self.removed) | set(self.renamed)


def id_changes(git: Git, old_rev: str, new_rev: str, paths: tuple[str, ...] | None = None) -> IdChanges:
    """Removed and renamed IDs between ``old_rev`` and ``new_rev``, from the spec files the diff
    touches (an ID only in unchanged files cannot disappear)."""
    root = git.root
    rows = [r for r in git.name_status(old_rev, new_rev, *_pathspecs(git, (old_rev, new_rev), paths)) if r[1].endswith(_YAML) or r[2].endswith(_YAML)]
    old = repo_of_files(git, old_rev, [o for s, o, _n in rows if s in "DMRT"], paths)
    new = repo_of_files(git, new_rev, [n for s, _o, n in rows if s in "AMRTC"], paths)
    # Packs only group IDs (no REST object, sync-contract.md §3.5): not reported.
    old_ids = {s.id: rel(s, root) for s in old.specs if s.id and s.kind != "pack"}
    new_ids = {s.id for s in new.specs if s.id}
    moved = {o: n for status, o, n in rows if status == "R"}
    changes = IdChanges()
    for ident, path in sorted(old_ids.items()):
        if ident in new_ids:
            continue
        new_path = moved.get(path, path)
        successor = new.by_path.get(root / new_path)
        if successor is not None and successor.id and successor.id not in old_ids:
            changes.renamed[ident] = (successor.id, new_path)
        else:
            changes.removed[ident] = path
        changes.specs[ident] = old.by_path[root / path]
    # An ID that left a changed file may live on in a file the diff did not touch.
    survivors = find_ids(git, new_rev, changes.removed, paths)
    for ident in survivors:
        del changes.removed[ident]
    return changes


@dataclass
class Edit:
    """An upstream file the fork changed: ``status`` is git's letter (M, D, R, T), ``kind``
    ``yaml`` (a spec)/``python``/``other`` (YAML that is no spec included), ``ids`` the IDs of the specs it belongs to (at the base)."""

    path: str
    status: str
    kind: str
    ids: list[str]


def fork_edits(git: Git, base_rev: str, head: str = "HEAD") -> list[Edit]:
    """Files present at ``base_rev`` that the fork changed or deleted by ``head`` (a rename is a
    deletion: git's rename detection would pair a deleted upstream file with a similar file of
    the fork's own, which is no edit of upstream's)."""
    rows = [r for r in git.name_status(base_rev, head, renames=False) if r[0] in "MDT"]
    base = repo_of_files(git, base_rev, [o for _s, o, _n in rows if o.endswith((*_YAML, ".py"))])
    edits = []
    for status, old_path, _new in rows:
        kind = "yaml" if old_path.endswith(_YAML) else "python" if old_path.endswith(".py") else "other"
        spec = spec_for_path(base, git.root, old_path) if kind != "other" else None
        if kind == "yaml" and spec is None:
            kind = "other"  # YAML that is no spec (.pre-commit-config.yaml, a workflow): no override
        edits.append(Edit(old_path, status, kind, [spec.id] if spec is not None and spec.id else []))
    return edits


def status_drops(git: Git, old_rev: str, new_rev: str, paths: tuple[str, ...] | None = None) -> dict[str, tuple[str, str]]:
    """``{ID: (new Status, spec path)}`` of the specs whose upstream ``Status`` changed between
    the revisions to one the sync does not deploy (Experimental, Deprecated), as upstream wrote
    them (overrides not applied)."""
    from pytest_panther.upstream.packs import not_deployed_reason

    rows = [r for r in git.name_status(old_rev, new_rev, *_pathspecs(git, (old_rev, new_rev), paths)) if r[0] in "MR" and r[2].endswith(_YAML)]
    old = repo_of_files(git, old_rev, [o for _s, o, _n in rows], paths)
    new = repo_of_files(git, new_rev, [n for _s, _o, n in rows], paths)
    before = {s.id: s for s in old.specs if s.id}
    drops: dict[str, tuple[str, str]] = {}
    for spec in new.specs:
        was = before.get(spec.id)
        if was is not None and not not_deployed_reason(was) and not_deployed_reason(spec):
            drops[spec.id] = (str(spec.data.get("Status")), rel(spec, git.root))
    return drops


def pack_drops(git: Git, old_rev: str, new_rev: str, packs: Iterable[str], overrides: Mapping[str, Override] | None = None,
               paths: tuple[str, ...] | None = None) -> dict[str, list[str]]:
    """``{ID: [PackID, ...]}`` of the IDs that were members of one of the selected ``packs`` at
    ``old_rev`` and are in none of them at ``new_rev`` (pack overrides applied to both), so the
    sync stops deploying them; the packs named are the selected ones that held the ID."""
    from pytest_panther.upstream.overrides import patch_spec

    selected = set(packs)
    if not selected:
        return {}
    rows = [r for r in git.name_status(old_rev, new_rev, *_pathspecs(git, (old_rev, new_rev), paths)) if r[1].endswith(_YAML) or r[2].endswith(_YAML)]
    old = repo_of_files(git, old_rev, [o for s, o, _n in rows if s in "DMRT"], paths)
    new = repo_of_files(git, new_rev, [n for s, _o, n in rows if s in "AMRTC"], paths)

    def members(repo: Repository) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        for spec in repo.of_kind("pack"):
            if spec.id in selected:
                patch_spec(spec, (overrides or {}).get(spec.id))
                ids = spec.data.get("PackDefinition", {}).get("IDs") if isinstance(spec.data.get("PackDefinition"), dict) else None
                found[spec.id] = {i for i in ids if isinstance(i, str)} if isinstance(ids, list) else set()
        return found

    before, after = members(old), members(new)
    untouched = sorted(selected - set(before) - set(after))  # selected packs the diff does not touch
    if untouched:
        after.update(members(repo_of_files(git, new_rev, list(find_ids(git, new_rev, untouched, paths).values()), paths)))
    still: set[str] = set().union(*after.values()) if after else set()
    drops: dict[str, list[str]] = {}
    for pack_id, ids in sorted(before.items()):
        for ident in sorted(ids - still):
            drops.setdefault(ident, []).append(pack_id)
    return drops
