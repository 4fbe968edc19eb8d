"""Git hook logic: sync after a merge, rebase, amend, conflicted-merge commit or checkout.

Facts from shared/reference/sync-contract.md §4 (git 2.39.5, pre-commit 4.7.0):

* rebase pulls end in ``post-rewrite rebase``; merges in ``post-merge``; a merge finished after
  conflicts only in ``post-commit``; a checkout in ``post-checkout`` — so all four are hooked and
  the sync is state based (synced ref vs HEAD), never event based;
* during a rebase (``$GIT_DIR/rebase-merge`` or ``rebase-apply`` exists) the intermediate
  checkout lacks the fork's own commits: never sync then;
* ``post-merge 1`` is a squash merge: nothing is committed yet, the later commit fires
  ``post-commit``;
* a failing ``post-checkout`` makes ``git checkout`` fail, so a hook always exits 0 and reports
  problems loudly on stderr;
* pre-commit passes no arguments to post-* hooks but exports ``PRE_COMMIT_IS_SQUASH_MERGE`` and
  ``PRE_COMMIT_CHECKOUT_TYPE``; raw hooks get git's arguments (``sync hook --stage S -- "$@"``).

Two hooks never sync at once: an exclusive ``flock`` on ``<git common dir>/panther-sync.lock``
(released by the kernel if the process dies); the second waits, then syncs whatever is left.
"""
from __future__ import annotations

import fcntl
import os
import sys
import time
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from pytest_panther.sync.apply import describe_error
from pytest_panther.sync.git import common_git_dir
from pytest_panther.sync.git import current_branch
from pytest_panther.sync.git import rebase_in_progress
from pytest_panther.sync.targets import TargetError

__all__ = ["STAGES", "LockTimeout", "run_hook", "skip_reason", "sync_lock"]

STAGES = ("post-merge", "post-rewrite", "post-commit", "post-checkout")
PREFIX = "panther-sync:"


class LockTimeout(Exception):
    """Another sync held the lock for longer than the wait allowed."""


@contextmanager
def sync_lock(repo: Path, timeout: float = 300.0) -> Iterator[None]:
    """Hold ``<git common dir>/panther-sync.lock`` exclusively.

    :raises LockTimeout: after ``timeout`` seconds of waiting.
    """
    path = common_git_dir(repo) / "panther-sync.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockTimeout(f"another sync has held {path} for {timeout:.0f}s") from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


class _Quiet:
    """What a hook shows of a sync: everything when it is small; else the plan's first
    :attr:`LIMIT` changes and how many more, its totals, notes and errors, and a progress line
    (``[n/N]``) per tenth of the calls besides every failed one (a first sync can be 1,000 lines)."""

    LIMIT = 20

    def __init__(self, err: TextIO) -> None:
        self.err = err
        self.small: bool | None = None
        self.shown_tenth = 0

    def write(self, text: str) -> int:
        lines = text.splitlines()
        for line in lines:  # the plan's totals come last; decide before showing its lines
            if line.startswith("plan: "):
                counts = [int(word) for word in line.replace(",", " ").split() if word.isdigit()]
                self.small = sum(counts[:3]) <= self.LIMIT
        changes = 0
        for line in lines:
            if self.small or line.startswith(("target ", "plan: ", "note: ", "error: ")) or "failed" in line.split("]", 1)[-1][:8]:
                self._show(line)
            elif line.startswith(("  + ", "  ~ ", "  - ", "  ? ")):
                changes += 1
                if changes <= self.LIMIT:
                    self._show(line)
                elif changes == self.LIMIT + 1:
                    more = sum(1 for x in lines if x.startswith(("  + ", "  ~ ", "  - ", "  ? "))) - self.LIMIT
                    self._show(f"  … and {more} more (`panther-gitops sync plan` lists every change before an apply)")
            elif line.startswith("["):
                self._progress(line)
        return len(text)

    def _progress(self, line: str) -> None:
        done, _, total = line[1:].partition("]")[0].partition("/")
        if done.isdigit() and total.isdigit() and int(total):
            tenth = 10 * int(done) // int(total)
            if tenth > self.shown_tenth:
                self.shown_tenth = tenth
                self._show(line)

    def _show(self, line: str) -> None:
        self.err.write(f"{PREFIX} {line.rstrip()}\n")

    def flush(self) -> None:
        self.err.flush()

    def isatty(self) -> bool:
        """Never a terminal: no ``\r`` progress bar in a hook's output (``sync.apply.Output``)."""
        return False


