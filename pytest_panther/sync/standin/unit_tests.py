"""The stand-in runs an upload's unit tests with this project's engine, as Panther runs them
before it saves (sync-contract.md §1.3: a failing test refuses the write).

The upload's files are laid out in a temporary directory next to what the stand-in already holds
that the tests may need: every deployed global helper and data model, and the base detection of
a derived detection. Then each detection's ``Tests`` run through
:func:`pytest_panther.engine.runner.run_item`, the code path of the pytest plugin (panther-core
verdicts, data models, mocks). The first failure is the answer: ``test 'name': what went
wrong``. Runs are serialised (global helpers are importable process-wide while they run).
"""
from __future__ import annotations

import json
import re
import tempfile
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from pytest_panther.spec.yaml import dump

__all__ = ["first_failure"]

_LOCK = threading.Lock()


def _write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


_UPLOADED_ID = re.compile(r"^(?:GlobalID|DataModelID):[ \t]*['\"]?([^'\"#\r\n]+?)['\"]?[ \t]*$", re.MULTILINE)


def _deployed_context(root: Path, state: dict[str, dict[str, dict[str, Any]]], bases: set[str], uploaded: set[str]) -> None:
    """Global helpers, data models and named base detections the stand-in holds, as spec files
    (not those the upload itself brings: its new version is the one its tests must use)."""
    for key, obj in state.get("globals", {}).items():
        if key in uploaded:
            continue
        if isinstance(obj.get("body"), str):
            _write(root, f"global_helpers/_deployed_{key}.py", obj["body"])
            _write(root, f"global_helpers/_deployed_{key}.yml", dump({"AnalysisType": "global", "GlobalID": key, "Filename": f"_deployed_{key}.py"}))
    for key, obj in state.get("data-models", {}).items():
        if key in uploaded:
            continue
        spec: dict[str, Any] = {
            "AnalysisType": "datamodel", "DataModelID": key, "Enabled": obj.get("enabled", True),
            "LogTypes": obj.get("logTypes") or [],
            "Mappings": [{k.capitalize(): v for k, v in m.items()} for m in obj.get("mappings") or []],
        }
        if isinstance(obj.get("body"), str):
            _write(root, f"data_models/_deployed_{key}.py", obj["body"])
            spec["Filename"] = f"_deployed_{key}.py"
        _write(root, f"data_models/_deployed_{key}.yml", dump(spec))
    for base in bases:
        found = state.get("rules", {}).get(base) or state.get("policies", {}).get(base)
        if found is None or not isinstance(found.get("body"), str):
            continue
        kind = "policy" if base in state.get("policies", {}) else "rule"
        _write(root, f"rules/_deployed_base_{base}.py", found["body"])
        spec = {"AnalysisType": kind, "PolicyID" if kind == "policy" else "RuleID": base, "Filename": f"_deployed_base_{base}.py",
                "Severity": str(found.get("severity", "INFO")).capitalize(), "Enabled": True}
        if found.get("logTypes"):
            spec["LogTypes"] = found["logTypes"]
        _write(root, f"rules/_deployed_base_{base}.yml", dump(spec))


def first_failure(files: dict[str, str], state: dict[str, dict[str, dict[str, Any]]], ids: set[str]) -> tuple[str, str] | None:
    """``(detection ID, "test 'name': why")`` for the first failing test of the detections
    ``ids`` in ``files`` (an upload), or None when all pass."""
    from pytest_panther.engine.runner import run_item
    from pytest_panther.options import Settings
    from pytest_panther.session import PantherSession

    bases = set()
    for text in files.values():
        if "BaseDetection" in text:
            for line in text.splitlines():
                if line.startswith("BaseDetection:"):
                    bases.add(line.split(":", 1)[1].strip().strip("'\""))
    with _LOCK, tempfile.TemporaryDirectory(prefix="standin-tests-") as tmp:
        root = Path(tmp)
        uploaded = {m.group(1) for text in files.values() for m in _UPLOADED_ID.finditer(text)}
        _deployed_context(root, state, bases, uploaded)
        for rel, text in files.items():
            _write(root, rel, text)
        config = SimpleNamespace(rootpath=root, cache=None)
        session = PantherSession(config, Settings())  # type: ignore[arg-type]
        session.start()
        try:
            for spec in session.repo.specs:
                if spec.id not in ids or not spec.is_detection:
                    continue
                for case in spec.tests():
                    failure = run_item(session, spec, case)
                    if failure is not None:
                        why = str(failure).replace(str(root) + "/", "")
                        return spec.id, f"test {case.name!r}: {why}"
        finally:
            session.finish()
    return None


def rest_files(kind: str, item_id: str, body: dict[str, Any]) -> dict[str, str]:
    """The spec files a REST body of a rule, scheduled rule, simple rule or policy stands for (so
    a REST write runs its tests the same way); {} for other kinds."""
    analysis = {"rules": "rule", "scheduled-rules": "scheduled_rule", "policies": "policy", "simple-rules": "rule"}.get(kind)
    simple = kind == "simple-rules"
    if analysis is None or not (simple or isinstance(body.get("body"), str)):
        return {}
    key = "Resource" if analysis == "policy" else "Log"
    tests = []
    for test in body.get("tests") or []:
        try:
            event = json.loads(test.get("resource", "null"))
        except ValueError:
            event = test.get("resource")
        case: dict[str, Any] = {"Name": test.get("name", ""), "ExpectedResult": bool(test.get("expectedResult")), key: event}
        if test.get("mocks"):
            case["Mocks"] = [{"objectName": m.get("objectName"), "returnValue": m.get("returnValue")} for m in test["mocks"]]
        tests.append(case)
    spec: dict[str, Any] = {
        "AnalysisType": analysis, "PolicyID" if analysis == "policy" else "RuleID": item_id,
        "Severity": str(body.get("severity", "INFO")).capitalize(), "Enabled": True, "Tests": tests,
    }
    python = body.get("pythonBody") if simple else body.get("body")
    if isinstance(python, str):
        spec["Filename"] = "_rest.py"
    if simple:  # YAML text fields back to data (a simple detection without them is refused by the schema)
        from ruamel.yaml import YAML

        safe = YAML(typ="safe", pure=True)
        for field, key in (("detection", "Detection"), ("inlineFilters", "InlineFilters")):
            if isinstance(body.get(field), str):
                spec[key] = safe.load(body[field])
    if body.get("logTypes"):
        spec["LogTypes"] = body["logTypes"]
    if body.get("resourceTypes"):
        spec["ResourceTypes"] = body["resourceTypes"]
    if body.get("scheduledQueries"):
        spec["ScheduledQueries"] = body["scheduledQueries"]
    folder = "policies" if analysis == "policy" else "rules"
    files = {f"{folder}/_rest.yml": dump(spec)}
    if isinstance(python, str):
        files[f"{folder}/_rest.py"] = python
    return files
