"""What a repository has deployed to a target, kept in the deployment itself (issue 11 §4).

Deletes come from comparing the synced commit with HEAD. A clone without that commit — a fresh or
shallow CI clone that did not fetch ``refs/panther/*``, a force-pushed history — had no way to
tell "removed from the repository" from "made in the console", so a removed detection stayed
deployed for good (audit D4, #31/#32), and only ``--prune`` (delete everything unknown) helped.

So every apply that writes or deletes also records the ``(collection, ID)`` pairs the repository
has deployed in one object *of the deployment*: the global helper
``panther_gitops_manifest__<target>``. Whoever syncs to that Panther reads it back — any clone, any
machine, with or without the sync refs — because the record lives where the objects live. Why a
global helper: it is the one REST kind that holds free text (``body``), is read and written by ID
with the token the sync already has (Manage Rules/Policies), and is inert (a module that assigns a
string; nothing imports it). Refs cannot do this (the failing clone is the one without them), and
tagging every object would change what is deployed.

The record names the repository that wrote it (its ``origin`` URL without scheme, user and
``.git``), so a different repository syncing a same-named target to the same Panther does not take
it as its own: a refresh then uses it only when the names agree (or one of them is unknown), and
says so otherwise. The object itself never shows up as unmanaged, drift or a ``--prune`` delete.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

from pytest_panther.sync.git import git

__all__ = ["MANIFEST_PREFIX", "Manifest", "is_manifest", "manifest_id", "parse_manifest", "repo_identity"]

MANIFEST_PREFIX = "panther_gitops_manifest__"
_START, _END = 'MANIFEST = r"""', '"""'

Key = tuple[str, str]


def manifest_id(target: str) -> str:
    """The GlobalID of ``target``'s manifest (a Python module name)."""
    return MANIFEST_PREFIX + re.sub(r"[^A-Za-z0-9_]", "_", target)


def is_manifest(resource: str, item_id: str) -> bool:
    return resource == "globals" and item_id.startswith(MANIFEST_PREFIX)


def repo_identity(repo: Path) -> str | None:
    """The ``origin`` URL as ``host/owner/name`` (``git@github.com:o/r.git`` and
    ``https://user@github.com/o/r`` agree), a path for a local remote, None without ``origin``."""
    url = git(repo, "config", "--get", "remote.origin.url", check=False).strip()
    if not url:
        return None
    url = re.sub(r"^[A-Za-z][A-Za-z0-9+.-]*://", "", url)  # scheme
    url = re.sub(r"^[^/@]+@", "", url)  # user@
    url = re.sub(r"^([^/:]+):(?!//)", r"\1/", url) if not url.startswith("/") else url  # scp-like host:path
    url = url.rstrip("/")
    url = url[:-4] if url.endswith(".git") else url
    host, _, rest = url.partition("/")
    return f"{host.lower()}/{rest}" if rest and not url.startswith("/") else url


@dataclass
class Manifest:
    """The deployed ``keys`` as recorded by ``repository`` (None: unknown) at ``commit``."""

    keys: set[Key] = field(default_factory=set)
    repository: str | None = None
    commit: str | None = None

    def owned_by(self, repository: str | None) -> bool:
        """Whether this record may be taken as ``repository``'s own."""
        return self.repository is None or repository is None or self.repository == repository

    def body(self, target: str) -> dict[str, Any]:
        """The REST body of the manifest global (``PUT /globals/<manifest_id>``)."""
        record = json.dumps(
            {"version": 1, "repository": self.repository, "commit": self.commit, "objects": sorted(self.keys)},
            separators=(",", ":"),
        )
        text = (
            f"# Written by `panther-gitops sync` (target {target!r}): every object the repository below has\n"
            "# deployed here. Later syncs read it to delete what the repository no longer defines, also from\n"
            "# clones without the sync history. Do not edit or import it.\n"
            f"{_START}{record}{_END}\n"
        )
        return {"body": text, "description": f"panther-gitops sync record for target {target} (do not edit)"}

    def updated(self, written: Iterable[Key], deleted: Iterable[Key], *, repository: str | None, commit: str) -> Manifest:
        keys = (self.keys | set(written)) - set(deleted)
        return Manifest(keys, repository, commit)


def parse_manifest(obj: dict[str, Any] | None) -> Manifest | None:
    """The record in a manifest global as the API returns it; None when absent or unreadable."""
    body = obj.get("body") if isinstance(obj, dict) else None
    if not isinstance(body, str) or _START not in body:
        return None
    text = body.split(_START, 1)[1].split(_END, 1)[0]
    try:
        data = json.loads(text)
        keys = {(str(res), str(item)) for res, item in data["objects"]}
    except (ValueError, TypeError, KeyError):
        return None
    repository = data.get("repository") if isinstance(data.get("repository"), str) else None
    commit = data.get("commit") if isinstance(data.get("commit"), str) else None
    return Manifest(keys, repository, commit)
