"""Desired state: what a commit says the deployment must hold, as REST bodies per (collection, ID).

Only committed content counts (never the working tree): files are listed with
``git ls-tree -r`` and read with ``git cat-file --batch``, then parsed with
:func:`pytest_panther.spec.repository.load_repository_from_texts`.

Parsing a whole corpus is the slow part (~3 ms per spec), so a :class:`Snapshot` lists the
*units* of a commit — one spec file plus the Python file its ``Filename`` names — with their blob
IDs, and :func:`desired_state` parses only the units asked for. Two commits are compared by
parsing just the units whose blobs differ (:func:`changed_units`).
"""
from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from posixpath import dirname
from posixpath import join
from posixpath import normpath
from typing import Any

from pytest_panther.config import RepositorySettings
from pytest_panther.config import SettingsError
from pytest_panther.config import read_settings_from
from pytest_panther.config import spec_paths_from
from pytest_panther.config import validation_options
from pytest_panther.spec.findings import split
from pytest_panther.spec.model import Spec
from pytest_panther.spec.repository import in_committed_spec_paths
from pytest_panther.spec.repository import load_repository_from_texts
from pytest_panther.spec.validate import validate_spec
from pytest_panther.spec.yaml import dump
from pytest_panther.sync.convert import DETECTION_RESOURCES
from pytest_panther.sync.convert import RESOURCES
from pytest_panther.sync.convert import ConversionError
from pytest_panther.sync.convert import skipped_status
from pytest_panther.sync.convert import to_body
from pytest_panther.sync.git import list_tree
from pytest_panther.sync.git import read_blobs
from pytest_panther.sync.routes import collection_of
from pytest_panther.sync.routes import lost_keys
from pytest_panther.sync.routes import upload_body
from pytest_panther.sync.selection import Selection
from pytest_panther.sync.selection import select

__all__ = ["DEPRECATED_FILE", "Item", "Snapshot", "DesiredState", "Unit", "changed_units", "desired_state", "snapshot"]

#: panther-analysis's list of removed IDs, one per line, ``#`` comments (sync-contract.md §2.6).
DEPRECATED_FILE = "deprecated.txt"
PYPROJECT = "pyproject.toml"

_FILENAME = re.compile(rb"^Filename:[ \t]*['\"]?([^'\"#\r\n]+?)['\"]?[ \t]*(?:#.*)?$", re.MULTILINE)
_ATYPE = re.compile(rb"^AnalysisType:[ \t]*['\"]?([a-z_]+)", re.MULTILINE)

Key = tuple[str, str]


@dataclass(frozen=True)
class Item:
    """One object the deployment must hold: ``body`` is the REST request body (dict of JSON),
    or an upload body (:func:`pytest_panther.sync.routes.upload_body`); then ``view`` is what a
    REST read of it would show, when its kind has a REST collection (drift checks compare it)."""

    resource: str
    id: str
    body: dict[str, Any]
    path: str
    view: dict[str, Any] | None = None


@dataclass(frozen=True)
class Unit:
    """A spec file and the Python file it names (``py`` None when it names none)."""

    yaml: str
    yaml_sha: str
    py: str | None
    py_sha: str | None
    kind: str  # the AnalysisType as written

    @property
    def rest(self) -> bool:
        """Kept for callers: every kind is deployed now (by REST or by upload, see
        :mod:`pytest_panther.sync.routes`)."""
        return True

    @property
    def signature(self) -> tuple[str, str | None]:
        return self.yaml_sha, self.py_sha


@dataclass
class Snapshot:
    """A commit's files relevant to the sync, read once."""

    repo: Path
    commit: str
    tree: dict[str, str]  # spec folders, deprecated.txt and pyproject.toml
    blobs: dict[str, bytes]
    units: dict[str, Unit]
    deprecated: set[str]
    pyproject: str | None
    all_files: dict[str, str] = field(default_factory=dict)  # every file of the commit
    _selection: Selection | None = None

    @property
    def selection(self) -> Selection:
        """The commit's upstream settings and overrides (:mod:`pytest_panther.sync.selection`).

        :raises pytest_panther.sync.selection.SelectionError: invalid settings."""
        if self._selection is None:
            self._selection = select(self)
        return self._selection

    def text(self, path: str) -> str | None:
        sha = self.tree.get(path)
        return None if sha is None else self.blobs[sha].decode("utf-8", "replace")

    def file_text(self, path: str) -> str | None:
        """Any committed file's text (read on demand), or None when the commit lacks it."""
        sha = self.all_files.get(path)
        if sha is None:
            return None
        if sha not in self.blobs:
            self.blobs.update(read_blobs(self.repo, [sha]))
        return self.blobs[sha].decode("utf-8", "replace")


