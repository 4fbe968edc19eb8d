"""Malformed expressions are validation problems with file:line (pytest_panther.evaluate.check)."""
from __future__ import annotations

from pathlib import Path

from pytest_panther.spec.crosscheck import validate_repository
from pytest_panther.spec.repository import load_repository_from_texts

HEAD = "AnalysisType: {t}\nRuleID: Test.X\nEnabled: true\nSeverity: Low\n"


def problems(text: str) -> list[str]:
    repo = load_repository_from_texts(Path("/nowhere"), {"rules/x.yml": text})
    return [str(e) for errors in validate_repository(repo).values() for e in errors]


def test_unknown_condition_in_a_simple_detection() -> None:
    text = HEAD.format(t="rule") + "LogTypes: [AWS.CloudTrail]\nDetection:\n  - Key: a\n    Condition: EqualsIsh\n    Value: x\n"
    assert problems(text) == ["/nowhere/rules/x.yml:8:16: unknown Condition 'EqualsIsh' (did you mean 'Equals'?)"]


def test_key_in_inline_filters_of_a_python_rule() -> None:
    text = HEAD.format(t="rule") + (
        "LogTypes: [AWS.CloudTrail]\nFilename: x.py\nInlineFilters:\n  - All:\n      - Key: region\n"
        "        Condition: Equals\n        Value: us-east-1\n"
    )
    assert problems(text) == [
        "/nowhere/rules/x.yml:9:9: Key is not allowed in InlineFilters (filters take KeyPath or Enrichment, and All/Any)"
    ]


def test_correlation_transition_to_an_unknown_step() -> None:
    text = HEAD.format(t="correlation_rule") + (
        "Detection:\n  - Sequence:\n      - ID: A\n        RuleID: R.A\n      - ID: B\n        RuleID: R.B\n"
        "    Transitions:\n      - ID: a then b\n        From: A\n        To: Nope\n"
        "    LookbackWindowMinutes: 60\n    Schedule: {RateMinutes: 60, TimeoutMinutes: 5}\n"
    )
    assert problems(text) == [
        "/nowhere/rules/x.yml:12:7: no transition from 'A' to 'B' "
        "(Transitions must link consecutive Sequence steps in order)"
    ]


def test_valid_expressions_have_no_problems() -> None:
    text = HEAD.format(t="rule") + "LogTypes: [AWS.CloudTrail]\nDetection:\n  - Key: a\n    Condition: Equals\n    Value: x\n"
    assert problems(text) == []
