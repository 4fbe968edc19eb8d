"""A small wrapper around the ``git`` command line, used by the upstream workflow.

Every call runs ``git -C <root> ...`` with ``LC_ALL=C`` (stable messages to parse),
``GIT_TERMINAL_PROMPT=0`` (never wait for a password) and ``GIT_EDITOR=true`` (``rebase
--continue`` and ``commit`` never open an editor). Facts about which refs git sets during a
rebase (``REBASE_HEAD``, ``.git/rebase-merge``) are from githooks(5) and sync-contract.md §4.1.
"""
from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Git", "GitError", "RELEASE_TAG", "release_key"]

#: A release tag as panther-analysis names them (sync-contract.md §3.1): ``vX.Y.Z``.
RELEASE_TAG = re.compile(r"^v(\d+)\.(\d+)\.(\d+)$")


def release_key(tag: str) -> tuple[int, int, int]:
    """Sort key of a ``vX.Y.Z`` tag. :raises ValueError: for any other name."""
    match = RELEASE_TAG.match(tag)
    if match is None:
        raise ValueError(f"not a release tag: {tag!r} (expected vX.Y.Z)")
    return int(match.group(1)), int(match.group(2)), int(match.group(3))


class GitError(Exception):
    """A git command failed; ``str()`` gives the command and git's own message."""

    def __init__(self, args: list[str], returncode: int, stderr: str) -> None:
        self.args_list = args
        self.returncode = returncode
        self.stderr = stderr.strip()
        super().__init__(f"`git {' '.join(args)}` failed ({returncode}): {self.stderr or 'no message'}")


@dataclass
class Git:
    """Runs git in the work tree ``root``."""

    root: Path

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({"LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0", "GIT_EDITOR": "true"})
        return env

    def run(self, *args: str, check: bool = True, input: str | None = None, hooks: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``git args``; :raises GitError: when ``check`` and git exits non-zero.

        ``hooks=False`` runs it with ``core.hooksPath`` pointing at nothing, so no git hook (for
        example the sync hooks) fires for this command."""
        no_hooks = [] if hooks else ["-c", f"core.hooksPath={os.devnull}"]
        proc = subprocess.run(
            ["git", "-C", str(self.root), *no_hooks, *args],
            capture_output=True,
            text=True,
            env=self.env(),
            input=input,
            check=False,
        )
        if check and proc.returncode != 0:
            raise GitError(list(args), proc.returncode, proc.stderr or proc.stdout)
        return proc

    def out(self, *args: str) -> str:
        """stdout of ``git args`` without the trailing newline."""
        return self.run(*args).stdout.rstrip("\n")

    def ok(self, *args: str) -> bool:
        return self.run(*args, check=False).returncode == 0

    def rev(self, ref: str) -> str | None:
        """The commit SHA ``ref`` names, or None."""
        proc = self.run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
        return proc.stdout.strip() or None

    def blob(self, rev: str, path: str) -> str | None:
        """The text of ``path`` at ``rev``, or None when it does not exist there."""
        proc = self.run("show", f"{rev}:{path}", check=False)
        return proc.stdout if proc.returncode == 0 else None

    def blob_id(self, rev: str, path: str) -> str | None:
        proc = self.run("rev-parse", "--verify", "--quiet", f"{rev}:{path}", check=False)
        return proc.stdout.strip() or None

    def files(self, rev: str) -> list[str]:
        """Every file path in the tree of ``rev``."""
        return [p for p in self.out("ls-tree", "-r", "--name-only", "-z", rev).split("\0") if p]

    def texts(self, rev: str, paths: list[str]) -> dict[str, str]:
        """``{path: text}`` of ``paths`` at ``rev`` in one ``git cat-file --batch`` call
        (files that are missing or not UTF-8 are left out)."""
        if not paths:
            return {}
        request = "".join(f"{rev}:{p}\n" for p in paths).encode()
        proc = subprocess.run(
            ["git", "-C", str(self.root), "cat-file", "--batch"],
            input=request,
            capture_output=True,
            env=self.env(),
            check=False,
        )
        if proc.returncode != 0:
            raise GitError(["cat-file", "--batch"], proc.returncode, proc.stderr.decode(errors="replace"))
        data, pos, result = proc.stdout, 0, {}
        for path in paths:
            end = data.index(b"\n", pos)
            header = data[pos:end].split()
            pos = end + 1
            if len(header) < 3 or header[-1] == b"missing":
                continue
            size = int(header[2])
            body = data[pos : pos + size]
            pos += size + 1
            try:
                result[path] = body.decode("utf-8")
            except UnicodeDecodeError:
                continue
        return result

    def name_status(self, old: str, new: str, *paths: str, renames: bool = True) -> list[tuple[str, str, str]]:
        """``git diff --name-status -M old new``: ``(status letter, old path, new path)``
        (``renames=False``: ``--no-renames``, a rename is a deletion and an addition)."""
        out = self.out("diff", "--name-status", "-M" if renames else "--no-renames", "-z", old, new, "--", *paths)
        parts = [p for p in out.split("\0")]
        rows: list[tuple[str, str, str]] = []
        i = 0
        while i < len(parts) and parts[i]:
            status = parts[i][0]
            if status in "RC":
                rows.append((status, parts[i + 1], parts[i + 2]))
                i += 3
            else:
                rows.append((status, parts[i + 1], parts[i + 1]))
                i += 2
        return rows

    def release_tags(self) -> list[str]:
        """Local ``vX.Y.Z`` tags, oldest release first."""
        tags = [t for t in self.out("tag", "--list", "v*").splitlines() if RELEASE_TAG.match(t)]
        return sorted(tags, key=release_key)

    def git_dir(self) -> Path:
        path = Path(self.out("rev-parse", "--git-dir"))
        return path if path.is_absolute() else self.root / path

    def rebase_in_progress(self) -> bool:
        git_dir = self.git_dir()
        return (git_dir / "rebase-merge").exists() or (git_dir / "rebase-apply").exists()

    def unmerged(self) -> list[str]:
        return [p for p in self.out("diff", "--name-only", "--diff-filter=U", "-z").split("\0") if p]

    def is_clean(self) -> bool:
        """No staged or unstaged changes to tracked files (untracked files are allowed)."""
        return not self.out("status", "--porcelain", "--untracked-files=no")
