"""Run one test case of one detection and say what failed (or nothing).

Ties the pieces together: the loaded detection (shared or fresh), the hermetic guard, panther-core's
run and interpretation (:mod:`pytest_panther.engine.verdict`), and the failure report
(:mod:`pytest_panther.report`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_panther import report
from pytest_panther.engine.datamodels import DataModelError
from pytest_panther.engine.detection import IGNORED_WITHOUT_DESTINATIONS
from pytest_panther.engine.detection import CaseError
from pytest_panther.engine.detection import run_case
from pytest_panther.engine.hermetic import hermetic
from pytest_panther.engine.verdict import judge
from pytest_panther.spec.model import Spec
from pytest_panther.spec.model import TestCase
from pytest_panther.spec.yaml import YamlError

if TYPE_CHECKING:
    from pytest_panther.session import PantherSession

__all__ = ["Failure", "run_item"]


class Failure(str):
    """A failure report; ``cause`` is the exception the detection's code raised, if any."""

    cause: BaseException | None = None

    @classmethod
    def of(cls, text: str, cause: BaseException | None) -> Failure:
        failure = cls(text)
        failure.cause = cause
        return failure


def run_item(session: PantherSession, spec: Spec, case: TestCase, alert: list[tuple[str, str]] | None = None) -> str | None:
    """Run ``case`` of ``spec``; return the failure report, or None when the test passed.

    When the case alerts, ``alert`` (if given) receives what the alert would carry: ``(function,
    output)`` of title, dedup, alert_context, … in PAT's order, outputs as Panther shows them."""
    data = case.data
    if not isinstance(data, dict):
        return report.case_problem(spec, case, f"a test case must be a mapping, got {type(data).__name__}")
    expected = data.get("ExpectedResult")
    if not isinstance(expected, bool):
        return report.case_problem(
            spec, case, f"ExpectedResult must be true or false, got {expected!r}",
            hint='write `ExpectedResult: true` without quotes' if isinstance(expected, str) else "",
        )
    if spec.kind == "correlation_rule":
        return _run_correlation(session, spec, case)
    settings = session.settings
    try:
        loaded = session.detection(spec, fresh=settings.fresh_module)
    except YamlError as exc:  # a malformed simple detection or inline filter
        return str(exc)
    if loaded.setup_error is not None:
        return Failure.of(report.setup_failure(spec, case, loaded.setup_error), loaded.setup_error)
    ignore = [] if settings.available_destinations else IGNORED_WITHOUT_DESTINATIONS
    try:
        with hermetic(settings.secrets, allow_network=settings.allow_network), session.imports.isolated():
            result, expected_ids = run_case(loaded, data, session.data_models, session.destinations)
    except CaseError as exc:
        return report.case_problem(spec, case, str(exc))
    except DataModelError as exc:
        return report.case_problem(spec, case, f"the event's data model is broken: {exc}")
    verdict = judge(
        result,
        name=case.name,
        expected=expected,
        matcher_name=loaded.core.matcher_function_name,
        suppress_alert=bool(getattr(loaded.core, "suppress_alert", False)),
        expected_destinations=expected_ids,
        ignore_exception_types=ignore,
    )
    matcher = loaded.core.matcher_function_name
    if alert is not None and expected == verdict.alert_value and verdict.detection_output is verdict.alert_value:
        alert.extend((line.name, line.output) for line in verdict.lines if line.name != matcher and line.output is not None)
    if verdict.passed:
        return None
    cause = verdict.exceptions.get(matcher) or next(iter(verdict.exceptions.values()), verdict.unique_error)
    return Failure.of(report.verdict_failure(spec, case, verdict), cause)


def _run_correlation(session: PantherSession, spec: Spec, case: TestCase) -> str | None:
    try:
        compiled = session.correlation(spec)
    except YamlError as exc:
        return str(exc)
    outcome = compiled.run_test(case.data)
    if outcome.passed:
        return None
    return report.correlation_failure(spec, case, outcome.explanation)
