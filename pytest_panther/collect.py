"""Collection nodes: one ``SpecFile`` per spec YAML, one ``DetectionNode`` per detection, one
``TestCaseItem`` per entry of ``Tests:``.

Node ids are ``<spec path>::<detection ID>::<test name>``; a repeated test name gets an error item
``<name> [#k]`` instead of being merged. Problems found by validation become a failing
``<spec path>::validate`` item, so they show in the exit code and in JUnit, while every other
detection still runs.
"""
from __future__ import annotations

import functools
import os
import sys
import warnings
from collections.abc import Iterable
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _pytest.fixtures import FuncFixtureInfo
from _pytest.fixtures import TopRequest

from pytest_panther import report
from pytest_panther.engine.runner import run_item
from pytest_panther.session import PantherSession
from pytest_panther.spec.findings import STRICT_NOTE
from pytest_panther.spec.findings import PantherSpecWarning
from pytest_panther.spec.findings import split
from pytest_panther.spec.model import Spec
from pytest_panther.spec.model import TestCase

__all__ = ["DetectionNode", "ItemKind", "MinimumTestsItem", "ProblemItem", "PythonFile", "SpecFile", "TestCaseItem"]


class ItemKind:
    """What an item is, as the ``panther_kind`` attribute of items and their reports (it survives
    pytest-xdist); never guessed from a node id, which a test name can imitate."""

    TEST_CASE = "test_case"
    VALIDATE = "validate"
    DUPLICATE_TEST = "duplicate_test"
    MINIMUM_TESTS = "minimum_tests"
    #: A Python test file of the repository that does not import.
    IMPORT = "import"


#: In the skip reason of a ``[minimum tests]`` item that is listed, not failed (the summary lists it).
LISTED_BELOW_MINIMUM = "listed, not failed"


class PantherFailure(Exception):
    """A detection test failed; ``str()`` is the full report for a person."""


def _shown(text: str, node: pytest.Item | pytest.Collector) -> str:
    """``text`` with absolute paths under the rootdir made relative to where pytest was run."""
    root = str(node.config.rootpath)
    here = node.config.invocation_params.dir
    if str(here).startswith(root + os.sep):  # run from a subfolder: its own files without a prefix
        text = text.replace(str(here) + os.sep, "")
    prefix = os.path.relpath(root, here)
    prefix = "" if prefix == "." else prefix + os.sep
    return text.replace(root + os.sep, prefix)


def _relative(path: Path, config: pytest.Config) -> str:
    """``path`` relative to the rootdir (as JUnit consumers expect), else as it is."""
    return Path(path).relative_to(config.rootpath).as_posix() if Path(path).is_relative_to(config.rootpath) else str(path)


