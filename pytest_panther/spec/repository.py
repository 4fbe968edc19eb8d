"""Finding and loading every spec of a detection repository.

Which folders count is a setting (ini ``panther_paths``). The plugin's default,
:data:`PAT_DEFAULT_PATH`, reads what PAT's default ``pat test`` reads (the root and every folder
matching PAT's patterns, nested ones included); :data:`DEFAULT_PATHS` is the fixed folder list the
command-line tools use. Files outside the chosen folders (CI workflows, fixtures) are never read.
"""
from __future__ import annotations

import marshal
import os
import sys
from collections.abc import Iterable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from fnmatch import fnmatchcase as fnmatch
from pathlib import Path
from pathlib import PurePosixPath

from pytest_panther.spec.model import Spec
from pytest_panther.spec.model import is_spec
from pytest_panther.spec.yaml import Document
from pytest_panther.spec.yaml import YamlError
from pytest_panther.spec.yaml import load
from pytest_panther.spec.yaml import load_file

__all__ = [
    "DEFAULT_PATHS",
    "PAT_DEFAULT_PATH",
    "PAT_FOLDER_PATTERNS",
    "Repository",
    "iter_spec_files",
    "load_repository",
    "in_committed_spec_paths",
    "in_spec_paths",
    "load_repository_from_texts",
    "walk_spec_folders",
]

#: Folders (relative to the repository root) searched for specs by default.
DEFAULT_PATHS: tuple[str, ...] = (
    "rules",
    "policies",
    "correlation_rules",
    "scheduled_rules",
    "queries",
    "data_models",
    "global_helpers",
    "packs",
    "lookup_tables",
)

#: The path that means "where PAT's default ``pat test`` looks" (its ``--path`` default, ``.``):
#: the root's own files plus every folder whose path (``./a/b``) matches one of
#: :data:`PAT_FOLDER_PATTERNS`, at any depth (``team_content/aws_policies/``). The plugin's
#: default (ini ``panther_paths`` unset).
PAT_DEFAULT_PATH = "."

#: panther_analysis_tool 1.11.1 ``constants.py`` (``*_PATH_PATTERN``), matched with ``fnmatch``
#: against each walked folder by ``analysis_utils.load_analysis_specs_ex`` when ``--path`` is ``.``.
PAT_FOLDER_PATTERNS: tuple[str, ...] = (
    "*data_models*", "*/global_helpers", "*lookup_tables*", "*rules*", "*/packs", "*policies*", "*queries*",
    "*scheduled_prompts*",
)
#: Files PAT never reads (``load_analysis_specs_ex``: ``ignored_normalized``), relative to the root.
_PAT_IGNORED = {"dependabot.yml", "package.json", "package-lock.json"}

_PRUNED = {"__pycache__", "node_modules", "site-packages"}


def iter_spec_files(root: Path, paths: Iterable[str]) -> Iterator[Path]:
    """Every ``*.yml``/``*.yaml`` file under ``root/<path>`` for each of ``paths``, sorted.

    Hidden folders and files (``.name``) and ``__pycache__`` are skipped; a path that does not
    exist is ignored; a path naming a file yields that file; :data:`PAT_DEFAULT_PATH` yields the
    files PAT's default ``pat test`` reads (see :func:`walk_spec_folders`).
    """
    seen: set[Path] = set()
    for rel in paths:
        base = (root / rel).resolve()
        if base.is_file():
            candidates: Iterable[Path] = [base]
        elif base.is_dir():
            candidates = _walk(base, pat_default=_is_pat_default(rel))
        else:
            continue
        for path in candidates:
            if path not in seen:
                seen.add(path)
                yield path


def _is_pat_default(rel: str) -> bool:
    return os.path.normpath(rel) == PAT_DEFAULT_PATH


def _is_venv(dirpath: str, name: str) -> bool:
    return os.path.isfile(os.path.join(dirpath, name, "pyvenv.cfg"))


