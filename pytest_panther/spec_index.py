"""Fast look-ups over a detection repository for :mod:`pytest_panther.select`: which specs name a
``.py``, import a global helper, cover a log type or define an ID.

:class:`RepositoryIndex` answers from a loaded :class:`~pytest_panther.spec.repository.Repository`;
:class:`SpecIndex` reads the files under the spec folders itself and parses only those a
plain-text pre-filter cannot rule out (a pre-commit hook on 1,300 specs stays well under a second).
Imports are read with :mod:`ast`, never executed (detections import global helpers by GlobalID:
shared/reference/semantics.md §5.1).
"""
from __future__ import annotations

import ast
import os
import re
from collections.abc import Iterable
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any
from typing import Protocol

from pytest_panther.spec.model import Spec
from pytest_panther.spec.model import is_spec
from pytest_panther.spec.repository import PAT_DEFAULT_PATH
from pytest_panther.spec.repository import Repository
from pytest_panther.spec.repository import iter_spec_files
from pytest_panther.spec.repository import walk_spec_folders
from pytest_panther.spec.yaml import YamlError
from pytest_panther.spec.yaml import load
from pytest_panther.spec.yaml import load_file

__all__ = ["Index", "Paths", "RepositoryIndex", "SpecIndex", "imported_modules", "imports_any"]

_SPEC_SUFFIXES = (".yml", ".yaml")


def imported_modules(path: Path) -> frozenset[str] | None:
    """Top-level module names a Python file imports anywhere (``import a.b`` → ``a``,
    ``from a.b import c`` → ``a``; relative imports are skipped), or None when the file cannot
    be read or parsed. Cached by path, mtime and size."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return _imports(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8192)
def _imports(path: str, mtime_ns: int, size: int) -> frozenset[str] | None:
    try:
        tree = ast.parse(Path(path).read_bytes(), filename=path)
    except (OSError, SyntaxError, ValueError):
        return None
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return frozenset(names)


def imports_any(path: Path, names: set[str]) -> bool:
    """True when ``path`` imports one of ``names``; a file that does not parse counts when one
    of the names occurs in its text (its test will then report the syntax error)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    if not any(name in text for name in names):
        return False
    imported = imported_modules(path)
    return True if imported is None else not imported.isdisjoint(names)


# --------------------------------------------------------------------------- indexes


class Index(Protocol):
    def spec_at(self, path: Path) -> Spec | None: ...
    def specs_for_python(self, path: Path) -> list[Spec]: ...
    def globals(self) -> list[Spec]: ...
    def data_models(self) -> list[Spec]: ...
    def detections_importing(self, names: set[str]) -> list[Spec]: ...
    def detections_with_log_types(self, log_types: set[str]) -> list[Spec]: ...
    def specs_with_ids(self, ids: set[str]) -> list[Spec]: ...
    def derived_from(self, ids: set[str]) -> list[Spec]: ...


class Paths:
    """Cheap path normalisation: ``normpath``, with the root's prefix swapped for its real path
    (one ``realpath`` per root, not per file), so symlinked roots compare equal to git's paths."""

    def __init__(self, root: Path) -> None:
        self.given = os.path.normpath(os.path.abspath(root))
        self.real = os.path.realpath(root)

    def __call__(self, path: Path | str) -> Path:
        text = os.path.normpath(os.path.abspath(path))
        if self.given != self.real and (text == self.given or text.startswith(self.given + os.sep)):
            text = self.real + text[len(self.given) :]
        return Path(text)

    def changed(self, path: Path | str) -> Path:
        """A changed file given relative to the root or absolute (parents resolved)."""
        full = Path(self.given) / path
        return Path(os.path.realpath(full.parent)) / full.name


class RepositoryIndex:
    """Look-ups over an already loaded :class:`Repository`."""

    def __init__(self, repo: Repository) -> None:
        self.repo = repo
        self.norm = Paths(repo.root)
        self.by_path = {self.norm(spec.path): spec for spec in repo.specs}
        self.by_python: dict[Path, list[Spec]] = {}
        for spec in repo.specs:
            if spec.python_path is not None:
                self.by_python.setdefault(self.norm(spec.python_path), []).append(spec)

    def spec_at(self, path: Path) -> Spec | None:
        return self.by_path.get(path)

    def specs_for_python(self, path: Path) -> list[Spec]:
        return self.by_python.get(path, [])

    def globals(self) -> list[Spec]:
        return self.repo.globals

    def data_models(self) -> list[Spec]:
        return self.repo.data_models

    def detections_importing(self, names: set[str]) -> list[Spec]:
        return [s for s in self.repo.detections if s.python_path is not None and imports_any(s.python_path, names)]

    def detections_with_log_types(self, log_types: set[str]) -> list[Spec]:
        return [spec for spec in self.repo.detections if log_types.intersection(spec.log_types)]

    def specs_with_ids(self, ids: set[str]) -> list[Spec]:
        return [spec for spec in self.repo.specs if spec.id in ids]

    def derived_from(self, ids: set[str]) -> list[Spec]:
        return [spec for spec in self.repo.specs if spec.data.get("BaseDetection") in ids]


