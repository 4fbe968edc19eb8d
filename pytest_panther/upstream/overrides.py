"""Overrides: customise an upstream detection without editing its files.

A fork keeps upstream's spec untouched and writes one override file per detection in the
``overrides/`` folder (setting ``overrides`` of ``[tool.pytest-panther.upstream]``). Overrides
are applied right after the repository is loaded, so tests, validation and sync all see the
patched spec (``Spec.data``) while ``Spec.document.data`` stays as upstream wrote it.

Format (``overrides/AWS.Console.RootLogin.yml``)::

    # Which detection: the file name without .yml/.yaml, unless one of the keys
    # DetectionID, RuleID, PolicyID or PackID is present (then that key wins and the file may
    # have any name).
    RuleID: AWS.Console.RootLogin
    Enabled: false                    # set a field: the value replaces upstream's
    Severity: Low
    OutputIds: [slack-secops]         # a plain list replaces the whole list
    Tags:                             # a mapping patches a list field:
      add: [ACME.Reviewed]            #   items appended (skipped when already present)
      remove: [Deprecated]            #   items removed (absent ones are ignored)
    Tests:                            # test cases: a patch only (never a plain list);
      remove: [Old upstream test name]   # by Name; add: cases appended after upstream's

Three fields manage a fork's deployment rather than a detection's content:

* ``Excluded: <reason>``: "we don't run this"; tests skip it with that reason, the sync never
  deploys it (deletes it if deployed); upstream's files stay untouched, so pulls never conflict;
* ``Status: Stable`` pins a status: upstream's ``Experimental``/``Deprecated`` (which the sync
  does not deploy, as PAT) then no longer removes the detection from production;
* ``PackDefinition: {IDs: {add: [...], remove: [...]}}`` in an override of a pack
  (``PackID: ...``) changes which IDs the pack holds (a plain list replaces them).

``remove`` is applied before ``add``. Settable fields and their types are in
:data:`SET_FIELDS` and :data:`LIST_FIELDS`. Fields that define *what* the detection is
(``AnalysisType``, ``Filename``, the ID fields, ``LogTypes``, ``Detection``, …; see
:data:`FORBIDDEN`) cannot be overridden: write a new detection instead.

Errors (:class:`~pytest_panther.spec.yaml.YamlError` at the override's line: bad field or type,
unknown ID with a close one suggested, two overrides for one ID, an added test Name taken): a
file with any error is not applied at all.
"""
from __future__ import annotations

import copy
import difflib
import os
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

from pytest_panther.spec.model import Spec
from pytest_panther.spec.repository import Repository
from pytest_panther.spec.yaml import Document
from pytest_panther.spec.yaml import YamlError
from pytest_panther.spec.yaml import load
from pytest_panther.spec.yaml import load_file
from pytest_panther.upstream.override_fields import FORBIDDEN
from pytest_panther.upstream.override_fields import ID_KEYS
from pytest_panther.upstream.override_fields import LIST_FIELDS
from pytest_panther.upstream.override_fields import SET_FIELDS
from pytest_panther.upstream.override_fields import check_field

__all__ = [
    "FORBIDDEN",
    "ID_KEYS",
    "LIST_FIELDS",
    "SET_FIELDS",
    "Override",
    "apply_override",
    "apply_overrides",
    "load_overrides",
    "load_overrides_from_texts",
    "override_id_key",
    "override_paths",
    "patch_spec",
    "unknown_id_error",
]

@dataclass
class Override:
    """One parsed override file. ``fields`` maps each patched field to its value as written."""

    id: str
    document: Document
    fields: dict[str, Any] = field(default_factory=dict)
    id_key: str | None = None

    @property
    def path(self) -> Path:
        return self.document.path

    def position(self, keys: tuple[str | int, ...] = ()) -> tuple[int, int]:
        return self.document.position(keys) if keys else (1, 1)

    @property
    def excluded(self) -> str:
        """``path: reason`` when the override excludes the detection, else ""."""
        reason = self.fields.get("Excluded")
        return f"excluded by {self.path.parent.name}/{self.path.name}: {reason}" if reason else ""

    def added_tests(self) -> list[tuple[str, int]]:
        """``(Name, 1-based line in the override file)`` of each test case it adds, so that a
        failing added test can point at the override rather than at the spec."""
        tests = self.fields.get("Tests")
        cases = tests.get("add", []) if isinstance(tests, dict) else []
        return [(case["Name"], self.position(("Tests", "add", i))[0]) for i, case in enumerate(cases)]


