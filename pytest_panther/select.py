"""Which detections a change touches: the selection behind ``panther-test`` and ``--panther-changed-since``.

A detection is *affected* by a set of changed files when (issue 3 item 6):

* its spec YAML or its ``Filename`` ``.py`` changed;
* its ``.py`` imports a changed global helper, by GlobalID (``import X`` / ``from X import …``,
  anywhere in the module, found with :mod:`ast`), directly or through helpers importing helpers
  (detections import helpers by GlobalID: shared/reference/semantics.md §5.1);
* it is a rule whose ``LogTypes`` a changed data model (its YAML or its ``.py``, or a helper that
  module imports) covers — the model is looked up by log type at run time (semantics.md §4.4);
  enabled or not, since the change may have toggled ``Enabled``;
* an override file for its ID changed (``overrides/<ID>.yml``, or any file under the overrides
  folder naming the ID in ``DetectionID``/``RuleID``/``PolicyID``; issue 7 item 4);
* it is a derived detection whose ``BaseDetection`` is affected.

A deleted ``.py`` that no spec names any more is taken as a deleted global helper named by its
file stem, so the detections still importing it are tested (and fail).

Two entry points share one algorithm: :func:`affected_specs` works on a loaded
:class:`~pytest_panther.spec.repository.Repository`; :func:`affected_spec_files` reads the disk
itself and parses only the files a plain-text pre-filter cannot rule out, which keeps a
pre-commit hook on a 1,300-spec repository well under a second.
"""
from __future__ import annotations

import ast
import os
import re
import subprocess
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from pytest_panther.spec.model import Spec
from pytest_panther.spec.model import is_spec
from pytest_panther.spec.repository import DEFAULT_PATHS
from pytest_panther.spec.repository import Repository
from pytest_panther.spec.repository import iter_spec_files
from pytest_panther.spec.yaml import YamlError
from pytest_panther.spec.yaml import load
from pytest_panther.spec.yaml import load_file
from pytest_panther.upstream.overrides import ID_KEYS

__all__ = [
    "GitError",
    "SpecIndex",
    "affected_spec_files",
    "affected_specs",
    "changed_files",
    "imported_modules",
    "spec_files_for",
]

_SPEC_SUFFIXES = (".yml", ".yaml")


class GitError(Exception):
    """git is missing, the folder is not a git work tree, or a revision is unknown."""


# --------------------------------------------------------------------------- changed files


