from __future__ import annotations

from pytest_panther.spec.suggest import closest
from pytest_panther.spec.suggest import did_you_mean


def test_case_insensitive_match_wins() -> None:
    assert closest("low", ["Info", "Low", "Medium"]) == "Low"


def test_close_spelling() -> None:
    assert did_you_mean("Displayname", ["DisplayName", "Description"]) == "did you mean 'DisplayName'?"


def test_nothing_close_or_not_a_string() -> None:
    assert did_you_mean("Author", ["RuleID", "Severity"]) == ""
    assert did_you_mean(5, ["5"]) == ""
