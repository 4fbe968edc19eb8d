"""Small git repositories for tests that run ``git`` in a subprocess (imported by name:
``pythonpath`` in pyproject.toml puts ``tests/`` on the path).

Identity and configuration are pinned per call (:data:`GIT_ENV`), so the machine's git config
never leaks in (style.md §12.13). The upstream and sync suites have their own helpers
(``upstream_repos.py``, ``synchelpers.py``) that pin the environment in a fixture instead.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

__all__ = ["GIT_ENV", "git", "make_repo", "write"]

#: Author/committer and an empty global and system config for every ``git`` call.
GIT_ENV = {
    "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid", "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
}


def git(root: Path, *args: str) -> str:
    """``git ARGS`` in ``root``; its stdout. Raises ``CalledProcessError`` when git fails."""
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True,
                          env={**os.environ, **GIT_ENV}).stdout


def write(root: Path, files: dict[str, str]) -> None:
    """Write ``{relative path: text}`` under ``root``, creating folders."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def make_repo(root: Path, files: dict[str, str]) -> Path:
    """A new git repository at ``root`` (branch main) holding ``files`` in one commit; ``root``."""
    root.mkdir()
    write(root, files)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "one")
    return root
