"""The one-phase run protocol of test-case items (issue 14) keeps every pytest feature users rely
on: skip/xfail marks, --setup-show, --pdb, capture of a detection's prints and logs, JUnit XML,
-x, --lf, pytest-xdist, and Python tests with fixtures in the same run."""
from __future__ import annotations

import gc
import sys
import xml.etree.ElementTree as ET

import pytest
from pantherrepo import DetectionRepo

PRINTING_RULE = """
import logging

def rule(event):
    print("printed by the rule:", event.get("eventName"))
    logging.getLogger("detection").warning("logged by the rule: %s", event.get("eventName"))
    return event.get("eventName") == "Bad"
"""
TESTS = """
- Name: bad alerts
  ExpectedResult: true
  Log: {eventName: Bad}
- Name: wrongly expected
  ExpectedResult: true
  Log: {eventName: Good}
- Name: good is quiet
  ExpectedResult: false
  Log: {eventName: Good}
"""
#: Counts each phase's reports of test-case items, written at the end of the run.
PHASE_COUNTER = """
import collections
PHASES = collections.Counter()

def pytest_runtest_logreport(report):
    PHASES[report.when] += 1

def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_line(f"PHASES setup={PHASES['setup']} call={PHASES['call']} teardown={PHASES['teardown']}")
"""


@pytest.fixture
def printing(repo: DetectionRepo) -> DetectionRepo:
    repo.rule("printing", PRINTING_RULE, TESTS, rule_id="Test.Printing")
    return repo


def test_plain_items_report_the_call_phase_only(printing: DetectionRepo) -> None:
    printing.pytester.makeconftest(PHASE_COUNTER)
    result = printing.pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["PHASES setup=0 call=3 teardown=0"])


def test_a_failure_shows_the_detections_prints_and_logs(printing: DetectionRepo) -> None:
    result = printing.pytester.runpytest("-p", "no:cacheprovider", "-rP")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([
        "*Captured stdout call*", "printed by the rule: Good",
        "*Captured log call*", "*logged by the rule: Good*",
    ])
    # -rP: the passing cases' captured output too
    assert "printed by the rule: Bad" in result.stdout.str()
    uncaptured = printing.pytester.runpytest("-p", "no:cacheprovider", "-s")
    assert "printed by the rule: Good" in uncaptured.stdout.str()
    assert "Captured stdout call" not in uncaptured.stdout.str()


def test_skip_and_xfail_marks_still_apply(printing: DetectionRepo) -> None:
    printing.pytester.makeconftest("""
        import pytest

        def pytest_collection_modifyitems(items):
            for item in items:
                if item.name == "bad alerts":
                    item.add_marker(pytest.mark.skip(reason="skipped by conftest"))
                elif item.name == "wrongly expected":
                    item.add_marker(pytest.mark.xfail(reason="known wrong"))
                else:
                    item.add_marker(pytest.mark.xfail(strict=True, reason="should fail"))
    """)
    result = printing.pytester.runpytest("-p", "no:cacheprovider", "-rsxX")
    result.assert_outcomes(skipped=1, xfailed=1, failed=1)
    result.stdout.fnmatch_lines(["[[]XPASS(strict)[]] should fail", "*SKIPPED*skipped by conftest*", "*XFAIL*wrongly expected*known wrong*"])


def test_setup_show_lists_every_item(printing: DetectionRepo) -> None:
    result = printing.pytester.runpytest("-p", "no:cacheprovider", "--setup-show")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*rules/printing.yml::Test.Printing::bad alerts*", "*rules/printing.yml::Test.Printing::good is quiet*"])


