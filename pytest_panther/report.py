"""Failure reports a detection engineer can act on.

Every report starts with ``<spec>:<line>: <detection ID> / <test name>`` (the line of the failing
test case), says what was expected and what happened, which function failed, and shows the
traceback cut to the repository's own Python frames (the detection, global helpers, data models)
— never panther-core or plugin internals.
"""
from __future__ import annotations

import json
import sysconfig
import traceback
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

from pytest_panther.engine.verdict import Verdict
from pytest_panther.spec.model import Spec
from pytest_panther.spec.model import TestCase

__all__ = [
    "ALERT_PREFIX", "alert_lines", "details_wanted", "case_problem", "correlation_failure", "import_failure",
    "internal_error", "missing_module", "own_traceback", "setup_failure", "verdict_failure",
]

_PACKAGE_DIR = str(Path(__file__).resolve().parent)
_LIBRARY_DIRS = tuple(
    {str(Path(p).resolve()) for key in ("stdlib", "platstdlib", "purelib", "platlib") if (p := sysconfig.get_paths().get(key))}
)


#: Prefix of the user properties (and JUnit properties) that hold what an alert would carry.
ALERT_PREFIX = "panther_alert_"


_DETAILS_WANTED = pytest.StashKey[bool]()


def details_wanted(config: pytest.Config) -> bool:
    """Whether something shows per-case details (what the alert would carry, the spec file and
    line): ``-v``, ``-rA``/``-rP``, a JUnit report or a report log. Otherwise they are not kept
    as user properties (about 5 MB of peak memory on panther-analysis)."""
    wanted = config.stash.get(_DETAILS_WANTED, None)
    if wanted is None:
        chars = str(getattr(config.option, "reportchars", "") or "")
        wanted = config.stash[_DETAILS_WANTED] = bool(
            config.get_verbosity() >= 1 or "A" in chars or "P" in chars
            or getattr(config.option, "xmlpath", None) or getattr(config.option, "reportlog", None)
        )
    return wanted


def alert_lines(properties: list[tuple[str, object]], width: int | None) -> list[str]:
    """What the alert of a test case would carry, one ``name: output`` line per function that
    produced a value (title, dedup, alert_context, …, in PAT's order), as PAT prints it for every
    alerting test; each line cut to ``width`` characters when given."""
    lines = []
    for key, value in properties:
        if key.startswith(ALERT_PREFIX):
            line = f"{key.removeprefix(ALERT_PREFIX)}: {value}"
            if width is not None and len(line) > width:
                line = line[: max(width - 1, 10)] + "…"
            lines.append(line)
    return lines


def _where(spec: Spec, case: TestCase) -> str:
    """``file:line`` of the test case (an override file for a case an override added)."""
    return f"{case.path or spec.path}:{case.line}"


def _header(spec: Spec, case: TestCase) -> str:
    return f"{_where(spec, case)}: {spec.kind.replace('_', ' ')} {spec.id} / test {case.name!r}"


def _is_own(filename: str) -> bool:
    """A frame of the repository's code: not the standard library, an installed package or us."""
    return (
        not filename.startswith(_LIBRARY_DIRS)
        and "site-packages" not in filename
        and not filename.startswith(_PACKAGE_DIR)
        and not filename.startswith("<")
    )


def _own_frames(exc: BaseException) -> str:
    """The traceback of ``exc`` limited to the repository's own files."""
    frames = [frame for frame in traceback.extract_tb(exc.__traceback__) if _is_own(frame.filename)]
    if not frames:
        return ""
    lines = "".join(traceback.format_list(frames)).rstrip("\n")
    return "    Traceback (detection code only):\n" + "\n".join("    " + line for line in lines.splitlines())


def own_traceback(exc: BaseException | None) -> TracebackType | None:
    """A copy of ``exc``'s traceback that ends at its last frame in the repository's own code (the
    detection, a global helper, a data model), or None when it has no such frame. Raised with a
    failure, it makes ``pytest --pdb`` open at the detection's line instead of the plugin's."""
    entries = []
    tb = exc.__traceback__ if exc is not None else None
    while tb is not None:
        entries.append(tb)
        tb = tb.tb_next
    own = [i for i, entry in enumerate(entries) if _is_own(entry.tb_frame.f_code.co_filename)]
    result = None
    for entry in reversed(entries[: own[-1] + 1] if own else []):
        result = TracebackType(result, entry.tb_frame, entry.tb_lasti, entry.tb_lineno)
    return result


