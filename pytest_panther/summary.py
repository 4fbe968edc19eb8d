"""The end-of-run section: detections by outcome, test cases run, detections below the minimum.

PAT's summary counts detections only, and counts never-run detections as passed (semantics.md
§6.2); ours counts what really ran and names what did not.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from dataclasses import field

import pytest

from pytest_panther.collect import LISTED_BELOW_MINIMUM
from pytest_panther.collect import ItemKind

__all__ = ["Summary"]


@dataclass(eq=False)  # registered as a plugin: must stay hashable
class Summary:
    """Outcomes per detection ID, fed from test reports (works under xdist too)."""

    outcomes: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    skip_reasons: dict[str, str] = field(default_factory=dict)
    #: None when -k/-m/--lf selected the items (no honest list of untested detections exists).
    without_tests: list[str] | None = field(default_factory=list)
    below_minimum: dict[str, str] = field(default_factory=dict)
    #: Detections below the minimum that are listed, not failed -> why (not touched by the change
    #: the hook tests; an upstream detection of a fork, unchanged since the base release).
    listed_below_minimum: dict[str, str] = field(default_factory=dict)
    invalid: set[str] = field(default_factory=set)
    invalid_files: set[str] = field(default_factory=set)
    #: Spec files with tests that PAT's default walk finds but ``panther_paths`` leaves out.
    outside_paths: list[str] = field(default_factory=list)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        properties = {str(k): str(v) for k, v in report.user_properties}
        if report.when == "call" and report.failed and "panther_problem_file" in properties:
            self.invalid_files.add(properties["panther_problem_file"])
        detection = properties.get("panther_detection")
        if detection is None:
            return
        if report.when == "call" or (report.when == "setup" and not report.passed):
            kind = getattr(report, "panther_kind", None)
            if kind == ItemKind.VALIDATE:
                if report.failed:
                    self.invalid.add(detection)
                return
            if kind == ItemKind.MINIMUM_TESTS:
                if report.failed:
                    self.below_minimum[detection] = _message(report)
                elif report.skipped and isinstance(report.longrepr, tuple) and LISTED_BELOW_MINIMUM in report.longrepr[2]:
                    self.listed_below_minimum[detection] = report.longrepr[2].removeprefix("Skipped: ").split(" (")[0]
                return
            self.outcomes[detection].append(report.outcome)
            if report.skipped and isinstance(report.longrepr, tuple):
                self.skip_reasons[detection] = str(report.longrepr[2]).removeprefix("Skipped: ")

    def lines(self, verbose: bool) -> list[str]:
        # Passed: no case failed and one passed (a skipped or xfailed case does not un-pass it).
        passed = [d for d, o in self.outcomes.items() if "passed" in o and "failed" not in o]
        failed = sorted({d for d, o in self.outcomes.items() if "failed" in o} | set(self.below_minimum) | self.invalid)
        passed = [d for d in passed if d not in self.below_minimum and d not in self.invalid]
        skipped = [d for d, o in self.outcomes.items() if o and all(x == "skipped" for x in o)]
        cases = sum(1 for o in self.outcomes.values() for x in o if x != "skipped")
        head = f"detections: {len(passed)} passed, {len(failed)} failed, {len(skipped)} skipped"
        if self.without_tests is not None:
            head += f", {len(self.without_tests)} without tests"
        head += f"; test cases run: {cases}"
        if self.below_minimum:
            head += f"; below minimum tests: {len(self.below_minimum)}"
        if self.listed_below_minimum:
            head += f"; below minimum, not failed: {len(self.listed_below_minimum)}"
        if self.invalid_files:
            head += f"; invalid specs: {len(self.invalid_files)}"
        if self.outside_paths:
            head += f"; not collected (outside panther_paths): {len(self.outside_paths)}"
        if not verbose:
            return [head]
        out = [head]
        if failed:
            out.append("failed: " + ", ".join(sorted(failed)))
        reasons: dict[str, list[str]] = defaultdict(list)
        for detection in skipped:
            reasons[self.skip_reasons.get(detection, "skipped")].append(detection)
        for reason, ids in sorted(reasons.items()):
            out.append(f"skipped ({reason}): {len(ids)}: " + ", ".join(sorted(ids)))
        if self.without_tests:
            out.append("without tests: " + ", ".join(sorted(self.without_tests)))
        if self.outside_paths:
            out.append("not collected (outside panther_paths; PAT's `pat test` would test them): "
                       + ", ".join(self.outside_paths))
        for detection, message in sorted(self.below_minimum.items()):
            out.append(f"below minimum: {detection}: {message.split(': ', 2)[-1]}")
        listed: dict[str, list[str]] = defaultdict(list)
        for detection, why in self.listed_below_minimum.items():
            listed[why].append(detection)
        for why, ids in sorted(listed.items()):
            out.append(f"below minimum, not failed ({why}): {len(ids)}: " + ", ".join(sorted(ids)))
        return out


def _message(report: pytest.TestReport) -> str:
    text = str(report.longrepr or "")
    return text.splitlines()[0] if text else ""
