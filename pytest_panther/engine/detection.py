"""Loading a detection into panther-core and running one test case on it.

Mirrors PAT 1.11.1 ``main.py:setup_run_tests``/``_run_tests`` (shared/reference/semantics.md §4–§5):
``Rule`` for rules and scheduled rules, ``Policy`` for policies, module named by the detection ID
and loaded from the detection's real ``.py`` (not put in ``sys.modules``); rules get a
``PantherEvent`` with the data model of the event's ``p_log_type``, scheduled rules a
``PantherEvent`` without data model, policies the plain dict; ``Mocks`` are real
``unittest.mock.MagicMock(return_value=...)`` objects patched onto the detection's module around
that one run; ``detection.run(..., batch_mode=False)`` so every auxiliary function runs.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from typing import cast
from unittest import mock

from panther_core.detection import DetectionResult
from panther_core.enriched_event import PantherEvent
from panther_core.exceptions import UnknownDestinationError
from panther_core.policy import Policy
from panther_core.rule import Detection
from panther_core.rule import Rule

from pytest_panther.engine.codecache import CodeCache
from pytest_panther.engine.codecache import import_file
from pytest_panther.engine.datamodels import DataModels
from pytest_panther.spec.model import Spec

__all__ = ["CaseError", "FakeDestination", "LoadedDetection", "load_detection", "run_case"]


class CaseError(Exception):
    """A test case could not be run (bad ``Log``, a mock naming a missing attribute, …).

    PAT reports these only as a warning on stderr (semantics.md §5.5); we fail the test with
    this message.
    """


@dataclass(frozen=True)
class FakeDestination:
    """Stand-in for a Panther destination (what panther-core reads from ``outputs_names``)."""

    destination_id: str
    destination_display_name: str


class _ModuleRule(Rule):
    """A ``Rule`` whose module is built in memory (simple detections)."""

    @staticmethod
    def _load_detection(identifier: str, config: Mapping[str, Any]) -> ModuleType:
        return cast(ModuleType, config["module"])


class _NoFileRule(Rule):
    """A detection whose spec names no Python file (no ``Filename``, or a derived detection whose
    base has none): loading fails with FileNotFoundError, which every test then reports."""

    @staticmethod
    def _load_detection(identifier: str, config: Mapping[str, Any]) -> ModuleType:
        raise FileNotFoundError(f"{identifier}: the spec names no Python file to load")


def _load_cached(identifier: str, config: Mapping[str, Any]) -> ModuleType:
    """panther-core's ``FilesystemImporter``, with the code from the run's :class:`CodeCache`."""
    path = Path(config["path"])
    if not path.exists():
        raise FileNotFoundError(config["path"])
    return import_file(path.absolute().as_posix(), identifier, config["code_cache"])


class _CachedRule(Rule):
    _load_detection = staticmethod(_load_cached)


class _CachedPolicy(Policy):
    _load_detection = staticmethod(_load_cached)


@dataclass
class LoadedDetection:
    """A detection ready to run: its spec and the panther-core object (shared by its tests)."""

    spec: Spec
    core: Detection

    @property
    def setup_error(self) -> BaseException | None:
        return cast(BaseException | None, self.core.setup_exception)


def load_detection(
    spec: Spec,
    *,
    python_path: str | None = None,
    module_factory: Callable[[Spec], ModuleType] | None = None,
    filters: list[dict[str, Any]] | None = None,
    code: CodeCache | None = None,
) -> LoadedDetection:
    """Build the panther-core ``Rule``/``Policy`` for ``spec``.

    ``python_path`` overrides the spec's ``Filename`` (derived detections run their base's file);
    ``module_factory`` supplies an in-memory module instead (simple detections). Import errors
    do not raise: they are kept as ``setup_error`` (as panther-core does), and every test of the
    detection then fails with it. ``code`` supplies compiled code kept from earlier runs.
    """
    config: dict[str, Any] = {
        "id": spec.id,
        "analysisType": spec.analysis_type.upper() if spec.kind != "derived" else "RULE",
        "versionId": "0000-0000-0000",
    }
    if filters:
        config["filters"] = filters
    if "CreateAlert" in spec.data:
        config["suppressAlert"] = not spec.data["CreateAlert"]
    if module_factory is not None:
        config["module"] = module_factory(spec)
        config["path"] = str(spec.path)
        return LoadedDetection(spec, _ModuleRule(config))
    path = python_path or (str(spec.python_path.resolve()) if spec.python_path else "")
    if not path:  # never guess a sibling file: Panther would have no code to run either
        config["path"] = str(spec.path)
        return LoadedDetection(spec, _NoFileRule(config))
    config["path"] = path
    if code is not None and code.active:
        config["code_cache"] = code
        core: Detection = _CachedPolicy(config) if spec.analysis_type == "policy" else _CachedRule(config)
    else:
        core = Policy(config) if spec.analysis_type == "policy" else Rule(config)
    return LoadedDetection(spec, core)


def _event_for(loaded: LoadedDetection, entry: Any, data_models: DataModels) -> Any:
    kind = loaded.core.detection_type.upper()
    if kind == "POLICY":
        return entry
    if not isinstance(entry, dict):
        raise CaseError(f"the test's event must be a mapping, got {type(entry).__name__} ({entry!r})")
    data_model = None
    if kind == "RULE":
        data_model = data_models.for_log_type(entry.get("p_log_type", "") or "")
    return PantherEvent(entry, data_model)


def _mocks(loaded: LoadedDetection, case: Mapping[str, Any]) -> dict[str, mock.MagicMock]:
    mocks = case.get("Mocks") or []
    result: dict[str, mock.MagicMock] = {}
    for item in mocks:
        if isinstance(item, dict) and "objectName" in item and "returnValue" in item:
            result[item["objectName"]] = mock.MagicMock(return_value=item["returnValue"])
    module = loaded.core.module
    missing = [name for name in result if not hasattr(module, name)]
    if missing:
        raise CaseError(
            f"Mocks name {', '.join(repr(m) for m in missing)}, which the detection's module does not "
            "define (a mock replaces an existing module attribute; check the spelling or import it)"
        )
    return result


def run_case(
    loaded: LoadedDetection,
    case: Mapping[str, Any],
    data_models: DataModels,
    destinations: Mapping[str, FakeDestination],
) -> tuple[DetectionResult, list[str] | None]:
    """Run one test case; return panther-core's result and the expected destination IDs
    (``None`` when the case has no ``ExpectedDestinations``).

    :raises CaseError: when the case cannot be run at all (semantics.md §5.5 exception path).
    :raises DataModelError: when the event's data model is broken.
    """
    if "Resource" in case:
        entry = case["Resource"]
    elif "Log" in case:
        entry = case["Log"]
    else:
        raise CaseError("the test case has neither `Log` (rules) nor `Resource` (policies)")
    if entry is None:
        raise CaseError("the test's event is null (`Log:` or `Resource:` with no value)")
    test_destinations = dict(destinations)
    expected = case.get("ExpectedDestinations")
    if expected is not None:
        for name in expected:
            test_destinations.setdefault(name, FakeDestination(str(uuid.uuid4()), name))
    event = _event_for(loaded, entry, data_models)
    mocks = _mocks(loaded, case)
    if mocks:
        with mock.patch.multiple(loaded.core.module, **mocks):
            result = loaded.core.run(event, {}, test_destinations, batch_mode=False)
    else:
        result = loaded.core.run(event, {}, test_destinations, batch_mode=False)
    expected_ids = None
    if expected is not None:
        expected_ids = ["SKIP"] if not expected else [test_destinations[name].destination_id for name in expected]
    return result, expected_ids


#: Exceptions PAT erases before judging when no ``--available-destination`` is given.
IGNORED_WITHOUT_DESTINATIONS: list[type[Exception]] = [UnknownDestinationError]