@dataclass
class DesiredState:
    """Items of the parsed units; ``errors`` are ``path:line:col: message`` strings."""

    items: dict[Key, Item] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # specs deliberately not deployed, by name


def snapshot(repo: Path, commit: str, paths: Iterable[str] | None = None, *, reuse: Snapshot | None = None) -> Snapshot:
    """List ``commit`` and read its spec blobs, ``deprecated.txt`` and ``pyproject.toml``.

    Specs are read where pytest collects them: ``paths``, by default the commit's own
    ``panther_paths`` setting, else where PAT's ``pat test``/``pat upload`` look (nested folders
    included). Python blobs are read later, only for parsed units. ``reuse`` lends blobs already read.
    """
    all_files = list_tree(repo, commit)
    wanted_paths = tuple(paths) if paths is not None else _spec_paths(repo, all_files)
    tree = {p: sha for p, sha in all_files.items()
            if p in (DEPRECATED_FILE, PYPROJECT) or in_committed_spec_paths(p, wanted_paths)}
    yaml_paths = [p for p in tree if p.endswith((".yml", ".yaml")) and not p.rsplit("/", 1)[-1].startswith(".")]
    wanted = [tree[p] for p in yaml_paths]
    wanted += [tree[p] for p in (DEPRECATED_FILE, PYPROJECT) if p in tree]
    known = reuse.blobs if reuse is not None else {}
    blobs = {sha: known[sha] for sha in wanted if sha in known}
    blobs.update(read_blobs(repo, [sha for sha in wanted if sha not in blobs]))
    units: dict[str, Unit] = {}
    for path in yaml_paths:
        text = blobs[tree[path]]
        atype = _ATYPE.search(text)
        if atype is None:
            continue
        match = _FILENAME.search(text)
        py = normpath(join(dirname(path), match.group(1).decode())) if match else None
        units[path] = Unit(path, tree[path], py, tree.get(py) if py else None, atype.group(1).decode())
    snap = Snapshot(repo, commit, tree, blobs, units, set(), None, all_files)
    snap.pyproject = snap.text(PYPROJECT)
    deprecated = snap.text(DEPRECATED_FILE) or ""
    snap.deprecated = {line.strip() for line in deprecated.splitlines() if line.strip() and not line.lstrip().startswith("#")}
    return snap


def _spec_paths(repo: Path, all_files: dict[str, str]) -> tuple[str, ...]:
    """The commit's ``panther_paths`` (a setting that does not read is reported by
    :func:`desired_state`; PAT's default is used meanwhile)."""
    blobs: dict[str, bytes] = {}

    def read(name: str) -> str | None:
        sha = all_files.get(name)
        if sha is None:
            return None
        if sha not in blobs:
            blobs.update(read_blobs(repo, [sha]))
        return blobs[sha].decode("utf-8", "replace")

    return spec_paths_from(read)


def changed_units(old: Snapshot | None, new: Snapshot) -> tuple[set[str], set[str]]:
    """Spec paths to parse in ``old`` and in ``new``: units that are new, gone or whose spec or
    Python blob changed. With no ``old``, every unit of ``new``."""
    if old is None:
        return set(), set(new.units)
    old_only = {p for p, u in old.units.items() if p not in new.units or new.units[p].signature != u.signature}
    new_only = {p for p, u in new.units.items() if p not in old.units or old.units[p].signature != u.signature}
    return old_only, new_only