def skip_reason(repo: Path, stage: str, args: Sequence[str], env: Mapping[str, str]) -> str | None:
    """Why this hook run must not sync, or None when it may (before looking at targets)."""
    if rebase_in_progress(repo):
        return "a rebase is in progress: the sync runs when it finishes"
    if stage == "post-merge" and ((args[:1] == ["1"]) or env.get("PRE_COMMIT_IS_SQUASH_MERGE") == "1"):
        return "squash merge: nothing is committed yet; the sync runs after its commit"
    if stage == "post-checkout" and (
        (len(args) >= 3 and args[2] == "0") or env.get("PRE_COMMIT_CHECKOUT_TYPE") == "0"
    ):
        return "file checkout: nothing to sync"
    return None


def run_hook(
    repo: Path,
    stage: str,
    args: Sequence[str] = (),
    *,
    target_name: str | None = None,
    env: Mapping[str, str] | None = None,
    err: TextIO | None = None,
) -> int:
    """Run the sync for a hook ``stage``. Always returns 0: a git command must never fail
    because of the sync; problems are reported on ``err`` (stderr) with the ``panther-sync:``
    prefix, and the synced ref stays put so the next run retries."""
    err = err if err is not None else sys.stderr
    env = os.environ if env is None else env
    try:
        _run(repo, stage, list(args), target_name, env, err)
    except Exception as exc:  # never fail the git command
        from pytest_panther.sync.client import ApiError

        detail = describe_error(exc) if isinstance(exc, ApiError) else f"{type(exc).__name__}: {exc}"
        err.write(f"{PREFIX} sync FAILED ({detail}); "
                  "the next hook run or `panther-gitops sync apply` retries\n")
    err.flush()
    return 0


def _run(repo: Path, stage: str, args: list[str], target_name: str | None, env: Mapping[str, str], err: TextIO) -> None:
    from pytest_panther.sync.run import repo_targets

    if stage not in STAGES:
        err.write(f"{PREFIX} unknown hook stage {stage!r} (expected one of {', '.join(STAGES)})\n")
        return
    reason = skip_reason(repo, stage, args, env)
    if reason:
        err.write(f"{PREFIX} {stage}: {reason}\n")
        return
    try:
        targets = repo_targets(repo, env)
    except TargetError as exc:
        err.write(f"{PREFIX} {exc}\n")
        return
    if target_name:
        targets = {k: v for k, v in targets.items() if k == target_name}
    if not targets:
        err.write(f"{PREFIX} no target configured (set PANTHER_API_HOST and PANTHER_API_TOKEN, or "
                  "[tool.pytest-panther.targets.<name>] in pyproject.toml); nothing synced\n")
        return
    branch = current_branch(repo)
    chosen = [t for t in targets.values() if t.deploy_branch == branch]
    if not chosen:
        wanted = ", ".join(sorted({t.deploy_branch for t in targets.values()}))
        err.write(f"{PREFIX} HEAD is on {branch or 'a detached HEAD'}, not a deploy branch ({wanted}); nothing synced\n")
        return
    from pytest_panther.sync.client import ApiError  # requests is slow to import: only now
    from pytest_panther.sync.run import sync_target

    timeout = float(env.get("PANTHER_SYNC_LOCK_TIMEOUT", "300"))
    with sync_lock(repo, timeout):
        if rebase_in_progress(repo):  # started while we waited
            err.write(f"{PREFIX} {stage}: a rebase is in progress: the sync runs when it finishes\n")
            return
        for target in chosen:
            try:
                target.token(env)
            except TargetError as exc:
                err.write(f"{PREFIX} {exc}; nothing synced\n")
                continue
            try:
                quiet = _Quiet(err)
                plan, summary = sync_target(repo, target, out=quiet, progress=quiet, tty=False, env=env)
            except ApiError as exc:
                err.write(f"{PREFIX} target {target.name}: sync FAILED while planning: {describe_error(exc)}\n")
                continue
            assert summary is not None
            err.write(f"{PREFIX} target {target.name}: {summary.render()}\n")
            for note in summary.notes:
                err.write(f"{PREFIX} note: {note}\n")
            if not summary.ok or plan.errors or not summary.ref_moved:
                for line in summary.failures:
                    err.write(f"{PREFIX}   {line}\n")
                err.write(f"{PREFIX} target {target.name}: sync FAILED; {target.ref} was not moved, "
                          "the next hook run or `panther-gitops sync apply` retries\n")
