"""pytest hooks of pytest-panther (hooks only; the work is in the other modules).

Registered through the ``pytest11`` entry point ``panther``, so ``pytest`` in a detection
repository collects every test case of every detection.
"""
from __future__ import annotations

import shutil
from collections.abc import Generator
from pathlib import Path

import pytest

from pytest_panther import hookspecs
from pytest_panther.collect import PythonFile
from pytest_panther.collect import SpecFile
from pytest_panther.collect import TestCaseItem
from pytest_panther.options import add_options
from pytest_panther.options import settings_from_config
from pytest_panther.protocol import freeze_collected
from pytest_panther.protocol import one_phase_allowed
from pytest_panther.protocol import pause_gc
from pytest_panther.protocol import resume_gc
from pytest_panther.protocol import run_one_phase
from pytest_panther.protocol import thaw
from pytest_panther.report import alert_lines
from pytest_panther.selection import apply_selection
from pytest_panther.selection import change_of
from pytest_panther.selection import ignore_unaffected
from pytest_panther.selection import merge_worker_output
from pytest_panther.selection import without_tests
from pytest_panther.selection import worker_output
from pytest_panther.session import PantherSession
from pytest_panther.summary import Summary

SESSION = pytest.StashKey[PantherSession]()
SUMMARY = pytest.StashKey[Summary]()

_MARKERS = (
    "panther(id, kind, severity, enabled): a Panther detection test case (pytest-panther)",
    "rule: test case of a rule", "scheduled_rule: test case of a scheduled rule",
    "policy: test case of a policy", "correlation_rule: test case of a correlation rule",
    "simple_detection: test case of a YAML simple detection", "derived: test case of a derived detection",
    "enabled: detection has Enabled: true", "disabled: detection is not enabled",
    "severity_info: Severity Info", "severity_low: Severity Low", "severity_medium: Severity Medium",
    "severity_high: Severity High", "severity_critical: Severity Critical",
    "log_type(name): the detection covers this log type or resource type",
    "tag(name): the detection carries this tag",
    "xdist_group(name): pytest-xdist group (one per detection, for --dist loadgroup)",
)


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


def pytest_configure(config: pytest.Config) -> None:
    for line in _MARKERS:
        config.addinivalue_line("markers", line)
    settings = settings_from_config(config)
    config.stash[SESSION] = PantherSession(config, settings)
    summary = Summary()
    config.stash[SUMMARY] = summary
    # A plugin object, so that its pytest_runtest_logreport also sees xdist workers' reports.
    config.pluginmanager.register(summary, "panther-summary")
    if config.get_verbosity() >= 1:
        config.pluginmanager.register(_AlertEcho(config), "panther-alert-echo")


def pytest_sessionstart(session: pytest.Session) -> None:
    panther = session.config.stash[SESSION]
    panther.start()
    if session.config.args_source == pytest.Config.ArgsSource.ARGS:
        session.config.args[:] = panther.spec_args(session.config.args, session.config.invocation_params.dir)


@pytest.hookimpl(wrapper=True)
def pytest_collection(session: pytest.Session) -> Generator[None, object, object]:
    # Not before: parsing YAML (a cold run) leaves cyclic garbage the collector must free.
    pause_gc(session.config)
    try:
        return (yield)
    finally:
        resume_gc(session.config)


def pytest_sessionfinish(session: pytest.Session) -> None:
    panther = session.config.stash.get(SESSION, None)
    if panther is not None:
        workeroutput = getattr(session.config, "workeroutput", None)  # a pytest-xdist worker
        if isinstance(workeroutput, dict):
            workeroutput.update(worker_output(panther, session.config))
        panther.finish()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: object, error: object) -> None:
    """pytest-xdist controller: a worker's collection facts, for the summary."""
    config = getattr(node, "config", None)
    output = getattr(node, "workeroutput", None)
    if isinstance(config, pytest.Config) and isinstance(output, dict) and SESSION in config.stash:
        merge_worker_output(config.stash[SESSION], config, output)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    return ignore_unaffected(config.stash[SESSION], config, collection_path)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> SpecFile | None:
    panther = parent.config.stash[SESSION]
    if file_path.suffix in (".yml", ".yaml"):
        if not panther.spec_file_known(file_path):
            return None
    elif str(file_path) not in panther.problem_files:  # e.g. a bad [tool.pytest-panther] table
        return None
    return SpecFile.from_parent(parent, path=file_path, panther=panther)