def walk_spec_folders(base: Path, *, pat_default: bool = False) -> Iterator[tuple[str, list[str]]]:
    """``(folder, sorted file names)`` for each folder under ``base`` that may hold specs.

    Hidden folders, ``__pycache__``, ``node_modules`` and virtual environments (a ``pyvenv.cfg``,
    ``site-packages``) are never entered. With ``pat_default``, as PAT does for ``--path .``:
    the files of ``base`` itself and of folders whose path relative to it (``./a/b``) matches
    :data:`PAT_FOLDER_PATTERNS`; other folders are walked through but their files are skipped.
    """
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(
            d for d in dirnames if not d.startswith(".") and d not in _PRUNED and not _is_venv(dirpath, d)
        )
        if pat_default:
            rel = os.path.relpath(dirpath, base)
            if rel != "." and not any(fnmatch(f"./{Path(rel).as_posix()}", p) for p in PAT_FOLDER_PATTERNS):
                continue
            if rel == ".":
                filenames = [f for f in filenames if f not in _PAT_IGNORED]
        yield dirpath, sorted(f for f in filenames if not f.startswith("."))


def in_spec_paths(root: Path, path: Path, paths: Iterable[str]) -> bool:
    """Whether the file ``path`` lies where :func:`iter_spec_files` looks for ``paths`` (its folder
    is walked and read; for :data:`PAT_DEFAULT_PATH`, by PAT's folder patterns)."""
    for rel in paths:
        base = (root / rel).resolve()
        if path.is_relative_to(base) and _read_below(path.relative_to(base).parts[:-1], rel):
            return True
    return False


def in_committed_spec_paths(path: str, paths: Iterable[str]) -> bool:
    """:func:`in_spec_paths` for the POSIX path of a committed file, relative to the repository
    root (the sync reads commits, not the working tree)."""
    parts = tuple(path.split("/"))
    for rel in paths:
        prefix = tuple(p for p in PurePosixPath(rel).parts if p != ".")
        if len(parts) > len(prefix) and parts[: len(prefix)] == prefix and _read_below(parts[len(prefix):-1], rel):
            return True
    return False


def _read_below(parts: tuple[str, ...], rel: str) -> bool:
    """Whether files in the folder ``parts`` below the spec path ``rel`` are read."""
    if any(p.startswith(".") or p in _PRUNED for p in parts):
        return False
    return not _is_pat_default(rel) or not parts or any(fnmatch("./" + "/".join(parts), p) for p in PAT_FOLDER_PATTERNS)


def _walk(base: Path, *, pat_default: bool = False) -> Iterator[Path]:
    for dirpath, filenames in walk_spec_folders(base, pat_default=pat_default):
        for name in filenames:
            if name.endswith((".yml", ".yaml")):
                yield Path(dirpath) / name


@dataclass
class Repository:
    """All specs of a repository, keyed for look-up.

    ``errors`` holds one :class:`YamlError` per file that could not be parsed; such a file has
    no spec, and nothing else is affected.
    """

    root: Path
    specs: list[Spec] = field(default_factory=list)
    errors: list[YamlError] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.by_path: dict[Path, Spec] = {}
        self.errors_by_path: dict[Path, YamlError] = {}
        self._reindex()

    def _reindex(self) -> None:
        self.by_path = {spec.path: spec for spec in self.specs}
        self.errors_by_path = {Path(err.path): err for err in self.errors}

    def add(self, spec: Spec) -> None:
        self.specs.append(spec)
        self.by_path[spec.path] = spec

    def add_error(self, error: YamlError) -> None:
        self.errors.append(error)
        self.errors_by_path[Path(error.path)] = error

    def of_kind(self, *kinds: str) -> list[Spec]:
        return [spec for spec in self.specs if spec.kind in kinds]

    @property
    def detections(self) -> list[Spec]:
        return [spec for spec in self.specs if spec.is_detection]

    @property
    def globals(self) -> list[Spec]:
        return self.of_kind("global")

    @property
    def data_models(self) -> list[Spec]:
        return self.of_kind("datamodel")

    def by_id(self) -> dict[str, Spec]:
        """First spec (in path order) for each ID."""
        result: dict[str, Spec] = {}
        for spec in self.specs:
            if spec.id and spec.id not in result:
                result[spec.id] = spec
        return result


