"""The panther summary counts items by their kind, never by guessing from node ids (issue 13)."""
from __future__ import annotations

import pytest
from pantherrepo import SIMPLE_RULE
from pantherrepo import DetectionRepo


def test_a_test_case_named_validate_is_counted_as_a_test_case(repo: DetectionRepo) -> None:
    repo.rule("named", SIMPLE_RULE, """
        - Name: validate
          ExpectedResult: true
          Log: {eventName: Bad, sourceIPAddress: 1.2.3.4}
        - Name: quiet
          ExpectedResult: false
          Log: {eventName: Good}
    """)
    result = repo.pytester.runpytest()
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["detections: 1 passed, 0 failed, 0 skipped, 0 without tests; test cases run: 2"])


def test_a_failing_test_case_named_like_the_minimum_tests_item_fails_its_detection(repo: DetectionRepo) -> None:
    repo.rule("odd", SIMPLE_RULE, """
        - Name: "[minimum tests]"
          ExpectedResult: false
          Log: {eventName: Bad}
    """)
    result = repo.pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["detections: 0 passed, 1 failed, 0 skipped, 0 without tests; test cases run: 1"])
    assert "below minimum" not in result.stdout.str()


def test_item_kinds_reach_the_summary_from_xdist_workers(repo: DetectionRepo) -> None:
    pytest.importorskip("xdist")
    repo.rule("named", SIMPLE_RULE, """
        - Name: validate
          ExpectedResult: true
          Log: {eventName: Bad}
    """, extra="Severtiy: High")
    result = repo.pytester.runpytest("-n", "2", "--panther-minimum-tests", "2")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines([
        "detections: 0 passed, 1 failed, 0 skipped, 0 without tests; test cases run: 1; below minimum tests: 1; "
        "invalid specs: 1",
    ])


def test_a_detection_with_a_skipped_or_xfailed_case_is_still_counted(repo: DetectionRepo) -> None:
    """A detection whose cases passed except one skipped (or xfailed) was counted nowhere:
    "0 passed, 0 failed, 0 skipped" for a run of 2 passing cases."""
    repo.rule("partly", SIMPLE_RULE, """
        - Name: alerts
          ExpectedResult: true
          Log: {eventName: Bad}
        - Name: quiet
          ExpectedResult: false
          Log: {eventName: Good}
        - Name: known gap
          ExpectedResult: true
          Log: {eventName: Good}
    """)
    for mark in ("skip", "xfail"):
        repo.pytester.makeconftest(f"""
import pytest

def pytest_collection_modifyitems(items):
    for item in items:
        if item.name == "known gap":
            item.add_marker(pytest.mark.{mark}(reason="known gap"))
""")
        result = repo.pytester.runpytest("-p", "no:cacheprovider")
        result.stdout.fnmatch_lines(["detections: 1 passed, 0 failed, 0 skipped, 0 without tests; test cases run: 2"])
