"""The detections whose tests ``upstream pull`` runs: those affected by the files that changed
between the pre-pull HEAD and the new HEAD, plus every detection that has an override (so
overrides are re-checked against upstream's new version).

Uses :func:`pytest_panther.select.affected_specs` (spec, ``.py``, global helper, data model,
override and derived-detection dependencies); without that module only the changed specs and
the specs of changed ``.py`` files are taken.
"""
from __future__ import annotations

from pathlib import Path

from pytest_panther.spec.repository import Repository
from pytest_panther.upstream.git import Git
from pytest_panther.upstream.history import spec_for_path

__all__ = ["affected_spec_files"]


def affected_spec_files(git: Git, repo: Repository, old_rev: str, new_rev: str, override_ids: set[str], overrides: str = "overrides") -> list[Path]:
    """Sorted spec paths (``repo``'s, absolute) of the affected detections."""
    changed = [p for p in git.out("diff", "--name-only", "-z", old_rev, new_rev).split("\0") if p]
    override_files = [str(p.relative_to(git.root)) for p in (git.root / overrides).rglob("*.y*ml")] if (git.root / overrides).is_dir() else []
    try:
        from pytest_panther.select import affected_specs
    except ImportError:  # pragma: no cover - the selection module ships with the package
        affected_specs = None
    result: set[Path] = set()
    if affected_specs is not None:
        result = set(affected_specs(repo, [Path(p) for p in [*changed, *override_files]], overrides=overrides))
    else:  # pragma: no cover
        for path in changed:
            spec = spec_for_path(repo, git.root, path)
            if spec is not None and spec.is_detection:
                result.add(spec.path)
    result.update(s.path for s in repo.specs if s.id in override_ids and s.is_detection)
    return sorted(result)
