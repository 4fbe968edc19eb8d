"""Per-run state of the plugin: the repository, global helpers, data models, loaded detections.

One :class:`PantherSession` lives in ``config.stash`` for the length of a pytest run. The
repository is read once (every spec file parsed once, whatever is selected); global helpers are
importable from session start to session end only (:mod:`pytest_panther.engine.helpers`).
"""
from __future__ import annotations

import importlib
from contextlib import ExitStack
from functools import cached_property
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from pytest_panther.engine.datamodels import DataModels
from pytest_panther.engine.detection import FakeDestination
from pytest_panther.engine.detection import LoadedDetection
from pytest_panther.engine.detection import load_detection
from pytest_panther.engine.helpers import global_helpers
from pytest_panther.options import Settings
from pytest_panther.spec.model import Spec
from pytest_panther.spec.repository import Repository
from pytest_panther.spec.repository import load_repository
from pytest_panther.spec.yaml import YamlError

__all__ = ["PantherSession"]


def _optional(module: str) -> ModuleType | None:
    """Import an optional part of this package (present once its issue has landed)."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name == module:
            return None
        raise


class PantherSession:
    """State shared by all items of one run."""

    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        self.root = Path(config.rootpath)
        self._stack = ExitStack()
        self._loaded: dict[Path, LoadedDetection] = {}
        #: Spec files of detections that were collected (None until collection runs here).
        self.collected_specs: set[Path] | None = None
        self.destinations = {
            name: FakeDestination(f"destination-{index}", name)
            for index, name in enumerate(settings.available_destinations)
        }

    # -- repository -------------------------------------------------------------------------

    @cached_property
    def repo(self) -> Repository:
        cache_plugin = getattr(self.config, "cache", None)  # absent with -p no:cacheprovider
        cache = cache_plugin.mkdir("panther") if cache_plugin is not None else None
        repo = load_repository(self.root, self.settings.paths, cache_dir=cache)
        self.override_errors: list[YamlError] = []
        overrides = _optional("pytest_panther.upstream.overrides")
        if overrides is not None:
            config = importlib.import_module("pytest_panther.upstream.config")
            try:
                folder = config.read_config(self.root).overrides
            except config.ConfigError as exc:
                pyproject = self.root / "pyproject.toml"
                message = str(exc).removeprefix(f"{pyproject}: ")
                self.override_errors.append(YamlError(pyproject, 1, 1, message))
                folder = "overrides"
            found, errors = overrides.load_overrides(self.root, folder)
            self.override_errors += list(errors) + list(overrides.apply_overrides(repo, found))
        return repo

    @cached_property
    def problems(self) -> dict[Path, list[YamlError]]:
        """Validation problems by spec file (YAML errors always; schema/cross-file checks once
        the validator is installed)."""
        repo = self.repo
        problems: dict[Path, list[YamlError]] = {}
        validator = _optional("pytest_panther.spec.crosscheck") if self.settings.validate else None
        if validator is not None:
            validate = importlib.import_module("pytest_panther.spec.validate")
            options = validate.ValidationOptions(
                allow_extra_keys=self.settings.allow_extra_keys,
                extra_keys_allowlist=self.settings.extra_keys_allowlist,
            )
            problems = {Path(k): list(v) for k, v in validator.validate_repository(repo, options).items() if v}
        else:
            for error in repo.errors:
                problems.setdefault(Path(error.path), []).append(error)
        for error in getattr(self, "override_errors", []):
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

    # -- life cycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Make global helpers importable (undone by :meth:`finish`)."""
        self._stack.enter_context(global_helpers(self.helper_paths))

    def finish(self) -> None:
        self._loaded.clear()
        self._stack.close()

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
        filters = None
        if spec.data.get("InlineFilters"):
            inline = _optional("pytest_panther.evaluate.inline_filters")
            if inline is not None:
                filters = inline.core_filters(spec)
        if spec.kind == "simple_detection":
            simple = importlib.import_module("pytest_panther.evaluate.simple")
            return load_detection(spec, module_factory=simple.build_simple_module, filters=filters)
        if spec.kind == "derived":
            base = self.repo.by_id().get(str(spec.data.get("BaseDetection")))
            base_path = base.python_path if base is not None else None
            return load_detection(spec, python_path=str(base_path.resolve()) if base_path else None, filters=filters)
        return load_detection(spec, filters=filters)

    def can_evaluate(self, kind: str) -> bool:
        """Whether this installation can run tests of ``kind`` locally."""
        module = {"correlation_rule": "pytest_panther.evaluate.correlation",
                  "simple_detection": "pytest_panther.evaluate.simple"}.get(kind)
        return module is None or _optional(module) is not None

    def test_cases_of(self, spec: Spec) -> list[Any]:
        """Tests of a derived detection without its own ``Tests`` are its base's (PAT)."""
        if spec.kind == "derived" and not spec.has_tests_key:
            base = self.repo.by_id().get(str(spec.data.get("BaseDetection")))
            if base is not None:
                return base.tests()
        return spec.tests()
