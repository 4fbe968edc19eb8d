"""Data models: which ``panther_core.data_model.DataModel`` serves an event's log type.

Behaviour follows PAT 1.11.1 ``main.py:setup_data_models`` (shared/reference/semantics.md §4.4):
only ``Enabled: true`` models count; mapping keys are lower-cased; ``Path`` mappings are JSONPath
(parsed by panther-core's ``jsonpath_ng``), ``Method`` mappings name a function of the model's
``.py``; the first model (in path order) claiming a log type keeps it.

Differences, on purpose: models are built lazily, on the first event of one of their log types
(so a broken model fails only the tests that use it, never the whole run as in PAT), and the
model's module is loaded from its real file instead of a copy in the temp dir (coverage and
tracebacks point at the repository's file; nothing is written to disk).
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from types import ModuleType
from typing import Any

from panther_core.data_model import DataModel

from pytest_panther.spec.jsonpath import parse_jsonpath
from pytest_panther.spec.model import Spec

__all__ = ["DataModelError", "DataModels"]


class DataModelError(Exception):
    """A data model could not be built; ``str()`` names the spec file and the reason."""


@dataclass
class DataModels:
    """Log type → data model, built on demand from the repository's enabled data model specs."""

    specs: list[Spec]
    _claims: dict[str, Spec] = field(default_factory=dict, init=False)
    _built: dict[str, DataModel | DataModelError] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        for spec in self.specs:
            if spec.data.get("Enabled") is not True:
                continue
            for log_type in spec.log_types:
                self._claims.setdefault(log_type, spec)

    def spec_for(self, log_type: str) -> Spec | None:
        return self._claims.get(log_type)

    def for_log_type(self, log_type: str) -> DataModel | None:
        """The data model for ``log_type``, or None when no enabled model claims it.

        :raises DataModelError: when the claiming model's module or mappings are broken.
        """
        spec = self._claims.get(log_type)
        if spec is None:
            return None
        built = self._built.get(spec.id)
        if built is None:
            try:
                built = _build(spec)
            except DataModelError as exc:
                built = exc
            self._built[spec.id] = built
        if isinstance(built, DataModelError):
            raise built
        return built


def _build(spec: Spec) -> DataModel:
    where = f"{spec.path}"
    module = None
    if spec.python_path is not None:
        module = _load_module(spec.id, spec.python_path, where)
    path_mappings: list[dict[str, Any]] = []
    method_mappings: list[tuple[Any, Any]] = []  # (Name, Method) as the spec wrote them
    for index, mapping in enumerate(spec.data.get("Mappings") or []):
        lowered = {str(k).lower(): v for k, v in mapping.items()} if isinstance(mapping, dict) else {}
        name = lowered.get("name")
        if lowered.get("path"):
            path_mappings.append(lowered)
        elif lowered.get("method"):
            method_mappings.append((name, lowered["method"]))
        else:
            line = spec.document.position(("Mappings", index))[0]
            raise DataModelError(f"{where}:{line}: data model mapping {name!r} has neither Path nor Method")
    model = DataModel({"id": spec.id, "mappings": [], "versionId": ""})
    for mapping in path_mappings:
        try:  # what DataModel._extract_mappings does, with the parse shared with validation
            model.paths[mapping["name"]] = parse_jsonpath(mapping["path"])
        except Exception as exc:  # jsonpath_ng raises assorted errors for a bad path
            raise DataModelError(
                f"{where}: data model {spec.id!r} has an invalid JSONPath {mapping['path']!r}: {type(exc).__name__}: {exc}"
            ) from None
    for name, method in method_mappings:
        function = getattr(module, method, None) if module is not None else None
        if function is None:
            raise DataModelError(f"{where}: data model {spec.id!r} maps {name!r} to method {method!r}, which its module does not define")
        model.methods[name] = function
    model._module = module  # what panther-core keeps for a model with a body
    return model


def _load_module(name: str, path: Path, where: str) -> ModuleType:
    if not path.is_file():
        raise DataModelError(f"{where}: data model Filename {path.name!r} does not exist")
    module_spec = importlib.util.spec_from_file_location(name, path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    try:
        module_spec.loader.exec_module(module)
    except Exception as exc:
        raise DataModelError(f"{where}: data model module {path.name} failed to load: {type(exc).__name__}: {exc}") from None
    return module
