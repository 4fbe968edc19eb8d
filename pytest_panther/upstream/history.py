"""What changed between two commits, in detection terms: spec repositories at a revision,
removed and renamed IDs, and the fork's edits to upstream files.

Specs are read from git blobs (:func:`pytest_panther.spec.repository.load_repository_from_texts`),
never by checking out.
"""
from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from pytest_panther.spec.model import Spec
from pytest_panther.spec.repository import DEFAULT_PATHS
from pytest_panther.spec.repository import Repository
from pytest_panther.spec.repository import load_repository_from_texts
from pytest_panther.upstream.git import Git

__all__ = ["Edit", "IdChanges", "fork_edits", "id_changes", "rel", "repo_at", "spec_for_path"]


def rel(spec: Spec, root: Path) -> str:
    """The spec file's path relative to ``root``, POSIX style."""
    return spec.path.relative_to(root).as_posix()


def repo_at(git: Git, rev: str, paths: tuple[str, ...] = DEFAULT_PATHS) -> Repository:
    """Every spec under ``paths`` in the tree of ``rev`` (paths are ``git.root / relative``)."""
    prefixes = tuple(p.rstrip("/") + "/" for p in paths)
    files = [f for f in git.files(rev) if f.startswith(prefixes) and f.endswith((".yml", ".yaml"))]
    return load_repository_from_texts(git.root, git.texts(rev, files), paths)


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


@dataclass
class IdChanges:
    """Spec IDs (packs aside) that disappeared between two revisions: ``removed`` ``{ID: old path}``, ``renamed``
    ``{old ID: (new ID, new path)}`` (same file, or a git-detected file rename, new ID)."""

    removed: dict[str, str] = field(default_factory=dict)
    renamed: dict[str, tuple[str, str]] = field(default_factory=dict)

    def gone(self) -> set[str]:
        return set(self.removed) | set(self.renamed)


def id_changes(git: Git, old: Repository, new: Repository, old_rev: str, new_rev: str) -> IdChanges:
    root = git.root
    # Packs only group IDs (no REST object, sync-contract.md §3.5): not reported.
    old_ids = {s.id: rel(s, root) for s in old.specs if s.id and s.kind != "pack"}
    new_ids = {s.id for s in new.specs if s.id}
    moved = {o: n for status, o, n in git.name_status(old_rev, new_rev) if status == "R"}
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
    return changes


@dataclass
class Edit:
    """An upstream file the fork changed: ``status`` is git's letter (M, D, R, T), ``kind``
    ``yaml``/``python``/``other``, ``ids`` the IDs of the specs it belongs to (at the base)."""

    path: str
    status: str
    kind: str
    ids: list[str]


def fork_edits(git: Git, base_rev: str, base: Repository, head: str = "HEAD") -> list[Edit]:
    """Files present at ``base_rev`` that the fork changed, deleted or renamed by ``head``."""
    edits = []
    for status, old_path, _new in git.name_status(base_rev, head):
        if status not in "MDRT":
            continue
        kind = "yaml" if old_path.endswith((".yml", ".yaml")) else "python" if old_path.endswith(".py") else "other"
        spec = spec_for_path(base, git.root, old_path) if kind != "other" else None
        edits.append(Edit(old_path, status, kind, [spec.id] if spec is not None and spec.id else []))
    return edits