def apply_overrides(body: dict[str, Any], resource: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """A target's overrides on one body: ``output_ids`` → ``outputIDs`` and ``enabled`` →
    ``enabled`` of every detection (Panther's FAQ: send new detections to a muted channel first)."""
    if resource not in DETECTION_RESOURCES or not overrides:
        return body
    body = dict(body)
    if "output_ids" in overrides:
        body["outputIDs"] = list(overrides["output_ids"])
    if "enabled" in overrides:
        body["enabled"] = bool(overrides["enabled"])
    return body


def desired_state(snap: Snapshot, only: Iterable[str] | None = None, overrides: dict[str, Any] | None = None) -> DesiredState:
    """Parse the units ``only`` (default: all) of ``snap`` into items.

    A spec that fails validation (as ``panther-gitops validate`` and pytest validate it, with the
    commit's ``panther_allow_extra_keys``/``panther_extra_keys``) or cannot be converted is reported
    in ``errors`` and left out — nothing invalid is sent; so is the second spec with an ID already
    taken in the same collection. Never raises for bad content.
    """
    paths = sorted(snap.units if only is None else only)
    units = [snap.units[p] for p in paths if p in snap.units and snap.units[p].rest]
    py_shas = {u.py_sha for u in units if u.py_sha}
    missing = [sha for sha in py_shas if sha not in snap.blobs]
    snap.blobs.update(read_blobs(snap.repo, missing))
    texts = {u.yaml: snap.blobs[u.yaml_sha].decode("utf-8", "replace") for u in units}
    repo = load_repository_from_texts(Path("."), texts, paths=[p.split("/", 1)[0] for p in texts] or ["-"])
    state = DesiredState()
    state.errors.extend(err.format() for err in repo.errors)
    selection = snap.selection
    specs, enabled = selection.apply(snap, repo.specs)
    state.errors.extend(selection.errors)
    selection.errors.clear()
    by_path = {u.yaml: u for u in units}
    try:
        settings = read_settings_from(snap.file_text)
    except SettingsError as exc:  # validated strictly; the error keeps the ref where it is
        state.errors.append(str(exc))
        settings = RepositorySettings()
    options = validation_options(settings)
    for spec in specs:
        rel = spec.path.as_posix()
        status = skipped_status(spec)
        resource = collection_of(spec.kind, spec.analysis_type)
        if status is not None or resource is None:
            why = f"Status: {status}" if status else f"AnalysisType {spec.analysis_type!r} has no Panther collection"
            state.notes.append(f"{rel}: {spec.id or '?'} is not deployed ({why}), as pat upload skips it")
            continue
        problems = validate_spec(spec, options)
        if not settings.strict:  # findings Panther accepts do not stop a deployment
            problems = split(problems)[0]
        if problems:
            state.errors.extend(problem.format() for problem in problems)
            continue
        unit = by_path[rel]
        extra = snap.blobs[unit.py_sha].decode("utf-8", "replace") if unit.py_sha else None
        deploy_off = enabled.get(spec.id) is False  # an unselected pack member deployed disabled
        view = None
        try:
            if lost_keys(spec.kind, spec.data):
                body = _upload(spec, unit, texts[rel], extra, resource, deploy_off, overrides or {})
                view = _rest_view(spec, extra, resource, deploy_off, overrides or {})
            else:
                body = to_body(spec, extra)
                if deploy_off and "enabled" in body:
                    body["enabled"] = False
                body = apply_overrides(body, resource, overrides or {})
        except ConversionError as exc:
            state.errors.append(spec.document.error(exc.keys, exc.message, exc.hint).format())
            continue
        key = (resource, spec.id)
        if key in state.items:
            first = state.items[key].path
            state.errors.append(f"{rel}:1:1: {spec.id_field} {spec.id!r} is already used by {first} (IDs are unique per collection)")
            continue
        state.items[key] = Item(resource, spec.id, body, rel, view)
    return state


def _rest_view(spec: Spec, extra: str | None, resource: str, deploy_off: bool, overrides: dict[str, Any]) -> dict[str, Any] | None:
    """What a REST read of an uploaded spec shows (None for kinds REST does not serve)."""
    if spec.kind not in RESOURCES:
        return None
    try:
        view = to_body(spec, extra)
    except ConversionError:
        return None
    if deploy_off and "enabled" in view:
        view["enabled"] = False
    return apply_overrides(view, resource, overrides)


def _upload(spec: Spec, unit: Unit, text: str, extra: str | None, resource: str, deploy_off: bool, overrides: dict[str, Any]) -> dict[str, Any]:
    """The upload body of ``spec``: its YAML text (rewritten only when a target override or an
    unselected pack changes ``Enabled``/``OutputIds``) and the file its ``Filename`` names."""
    if not spec.id:
        raise ConversionError((spec.id_field,), f"{spec.id_field} is missing or not a string")
    if spec.data.get("Filename") and extra is None:
        raise ConversionError(("Filename",), f"file {spec.data['Filename']!r} is not in the commit")
    wanted: dict[str, Any] = {}
    if resource in DETECTION_RESOURCES or resource == "correlation-rules":
        if "output_ids" in overrides:
            wanted["OutputIds"] = list(overrides["output_ids"])
        if "enabled" in overrides:
            wanted["Enabled"] = bool(overrides["enabled"])
        if deploy_off:
            wanted["Enabled"] = False
    changes = {k: v for k, v in wanted.items() if spec.data.get(k) != v}
    # Rewritten only when a target override, an unselected pack or an upstream override
    # (overrides/ folder) makes the data differ from the committed file.
    if changes or spec.data is not spec.document.data:
        text = dump({**spec.data, **changes}, width=1 << 30)
    files = {unit.yaml: text}
    if unit.py is not None and extra is not None:
        files[unit.py] = extra
    return upload_body(files)


def target_table(pyproject: str | None, target: str) -> dict[str, Any]:
    """``[tool.pytest-panther.targets.<target>]`` of a pyproject text ({} when absent or invalid)."""
    if not pyproject:
        return {}
    try:
        data = tomllib.loads(pyproject)
    except tomllib.TOMLDecodeError:
        return {}
    table = data.get("tool", {}).get("pytest-panther", {}).get("targets", {}).get(target, {})
    return table if isinstance(table, dict) else {}