def load_overrides(root: Path, folder: str = "overrides") -> tuple[dict[str, Override], list[YamlError]]:
    """Every override file under ``root/folder`` (``*.yml``/``*.yaml``, recursive, sorted;
    hidden files skipped), keyed by detection ID, and the problems found. A missing folder
    gives ``({}, [])``. Never raises for bad files."""
    documents: list[Document | YamlError] = []
    for path in override_paths(root, folder):
        try:
            documents.append(load_file(path))
        except YamlError as error:
            documents.append(error)
    return _collect(documents, root)


def override_paths(root: Path, folder: str = "overrides") -> list[Path]:
    """The override files :func:`load_overrides` reads (sorted; [] when the folder is missing),
    without reading them."""
    base = root / folder
    return _walk(base) if base.is_dir() else []


def load_overrides_from_texts(root: Path, texts: dict[str, str], folder: str = "overrides") -> tuple[dict[str, Override], list[YamlError]]:
    """Like :func:`load_overrides`, from file contents ``{relative posix path: text}`` (for
    example the blobs of a commit, as the sync reads them); only ``folder/**.yml|yaml`` count.
    Override paths are ``root / relative path``."""
    prefix = folder.rstrip("/") + "/"
    documents: list[Document | YamlError] = []
    for rel in sorted(texts):
        parts = rel.split("/")
        if not rel.startswith(prefix) or not rel.endswith((".yml", ".yaml")) or any(p.startswith(".") for p in parts):
            continue
        try:
            documents.append(load(texts[rel], root / rel))
        except YamlError as error:
            documents.append(error)
    return _collect(documents, root)


def _collect(documents: list[Document | YamlError], root: Path) -> tuple[dict[str, Override], list[YamlError]]:
    overrides: dict[str, Override] = {}
    errors: list[YamlError] = []
    for document in documents:
        if isinstance(document, YamlError):
            errors.append(document)
            continue
        override, problems = _parse(document)
        errors.extend(problems)
        if override is None or problems:
            continue
        if override.id in overrides:
            first = _relative(overrides[override.id].path, root)
            line, col = override.position((override.id_key,) if override.id_key else ())
            errors.append(
                YamlError(document.path, line, col, f"second override for {override.id!r}", f"first one is {first}; merge them")
            )
            continue
        overrides[override.id] = override
    return overrides, errors


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _walk(base: Path) -> list[Path]:
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        found.extend(Path(dirpath) / n for n in sorted(filenames) if n.endswith((".yml", ".yaml")) and not n.startswith("."))
    return found


def _parse(doc: Document) -> tuple[Override | None, list[YamlError]]:
    data = doc.data
    if not isinstance(data, dict) or not data:
        return None, [YamlError(doc.path, 1, 1, "an override must be a mapping of spec fields", "see pytest_panther.upstream.overrides")]
    id_key = next((k for k in ID_KEYS if k in data), None)
    if id_key is not None:
        ident = data[id_key]
        if not isinstance(ident, str) or not ident:
            return None, [doc.error((id_key,), f"{id_key} must be a detection ID string")]
    else:
        ident = doc.path.name.rsplit(".", 1)[0]
    override = Override(id=ident, document=doc, id_key=id_key)
    errors: list[YamlError] = []
    for key, value in data.items():
        if key == id_key:
            continue
        problem = check_field(doc, key, value)
        if problem is not None:
            errors.append(problem)
        else:
            override.fields[key] = value
    return override, errors

