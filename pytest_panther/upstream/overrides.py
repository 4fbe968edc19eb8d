"""Overrides: customise an upstream detection without editing its files.

A fork keeps upstream's spec untouched and writes one override file per detection in the
``overrides/`` folder (setting ``overrides`` of ``[tool.pytest-panther.upstream]``). Overrides
are applied right after the repository is loaded, so tests, validation and sync all see the
patched spec (``Spec.data``) while ``Spec.document.data`` stays as upstream wrote it.

Format (``overrides/AWS.Console.RootLogin.yml``)::

    # Which detection: the file name without .yml/.yaml, unless one of the keys
    # DetectionID, RuleID or PolicyID is present (then that key wins and the file may have
    # any name).
    RuleID: AWS.Console.RootLogin
    Enabled: false                    # set a field: the value replaces upstream's
    Severity: Low
    OutputIds: [slack-secops]         # a plain list replaces the whole list
    Tags:                             # a mapping patches a list field:
      add: [ACME.Reviewed]            #   items appended (skipped when already present)
      remove: [Deprecated]            #   items removed (absent ones are ignored)
    Tests:                            # test cases: a patch only (never a plain list)
      remove: [Old upstream test name]   # by Name
      add:                            # appended after the detection's own tests
        - Name: Root login from the office is still an alert
          ExpectedResult: true
          Log: {...}

``remove`` is applied before ``add``. Settable fields and their types are in
:data:`SET_FIELDS` and :data:`LIST_FIELDS`. Fields that define *what* the detection is
(``AnalysisType``, ``Filename``, the ID fields, ``LogTypes``, ``Detection``, …; see
:data:`FORBIDDEN`) cannot be overridden: write a new detection instead.

Errors are :class:`~pytest_panther.spec.yaml.YamlError` at the override file's line: unknown or
forbidden field, wrong type, an ID that no spec has (upstream removed or renamed it; a close ID
is suggested with :mod:`difflib`), two overrides for one ID, or an added test whose Name is taken.
A file with any error is not applied at all.
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
    "override_paths",
    "unknown_id_error",
]

#: Keys that name the detection an override is for (first one present wins).
ID_KEYS: tuple[str, ...] = ("DetectionID", "RuleID", "PolicyID")

_SEVERITIES = ("Info", "Low", "Medium", "High", "Critical")

#: Scalar and mapping fields an override may set: field → (Python type, description).
SET_FIELDS: dict[str, tuple[type | tuple[type, ...], str]] = {
    "Enabled": (bool, "true or false"),
    "Severity": (str, " | ".join(_SEVERITIES)),
    "DedupPeriodMinutes": (int, "an integer (minutes)"),
    "Threshold": (int, "an integer"),
    "CreateAlert": (bool, "true or false"),
    "Runbook": (str, "a string"),
    "Reference": (str, "a string"),
    "Description": (str, "a string"),
    "DisplayName": (str, "a string"),
    "Reports": (dict, "a mapping of framework to a list of strings"),
}

#: List fields: field → item type. A plain list replaces, ``{add, remove}`` patches.
LIST_FIELDS: dict[str, type] = {
    "OutputIds": str,
    "Tags": str,
    "SummaryAttributes": str,
    "Suppressions": str,
    "InlineFilters": dict,
}

#: Spec fields that cannot be overridden, with the reason shown as the hint.
FORBIDDEN: dict[str, str] = {
    "AnalysisType": "it decides what kind of spec this is",
    "Filename": "the Python file belongs to upstream; write a new detection to change code",
    "DataModelID": "the ID selects the spec, it cannot be changed",
    "GlobalID": "the ID selects the spec, it cannot be changed",
    "QueryName": "the ID selects the spec, it cannot be changed",
    "PackID": "the ID selects the spec, it cannot be changed",
    "LogTypes": "log types define what the detection reads; write a new detection instead",
    "ResourceTypes": "resource types define what the policy reads; write a new detection instead",
    "Detection": "the detection logic belongs to upstream; use InlineFilters or a new detection",
    "BaseDetection": "write a new derived detection instead",
    "ScheduledQueries": "the query link belongs to upstream",
    "Query": "the query belongs to upstream",
    "PackDefinition": "select packs in [tool.pytest-panther.upstream] packs",
    "BaseVersion": "PAT's merge bookkeeping is not used with overrides",
}


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
    found = []
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
        problem = _check_field(doc, key, value)
        if problem is not None:
            errors.append(problem)
        else:
            override.fields[key] = value
    return override, errors


def _type_name(kind: type) -> str:
    return {bool: "true or false", int: "an integer", str: "a string", dict: "a mapping", list: "a list"}[kind]


def _is(value: Any, kind: type | tuple[type, ...]) -> bool:
    if isinstance(value, bool) and kind is int:
        return False
    return isinstance(value, kind)


def _check_field(doc: Document, key: Any, value: Any) -> YamlError | None:
    if key in FORBIDDEN or key in ID_KEYS:
        reason = FORBIDDEN.get(key, "one ID key selects the detection; remove the others")
        return doc.error((key,), f"{key} cannot be overridden", reason, of_key=True)
    if key == "Tests":
        return _check_tests(doc, value)
    if key in SET_FIELDS:
        kind, expected = SET_FIELDS[key]
        if not _is(value, kind):
            return doc.error((key,), f"{key} must be {expected}, not {_show(value)}")
        if key == "Severity" and value not in _SEVERITIES:
            return doc.error((key,), f"Severity must be one of {', '.join(_SEVERITIES)}, not {value!r}")
        if key == "Reports" and not all(isinstance(v, list) for v in value.values()):
            return doc.error((key,), "Reports must be a mapping of framework to a list of strings")
        return None
    if key in LIST_FIELDS:
        return _check_list(doc, key, value, LIST_FIELDS[key])
    known = [*SET_FIELDS, *LIST_FIELDS, "Tests"]
    close = difflib.get_close_matches(str(key), known, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"fields that can be overridden: {', '.join(known)}"
    return doc.error((key,), f"unknown override field {key!r}", hint, of_key=True)


def _check_list(doc: Document, key: str, value: Any, item: type) -> YamlError | None:
    if isinstance(value, list):
        bad = next((i for i, v in enumerate(value) if not _is(v, item)), None)
        if bad is not None:
            return doc.error((key, bad), f"{key}[{bad}] must be {_type_name(item)}, not {_show(value[bad])}")
        return None
    if isinstance(value, dict):
        extra = [k for k in value if k not in ("add", "remove")]
        if extra:
            return doc.error((key, extra[0]), f"{key}: unknown patch key {extra[0]!r}", "use add: [...] and/or remove: [...]", of_key=True)
        for op, items in value.items():
            if not isinstance(items, list):
                return doc.error((key, op), f"{key}.{op} must be a list, not {_show(items)}")
            bad = next((i for i, v in enumerate(items) if not _is(v, item)), None)
            if bad is not None:
                return doc.error((key, op, bad), f"{key}.{op}[{bad}] must be {_type_name(item)}, not {_show(items[bad])}")
        return None
    return doc.error((key,), f"{key} must be a list (replaces) or a mapping with add/remove (patches), not {_show(value)}")


def _check_tests(doc: Document, value: Any) -> YamlError | None:
    if not isinstance(value, dict):
        return doc.error(("Tests",), "Tests must be a mapping with add and/or remove", "an override cannot replace upstream's tests; use Tests: {add: [...]}")
    shape = {k: (v if k == "add" else []) for k, v in value.items()}
    problem = _check_list(doc, "Tests", shape, dict)
    if problem is not None:
        return problem
    if not isinstance(value.get("remove", []), list):
        return doc.error(("Tests", "remove"), f"Tests.remove must be a list of test Names, not {_show(value['remove'])}")
    for i, name in enumerate(value.get("remove", [])):
        if not isinstance(name, str):
            return doc.error(("Tests", "remove", i), f"Tests.remove[{i}] must be a test Name (a string), not {_show(name)}")
    for i, case in enumerate(value.get("add", [])):
        if not isinstance(case.get("Name"), str) or not case["Name"]:
            return doc.error(("Tests", "add", i), f"Tests.add[{i}] needs a Name")
    return None


def _show(value: Any) -> str:
    kind = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list", dict: "a mapping"}
    return f"{kind.get(type(value), type(value).__name__)} ({value!r})" if not isinstance(value, (list, dict)) else kind[type(value)]


def apply_override(data: dict[str, Any], override: Override) -> tuple[dict[str, Any], list[YamlError]]:
    """A patched deep copy of spec ``data`` (``data`` itself is not changed) and the problems."""
    patched = copy.deepcopy(data)
    errors: list[YamlError] = []
    for key, value in override.fields.items():
        if key == "Tests":
            tests = patched.get("Tests") if isinstance(patched.get("Tests"), list) else []
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
        elif key in LIST_FIELDS and isinstance(value, dict):
            current = patched.get(key) if isinstance(patched.get(key), list) else []
            result = [v for v in current if v not in value.get("remove", [])]
            result.extend(v for v in copy.deepcopy(value.get("add", [])) if v not in result)
            patched[key] = result
        else:
            patched[key] = copy.deepcopy(value)
    return patched, errors


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
            patched, problems = apply_override(spec.document.data, override)
            errors.extend(problems)
            if not problems:
                spec.data = patched
                spec.override_tests = {name: (override.path, line) for name, line in override.added_tests()}
    return errors


def unknown_id_error(override: Override, known: Any) -> YamlError:
    """The error for an override whose ID no spec has; ``known`` is an iterable of IDs."""
    line, col = override.position((override.id_key,) if override.id_key else ())
    close = difflib.get_close_matches(override.id, list(known), n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}?" if close else "delete the override if the detection is gone for good"
    message = f"override for unknown detection ID {override.id!r}: upstream removed or renamed it"
    return YamlError(override.path, line, col, message, hint)
