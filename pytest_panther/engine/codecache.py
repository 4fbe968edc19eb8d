"""Compiled code of detections, global helpers and data models, kept between runs.

Where ``PYTHONDONTWRITEBYTECODE`` is set (many CI images and containers do), Python writes no
``__pycache__`` for these files and compiles all of them again on every run (~1,100 files on
panther-analysis, ~0.15-0.3 s of CPU; issue 14). A :class:`CodeCache` keeps their code objects
in one ``marshal`` file in pytest's cache folder (``.pytest_cache/d/panther/code.marshal``),
keyed like ``.pyc`` files: by path, modification time and size, for this Python's bytecode
version. Without that environment variable Python's own ``__pycache__`` does the same job and
the cache stays out of the way; with ``-p no:cacheprovider`` there is no cache folder and
nothing is kept.

Modules are loaded exactly as before (same name, file, ``__file__``, tracebacks, coverage):
only where the code object comes from changes.
"""
from __future__ import annotations

import importlib.machinery
import importlib.util
import marshal
import os
import sys
from pathlib import Path
from types import CodeType
from types import ModuleType

__all__ = ["CodeCache", "import_file"]

_VERSION = (1, importlib.util.MAGIC_NUMBER)


class CodeCache:
    """Code objects by source file; :meth:`save` writes what was compiled this run."""

    def __init__(self, file: Path | None) -> None:
        self.file = file
        self._entries: dict[str, tuple[int, int, bytes]] | None = None
        self._new: dict[str, tuple[int, int, bytes]] = {}

    @property
    def active(self) -> bool:
        """Whether code is kept (a cache folder, and Python itself writes no bytecode)."""
        return self.file is not None and sys.dont_write_bytecode

    def _read(self) -> dict[str, tuple[int, int, bytes]]:
        if self._entries is None:
            self._entries = {}
            try:
                loaded = marshal.loads(self.file.read_bytes()) if self.file is not None else None
            except (OSError, ValueError, EOFError, TypeError):
                loaded = None
            if isinstance(loaded, dict) and loaded.get("version") == _VERSION:
                self._entries = loaded["entries"]
        return self._entries

    def code(self, loader: importlib.machinery.SourceFileLoader, path: str) -> CodeType:
        """The code of ``path``: from the cache when the file is unchanged, else compiled."""
        stat = os.stat(path)
        entry = self._read().pop(path, None)  # each file is read once a run: free its bytes now
        if entry is not None and entry[0] == stat.st_mtime_ns and entry[1] == stat.st_size:
            code = marshal.loads(entry[2])
            if isinstance(code, CodeType):
                return code
        code = loader.source_to_code(loader.get_data(path), path)
        self._new[path] = (stat.st_mtime_ns, stat.st_size, marshal.dumps(code))
        return code

    def loader(self, fullname: str, path: str) -> importlib.machinery.SourceFileLoader:
        """The loader for module ``fullname`` at ``path`` (Python's own when inactive)."""
        if not self.active:
            return importlib.machinery.SourceFileLoader(fullname, path)
        return _CachedLoader(fullname, path, self)

    def save(self) -> None:
        """Write the cache when something was compiled (entries of deleted files are dropped);
        written whole to a temporary file and renamed, so that pytest-xdist workers never leave a
        torn file."""
        if not self._new or self.file is None:
            return
        self._entries = None  # what this run took out of the cache is still in the file
        entries = {path: entry for path, entry in self._read().items() if os.path.exists(path)}
        entries.update(self._new)
        self._new = {}
        self._entries = None
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.file.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(marshal.dumps({"version": _VERSION, "entries": entries}))
            os.replace(tmp, self.file)
        except OSError:
            pass


class _CachedLoader(importlib.machinery.SourceFileLoader):
    def __init__(self, fullname: str, path: str, cache: CodeCache) -> None:
        super().__init__(fullname, path)
        self._cache = cache

    def get_code(self, fullname: str) -> CodeType:
        return self._cache.code(self, self.get_filename(fullname))


def import_file(path: str, name: str, cache: CodeCache | None) -> ModuleType:
    """panther-core's ``import_file_as_module``: the module ``name`` from ``path``, not put in
    ``sys.modules``, with its code from ``cache``."""
    loader = cache.loader(name, path) if cache is not None else None
    spec = importlib.util.spec_from_file_location(name, path, loader=loader)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
