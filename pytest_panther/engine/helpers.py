"""Global helpers importable by their GlobalID, for the length of one test session.

Panther (and PAT 1.11.1, ``main.py:setup_global_helpers``; shared/reference/semantics.md §5.1)
makes every ``AnalysisType: global`` importable under its ``GlobalID``; PAT copies the files into
a temp dir appended to ``sys.path``. We register one meta-path finder instead, appended to the
*end* of ``sys.meta_path`` so that, as with PAT, an installed module of the same name wins. The
helper is loaded from its real file (so coverage, ``--pdb`` and tracebacks point at it).

:func:`global_helpers` is the only place this project changes ``sys.meta_path``/``sys.modules``;
it undoes both on exit (helper modules it imported are removed from ``sys.modules``).
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import sysconfig
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

from pytest_panther.engine.codecache import CodeCache

__all__ = ["GlobalHelperFinder", "PantherImports", "global_helpers"]

#: The Python installation: never the repository's, even when it lives under the rootdir.
_INSTALL_DIRS = tuple(
    {Path(p).resolve() for key in ("stdlib", "platstdlib", "purelib", "platlib") if (p := sysconfig.get_paths().get(key))}
)


class GlobalHelperFinder(importlib.abc.MetaPathFinder):
    """Finds ``import <GlobalID>`` for the helpers of one repository.

    ``helpers`` maps GlobalID → path of the helper's ``.py`` file; ``code`` supplies their
    compiled code kept from earlier runs.
    """

    def __init__(self, helpers: Mapping[str, Path], code: CodeCache | None = None) -> None:
        self.helpers = dict(helpers)
        self.imported: set[str] = set()
        self.code = code

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        location = self.helpers.get(fullname)
        if location is None or not location.is_file():
            return None
        self.imported.add(fullname)
        loader = self.code.loader(fullname, str(location)) if self.code is not None else None
        return importlib.util.spec_from_file_location(fullname, location, loader=loader)


@contextmanager
def global_helpers(helpers: Mapping[str, Path], code: CodeCache | None = None) -> Iterator[GlobalHelperFinder]:
    """Make ``helpers`` (GlobalID → file) importable inside the block, and undo it afterwards.

    A helper whose name is already in ``sys.modules`` when the block starts (e.g. a GlobalID equal
    to a standard-library module) is left alone, as the installed module wins in Panther's
    runtime too.
    """
    finder = GlobalHelperFinder(helpers, code)
    before = set(sys.modules)
    sys.meta_path.append(finder)
    try:
        yield finder
    finally:
        try:
            sys.meta_path.remove(finder)
        except ValueError:  # pragma: no cover - someone else removed it
            pass
        for name in finder.imported:
            module = sys.modules.get(name)
            if name not in before and module is not None and getattr(module, "__spec__", None) is not None:
                if (spec := module.__spec__) and spec.loader is not None and spec.origin == str(helpers.get(name)):
                    del sys.modules[name]


class PantherImports:
    """Imports as Panther resolves them while a detection loads and runs: global helpers by
    GlobalID and installed packages, never the detection's folder, the rootdir or the current
    directory (issue 10, item 5).

    pytest puts folders of the repository on ``sys.path`` (``--import-mode=prepend`` adds the
    folder of every ``*_test.py``, ``python -m pytest`` adds the current directory) and test
    files import repository modules into ``sys.modules``; both would let ``import sidecar`` pass
    here and fail in Panther. Within :meth:`isolated`, such ``sys.path`` entries are left out and
    such modules hidden (restored afterwards). Entries inside a virtual environment in the
    repository (``site-packages``) and the Python installation stay.
    """

    def __init__(self, root: Path, helpers: Mapping[str, Path]) -> None:
        self.root = root.resolve()
        self.cwd = Path.cwd().resolve()
        self.helper_files = {str(path) for path in helpers.values()}
        self._path_key: tuple[str, ...] | None = None
        self._path: list[str] = []
        self._modules_size = -1
        self._local_modules: list[str] = []
        self._seen: set[str] = set()
        self._local_dirs: dict[str, bool] = {}

    def _is_local(self, entry: str) -> bool:
        """Whether the folder ``entry`` (a ``sys.path`` entry, ``""`` for the current directory)
        belongs to the repository or the current directory rather than an installation."""
        known = self._local_dirs.get(entry)
        if known is not None:
            return known
        try:
            path = Path(entry).resolve() if entry else self.cwd
        except (OSError, RuntimeError):
            path = None
        local = path is not None and not (
            any(part in ("site-packages", "dist-packages") for part in path.parts)
            or any(path.is_relative_to(p) for p in _INSTALL_DIRS)
        ) and (path == self.cwd or path.is_relative_to(self.root))
        self._local_dirs[entry] = local
        return local

    def _filtered_path(self) -> list[str]:
        key = tuple(sys.path)
        if key != self._path_key:
            self._path_key = key
            self._path = [entry for entry in sys.path if not self._is_local(entry)]
        return self._path

    def _hidden_modules(self) -> list[str]:
        """Names in ``sys.modules`` loaded from the repository or the current directory (not global
        helpers); only modules not seen before are looked at."""
        if len(sys.modules) != self._modules_size:
            self._modules_size = len(sys.modules)
            for name in [n for n in sys.modules if n not in self._seen]:
                self._seen.add(name)
                file = getattr(sys.modules[name], "__file__", None)
                if not isinstance(file, str) or file in self.helper_files:
                    continue
                if os.path.isabs(file) and self._is_local(os.path.dirname(file)):
                    self._local_modules.append(name)
        return self._local_modules

    @contextmanager
    def isolated(self) -> Iterator[None]:
        saved_path = sys.path
        hidden = {name: sys.modules.pop(name) for name in self._hidden_modules() if name in sys.modules}
        sys.path = self._filtered_path()[:]
        try:
            yield
        finally:
            sys.path = saved_path
            for name, module in hidden.items():
                sys.modules.setdefault(name, module)
