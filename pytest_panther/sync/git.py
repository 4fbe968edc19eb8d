"""The few git facts the sync needs, read with ``git`` subprocess calls (no working-tree reads).

Hook and rebase facts are from shared/reference/sync-contract.md §4.1 (measured on git 2.39.5):
a rebase in progress leaves ``$GIT_DIR/rebase-merge`` or ``$GIT_DIR/rebase-apply``.
"""
from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable
from pathlib import Path

__all__ = [
    "GitError",
    "ZERO",
    "current_branch",
    "git",
    "git_dir",
    "list_tree",
    "read_blobs",
    "rebase_in_progress",
    "rev_parse",
]

#: The null object name git uses for "no previous value" (update-ref, post-checkout on clone).
ZERO = "0" * 40


class GitError(Exception):
    """A git command failed; ``str()`` is ``git <args>: <stderr>``."""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # Hooks run with GIT_DIR/GIT_INDEX_FILE etc. set for the outer command; -C must win.
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_PREFIX"):
        env.pop(name, None)
    env["GIT_TERMINAL_PROMPT"] = "0"
    return env


def git(repo: Path, *args: str, input: bytes | None = None, check: bool = True) -> str:
    """Run ``git -C repo args`` and return stdout as text (stripped of one trailing newline).

    :raises GitError: when git exits non-zero and ``check`` is true.
    """
    proc = subprocess.run(
        ["git", "-C", str(repo), *args], input=input, capture_output=True, env=_env()
    )
    if check and proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip() or f"exit status {proc.returncode}"
        raise GitError(f"git {' '.join(args)}: {message}")
    out = proc.stdout.decode("utf-8", "replace")
    return out[:-1] if out.endswith("\n") else out


def rev_parse(repo: Path, rev: str) -> str | None:
    """The commit ``rev`` names, or None when it does not exist."""
    out = git(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", check=False)
    return out.strip() or None


def git_dir(repo: Path) -> Path:
    """The repository's git directory (per worktree), absolute."""
    return Path(git(repo, "rev-parse", "--absolute-git-dir"))


def common_git_dir(repo: Path) -> Path:
    """The git directory shared by all worktrees (refs and the sync lock live here)."""
    return Path(git(repo, "rev-parse", "--path-format=absolute", "--git-common-dir"))


def current_branch(repo: Path) -> str | None:
    """Short name of the branch HEAD points to, or None when HEAD is detached."""
    out = git(repo, "symbolic-ref", "--quiet", "--short", "HEAD", check=False)
    return out.strip() or None


def rebase_in_progress(repo: Path) -> bool:
    """True while ``git rebase`` (merge or apply backend) is replaying or has stopped.

    The state folder (``rebase-merge``/``rebase-apply``) is what git 2.39.5 leaves while a
    rebase runs (sync-contract.md §4.1), but it is still there when ``post-rewrite rebase``
    runs at the very end — measured: by then HEAD is back on the branch, whereas it is
    detached for the whole replay (``post-checkout`` at the start, ``post-commit`` per pick, a
    stop on a conflict). So: state folder present *and* HEAD detached.
    """
    gdir = git_dir(repo)
    if not ((gdir / "rebase-merge").exists() or (gdir / "rebase-apply").exists()):
        return False
    return current_branch(repo) is None


def list_tree(repo: Path, commit: str, prefixes: Iterable[str] = ()) -> dict[str, str]:
    """``{relative posix path: blob id}`` of the files in ``commit`` (submodules and symlinks
    excluded), limited to ``prefixes`` (folders or files) when given."""
    args = ["ls-tree", "-r", "-z", "--full-tree", commit]
    prefixes = list(prefixes)
    if prefixes:
        args += ["--", *prefixes]
    out = git(repo, *args)
    tree: dict[str, str] = {}
    for entry in out.split("\0"):
        if not entry:
            continue
        meta, _, path = entry.partition("\t")
        mode, otype, sha = meta.split(" ")
        if otype == "blob" and mode in ("100644", "100755"):
            tree[path] = sha
    return tree


def read_blobs(repo: Path, shas: Iterable[str]) -> dict[str, bytes]:
    """Contents of the given blobs, read with one ``git cat-file --batch`` call."""
    wanted = sorted(set(shas))
    if not wanted:
        return {}
    proc = subprocess.run(
        ["git", "-C", str(repo), "cat-file", "--batch"],
        input=("\n".join(wanted) + "\n").encode(),
        capture_output=True,
        env=_env(),
    )
    if proc.returncode != 0:
        raise GitError(f"git cat-file --batch: {proc.stderr.decode('utf-8', 'replace').strip()}")
    data = proc.stdout
    blobs: dict[str, bytes] = {}
    pos = 0
    while pos < len(data):
        end = data.index(b"\n", pos)
        header = data[pos:end].decode()
        parts = header.split(" ")
        if len(parts) == 2 and parts[1] == "missing":
            pos = end + 1
            continue
        sha, _otype, size = parts[0], parts[1], int(parts[2])
        blobs[sha] = data[end + 1 : end + 1 + size]
        pos = end + 1 + size + 1
    return blobs
