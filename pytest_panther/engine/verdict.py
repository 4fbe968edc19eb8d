"""From a panther-core run to a verdict.

panther-core's ``TestCaseEvaluator.interpret`` gives the per-test ``passed`` flag and the
per-function results exactly as Panther and PAT 1.11.1 compute them (semantics.md §5.4). PAT then
decides *detection* failure from the printed function lines (``main.py:_print_test_result``,
§5.5), and the two can disagree: a ``[FAIL]`` test with no failing function line (``unique()``
raised; ``CreateAlert: false`` hiding an erroring ``title()``) does not fail PAT's run.

We are strict: a test case fails when panther-core says it did not pass **or** when any judged
function line errored or did not match. On every case where PAT's two levels agree, our verdict
is PAT's.
"""
from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from typing import Any

from panther_core.detection import DetectionResult
from panther_core.testing import FunctionTestResult
from panther_core.testing import TestCaseEvaluator
from panther_core.testing import TestExpectations
from panther_core.testing import TestResult
from panther_core.testing import TestSpecification

__all__ = ["FunctionLine", "Verdict", "judge"]

#: panther-core result field → the name a detection author knows (PAT's printed name).
_FUNCTION_NAMES = {
    "titleFunction": "title",
    "dedupFunction": "dedup",
    "alertContextFunction": "alert_context",
    "descriptionFunction": "description",
    "referenceFunction": "reference",
    "severityFunction": "severity",
    "runbookFunction": "runbook",
    "destinationsFunction": "destinations",
}


@dataclass(frozen=True)
class FunctionLine:
    """One judged function: ``name`` (``rule``, ``policy``, ``title``, …), its output (JSON text
    for non-strings, as Panther shows it), its error message, and whether it is a failure."""

    name: str
    output: str | None
    error: str | None
    failed: bool


@dataclass
class Verdict:
    """The outcome of one test case."""

    passed: bool
    expected: bool
    alert_value: bool
    detection_output: Any
    lines: list[FunctionLine] = field(default_factory=list)
    exceptions: dict[str, BaseException] = field(default_factory=dict)
    destinations_mismatch: tuple[list[str], list[str]] | None = None
    generic_error: str | None = None
    unique_error: BaseException | None = None
    #: True/False when InlineFilters ran (evaluated locally), None when the rule has none.
    filters_matched: bool | None = None

    @property
    def failed_lines(self) -> list[FunctionLine]:
        return [line for line in self.lines if line.failed]


def judge(
    result: DetectionResult,
    *,
    name: str,
    expected: bool,
    matcher_name: str,
    suppress_alert: bool,
    expected_destinations: list[str] | None,
    ignore_exception_types: list[type[Exception]],
) -> Verdict:
    """Interpret ``result`` for a test case expecting ``expected`` (its ``ExpectedResult``)."""
    spec = TestSpecification(id=name, name=name, data={}, mocks=[], expectations=TestExpectations(detection=expected))
    test_result: TestResult = TestCaseEvaluator(spec, result).interpret(ignore_exception_types=ignore_exception_types)
    functions = test_result.functions
    if suppress_alert:  # PAT blanks every line but the matcher and alert context
        for attr in ("dedupFunction", "destinationsFunction", "runbookFunction", "titleFunction",
                     "severityFunction", "descriptionFunction", "referenceFunction"):
            setattr(functions, attr, None)
    passed = test_result.passed
    mismatch = None
    if expected_destinations is not None:
        actual = sorted(result.destinations_output or [])
        if sorted(expected_destinations) != actual:
            passed = False
            mismatch = (sorted(expected_destinations), actual)
            if functions.destinationsFunction is None:
                functions.destinationsFunction = FunctionTestResult(output="null", error=None, matched=False)
            else:
                functions.destinationsFunction.matched = False
    lines: list[FunctionLine] = []
    for attr in ("detectionFunction", *_FUNCTION_NAMES):  # PAT's printing order
        value: FunctionTestResult | None = getattr(functions, attr)
        if value is None:
            continue
        fname = matcher_name if attr == "detectionFunction" else _FUNCTION_NAMES[attr]
        error = value.error.message if value.error is not None else None
        failed = bool(error) or value.matched is False
        lines.append(FunctionLine(fname, value.output, error, failed))
    exceptions = {
        fname: exc
        for fname, exc in (
            (matcher_name, result.detection_exception),
            ("title", result.title_exception),
            ("dedup", result.dedup_exception),
            ("alert_context", result.alert_context_exception),
            ("description", result.description_exception),
            ("reference", result.reference_exception),
            ("severity", result.severity_exception),
            ("runbook", result.runbook_exception),
            ("destinations", result.destinations_exception),
            ("unique", result.unique_exception),
            ("inline filters", result.filter_exception),
            ("setup", result.setup_exception),
        )
        if exc is not None
    }
    strict_pass = passed and not any(line.failed for line in lines)
    return Verdict(
        passed=strict_pass,
        expected=expected,
        alert_value=(matcher_name == "rule"),
        detection_output=result.detection_output,
        lines=lines,
        exceptions=exceptions,
        destinations_mismatch=mismatch,
        generic_error=test_result.genericError,
        unique_error=result.unique_exception,
        filters_matched=result.filter_output,
    )