def apply_override(data: dict[str, Any], override: Override) -> tuple[dict[str, Any], list[YamlError]]:
    """A patched deep copy of spec ``data`` (``data`` itself is not changed) and the problems."""
    patched = copy.deepcopy(data)
    errors: list[YamlError] = []
    for key, value in override.fields.items():
        if key == "Tests":
            tests: list[Any] = patched["Tests"] if isinstance(patched.get("Tests"), list) else []
            remove = set(value.get("remove", []))
            tests = [t for t in tests if not (isinstance(t, dict) and t.get("Name") in remove)]
            names = {t.get("Name") for t in tests if isinstance(t, dict)}
            for i, case in enumerate(value.get("add", [])):
                if case["Name"] in names:
                    line, col = override.position(("Tests", "add", i))
                    errors.append(
                        YamlError(override.path, line, col, f"Tests.add[{i}]: {override.id} already has a test named {case['Name']!r}", "add it to Tests.remove to replace it")
                    )
                    continue
                tests.append(copy.deepcopy(case))
                names.add(case["Name"])
            patched["Tests"] = tests
        elif key == "Excluded":
            continue  # not a spec field: Override.excluded, see patch_spec
        elif key == "PackDefinition":
            current = patched.get(key)
            definition: dict[str, Any] = current if isinstance(current, dict) else {}
            patched[key] = {**definition, "IDs": _patch_list(definition.get("IDs"), value["IDs"])}
        elif key in LIST_FIELDS:
            patched[key] = _patch_list(patched.get(key), value)
        else:
            patched[key] = copy.deepcopy(value)
    return patched, errors


def _patch_list(current: Any, value: Any) -> list[Any]:
    """A list field after an override's value: a plain list replaces, ``{add, remove}`` patches."""
    if isinstance(value, list):
        return copy.deepcopy(value)
    result = [v for v in (current if isinstance(current, list) else []) if v not in value.get("remove", [])]
    result.extend(v for v in copy.deepcopy(value.get("add", [])) if v not in result)
    return result


def patch_spec(spec: Spec, override: Override | None) -> list[YamlError]:
    """Apply ``override`` to ``spec`` (``spec.data``, ``override_tests``, ``excluded``); the one
    place the plugin, validation and the sync patch a spec. Returns the problems (nothing is
    applied then)."""
    if override is None:
        return []
    patched, problems = apply_override(spec.document.data, override)
    if "PackDefinition" in override.fields and spec.kind != "pack":
        line, col = override.position(("PackDefinition",))
        problems.append(YamlError(override.path, line, col, f"PackDefinition: {override.id} is a {spec.kind}, not a pack"))
    if not problems:
        spec.data = patched
        spec.override_tests = {name: (override.path, line) for name, line in override.added_tests()}
        spec.excluded = override.excluded
    return problems


def apply_overrides(repo: Repository, overrides: dict[str, Override]) -> list[YamlError]:
    """Patch every spec of ``repo`` that has an override: ``spec.data`` becomes a patched deep
    copy of ``spec.document.data`` (which is never changed), so calling this again with the
    same overrides gives the same result. Returns the problems (see the module docstring)."""
    errors: list[YamlError] = []
    by_id: dict[str, list[Spec]] = {}
    for spec in repo.specs:
        if spec.id:
            by_id.setdefault(spec.id, []).append(spec)
    for ident, override in sorted(overrides.items()):
        specs = by_id.get(ident)
        if not specs:
            errors.append(unknown_id_error(override, by_id))
            continue
        for spec in specs:
            errors.extend(patch_spec(spec, override))
    return errors


def override_id_key(spec: Spec) -> str:
    """The ID key an override of ``spec`` names it with (``DetectionID`` for the kinds without one)."""
    return spec.id_field if spec.id_field in ID_KEYS else "DetectionID"


def unknown_id_error(override: Override, known: Any) -> YamlError:
    """The error for an override whose ID no spec has; ``known`` is an iterable of IDs."""
    line, col = override.position((override.id_key,) if override.id_key else ())
    close = difflib.get_close_matches(override.id, list(known), n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}?" if close else "delete the override if the detection is gone for good"
    message = f"override for unknown detection ID {override.id!r}: upstream removed or renamed it"
    return YamlError(override.path, line, col, message, hint)