def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    """Python test files under the rootdir of a detection repository never stop the run: one that
    does not import is an error on that file only (:class:`~pytest_panther.collect.PythonFile`)."""
    if module_path.name == "__init__.py":
        return None
    panther = parent.config.stash[SESSION]
    if not panther.repo.specs or not module_path.is_relative_to(panther.root):
        return None
    return PythonFile.from_parent(parent, path=module_path)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    apply_selection(config.stash[SESSION], config, items)


def pytest_collection_finish(session: pytest.Session) -> None:
    freeze_collected(session.config)


def pytest_unconfigure(config: pytest.Config) -> None:
    resume_gc(config)  # a run that stopped before collecting
    thaw(config)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> bool | None:
    """Test cases whose setup and teardown phases would do nothing run the call phase only
    (:mod:`pytest_panther.protocol`); every other item gets pytest's normal protocol."""
    if isinstance(item, TestCaseItem) and one_phase_allowed(item, nextitem):
        run_one_phase(item, nextitem)
        return True
    return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    kind = getattr(item, "panther_kind", None)
    if kind is not None:
        report.panther_kind = kind  # type: ignore[attr-defined]  # read by the summary, kept by xdist
    if isinstance(item, TestCaseItem) and report.when == "call":
        shown = alert_lines(report.user_properties, None)
        if shown and report.passed:  # -rP / -rA show it among the passes
            report.sections.append(("panther alert", "\n".join(shown)))
        failure = str(report.longrepr) if report.failed else None
        item.config.hook.pytest_panther_test_case_result(item=item, passed=report.passed, failure=failure)
    return report


class _AlertEcho:
    """With ``-v``, what the alert of a passing alerting test case would carry, under its PASSED
    line (each value cut to the terminal width; ``-vv`` shows them whole). A plugin object, so
    that it also sees pytest-xdist workers' reports."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.hookimpl(trylast=True)  # after the terminal reporter wrote PASSED
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call" or not report.passed or not report.user_properties:
            return
        terminal = self.config.pluginmanager.get_plugin("terminalreporter")
        if terminal is None:
            return
        width = None if self.config.get_verbosity() > 1 else max(shutil.get_terminal_size().columns - 4, 40)
        lines = alert_lines(report.user_properties, width)
        if lines:  # left open, as pytest leaves the PASSED line: its next write ends it
            terminal.write("".join(f"\n    {line}" for line in lines))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    panther = config.stash.get(SESSION, None)
    change = change_of(panther, config) if panther is not None and panther.settings.changed_since else None
    if change is not None and (change.left_out or change.specs_left_out):
        root = config.rootpath
        names = sorted(p.relative_to(root).as_posix() if p.is_relative_to(root) else str(p) for p in change.left_out)
        since = config.stash[SESSION].settings.changed_since
        terminalreporter.write_line(
            f"--panther-changed-since {since}: not collected, as the change does not affect them: "
            f"{change.specs_left_out} spec files, {len(names)} Python test files"
            + (" (" + ", ".join(names) + ")" if names and config.get_verbosity() >= 1 else "")
        )
    summary = config.stash.get(SUMMARY, None)
    if summary is None:
        return
    if not summary.outcomes and not summary.invalid_files:
        return
    summary.outside_paths = config.stash[SESSION].specs_outside_paths()
    found = without_tests(config.stash[SESSION], config)
    summary.without_tests = None if found is None else sorted(found)
    verbose = config.get_verbosity() >= 0
    lines = summary.lines(verbose)
    if verbose:
        terminalreporter.write_sep("-", "panther summary")
    for line in lines:
        terminalreporter.write_line(line)