def test_pdb_opens_at_the_failing_case(printing: DetectionRepo) -> None:
    result = printing.pytester.run(sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--pdb", stdin=b"c\n")
    result.stdout.fnmatch_lines(["*entering PDB*", "*(Pdb)*"])
    assert "rules/printing.yml::Test.Printing::wrongly expected" in result.stdout.str()
    result.assert_outcomes(passed=2, failed=1)


def test_exitfirst_and_last_failed(printing: DetectionRepo) -> None:
    first = printing.pytester.runpytest("-x")
    first.assert_outcomes(passed=1, failed=1)
    again = printing.pytester.runpytest("--lf")
    again.assert_outcomes(failed=1, deselected=2)


def test_junit_keeps_properties_and_three_phases(printing: DetectionRepo) -> None:
    printing.pytester.makeconftest(PHASE_COUNTER)
    result = printing.pytester.runpytest("-p", "no:cacheprovider", "--junitxml=out.xml")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["PHASES setup=3 call=3 teardown=3"])
    cases = ET.parse(printing.root / "out.xml").getroot().findall(".//testcase")
    assert [case.get("name") for case in cases] == ["bad alerts", "wrongly expected", "good is quiet"]
    for case in cases:
        names = {p.get("name") for p in case.findall("./properties/property")}
        assert {"panther_detection", "panther_file", "panther_line"} <= names
    assert len(cases[1].findall("failure")) == 1


def test_xdist_runs_one_phase_items(printing: DetectionRepo) -> None:
    pytest.importorskip("xdist")
    printing.pytester.makeconftest(PHASE_COUNTER)
    result = printing.pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["PHASES setup=0 call=3 teardown=0"])


def test_python_tests_with_fixtures_in_the_same_run(printing: DetectionRepo) -> None:
    """Module and session fixtures of Python tests collected before and after the detection tests
    are set up and torn down as usual (pytest's set-up state stays consistent)."""
    printing.pytester.makeini("[pytest]\ntestpaths = a_tests rules z_tests\n")
    printing.pytester.makeconftest("""
        import pytest

        @pytest.fixture(scope="session")
        def session_thing():
            yield "s"
            print("SESSION TEARDOWN")
    """)
    test_module = """
        import pytest

        @pytest.fixture(scope="module")
        def module_thing():
            yield "m"
            print("MODULE TEARDOWN {name}")

        def test_one(session_thing, module_thing):
            assert session_thing == "s" and module_thing == "m"
    """.replace("{{name}}", "{name}")
    printing.write("a_tests/test_a.py", test_module.format(name="a"))
    printing.write("z_tests/test_z.py", test_module.format(name="z"))
    result = printing.pytester.runpytest("-p", "no:cacheprovider", "-s")
    result.assert_outcomes(passed=4, failed=1)
    out = result.stdout.str()
    assert out.count("MODULE TEARDOWN a") == 1 and out.count("MODULE TEARDOWN z") == 1
    assert out.count("SESSION TEARDOWN") == 1
    assert out.index("MODULE TEARDOWN a") < out.index("printed by the rule: Bad") < out.index("MODULE TEARDOWN z")


def test_objects_frozen_by_a_nested_run_are_given_back(printing: DetectionRepo) -> None:
    """An in-process run inside this test session (itself a run of the plugin) thaws at its end,
    so that a test suite of many pytester runs does not keep their objects for ever."""
    printing.pytester.makeconftest("""
        import gc

        def pytest_runtest_logreport(report):
            if report.when == "call" and report.passed:
                print("FROZEN", gc.get_freeze_count() > 0)
    """)
    result = printing.pytester.runpytest_inprocess("-p", "no:cacheprovider", "-s")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*FROZEN True*"])
    assert gc.get_freeze_count() == 0



def test_automatic_gc_is_paused_only_while_collecting(printing: DetectionRepo) -> None:
    printing.pytester.makeconftest("""
        import gc

        def pytest_collection_modifyitems(items):
            print("COLLECTING GC", gc.isenabled())

        def pytest_runtest_logreport(report):
            if report.when == "call" and report.passed:
                print("RUNNING GC", gc.isenabled())
    """)
    result = printing.pytester.runpytest_inprocess("-p", "no:cacheprovider", "-s")
    result.stdout.fnmatch_lines(["*COLLECTING GC False*", "*RUNNING GC True*"])
    assert gc.isenabled()
    broken = printing.pytester.runpytest_inprocess("-p", "no:cacheprovider", "-s", "no/such/path")
    assert broken.ret == pytest.ExitCode.USAGE_ERROR
    assert gc.isenabled()