_FILENAME = re.compile(r"""^["']?Filename["']?\s*:\s*["']?([^"'#\r\n]+?)["']?\s*(?:#.*)?$""", re.M)
_TOKEN = re.compile(r"[^\s\"',\[\]{}#]+")
_MANY_WORDS = 8
#: Keys whose values name other specs by ID (packs, derived and correlation rules).
_REFERENCE_KEYS = frozenset({"IDs", "BaseDetection", "RuleID", "PolicyID"})
_GLOBAL = re.compile(r"AnalysisType\W*global\b")
_DATAMODEL = re.compile(r"AnalysisType\W*datamodel\b")


class SpecIndex:
    """Look-ups straight from the files under ``root/<paths>``.

    Every spec's text is read (cheap: ~6 MB for panther-analysis) but a file is parsed only
    when a plain-text test (its ``Filename`` line, a GlobalID, a log type or an ID occurring in
    it) cannot rule it out; the parsed spec then decides.
    """

    def __init__(self, root: Path, paths: Iterable[str]) -> None:
        self.norm = Paths(root)
        self.root = Path(self.norm.real)
        self.paths = tuple(paths)
        self.files = list(iter_spec_files(self.root, self.paths))
        self.file_set = set(self.files)
        self._texts: dict[Path, str] = {}
        self._specs: dict[Path, Spec | None] = {}
        self._token_sets: dict[Path, set[str]] = {}
        self._by_python: dict[str, list[Path]] | None = None
        self._lookups = 0

    def text(self, path: Path) -> str:
        if path not in self._texts:
            try:
                self._texts[path] = path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                self._texts[path] = ""
        return self._texts[path]

    def spec(self, path: Path) -> Spec | None:
        """The spec in ``path`` (parsed once), or None for a parse error or YAML that is no spec."""
        if path not in self._specs:
            spec = None
            try:
                document = load(self.text(path), path)
            except YamlError:
                document = None
            if document is not None and is_spec(document.data):
                spec = Spec(document)
            self._specs[path] = spec
        return self._specs[path]

    def where(self, test: re.Pattern[str] | Iterable[str]) -> list[Spec]:
        """Specs whose text matches the pattern, or contains one of the words (path order)."""
        if isinstance(test, re.Pattern):
            hits = [p for p in self.files if test.search(self.text(p))]
        else:
            words = set(test)
            plain = {w for w in words if _TOKEN.fullmatch(w)} if len(words) > _MANY_WORDS else set()
            other = words - plain
            hits = [
                p
                for p in self.files
                if (plain and not plain.isdisjoint(self._tokens(p))) or any(w in self.text(p) for w in other)
            ]
        return [spec for spec in map(self.spec, hits) if spec is not None]

    def _tokens(self, path: Path) -> set[str]:
        """The YAML scalar-like tokens of a file (split at blanks, quotes and flow punctuation):
        a faster superset test than one substring search per word when there are many words."""
        if path not in self._token_sets:
            self._token_sets[path] = set(_TOKEN.findall(self.text(path)))
        return self._token_sets[path]

    def spec_at(self, path: Path) -> Spec | None:
        return self.spec(path) if path in self.file_set and path.exists() else None

    def specs_for_python(self, path: Path) -> list[Spec]:
        """Specs whose ``Filename`` is ``path``. The first few look-ups scan the texts for the file
        name (a C substring search); later ones use a map of every ``Filename:`` line."""
        self._lookups += 1
        if self._by_python is None and self._lookups <= _MANY_WORDS:
            candidates = [p for p in self.files if path.name in self.text(p)]
        else:
            candidates = self._python_map().get(str(path), [])
        specs = [self.spec(p) for p in candidates]
        return [s for s in specs if s is not None and s.python_path is not None and self.norm(s.python_path) == path]

    def _python_map(self) -> dict[str, list[Path]]:
        if self._by_python is None:
            self._by_python = {}
            for yml in self.files:
                text = self.text(yml)
                folder = os.path.dirname(yml)
                for match in _FILENAME.finditer(text) if "Filename" in text else ():
                    key = os.path.normpath(os.path.join(folder, match.group(1).strip()))
                    self._by_python.setdefault(key, []).append(yml)
        return self._by_python

    def repository_for(self, targets: Iterable[Path], *, runtime: bool = False) -> Repository:
        """A :class:`Repository` of the spec files ``targets`` (parse errors included) and every
        spec a cross-file check of theirs involves: specs defining one of their IDs or an ID they
        name (duplicate IDs, pack members, base and correlated detections), and all data models
        when one is a target. ``runtime`` adds every global helper and data model, which running
        the targets' tests needs. Validating it gives the targets the problems a full load gives."""
        repo = Repository(root=self.root)
        specs: dict[Path, Spec] = {}
        words: set[str] = set()
        for path in sorted(set(targets)):
            spec = self._specs.get(path)
            if spec is None:
                try:
                    document = load_file(path)
                except YamlError as error:
                    repo.add_error(error)
                    continue
                spec = self._specs[path] = Spec(document) if is_spec(document.data) else None
            if spec is not None:
                specs[path] = spec
                words.update(w for w in [spec.id, *_references(spec.data)] if w)
        if words:
            specs.update((s.path, s) for s in self.where(words) if s.id in words)
        if runtime or any(s.kind == "datamodel" for s in specs.values()):
            specs.update((s.path, s) for s in self.data_models())
        if runtime:
            specs.update((s.path, s) for s in self.globals())
        for path in sorted(specs):
            repo.add(specs[path])
        return repo

    def spec_files_for(self, files: Iterable[Path]) -> set[Path]:
        """Existing YAML files under the spec folders among ``files`` (relative to the root or
        absolute; parsed or not) plus the specs whose ``Filename`` is one of the ``.py`` files:
        what ``panther-validate`` checks."""
        result: set[Path] = set()
        for raw in files:
            path = self.norm.changed(raw)
            if path.suffix in _SPEC_SUFFIXES and path in self.file_set and path.exists():
                result.add(path)
            elif path.suffix == ".py":
                result.update(spec.path for spec in self.specs_for_python(path))
        return result

    def runtime_files(self) -> list[Path]:
        """Spec files that look like global helpers or data models (text test only, no parsing):
        what running any detection's tests needs loaded besides the detection."""
        return [p for p in self.files if _GLOBAL.search(self.text(p)) or _DATAMODEL.search(self.text(p))]

    def globals(self) -> list[Spec]:
        return [s for s in self.where(_GLOBAL) if s.kind == "global"]

    def data_models(self) -> list[Spec]:
        return [s for s in self.where(_DATAMODEL) if s.kind == "datamodel"]

    def _python_files(self) -> list[Path]:
        result: list[Path] = []
        for rel in self.paths:
            base = self.root / rel
            for dirpath, filenames in walk_spec_folders(base, pat_default=os.path.normpath(rel) == PAT_DEFAULT_PATH):
                result.extend(Path(dirpath) / f for f in filenames if f.endswith(".py"))
        return result

    def detections_importing(self, names: set[str]) -> list[Spec]:
        result: list[Spec] = []
        for py in self._python_files():
            if imports_any(py, names):
                result.extend(s for s in self.specs_for_python(self.norm(py)) if s.is_detection)
        return result

    def detections_with_log_types(self, log_types: set[str]) -> list[Spec]:
        return [s for s in self.where(log_types) if s.is_detection and log_types.intersection(s.log_types)]

    def specs_with_ids(self, ids: set[str]) -> list[Spec]:
        return [s for s in self.where(ids) if s.id in ids]

    def derived_from(self, ids: set[str]) -> list[Spec]:
        return [
            s
            for s in self.where(ids)
            if "BaseDetection" in s.data and s.data.get("BaseDetection") in ids
        ]


def _references(value: Any, key: str = "") -> Iterator[str]:
    """String values of ``_REFERENCE_KEYS`` anywhere in a spec: the IDs it names."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _references(v, str(k))
    elif isinstance(value, list):
        for item in value:
            yield from _references(item, key)
    elif isinstance(value, str) and value and key in _REFERENCE_KEYS:
        yield value
