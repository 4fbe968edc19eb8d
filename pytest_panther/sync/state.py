"""The last commit synced to each target, kept as the ref ``refs/panther/<target>/synced``.

A ref survives rebases (it pins the synced commit so git's gc keeps it), can be pushed and
fetched (``git push origin 'refs/panther/*:refs/panther/*'``) so CI runs stay incremental, and is
moved with a compare-and-swap (``git update-ref <ref> <new> <old>``) so a concurrent sync that
moved it first makes this one fail instead of going backwards.

The state belongs to one deployment: ``refs/panther/<target>/host`` (a blob) records the host the
synced commit was deployed to, moved in the same transaction as the synced ref, and the pending
record names its host too. When a target's host changes, the old state is not used (the new host
gets a full first sync instead of "0 changed"; issue 11 §3, audit D7). A state written before the
host was recorded counts as the current host's.
"""
from __future__ import annotations

import json
from pathlib import Path

from pytest_panther.sync.git import ZERO
from pytest_panther.sync.git import GitError
from pytest_panther.sync.git import git

__all__ = [
    "StateError", "host_ref", "pending_ref", "read_pending", "read_synced", "read_synced_host", "read_uncertain",
    "synced_ref",
    "write_pending", "write_synced",
]


class StateError(Exception):
    """The synced ref could not be moved (e.g. another sync moved it first)."""


def synced_ref(target: str) -> str:
    return f"refs/panther/{target}/synced"


def read_synced(repo: Path, target: str) -> str | None:
    """The object name the synced ref holds, or None before the first successful sync. It may
    name a commit this clone lacks (a fetched ref without its history): check with
    :func:`pytest_panther.sync.git.rev_parse`."""
    out = git(repo, "rev-parse", "--verify", "--quiet", synced_ref(target), check=False)
    return out.strip() or None


def host_ref(target: str) -> str:
    return f"refs/panther/{target}/host"


def read_synced_host(repo: Path, target: str) -> str | None:
    """The host the synced commit was deployed to, or None when not recorded."""
    sha = git(repo, "rev-parse", "--verify", "--quiet", host_ref(target), check=False).strip()
    return git(repo, "cat-file", "blob", sha, check=False).strip() or None if sha else None


def write_synced(repo: Path, target: str, commit: str, previous: str | None, host: str | None = None) -> None:
    """Point the synced ref at ``commit`` if it still points at ``previous`` (None: absent), and
    record ``host`` (when given) in the same transaction.

    :raises StateError: when the ref moved meanwhile or git refused.
    """
    commands = f"update {synced_ref(target)} {commit} {previous or ZERO}\n"
    if host is not None:
        blob = git(repo, "hash-object", "-w", "--stdin", input=host.encode()).strip()
        commands += f"update {host_ref(target)} {blob}\n"
    try:
        git(repo, "update-ref", "-m", f"panther-gitops sync: {target} synced", "--stdin", input=commands.encode())
    except GitError as exc:
        raise StateError(str(exc)) from None


def pending_ref(target: str) -> str:
    return f"refs/panther/{target}/pending"


def _pending(repo: Path, target: str, host: str | None, field: str) -> set[tuple[str, str]]:
    sha = git(repo, "rev-parse", "--verify", "--quiet", pending_ref(target), check=False).strip()
    if not sha:
        return set()
    text = git(repo, "cat-file", "blob", sha, check=False)
    try:
        data = json.loads(text)
        if isinstance(data, dict):
            if host is not None and data.get("host") not in (None, host):
                return set()
            data = data.get(field, [])
        elif field != "keys":  # the first format: a bare list of keys
            return set()
        return {(str(res), str(item)) for res, item in data}
    except (ValueError, TypeError):
        return set()


def read_pending(repo: Path, target: str, host: str | None = None) -> set[tuple[str, str]]:
    """``(collection, ID)`` pairs written by syncs that did not finish (the synced ref stayed
    behind). They count as deployed by this repository, so a later plan deletes those its
    HEAD no longer defines, instead of leaving them orphaned. Empty when there is none, or when
    they were written to another host than ``host``."""
    return _pending(repo, target, host, "keys")


def read_uncertain(repo: Path, target: str, host: str | None = None) -> set[tuple[str, str]]:
    """The pending keys whose write got no reply: it may have landed after that sync gave up, with
    older content than a later sync sent. The next sync rewrites and reads them back."""
    return _pending(repo, target, host, "uncertain")


def write_pending(repo: Path, target: str, keys: set[tuple[str, str]], host: str | None = None,
                  uncertain: set[tuple[str, str]] = frozenset()) -> None:  # type: ignore[assignment]
    """Record ``keys`` (written to ``host``; ``uncertain`` those whose write got no reply) as a
    JSON blob under ``refs/panther/<target>/pending`` (a ref, so ``git push/fetch 'refs/panther/*'``
    carries it between CI runs); ``set()`` drops it."""
    if not keys:
        git(repo, "update-ref", "-d", pending_ref(target), check=False)
        return
    record = {"host": host, "keys": sorted(keys), "uncertain": sorted(uncertain & keys)}
    blob = git(repo, "hash-object", "-w", "--stdin", input=json.dumps(record).encode())
    git(repo, "update-ref", pending_ref(target), blob.strip())
