"""Which files of a fork are upstream's, unchanged since the recorded base release.

An under-tested detection the fork took from upstream and never touched is upstream's to fix: the
minimum-tests check lists it instead of failing it (issue 10.9), while every detection the fork
wrote or edited must meet the minimum.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pytest_panther.upstream.config import ConfigError
from pytest_panther.upstream.config import read_config
from pytest_panther.upstream.git import RELEASE_TAG
from pytest_panther.upstream.git import Git
from pytest_panther.upstream.git import GitError
from pytest_panther.upstream.git import release_key

__all__ = ["Untouched", "untouched_upstream"]


@dataclass(frozen=True)
class Untouched:
    """``files`` (resolved paths) are identical in the work tree and in release ``base``."""

    base: str
    files: frozenset[Path]


def untouched_upstream(root: Path) -> Untouched | None:
    """The upstream files of the fork at ``root`` that it did not change since its upstream
    release: the newest release tag in HEAD's history, at least ``[tool.pytest-panther.upstream]
    base`` (while ``upstream pull`` tests a rebase onto a newer release, before it records it,
    that newer one). None when no base is recorded, no such tag is in the local repository, or
    ``root`` is not in a git work tree (then nothing is exempt)."""
    try:
        recorded = read_config(root).base
    except ConfigError:
        return None
    if not recorded:
        return None
    git = Git(root)
    try:
        merged = [t for t in git.out("tag", "--merged", "HEAD", "--list", "v*").splitlines() if RELEASE_TAG.match(t)]
        if git.rev(recorded) is not None:
            merged.append(recorded)
        if not merged:
            return None
        base = max(merged, key=release_key)
        top = Path(git.out("rev-parse", "--show-toplevel"))
        upstream = set(git.files(base))
        changed = {p for p in git.out("diff", "--name-only", "--no-renames", "-z", base, "--").split("\0") if p}
    except (GitError, OSError):
        return None
    return Untouched(base, frozenset((top / p).resolve() for p in upstream - changed))
