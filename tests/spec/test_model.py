from __future__ import annotations

import copy
from pathlib import Path

from pytest_panther.spec.model import Spec
from pytest_panther.spec.model import TestCase
from pytest_panther.spec.repository import load_repository
from pytest_panther.upstream.overrides import apply_overrides
from pytest_panther.upstream.overrides import load_overrides

SPEC = """\
AnalysisType: rule
RuleID: Up.Rule
Enabled: true
Filename: up.py
LogTypes: [AWS.CloudTrail]
Severity: Low
Tests:
  - Name: first
    ExpectedResult: true
    Log: {a: 1}
  - Name: second
    ExpectedResult: false
    Log: {a: 2}
  - Name: third
    ExpectedResult: true
    Log: {a: 3}
"""


def load(tmp_path: Path, override: str | None = None) -> Spec:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules/up.yml").write_text(SPEC)
    repo = load_repository(tmp_path)
    if override is not None:
        (tmp_path / "overrides").mkdir()
        (tmp_path / "overrides/Up.Rule.yml").write_text(override)
        found, errors = load_overrides(tmp_path)
        assert errors == [] and apply_overrides(repo, found) == []
    (spec,) = repo.specs
    return spec


def shape(cases: list[TestCase], root: Path) -> list[tuple[int, str, int, str | None]]:
    return [(c.index, c.name, c.line, c.path.relative_to(root).as_posix() if c.path else None) for c in cases]


def test_cases_of_a_spec_point_at_the_spec_file(tmp_path: Path) -> None:
    spec = load(tmp_path)
    assert shape(spec.tests(), tmp_path.resolve()) == [(0, "first", 8, None), (1, "second", 11, None), (2, "third", 14, None)]


def test_overridden_cases_keep_their_own_lines_and_added_ones_point_at_the_override(tmp_path: Path) -> None:
    override = ("Severity: High\nTests:\n  remove: [second]\n  add:\n    - Name: team one\n      ExpectedResult: true\n"
                "      Log: {a: 4}\n    - Name: team two\n      ExpectedResult: false\n      Log: {a: 5}\n")
    spec = load(tmp_path, override)
    assert shape(spec.tests(), tmp_path.resolve()) == [
        (0, "first", 8, None),
        (1, "third", 14, None),
        (2, "team one", 5, "overrides/Up.Rule.yml"),
        (3, "team two", 8, "overrides/Up.Rule.yml"),
    ]


def test_a_replaced_case_points_at_the_override(tmp_path: Path) -> None:
    override = "Tests:\n  remove: [first]\n  add:\n    - Name: first\n      ExpectedResult: true\n      Log: {a: 1}\n"
    spec = load(tmp_path, override)
    assert shape(spec.tests(), tmp_path.resolve()) == [
        (0, "second", 11, None), (1, "third", 14, None), (2, "first", 4, "overrides/Up.Rule.yml")]


def test_an_override_without_tests_keeps_every_line(tmp_path: Path) -> None:
    spec = load(tmp_path, "Enabled: false\n")
    assert spec.data["Tests"] is not spec.document.data["Tests"]
    assert shape(spec.tests(), tmp_path.resolve()) == [(0, "first", 8, None), (1, "second", 11, None), (2, "third", 14, None)]


def test_a_case_of_unknown_origin_gets_the_line_of_the_tests_list(tmp_path: Path) -> None:
    spec = load(tmp_path)
    tests = copy.deepcopy(spec.document.data["Tests"])
    tests[1]["Log"] = {"a": 20}
    spec.data = {**spec.data, "Tests": [tests[2], tests[1], tests[0]]}
    assert shape(spec.tests(), tmp_path.resolve()) == [(0, "third", 14, None), (1, "second", 8, None), (2, "first", 8, None)]