def _git(root: Path, *args: str) -> str:
    try:
        proc = subprocess.run(
            ["git", "-c", "core.quotepath=off", *args],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError as exc:
        raise GitError(f"cannot run git: {exc.strerror}") from None
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"]
        message = next((line for line in lines if line.startswith(("fatal:", "error:"))), lines[0])
        raise GitError(f"git {' '.join(args[:2])} failed in {root}: {message}")
    return proc.stdout


def changed_files(root: Path, since: str | None = None, *, staged: bool = False) -> list[Path]:
    """Absolute paths of the files changed in the git work tree holding ``root``, sorted.

    * ``staged=True``: the index against ``HEAD`` (or against ``since`` when given) — what a
      commit would record;
    * ``since=REF``: the working tree against the merge base of ``REF`` and ``HEAD``
      (``git diff --merge-base REF``, git >= 2.30), so ``origin/main`` gives the branch's own
      changes, committed or not; untracked files are included;
    * neither: the working tree against ``HEAD`` plus untracked files.

    Added, modified, deleted and both sides of a rename are listed (renames are split into a
    deletion and an addition with ``--no-renames``); deleted paths no longer exist.
    In a repository without commits, everything staged (and untracked) counts as changed.

    :raises GitError: git missing, ``root`` outside a work tree, or ``since`` unknown.
    """
    root = Path(root)
    top = Path(_git(root, "rev-parse", "--show-toplevel").strip())
    has_head = _has_head(root)
    if since and not _is_commit(root, since):
        raise GitError(f"unknown git revision {since!r} in {top} (a branch, tag or commit; a shallow CI clone may need a fetch)")
    diff = ["diff", "--name-only", "-z", "--no-renames", "--no-ext-diff"]
    outputs: list[str] = []
    if staged:
        outputs.append(_git(root, *diff, "--cached", *([since] if since else [])))
    elif since:
        outputs.append(_git(root, *diff, "--merge-base", since) if has_head else _git(root, *diff, since))
    elif has_head:
        outputs.append(_git(root, *diff, "HEAD"))
    else:
        outputs.append(_git(root, *diff, "--cached"))
    if not staged:
        outputs.append(_git(root, "ls-files", "--others", "--exclude-standard", "-z"))
    names = {name for out in outputs for name in out.split("\0") if name}
    return sorted(top / name for name in names)


def _has_head(root: Path) -> bool:
    return _is_commit(root, "HEAD")


def _is_commit(root: Path, rev: str) -> bool:
    try:
        _git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    except GitError:
        return False
    return True


# --------------------------------------------------------------------------- imports


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


def _imports_any(path: Path, names: set[str], text: str | None = None) -> bool:
    """True when ``path`` imports one of ``names``; a file that does not parse counts when one
    of the names occurs in its text (its test will then report the syntax error)."""
    if text is None:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return False
    if not any(name in text for name in names):
        return False
    imported = imported_modules(path)
    return True if imported is None else not imported.isdisjoint(names)


# --------------------------------------------------------------------------- indexes


class _Index(Protocol):
    def spec_at(self, path: Path) -> Spec | None: ...
    def specs_for_python(self, path: Path) -> list[Spec]: ...
    def globals(self) -> list[Spec]: ...
    def data_models(self) -> list[Spec]: ...
    def detections_importing(self, names: set[str]) -> list[Spec]: ...
    def detections_with_log_types(self, log_types: set[str]) -> list[Spec]: ...
    def specs_with_ids(self, ids: set[str]) -> list[Spec]: ...
    def derived_from(self, ids: set[str]) -> list[Spec]: ...


class _Paths:
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


class _RepositoryIndex:
    """Look-ups over an already loaded :class:`Repository`."""

    def __init__(self, repo: Repository) -> None:
        self.repo = repo
        self.norm = _Paths(repo.root)
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
        return [
            spec
            for spec in self.repo.detections
            if spec.python_path is not None and _imports_any(spec.python_path, names)
        ]

    def detections_with_log_types(self, log_types: set[str]) -> list[Spec]:
        return [spec for spec in self.repo.detections if log_types.intersection(spec.log_types)]

    def specs_with_ids(self, ids: set[str]) -> list[Spec]:
        return [spec for spec in self.repo.specs if spec.id in ids]

    def derived_from(self, ids: set[str]) -> list[Spec]:
        return [spec for spec in self.repo.specs if spec.data.get("BaseDetection") in ids]


_FILENAME = re.compile(r"""^["']?Filename["']?\s*:\s*["']?([^"'#\r\n]+?)["']?\s*(?:#.*)?$""", re.M)
_TOKEN = re.compile(r"[^\s\"',\[\]{}#]+")
_MANY_WORDS = 8
_GLOBAL = re.compile(r"AnalysisType\W*global\b")
_DATAMODEL = re.compile(r"AnalysisType\W*datamodel\b")


class SpecIndex:
    """Look-ups straight from the files under ``root/<paths>``.

    Every spec's text is read (cheap: ~6 MB for panther-analysis) but a file is parsed only
    when a plain-text test (its ``Filename`` line, a GlobalID, a log type or an ID occurring in
    it) cannot rule it out; the parsed spec then decides.
    """

    def __init__(self, root: Path, paths: Iterable[str]) -> None:
        self.norm = _Paths(root)
        self.root = Path(self.norm.real)
        self.paths = tuple(paths)
        self.files = list(iter_spec_files(self.root, self.paths))
        self.file_set = set(self.files)
        self._texts: dict[Path, str] = {}
        self._specs: dict[Path, Spec | None] = {}
        self._token_sets: dict[Path, set[str]] = {}
        self._by_python: dict[Path, list[Path]] | None = None

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
        if self._by_python is None:
            self._by_python = {}
            for yml in self.files:
                for match in _FILENAME.finditer(self.text(yml)):
                    py = self.norm(yml.parent / match.group(1).strip())
                    self._by_python.setdefault(py, []).append(yml)
        candidates = set(self._by_python.get(path, []))
        candidates.update(p for p in self.files if p.parent == path.parent and p.stem == path.stem)
        specs = [self.spec(p) for p in sorted(candidates)]
        return [s for s in specs if s is not None and s.python_path is not None and self.norm(s.python_path) == path]

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

    def globals(self) -> list[Spec]:
        return [s for s in self.where(_GLOBAL) if s.kind == "global"]

    def data_models(self) -> list[Spec]:
        return [s for s in self.where(_DATAMODEL) if s.kind == "datamodel"]

    def _python_files(self) -> list[Path]:
        result = []
        for rel in self.paths:
            base = self.root / rel
            for dirpath, dirnames, filenames in os.walk(base):
                dirnames[:] = [d for d in dirnames if not d.startswith(".") and d != "__pycache__"]
                result.extend(Path(dirpath) / f for f in filenames if f.endswith(".py") and not f.startswith("."))
        return result

    def detections_importing(self, names: set[str]) -> list[Spec]:
        result: list[Spec] = []
        for py in self._python_files():
            if _imports_any(py, names):
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


# --------------------------------------------------------------------------- selection


def affected_specs(repo: Repository, changed: Iterable[Path], *, overrides: str = "overrides") -> set[Path]:
    """Spec paths (as in ``repo``) of the detections affected by ``changed`` files.

    ``changed`` holds paths (absolute, or relative to ``repo.root``), existing or deleted, e.g.
    from :func:`changed_files`. Files that are neither specs, their ``.py``, nor override files
    (any ``*.yml``/``*.yaml`` under ``root/<overrides>``) are ignored, so the result may be empty.
    """
    index = _RepositoryIndex(repo)
    return _affected(index, index.norm, changed, overrides)


def affected_spec_files(
    root: Path, changed: Iterable[Path], paths: Iterable[str] = DEFAULT_PATHS, *, overrides: str = "overrides"
) -> set[Path]:
    """Like :func:`affected_specs`, for the repository at ``root`` (spec folders ``paths``),
    without loading it whole: only the specs the selection needs are parsed. Spec paths are
    absolute."""
    index = SpecIndex(root, paths)
    return _affected(index, index.norm, changed, overrides)


def spec_files_for(root: Path, files: Iterable[Path], paths: Iterable[str] = DEFAULT_PATHS) -> set[Path]:
    """The spec files among ``files`` plus the specs of the ``.py`` files among them
    (:meth:`SpecIndex.spec_files_for`); absolute paths. No dependents are added."""
    return SpecIndex(root, paths).spec_files_for(files)


def _affected(index: _Index, norm: _Paths, changed: Iterable[Path], overrides: str) -> set[Path]:
    overrides_dir = Path(norm.real) / overrides
    selected: dict[Path, Spec] = {}
    helpers: set[str] = set()
    models: dict[Path, Spec] = {}
    override_ids: set[str] = set()

    def take(spec: Spec) -> None:
        if spec.is_detection:
            selected[spec.path] = spec
        elif spec.kind == "global" and spec.id:
            helpers.add(spec.id)
        elif spec.kind == "datamodel":
            models[spec.path] = spec

    for raw in changed:
        path = norm.changed(raw)
        if path.suffix in _SPEC_SUFFIXES:
            if overrides_dir in path.parents:
                override_ids.add(_override_id(path))
                continue
            spec = index.spec_at(path)
            if spec is not None:
                take(spec)
        elif path.suffix == ".py":
            specs = index.specs_for_python(path)
            for spec in specs:
                take(spec)
            if not specs and not path.exists():
                helpers.add(path.stem)

    if override_ids:
        for spec in index.specs_with_ids(override_ids):
            take(spec)

    if helpers:
        closure = _helper_closure(index.globals(), helpers)
        for spec in index.detections_importing(closure):
            selected[spec.path] = spec
        for model in index.data_models():
            if model.python_path is not None and _imports_any(model.python_path, closure):
                models[model.path] = model

    log_types = {t for model in models.values() for t in model.log_types}
    if log_types:
        for spec in index.detections_with_log_types(log_types):
            selected[spec.path] = spec

    frontier = {spec.id for spec in selected.values() if spec.id}
    while frontier:
        new = [s for s in index.derived_from(frontier) if s.is_detection and s.path not in selected]
        selected.update((s.path, s) for s in new)
        frontier = {s.id for s in new if s.id}
    return set(selected)


def _override_id(path: Path) -> str:
    """The detection an override file patches: its ``DetectionID``/``RuleID``/``PolicyID`` key,
    else its file name without the suffix (:mod:`pytest_panther.upstream.overrides`)."""
    try:
        data = load_file(path).data
    except YamlError:
        data = None
    if isinstance(data, dict):
        for key in ID_KEYS:
            if isinstance(data.get(key), str) and data[key]:
                return str(data[key])
    return path.stem


def _helper_closure(globals_: list[Spec], changed: set[str]) -> set[str]:
    """``changed`` GlobalIDs plus every global helper importing one of them, transitively."""
    closure = set(changed)
    pending: list[tuple[str, Path]] = []
    for helper in globals_:
        if helper.id and helper.python_path is not None:
            pending.append((helper.id, helper.python_path))
    grew = True
    while grew:
        grew = False
        for helper_id, python_path in pending:
            if helper_id not in closure and _imports_any(python_path, closure):
                closure.add(helper_id)
                grew = True
    return closure