def _describe(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def _outcome_words(spec: Spec, expected: bool) -> str:
    if spec.analysis_type == "policy":
        return "compliant (policy returns true)" if expected else "non-compliant, an alert (policy returns false)"
    return "an alert (rule returns true)" if expected else "no alert (rule returns false)"


def verdict_failure(spec: Spec, case: TestCase, verdict: Verdict) -> str:
    out = [_header(spec, case)]
    out.append(f"  expected: {_outcome_words(spec, verdict.expected)}  (ExpectedResult: {str(verdict.expected).lower()})")
    matcher = "policy" if spec.analysis_type == "policy" else "rule"
    got = verdict.detection_output
    if verdict.filters_matched is False:
        out.append("  actual:   InlineFilters did not match, so rule() did not run (filters evaluated locally)")
    elif matcher in verdict.exceptions:
        out.append(f"  actual:   {matcher}() raised {_exc_text(verdict.exceptions[matcher])}")
    elif got is None:
        out.append(f"  actual:   {matcher}() returned nothing")
    else:
        out.append(f"  actual:   {matcher}() returned {_describe(got)}")
    for line in verdict.lines:
        if line.failed:
            what = line.error or f"returned {line.output} (not as expected)"
            out.append(f"  [FAIL] {line.name}: {what}")
    # An error without a function line (CreateAlert: false blanks them, as PAT does) still fails
    # the test: say which function raised and why.
    shown = {line.name for line in verdict.lines if line.failed} | {matcher, "unique"}
    out.extend(f"  [FAIL] {name}: {_exc_text(exc)}" for name, exc in verdict.exceptions.items() if name not in shown)
    if verdict.destinations_mismatch is not None:
        want, have = verdict.destinations_mismatch
        out.append(f"  [FAIL] destinations: expected {want}, got {have} (ExpectedDestinations)")
    if verdict.unique_error is not None and not any(line.name == "unique" for line in verdict.lines):
        out.append(f"  [FAIL] unique: {_exc_text(verdict.unique_error)}")
    for name, exc in verdict.exceptions.items():
        frames = _own_frames(exc)
        if frames:
            out.append(f"  in {name}():")
            out.append(frames)
    if spec.kind == "simple_detection":
        out.append("  (a YAML simple detection, evaluated locally by pytest-panther)")
    return "\n".join(out)


def _exc_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def setup_failure(spec: Spec, case: TestCase, error: BaseException) -> str:
    py = spec.python_path
    if isinstance(error, FileNotFoundError) and spec.kind == "derived" and py is None:
        text = f"BaseDetection {spec.data.get('BaseDetection')!r} is not a spec of this repository with a Filename"
    elif isinstance(error, FileNotFoundError) and py is None:
        text = "the spec has no Filename, so there is no code to run"
    elif isinstance(error, FileNotFoundError):
        text = f"Filename {spec.data.get('Filename')!r} does not exist (looked for {py})"
    elif isinstance(error, SyntaxError):
        text = f"{error.filename}:{error.lineno}:{error.offset or 1}: syntax error: {error.msg}"
    else:
        text = f"{_exc_text(error)}"
    if isinstance(error, ModuleNotFoundError):
        text = missing_module(error)
    frames = _own_frames(error)
    body = f"{_header(spec, case)}\n  the detection's module could not be loaded: {text}"
    return body + ("\n" + frames if frames else "")


def missing_module(error: ModuleNotFoundError) -> str:
    """One line for an import that neither Panther's runtime nor the repository provides."""
    name = (error.name or str(error)).split(".")[0]
    return (
        f"no module named {name!r}: neither Panther's runtime nor this repository provides it "
        f"(a global helper needs GlobalID {name!r}; a package must be installed in this environment, "
        "e.g. `pip install <package>`, and listed in the repository's requirements)"
    )


def import_failure(error: BaseException) -> str:
    """``file:line: what`` for a module that failed to import (a syntax error in it or in a global
    helper it imports, a missing package, an exception at import time)."""
    if isinstance(error, SyntaxError):
        return f"{error.filename}:{error.lineno}:{error.offset or 1}: syntax error: {error.msg}"
    if isinstance(error, ModuleNotFoundError):
        return missing_module(error)
    frames = [frame for frame in traceback.extract_tb(error.__traceback__) if _is_own(frame.filename)]
    where = f"{frames[-1].filename}:{frames[-1].lineno}: " if frames else ""
    return f"{where}{_exc_text(error)}"


def case_problem(spec: Spec, case: TestCase, message: str, hint: str = "") -> str:
    suffix = f" ({hint})" if hint else ""
    return f"{_where(spec, case)}:1: {spec.id} / test {case.name!r}: {message}{suffix}"


def correlation_failure(spec: Spec, case: TestCase, explanation: str) -> str:
    return f"{_header(spec, case)}\n  {explanation}"


def internal_error(spec: Spec, case: TestCase, excinfo: pytest.ExceptionInfo[BaseException]) -> str:
    return (
        f"{_header(spec, case)}\n  unexpected error while running the test: {_exc_text(excinfo.value)}\n"
        + "".join(traceback.format_exception(excinfo.value))
    )
