"""Per-run state of the plugin: the repository, global helpers, data models, loaded detections.

One :class:`PantherSession` lives in ``config.stash`` for the length of a pytest run. The
repository is read once (every spec file parsed once, whatever is selected); global helpers are
importable from session start to session end only (:mod:`pytest_panther.engine.helpers`).
"""
from __future__ import annotations

import os
import re
from contextlib import ExitStack
from functools import cached_property
from pathlib import Path

import pytest

from pytest_panther.engine.codecache import CodeCache
from pytest_panther.engine.datamodels import DataModels
from pytest_panther.engine.detection import FakeDestination
from pytest_panther.engine.detection import LoadedDetection
from pytest_panther.engine.detection import load_detection
from pytest_panther.engine.helpers import PantherImports
from pytest_panther.engine.helpers import global_helpers
from pytest_panther.evaluate.correlation import CorrelationRule
from pytest_panther.evaluate.correlation import compile_correlation
from pytest_panther.evaluate.inline_filters import core_filters
from pytest_panther.evaluate.simple import build_simple_module
from pytest_panther.options import Settings
from pytest_panther.spec.crosscheck import validate_repository
from pytest_panther.spec.model import Spec
from pytest_panther.spec.model import TestCase
from pytest_panther.spec.repository import PAT_DEFAULT_PATH
from pytest_panther.spec.repository import Repository
from pytest_panther.spec.repository import iter_spec_files
from pytest_panther.spec.repository import load_repository
from pytest_panther.spec.validate import ValidationOptions
from pytest_panther.spec.yaml import YamlError
from pytest_panther.spec_index import RepositoryIndex
from pytest_panther.upstream.config import ConfigError
from pytest_panther.upstream.config import read_config
from pytest_panther.upstream.overrides import apply_overrides
from pytest_panther.upstream.overrides import load_overrides
from pytest_panther.upstream.untouched import Untouched
from pytest_panther.upstream.untouched import untouched_upstream

__all__ = ["PantherSession"]

_ANALYSIS_TYPE = re.compile(r"^AnalysisType\s*:", re.MULTILINE)
_TESTS = re.compile(r"^Tests\s*:", re.MULTILINE)


