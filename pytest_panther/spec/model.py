"""Analysis specs (the YAML half of a detection, helper, data model, pack, query …) and their kinds.

Kinds and ID fields follow PAT 1.11.1 (``core/definitions.py``; shared/reference/semantics.md
§2.4): a spec with a non-null ``Detection`` key that is not a correlation rule or policy is a
*simple detection*; a spec with a truthy ``BaseDetection`` is a *derived detection*.
"""
from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

from pytest_panther.spec.yaml import Document

__all__ = [
    "ANALYSIS_TYPES",
    "DETECTION_KINDS",
    "ID_FIELDS",
    "Spec",
    "TestCase",
    "is_spec",
]

#: ``AnalysisType`` → the key holding the spec's ID (PAT ``analysis_id_field_name``).
ID_FIELDS: dict[str, str] = {
    "rule": "RuleID",
    "scheduled_rule": "RuleID",
    "correlation_rule": "RuleID",
    "policy": "PolicyID",
    "datamodel": "DataModelID",
    "global": "GlobalID",
    "saved_query": "QueryName",
    "scheduled_query": "QueryName",
    "pack": "PackID",
    "lookup_table": "LookupName",
    "scheduled_prompt": "PromptName",
}

#: Every ``AnalysisType`` value Panther accepts (PAT ``schemas.TYPE_SCHEMA``).
ANALYSIS_TYPES = frozenset(ID_FIELDS)

#: Kinds whose specs carry ``Tests`` that this project runs.
DETECTION_KINDS = frozenset(
    {"rule", "scheduled_rule", "policy", "correlation_rule", "simple_detection", "derived"}
)


def is_spec(data: Any) -> bool:
    """True for a parsed YAML value that is an analysis spec (a mapping with ``AnalysisType``)."""
    return isinstance(data, dict) and "AnalysisType" in data


@dataclass(frozen=True)
class TestCase:
    """One entry of a detection's ``Tests`` list.

    ``index`` is its position in the (possibly overridden) list; ``line`` its 1-based line in
    ``path``, the file the case is written in: None for the spec file, an override file's path
    for a case an override added (:mod:`pytest_panther.upstream.overrides`).
    """

    __test__ = False  # not a pytest test class

    index: int
    data: Any
    line: int
    path: Path | None = None

    @property
    def name(self) -> str:
        name = self.data.get("Name") if isinstance(self.data, dict) else None
        return name if isinstance(name, str) and name else f"Tests[{self.index}]"


@dataclass
class Spec:
    """One analysis spec file.

    ``document`` is the parsed YAML; ``data`` the spec mapping, possibly patched by an override
    (see :mod:`pytest_panther.upstream.overrides`); ``override_tests`` maps the Name of each test
    case an override added to ``(override file, 1-based line)``; ``excluded`` is set when an
    override says the fork does not run this detection (``Excluded: <reason>``): the reason,
    prefixed with the override file.
    """

    document: Document
    data: dict[str, Any] = field(default_factory=dict)
    override_tests: dict[str, tuple[Path, int]] = field(default_factory=dict)
    excluded: str = ""

    def __post_init__(self) -> None:
        if not self.data:
            self.data = self.document.data

    @property
    def path(self) -> Path:
        return self.document.path

    @property
    def analysis_type(self) -> str:
        value = self.data.get("AnalysisType")
        return value if isinstance(value, str) else ""

    @property
    def id_field(self) -> str:
        return ID_FIELDS.get(self.analysis_type, "RuleID")

    @property
    def id(self) -> str:
        value = self.data.get(self.id_field)
        return value if isinstance(value, str) else ""

    @property
    def kind(self) -> str:
        """``rule``, ``scheduled_rule``, ``policy``, ``correlation_rule``, ``simple_detection``,
        ``derived``, or the ``AnalysisType`` of a non-detection spec."""
        atype = self.analysis_type
        if self.data.get("BaseDetection"):
            return "derived"
        if self.data.get("Detection") is not None and atype not in ("correlation_rule", "policy"):
            return "simple_detection"
        return atype

    @property
    def is_detection(self) -> bool:
        return self.kind in DETECTION_KINDS

    @property
    def enabled(self) -> bool:
        return self.data.get("Enabled") is True

    @property
    def python_path(self) -> Path | None:
        """The ``Filename`` joined onto the spec's directory, or None when there is none."""
        filename = self.data.get("Filename")
        if not isinstance(filename, str) or not filename:
            return None
        return self.path.parent / filename

    @property
    def log_types(self) -> list[str]:
        value = self.data.get("LogTypes") or self.data.get("ResourceTypes") or []
        return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []

    @property
    def tags(self) -> list[str]:
        value = self.data.get("Tags") or []
        return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []

    @property
    def severity(self) -> str:
        value = self.data.get("Severity")
        return value if isinstance(value, str) else ""

    @property
    def has_tests_key(self) -> bool:
        return "Tests" in self.data

    def tests(self) -> list[TestCase]:
        """The spec's test cases with their lines (an absent or non-list ``Tests`` gives []).

        For an overridden spec, a case kept from the spec file has its line there (matched in
        order against ``document.data["Tests"]``), a case an override added has its line in the
        override file (``path`` set, from ``override_tests``); any other case gets the line of
        the ``Tests`` key."""
        tests = self.data.get("Tests")
        if not isinstance(tests, list):
            return []
        own: Any = self.document.data.get("Tests") if isinstance(self.document.data, dict) else None
        lines = self.document.test_lines
        if tests is own:
            return [
                TestCase(index, case, lines[index] if index < len(lines) else self._tests_line())
                for index, case in enumerate(tests)
            ]
        own = own if isinstance(own, list) else []
        cases = []
        start = 0  # overrides remove and append: kept cases stay in the file's order
        for index, case in enumerate(tests):
            name = case.get("Name") if isinstance(case, dict) else None
            origin = self.override_tests.get(name) if isinstance(name, str) else None
            if origin is not None:
                cases.append(TestCase(index, case, origin[1], origin[0]))
                continue
            found = next((k for k in range(start, len(own)) if own[k] == case), None)
            if found is not None and found < len(lines):
                start = found + 1
                cases.append(TestCase(index, case, lines[found]))
            else:
                cases.append(TestCase(index, case, self._tests_line()))
        return cases

    def _tests_line(self) -> int:
        return self.document.position(("Tests",))[0]
