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
import sys
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

from pytest_panther.engine.codecache import CodeCache

__all__ = ["GlobalHelperFinder", "global_helpers"]


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
                if module.__spec__.loader is not None and module.__spec__.origin == str(helpers.get(name)):
                    del sys.modules[name]