class PantherSession:
    """State shared by all items of one run."""

    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        self.root = Path(config.rootpath)
        self._stack = ExitStack()
        self._loaded: dict[Path, LoadedDetection] = {}
        self._correlation: dict[Path, CorrelationRule] = {}
        self.override_errors: list[YamlError] = []
        #: Spec files of detections that were collected (None until collection runs here).
        self.collected_specs: set[Path] | None = None
        self.destinations = {
            name: FakeDestination(f"destination-{index}", name)
            for index, name in enumerate(settings.available_destinations)
        }

    # -- repository -------------------------------------------------------------------------

    @cached_property
    def _cache_dir(self) -> Path | None:
        """The plugin's folder in pytest's cache; None with ``-p no:cacheprovider``."""
        cache_plugin = getattr(self.config, "cache", None)
        return cache_plugin.mkdir("panther") if cache_plugin is not None else None

    @cached_property
    def code(self) -> CodeCache:
        """Compiled code of detections and global helpers, kept between runs."""
        return CodeCache(self._cache_dir / "code.marshal" if self._cache_dir is not None else None)

    @cached_property
    def repo(self) -> Repository:
        repo = load_repository(self.root, self.settings.paths, cache_dir=self._cache_dir)
        try:
            folder = read_config(self.root).overrides
        except ConfigError as exc:
            pyproject = self.root / "pyproject.toml"
            self.override_errors.append(YamlError(pyproject, 1, 1, str(exc).removeprefix(f"{pyproject}: ")))
            folder = "overrides"
        found, errors = load_overrides(self.root, folder)
        self.override_errors += [*errors, *apply_overrides(repo, found)]
        return repo

    @cached_property
    def problems(self) -> dict[Path, list[YamlError]]:
        """Validation problems (YAML, schema, cross-file, overrides) by the file they concern."""
        options = ValidationOptions(
            allow_extra_keys=self.settings.allow_extra_keys,
            extra_keys_allowlist=self.settings.extra_keys_allowlist,
            log_types=self.settings.log_types,
        )
        problems = {Path(k): list(v) for k, v in validate_repository(self.repo, options).items() if v}
        for error in self.override_errors:
            problems.setdefault(Path(error.path), []).append(error)
        return problems

    @cached_property
    def _known_files(self) -> frozenset[str]:
        repo = self.repo
        return frozenset(str(p) for p in (*repo.by_path, *repo.errors_by_path, *self.problems))

    @cached_property
    def problem_files(self) -> frozenset[str]:
        """Files with validation problems (specs, override files, ``pyproject.toml``)."""
        return frozenset(str(p) for p in self.problems)

    def spec_file_known(self, path: Path) -> bool:
        """True when ``path`` is a spec (or a broken YAML file) under the panther paths."""
        known = self._known_files
        return str(path) in known or (str(path.resolve()) in known)

    def spec_args(self, args: list[str], invocation_dir: Path) -> list[str]:
        """Path arguments with a detection's own ``.py`` replaced by its spec file: `pytest
        rules/x/y.py` means that detection's test cases (PAT tests a detection by its spec), not
        the detection's code as a pytest test module (which collects nothing)."""
        if not any(arg.partition("::")[0].endswith(".py") for arg in args):
            return args
        index = RepositoryIndex(self.repo)
        out = []
        for arg in args:
            path, sep, rest = arg.partition("::")
            found = index.specs_for_python(index.norm.changed(Path(invocation_dir, path))) if path.endswith(".py") else []
            spec = next((s for s in found if s.is_detection), None)
            out.append(arg if spec is None else os.path.relpath(spec.path, invocation_dir) + sep + rest)
        return out

    def specs_outside_paths(self) -> list[str]:
        """Spec files with ``Tests:`` that PAT's default ``pat test`` would test but the configured
        ``panther_paths`` leave out (relative paths; empty with the default paths)."""
        paths = self.settings.paths
        # Files instead of folders are a selection (the pre-commit hook's), not the setting.
        if any(os.path.normpath(p) == PAT_DEFAULT_PATH or (self.root / p).is_file() for p in paths):
            return []
        ours = set(iter_spec_files(self.root, paths))
        outside = []
        for path in iter_spec_files(self.root, [PAT_DEFAULT_PATH]):
            if path in ours:
                continue
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            if _ANALYSIS_TYPE.search(text) and _TESTS.search(text):
                outside.append(path.relative_to(self.root.resolve()).as_posix())
        return outside

    @cached_property
    def data_models(self) -> DataModels:
        return DataModels(self.repo.data_models)

    @cached_property
    def helper_paths(self) -> dict[str, Path]:
        helpers: dict[str, Path] = {}
        for spec in self.repo.globals:
            if spec.id and spec.python_path is not None and spec.id not in helpers:
                helpers[spec.id] = spec.python_path.resolve()
        return helpers

    @cached_property
    def imports(self) -> PantherImports:
        """Import resolution as in Panther, around loading and running detections."""
        return PantherImports(self.root, self.helper_paths)

    # -- life cycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Make global helpers importable (undone by :meth:`finish`)."""
        self._stack.enter_context(global_helpers(self.helper_paths, self.code))

    def finish(self) -> None:
        self._loaded.clear()
        self._stack.close()
        if "code" in self.__dict__:
            self.code.save()

    # -- detections -------------------------------------------------------------------------

    def detection(self, spec: Spec, *, fresh: bool = False) -> LoadedDetection:
        """The loaded detection for ``spec``: one per detection (its tests share the module, as
        in Panther and PAT), or a new one with ``fresh``."""
        if not fresh and spec.path in self._loaded:
            return self._loaded[spec.path]
        loaded = self._load(spec)
        if not fresh:
            self._loaded[spec.path] = loaded
        return loaded

    def release(self, spec: Spec) -> None:
        """Forget the loaded detection of ``spec`` (after its last test; loaded again if needed)."""
        self._loaded.pop(spec.path, None)

    def _load(self, spec: Spec) -> LoadedDetection:
        """:raises YamlError: for malformed InlineFilters or a malformed simple detection."""
        with self.imports.isolated():
            return self._load_isolated(spec)

    def _load_isolated(self, spec: Spec) -> LoadedDetection:
        filters = core_filters(spec) if spec.data.get("InlineFilters") else None
        if spec.kind == "simple_detection":
            return load_detection(spec, module_factory=build_simple_module, filters=filters)
        if spec.kind == "derived":
            base = self.repo.by_id().get(str(spec.data.get("BaseDetection")))
            base_path = base.python_path if base is not None else None
            return load_detection(spec, python_path=str(base_path.resolve()) if base_path else None, filters=filters,
                                  code=self.code)
        return load_detection(spec, filters=filters, code=self.code)

    def correlation(self, spec: Spec) -> CorrelationRule:
        """The compiled correlation rule of ``spec`` (parsed once per run).

        :raises YamlError: for a malformed ``Detection``.
        """
        compiled = self._correlation.get(spec.path)
        if compiled is None:
            compiled = self._correlation[spec.path] = compile_correlation(spec)
        return compiled

    @cached_property
    def _untouched(self) -> Untouched | None:
        return untouched_upstream(self.root)

    def minimum_tests_listed_only(self, spec: Spec) -> str | None:
        """Why ``spec``, below the minimum tests, is listed rather than failed, or None (it fails):
        ``--panther-minimum-tests-on`` names files and none is the spec or its ``.py`` (the
        ``panther-test`` hook: a detection the commit does not touch), or it is an upstream
        detection of a fork, unchanged since the base release. Asked only below the minimum."""
        files = {spec.path.resolve()} | ({spec.python_path.resolve()} if spec.python_path is not None else set())
        scope = self.settings.minimum_tests_on
        if scope and not files & {Path(self.root, p).resolve() for p in scope}:
            return "not touched by this change"
        untouched = self._untouched
        if untouched is not None and files <= untouched.files:
            return f"upstream detection, unchanged since {untouched.base}"
        return None

    def test_cases_of(self, spec: Spec) -> list[TestCase]:
        """Tests of a derived detection without its own ``Tests`` are its base's (PAT)."""
        if spec.kind == "derived" and not spec.has_tests_key:
            base = self.repo.by_id().get(str(spec.data.get("BaseDetection")))
            if base is not None:
                return base.tests()
        return spec.tests()