class SpecFile(pytest.File):
    """One analysis spec file (or a YAML file under the panther paths that failed to parse)."""

    def __init__(self, *, panther: PantherSession, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.panther = panther

    def collect(self) -> Iterator[pytest.Item | pytest.Collector]:
        path = self.path.resolve()
        problems, suspicious = split(self.panther.problems.get(path, []))
        if self.panther.settings.strict:
            problems = sorted([*problems, *suspicious], key=lambda e: (e.line, e.col, e.message))
        else:
            for finding in suspicious:  # Panther accepts these: the warnings summary, file:line
                shown = _shown(str(finding), self)
                warnings.warn_explicit(
                    PantherSpecWarning(f"{shown} {STRICT_NOTE}"),
                    PantherSpecWarning, shown.split(":", 1)[0], finding.line,
                )
        spec = self.panther.repo.by_path.get(path)
        if problems:
            item = ProblemItem.from_parent(self, name="validate", problems=[str(p) for p in problems])
            item.user_properties.append(("panther_problem_file", str(path)))
            if spec is not None and spec.is_detection and spec.id:
                item.user_properties.append(("panther_detection", spec.id))
            yield item
        if spec is not None and spec.is_detection and spec.id:
            if self.panther.collected_specs is None:
                self.panther.collected_specs = set()
            self.panther.collected_specs.add(spec.path)
            yield DetectionNode.from_parent(self, name=spec.id, spec=spec)


class DetectionNode(pytest.Collector):
    """A detection; its children are its test cases."""

    def __init__(self, *, spec: Spec, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec = spec
        if self.config.pluginmanager.hasplugin("xdist") and self.config.getoption("dist", "no") != "no":
            self.add_marker(pytest.mark.xdist_group(name=str(spec.path)))
        for marker in _markers(spec):
            self.add_marker(marker)
        # No extra -k keywords: every report copies its item's keywords and the terminal keeps all
        # reports, so each keyword costs ~10k dict entries on panther-analysis. Select log types,
        # tags and severities with -m (markers above); -k matches IDs and test names.

    @property
    def panther(self) -> PantherSession:
        assert isinstance(self.parent, SpecFile)
        return self.parent.panther

    @functools.cached_property
    def fixture_info(self) -> FuncFixtureInfo | None:
        """The fixtures a team's conftest.py makes autouse (or ``usefixtures`` marks) for the test
        cases of this detection, shared by them as pytest shares it among parametrized functions;
        None without any. Module- and package-scoped ones need a Python module above the item,
        which a spec file is not: those are named in a warning, and the test cases get none."""
        info = self.session._fixturemanager.getfixtureinfo(node=self, func=None, cls=None)  # type: ignore[arg-type]
        if not info.names_closure:
            return None
        scoped = sorted(name for name, defs in info.name2fixturedefs.items()
                        if defs and defs[-1].scope in ("module", "package"))
        if scoped:
            warnings.warn_explicit(pytest.PytestWarning(
                f"fixtures not applied to detection test cases: {', '.join(scoped)} "
                "(module- or package-scoped; a spec file is no Python module: make them function- or session-scoped)"
            ), pytest.PytestWarning, str(self.path), 1)
            return None
        return info

    def _child_id(self, name: str) -> str | None:
        """The node id of a child named ``name`` as text, for pytest to parse as it parses the ids
        ``--lf`` reads back from its cache; None (pytest builds it) when that parse would not give
        the name back.

        pytest 9 compares structured ids, parsed as ``path::names[params]`` from the first ``[``:
        without this, ``[minimum tests]``, ``same [#2]`` or ``a::b`` never match their cached
        failure and ``--lf`` reruns everything. A name with a ``[`` not at its end (``Other [x]
        user``) cannot round-trip that parse (pytest would show ``Other [x] user]``); it keeps
        pytest's own id, and ``--lf`` reruns all tests for it.
        """
        nodeid = f"{self.nodeid}::{name}"
        tail = nodeid.partition("::")[2]
        return nodeid if "[" not in tail or tail.endswith("]") else None

    def collect(self) -> Iterator[pytest.Item]:
        settings = self.panther.settings
        cases = self.panther.test_cases_of(self.spec)
        seen: dict[str, TestCase] = {}
        last: TestCaseItem | None = None
        for case in cases:
            name = case.name
            first = seen.get(name)
            if first is not None:
                dup = f"{name} [#{case.index + 1}]"
                yield ProblemItem.from_parent(
                    self,
                    name=dup,
                    kind=ItemKind.DUPLICATE_TEST,
                    test_name=name,
                    nodeid=self._child_id(dup),
                    problems=[f"{self.spec.path}:{case.line}:1: duplicate test name {name!r} "
                              f"(first used on line {first.line}; test names must be unique per detection)"],
                )
                continue
            seen[name] = case
            item = last = TestCaseItem.from_parent(self, name=name, nodeid=self._child_id(name), spec=self.spec, case=case)
            if self.spec.excluded:  # an override says the fork does not run it
                item.add_marker(pytest.mark.skip(reason=self.spec.excluded))
            elif settings.skip_disabled and not self.spec.enabled:
                item.add_marker(pytest.mark.skip(reason="detection disabled (--panther-skip-disabled)"))
            yield item
        if last is not None:
            last.releases_detection = True
        shortfall = minimum_tests_shortfall(self.spec, cases, settings.minimum_tests)
        if shortfall:
            name = "[minimum tests]"
            check = MinimumTestsItem.from_parent(self, name=name, nodeid=self._child_id(name), message=shortfall)
            check.user_properties.append(("panther_detection", self.spec.id))
            listed = self.panther.minimum_tests_listed_only(self.spec)
            if self.spec.excluded:  # an override says the fork does not run it
                check.add_marker(pytest.mark.skip(reason=self.spec.excluded))
            elif settings.skip_disabled and not self.spec.enabled:
                check.add_marker(pytest.mark.skip(reason="detection disabled (--panther-skip-disabled)"))
            elif listed is not None:  # a skip with the reason, so that it is listed, not failed
                check.add_marker(pytest.mark.skip(reason=f"{listed} ({LISTED_BELOW_MINIMUM}): {shortfall.split(': ', 2)[-1]}"))
            yield check


def minimum_tests_shortfall(spec: Spec, cases: list[TestCase], minimum: int) -> str:
    """PAT's ``--minimum-tests`` rule (semantics.md §5.8): fewer than N tests, or, for N >= 2, no
    true and false ``ExpectedResult`` pair. Returns the message, or "" when the detection meets it."""
    if minimum <= 0:
        return ""
    problems = []
    if len(cases) < minimum:
        problems.append(f"{minimum} tests required but only {len(cases)} found")
    results = [c.data.get("ExpectedResult") for c in cases if isinstance(c.data, dict)]
    if minimum > 1 and not (any(r for r in results) and any(not r for r in results)):
        problems.append("expected at least one positive (ExpectedResult: true) and one negative (false) test")
    if not problems:
        return ""
    return f"{spec.path}:1:1: insufficient test coverage for {spec.id}: " + "; ".join(problems)


def _markers(spec: Spec) -> list[pytest.MarkDecorator]:
    marks = [
        pytest.mark.panther(id=spec.id, kind=spec.kind, severity=spec.severity, enabled=spec.enabled),
        getattr(pytest.mark, spec.kind),
        pytest.mark.enabled if spec.enabled else pytest.mark.disabled,
    ]
    if spec.severity:
        marks.append(getattr(pytest.mark, f"severity_{spec.severity.lower()}"))
    marks.extend(pytest.mark.log_type(name=log_type) for log_type in spec.log_types)
    marks.extend(pytest.mark.tag(name=tag) for tag in spec.tags)
    return marks


class TestCaseItem(pytest.Item):
    """One entry of a detection's ``Tests:``."""

    __test__ = False
    panther_kind = ItemKind.TEST_CASE

    def __init__(self, *, spec: Spec, case: TestCase, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec = spec
        self.case = case
        self.user_properties.append(("panther_detection", spec.id))
        if report.details_wanted(self.config):
            # The spec file and line of the case (an override file for a case an override added), as
            # JUnit properties; the node id starts with the spec file's path relative to the rootdir.
            where = sys.intern(_relative(case.path, self.config) if case.path else self.nodeid.split("::", 1)[0])
            self.user_properties += [("panther_file", where), ("panther_line", case.line)]
        self.test_name = case.name
        info = self.parent.fixture_info if isinstance(self.parent, DetectionNode) else None
        if info is not None:  # what pytest's fixture machinery reads on an item
            self._fixtureinfo = info
            self.funcargs: dict[str, object] = {}
        #: Names of the fixtures set up for this test case (pytest's attribute, read by --setup-show).
        self.fixturenames: list[str] = info.names_closure if info is not None else []
        #: The detection's last test case: its module is dropped afterwards (a run keeps one
        #: detection module alive at a time, not all ~1,000 of panther-analysis).
        self.releases_detection = False

    @property
    def panther(self) -> PantherSession:
        assert isinstance(self.parent, DetectionNode)
        return self.parent.panther

    def setup(self) -> None:
        """Autouse fixtures of a team's conftest.py (:attr:`DetectionNode.fixture_info`)."""
        if self.fixturenames:
            self._request = TopRequest(self, _ispytest=True)  # type: ignore[arg-type]
            self._request._fillfixtures()

    def runtest(self) -> None:
        alert: list[tuple[str, str]] | None = [] if report.details_wanted(self.config) else None
        try:
            failure = run_item(self.panther, self.spec, self.case, alert)
        finally:
            if self.releases_detection:
                self.panther.release(self.spec)
        # What the alert would carry: JUnit properties, and -v / -rA output (report.alert_lines).
        if alert:
            self.user_properties.extend((f"{report.ALERT_PREFIX}{name}", output) for name, output in alert)
        if failure is not None:
            # Raised with the detection's own traceback, so that --pdb opens at its failing line.
            raise PantherFailure(failure).with_traceback(report.own_traceback(getattr(failure, "cause", None)))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str | Any:
        if isinstance(excinfo.value, PantherFailure):
            return _shown(str(excinfo.value), self)
        return report.internal_error(self.spec, self.case, excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.case.path or self.path, self.case.line - 1, f"{self.spec.id}: {self.name}"


class ProblemItem(pytest.Item):
    """Fails with validation problems (each ``path:line:col: message (hint)``)."""

    def __init__(self, *, problems: list[str], kind: str = ItemKind.VALIDATE, test_name: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.problems = problems
        self.panther_kind = kind
        #: The test case name a duplicate-name item is about (None for other problems).
        self.test_name = test_name

    def runtest(self) -> None:
        raise PantherFailure("\n".join(self.problems))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str | Any:
        return _shown(str(excinfo.value), self)

    def reportinfo(self) -> tuple[Path, int, str]:
        parent = self.parent.name if isinstance(self.parent, DetectionNode) else self.path.name
        return self.path, 0, f"{parent}: {self.name}"


class PythonFile(pytest.Module):
    """A Python test file of the repository (``global_helpers/*_test.py`` …) that never stops the
    run: when it does not import, it becomes one failing item naming the cause's ``file:line``
    (a syntax error in a global helper it imports, a missing package), and every other test runs.
    A file that imports PAT itself, which is not installed, is skipped with that reason."""

    def collect(self) -> Iterable[pytest.Item | pytest.Collector]:
        try:
            return list(super().collect())
        except Exception as exc:  # pytest's CollectError wraps the import error as its cause
            cause = exc.__cause__ if isinstance(exc, pytest.Collector.CollectError) and exc.__cause__ else exc
            if isinstance(cause, ModuleNotFoundError) and (cause.name or "").split(".")[0] == "panther_analysis_tool":
                pytest.skip(f"{self.path.name} imports panther_analysis_tool, which is not installed",
                            allow_module_level=True)
            message = f"{self.path}: could not be imported, so its tests did not run: {report.import_failure(cause)}"
            return [ProblemItem.from_parent(self, name="import", problems=[message], kind=ItemKind.IMPORT)]


class MinimumTestsItem(ProblemItem):
    """Fails when a detection has fewer tests than ``--panther-minimum-tests`` asks for."""

    def __init__(self, *, message: str, **kwargs: Any) -> None:
        super().__init__(problems=[message], kind=ItemKind.MINIMUM_TESTS, **kwargs)