def load_repository(root: Path, paths: Iterable[str] = DEFAULT_PATHS, *, cache_dir: Path | None = None) -> Repository:
    """Load every spec under ``root`` (see :func:`iter_spec_files`). Never raises for bad files:
    parse errors are collected in :attr:`Repository.errors`; YAML without ``AnalysisType`` is
    ignored.

    With ``cache_dir``, the parsed data of each file is kept in ``cache_dir/specs.marshal``, keyed
    by path, modification time (ns) and size, and reused while the file is unchanged: parsing the
    1,322 panther-analysis YAML files costs ~2.5 s, reading the cache ~0.1 s. ``marshal`` holds
    plain data only (nothing is executed on load, unlike pickle).
    """
    repo = Repository(root=root.resolve())
    cache = _SpecCache(cache_dir) if cache_dir is not None else None
    for path in iter_spec_files(repo.root, paths):
        document = cache.get(path) if cache is not None else None
        if document is None:
            try:
                document = load_file(path)
            except YamlError as error:
                repo.add_error(error)
                continue
            document.data = _interned(document.data)  # ~7 MiB less on panther-analysis
            if cache is not None:
                cache.put(path, document)
        if is_spec(document.data):
            repo.add(Spec(document))
    if cache is not None:
        cache.save()
    return repo


def _interned(value: object) -> object:
    """``value`` with its mapping keys interned: marshal then stores each key once and loads it
    shared (``Name``, ``ExpectedResult``, ``Log``, … repeat ~100,000 times in panther-analysis)."""
    if isinstance(value, dict):
        return {sys.intern(k) if isinstance(k, str) else k: _interned(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_interned(v) for v in value]
    return value


class _SpecCache:
    """Parsed spec files from earlier runs (see :func:`load_repository`)."""

    VERSION = 1

    def __init__(self, directory: Path) -> None:
        self.file = directory / "specs.marshal"
        self.entries: dict[str, tuple[int, int, object, tuple[int, ...]]] = {}
        self.dirty = False
        try:
            loaded = marshal.loads(self.file.read_bytes())
            if isinstance(loaded, dict) and loaded.get("version") == self.VERSION:
                self.entries = loaded["entries"]
        except (OSError, ValueError, EOFError, TypeError, KeyError):
            self.entries = {}

    def get(self, path: Path) -> Document | None:
        entry = self.entries.get(str(path))
        if entry is None:
            return None
        try:
            stat = path.stat()
        except OSError:
            return None
        mtime, size, data, lines = entry
        if stat.st_mtime_ns != mtime or stat.st_size != size:
            return None
        return Document(path, data, None, tuple(lines))

    def put(self, path: Path, document: Document) -> None:
        try:
            stat = path.stat()
            marshal.dumps(document.data)
        except (OSError, ValueError):
            return
        self.entries[str(path)] = (stat.st_mtime_ns, stat.st_size, document.data, document.test_lines)
        self.dirty = True

    def save(self) -> None:
        if not self.dirty:
            return
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.file.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(marshal.dumps({"version": self.VERSION, "entries": self.entries}))
            os.replace(tmp, self.file)
        except OSError:
            pass


def load_repository_from_texts(root: Path, texts: dict[str, str], paths: Iterable[str] = DEFAULT_PATHS) -> Repository:
    """Like :func:`load_repository`, but from file contents (``{relative posix path: text}``),
    e.g. the blobs of a git commit. Only files under one of ``paths`` and ending in
    ``.yml``/``.yaml`` are read; spec paths are ``root / relative path``."""
    repo = Repository(root=root)
    prefixes = tuple(p.rstrip("/") + "/" for p in paths)
    for rel in sorted(texts):
        name = rel.rsplit("/", 1)[-1]
        if not rel.startswith(prefixes) or not name.endswith((".yml", ".yaml")) or name.startswith("."):
            continue
        if any(part.startswith(".") or part in _PRUNED for part in rel.split("/")[:-1]):
            continue
        try:
            document = load(texts[rel], root / rel)
        except YamlError as error:
            repo.add_error(error)
            continue
        if is_spec(document.data):
            repo.add(Spec(document))
    return repo
