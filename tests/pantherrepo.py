"""A small detection repository written into a ``pytester`` directory (used by the plugin tests)."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest


class DetectionRepo:
    """Writes specs and detection modules under a pytester path."""

    def __init__(self, pytester: pytest.Pytester) -> None:
        self.pytester = pytester
        self.root = pytester.path

    def write(self, relpath: str, text: str) -> Path:
        path = self.root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    def rule(self, name: str, python: str, tests: str, *, extra: str = "", folder: str = "rules",
             analysis_type: str = "rule", rule_id: str | None = None, log_types: str = "[AWS.CloudTrail]") -> Path:
        """A rule ``<folder>/<name>.yml`` + ``.py``; ``tests`` is the YAML of the ``Tests:`` list."""
        rule_id = rule_id or f"Test.{name}"
        self.write(f"{folder}/{name}.py", python)
        key = "ScheduledQueries: [Some Query]" if analysis_type == "scheduled_rule" else f"LogTypes: {log_types}"
        body = (
            f"AnalysisType: {analysis_type}\nFilename: {name}.py\nRuleID: {rule_id}\nEnabled: true\n"
            f"{key}\nSeverity: High\n{textwrap.dedent(extra).strip()}\nTests:\n{textwrap.indent(textwrap.dedent(tests).strip(), '  ')}\n"
        )
        return self.write(f"{folder}/{name}.yml", body)

    def policy(self, name: str, python: str, tests: str, *, extra: str = "") -> Path:
        self.write(f"policies/{name}.py", python)
        body = (
            f"AnalysisType: policy\nFilename: {name}.py\nPolicyID: Test.{name}\nEnabled: true\n"
            f"ResourceTypes: [AWS.S3.Bucket]\nSeverity: Medium\n{textwrap.dedent(extra).strip()}\n"
            f"Tests:\n{textwrap.indent(textwrap.dedent(tests).strip(), '  ')}\n"
        )
        return self.write(f"policies/{name}.yml", body)


#: A rule with both outcomes, used by many tests.
SIMPLE_RULE = """
def rule(event):
    return event.get("eventName") == "Bad"

def title(event):
    return f"bad from {event.get('sourceIPAddress')}"
"""

SIMPLE_TESTS = """
- Name: bad event alerts
  ExpectedResult: true
  Log: {eventName: Bad, sourceIPAddress: 1.2.3.4}
- Name: good event is quiet
  ExpectedResult: false
  Log: {eventName: Good}
"""
