"""The detections whose tests ``upstream pull`` runs: those affected by the files that changed
between the pre-pull HEAD and the new HEAD, plus every detection that has an override (so
overrides are re-checked against upstream's new version).

Uses :func:`pytest_panther.select.affected_spec_files` (spec, ``.py``, global helper, data
model, override and derived-detection dependencies; it parses only what it needs) on the work
tree, which equals the new HEAD right after the rebase.
"""
from __future__ import annotations

from pathlib import Path

from pytest_panther.select import affected_spec_files as _affected_on_disk
from pytest_panther.upstream.git import Git

__all__ = ["affected_spec_files"]


def affected_spec_files(git: Git, old_rev: str, new_rev: str, overridden: list[Path], overrides: str = "overrides") -> list[Path]:
    """Sorted absolute spec paths of the affected detections; ``overridden`` are the spec
    files of the detections that have an override."""
    changed = [git.root / p for p in git.out("diff", "--name-only", "-z", old_rev, new_rev).split("\0") if p]
    result = set(_affected_on_disk(git.root, changed, overrides=overrides))
    result.update(path for path in overridden if path.exists())
    return sorted(result)