def test_a_teams_conftest_runtest_hooks_still_run_for_test_cases(printing: DetectionRepo) -> None:
    """A detection repository's conftest.py with ``pytest_runtest_setup``/``_teardown`` (here a skip
    condition and a teardown record): the one-phase protocol must not bypass them silently."""
    printing.pytester.makeconftest(PHASE_COUNTER + """
import pytest

def pytest_runtest_setup(item):
    if "wrongly" in item.name:
        pytest.skip("skipped by the team's conftest")

def pytest_runtest_teardown(item):
    print("TEARDOWN-HOOK", item.name)
""")
    result = printing.pytester.runpytest("-p", "no:cacheprovider", "-rs", "-s")
    result.assert_outcomes(passed=2, skipped=1)
    result.stdout.fnmatch_lines(["PHASES setup=3 call=2 teardown=3"])
    result.stdout.fnmatch_lines(["SKIPPED*skipped by the team's conftest*"])
    assert result.stdout.str().count("TEARDOWN-HOOK") == 3


def test_runxfail_no_logging_and_durations(printing: DetectionRepo) -> None:
    printing.pytester.makeconftest("""
import pytest

def pytest_collection_modifyitems(items):
    for item in items:
        if "wrongly" in item.name:
            item.add_marker(pytest.mark.xfail(reason="known gap"))
""")
    xfail = printing.pytester.runpytest("-p", "no:cacheprovider")
    xfail.assert_outcomes(passed=2, xfailed=1)
    run = printing.pytester.runpytest("-p", "no:cacheprovider", "--runxfail")
    run.assert_outcomes(passed=2, failed=1)  # --runxfail: the xfail mark is ignored
    # A subprocess: in-process, the outer run's log handlers would take the record.
    no_logging = printing.pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:logging", "-rP")
    no_logging.assert_outcomes(passed=2, xfailed=1)
    # Without the logging plugin, the record reaches stderr (logging's last resort), captured.
    no_logging.stdout.fnmatch_lines(["*Captured stdout call*", "printed by the rule: Bad",
                                     "*Captured stderr call*", "logged by the rule: Bad"])
    assert "Captured log" not in no_logging.stdout.str()
    durations = printing.pytester.runpytest("-p", "no:cacheprovider", "--durations=0", "-vv")
    durations.stdout.fnmatch_lines(["*slowest durations*", "*call*rules/printing.yml::Test.Printing::bad alerts*"])


def test_autouse_fixtures_of_a_teams_conftest_run_for_test_cases(printing: DetectionRepo) -> None:
    """A team's conftest.py in the detection repository with autouse fixtures (function- and
    session-scoped): they are set up and torn down around each test case, as for Python tests."""
    printing.pytester.makeconftest("""
import os
import pytest

@pytest.fixture(scope="session", autouse=True)
def once():
    print("SESSION-UP")
    yield
    print("SESSION-DOWN")

@pytest.fixture(autouse=True)
def each(request, monkeypatch):
    monkeypatch.setenv("TEAM_FIXTURE", request.node.name)
    print("EACH-UP", request.node.name)
    yield
    print("EACH-DOWN", request.node.name)
""")
    result = printing.pytester.runpytest("-p", "no:cacheprovider", "-s")
    result.assert_outcomes(passed=2, failed=1)
    out = result.stdout.str()
    assert out.count("SESSION-UP") == 1 and out.count("SESSION-DOWN") == 1
    assert out.count("EACH-UP") == 3 and out.count("EACH-DOWN") == 3
    shown = printing.pytester.runpytest("-p", "no:cacheprovider", "--setup-show")
    shown.stdout.fnmatch_lines(["*SETUP    S once*", "*SETUP    F each*", "*rules/printing.yml::Test.Printing::bad alerts*"])


def test_module_scoped_autouse_fixtures_are_named_not_silently_skipped(printing: DetectionRepo) -> None:
    printing.pytester.makeconftest("""
import pytest

@pytest.fixture(scope="module", autouse=True)
def per_module():
    yield
""")
    result = printing.pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*fixtures not applied to detection test cases: per_module (module- or package-scoped*"])
