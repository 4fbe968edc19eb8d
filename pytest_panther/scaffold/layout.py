"""Lay the skeleton of a detections repository out into a folder, never overwriting anything.

The skeleton is the package data folder ``pytest_panther/scaffold/skeleton`` (in the source tree a
symbolic link to the repository's ``template/``). Files are copied byte for byte.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from pathlib import PurePosixPath

__all__ = [
    "LayoutError",
    "Placed",
    "ensure_git_repository",
    "is_example_content",
    "iter_skeleton",
    "lay_out",
    "skeleton_root",
]

#: Generated files that may sit in the source tree's template and are never laid out.
_IGNORED_DIRS = {"__pycache__", ".pytest_cache", ".git", ".venv", "venv", ".ruff_cache"}
_IGNORED_SUFFIXES = (".pyc", ".pyo")


class LayoutError(Exception):
    """The skeleton cannot be laid out (destination is a file, unreadable, git failed …)."""


@dataclass(frozen=True)
class Placed:
    """One skeleton file: its path relative to the destination and what happened to it.

    ``status`` is ``"created"``, ``"skipped"`` (the destination already had that path) or
    ``"left out"`` (the caller asked for it not to be laid out).
    """

    path: str
    status: str


def skeleton_root() -> Path:
    """The folder holding the skeleton files.

    :raises LayoutError: when the installed package has no skeleton (a broken install).
    """
    root = Path(__file__).resolve().parent / "skeleton"
    if not (root / "pyproject.toml").is_file():
        raise LayoutError(
            f"the template files are missing from the installed package ({root}); reinstall pytest-panther"
        )
    return root


def iter_skeleton(root: Path | None = None) -> Iterator[str]:
    """Relative POSIX paths of every skeleton file, sorted, generated files (caches) excluded."""
    root = root or skeleton_root()
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in _IGNORED_DIRS]
        for name in filenames:
            if name.endswith(_IGNORED_SUFFIXES):
                continue
            found.append((Path(dirpath) / name).relative_to(root).as_posix())
    yield from sorted(found)


def is_example_content(rel: str) -> bool:
    """Whether skeleton path ``rel`` is example content: a spec or Python file of a detection or a
    global helper (``rules/example_*.py``, ``global_helpers/team_context.yml`` …), as opposed to
    settings, READMEs and the hidden folders (``.github/``, ``.pre-commit-config.yaml``).

    A fork of an upstream repository would deploy these with its own content, so
    ``init --upstream`` leaves them out.
    """
    return not rel.startswith(".") and PurePosixPath(rel).suffix in {".py", ".yml", ".yaml"}


def lay_out(
    destination: Path, root: Path | None = None, leave_out: Callable[[str], bool] | None = None
) -> list[Placed]:
    """Copy every skeleton file into ``destination`` (created if missing) unless the path exists.

    An existing file, folder or symbolic link at a path is left alone and reported as skipped;
    a path for which ``leave_out`` is true is not laid out and reported as left out.

    :raises LayoutError: when ``destination`` exists and is not a folder, or a file cannot be
        written (the message names it).
    """
    root = root or skeleton_root()
    if destination.exists() and not destination.is_dir():
        raise LayoutError(f"{destination}: exists and is not a folder")
    placed: list[Placed] = []
    for rel in iter_skeleton(root):
        target = destination / rel
        if leave_out is not None and leave_out(rel):
            placed.append(Placed(rel, "left out"))
            continue
        if target.exists() or target.is_symlink():
            placed.append(Placed(rel, "skipped"))
            continue
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(root / rel, target)
        except OSError as exc:
            raise LayoutError(f"{target}: cannot write ({exc.strerror})") from None
        placed.append(Placed(rel, "created"))
    return placed


def ensure_git_repository(destination: Path, branch: str = "main") -> bool:
    """Run ``git init`` in ``destination`` unless it is inside a git work tree already.

    The new repository's first branch is ``branch`` (whatever git's ``init.defaultBranch`` says).
    Returns True when a repository was created.

    :raises LayoutError: when git is not installed or ``git init`` fails.
    """
    try:
        inside = subprocess.run(
            ["git", "rev-parse", "--is-inside-work-tree"],
            cwd=destination,
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        raise LayoutError("git is not installed (https://git-scm.com/downloads)") from None
    if inside.returncode == 0 and inside.stdout.strip() == "true":
        return False
    for command in (["git", "init", "--quiet"], ["git", "symbolic-ref", "HEAD", f"refs/heads/{branch}"]):
        result = subprocess.run(command, cwd=destination, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise LayoutError(f"{' '.join(command)} failed in {destination}: {result.stderr.strip()}")
    return True
