"""Simple detections (YAML-only rules with ``Detection:``) turned into a runnable detection module.

Panther's backend transpiles ``Detection`` to Python (GraphQL ``transpileSimpleDetectionsToPython``)
that panther_core runs like any rule; PAT cannot do that offline and silently counts the tests as
passed (shared/reference/semantics.md §2.9). Here the match expressions are compiled once into
closures and exposed as the functions panther_core's ``Rule`` calls, so a simple detection's
tests run like a Python rule's. The semantics are reconstructed from documentation and
backend-verified tests (shared/reference/local-evaluation.md §2, §4), i.e. *evaluated locally*.

``InlineFilters`` are validated here but not applied: pass
:func:`pytest_panther.evaluate.inline_filters.core_filters` as the ``filters`` of the
panther_core ``Rule`` config, exactly as PAT does with the backend (body + filters).
"""
from __future__ import annotations

import json
import re
import types
from collections.abc import Mapping
from typing import Any

from pytest_panther.evaluate.conditions import MISSING
from pytest_panther.evaluate.conditions import MatchOptions
from pytest_panther.evaluate.expressions import compile_match_list
from pytest_panther.evaluate.inline_filters import core_filters
from pytest_panther.evaluate.keys import KEY_SPECIFIERS
from pytest_panther.evaluate.keys import Resolver
from pytest_panther.evaluate.keys import compile_key_path
from pytest_panther.evaluate.keys import compile_key_spec
from pytest_panther.spec.model import Spec
from pytest_panther.spec.yaml import Document

__all__ = ["SEVERITIES", "build_simple_module"]

#: Severities a ``DynamicSeverities`` ``ChangeTo`` may name (panther_core ``rule.py`` check).
SEVERITIES = ("INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL")

_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


def _root(event: Any) -> Any:
    """The plain dict behind a panther_core ``PantherEvent`` (no copy), or ``event`` itself."""
    raw_view = getattr(event, "raw_view", None)
    return raw_view() if raw_view is not None else event


def build_simple_module(spec: Spec, options: MatchOptions | None = None) -> types.ModuleType:
    """A fresh module implementing the simple detection ``spec``; every expression is parsed once.

    Attributes (plain functions taking a panther_core ``PantherEvent`` or any mapping):

    - ``rule(event) -> bool``: the ``Detection`` match list (implicit All).
    - ``title(event) -> str`` when ``AlertTitle`` is set: ``{path}`` placeholders resolved like a
      ``KeyPath``; a missing value renders as ``""`` (never raises, local-evaluation.md §9 #12).
    - ``alert_context(event) -> dict`` when ``AlertContext`` is set: ``KeyName`` → value (None
      when missing).
    - ``dedup(event) -> str`` when ``GroupBy`` is set: the values joined with ``":"`` (§9 #13;
      panther_core turns ``""`` into its default dedup string).
    - ``severity(event) -> str`` when ``DynamicSeverities`` is set: the upper-cased ``ChangeTo``
      of the first entry whose ``Conditions`` (ANDed) hold, else ``"DEFAULT"`` (§9 #11).

    Keys are looked up exact-first then case-insensitively (``options``; §9 #4).

    :raises YamlError: located at the offending key for a missing/non-list ``Detection``, any
        malformed match expression or unknown Condition, malformed ``AlertTitle``,
        ``AlertContext``, ``GroupBy``, ``DynamicSeverities`` or ``InlineFilters``.
    """
    options = options or MatchOptions()
    data, document = spec.data, spec.document
    module = types.ModuleType(f"panther_simple_{re.sub(r'[^0-9A-Za-z_]', '_', spec.id or 'detection')}")
    module.__file__ = str(spec.path)
    detection = data.get("Detection")
    if not isinstance(detection, list):
        raise document.error(["Detection"], "Detection must be a list of match expressions")
    matcher = compile_match_list(document, ["Detection"], detection, options)
    module.rule = lambda event: bool(matcher(_root(event)))  # type: ignore[attr-defined]
    core_filters(spec)  # validation only; the engine applies them through panther_core
    if "AlertTitle" in data:
        module.title = _title(document, data["AlertTitle"], options)  # type: ignore[attr-defined]
    if "AlertContext" in data:
        module.alert_context = _alert_context(document, data["AlertContext"], options)  # type: ignore[attr-defined]
    if "GroupBy" in data:
        module.dedup = _dedup(document, data["GroupBy"], options)  # type: ignore[attr-defined]
    if "DynamicSeverities" in data:
        module.severity = _severity(document, data["DynamicSeverities"], options)  # type: ignore[attr-defined]
    return module


def _text(value: Any) -> str:
    if value is MISSING or value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str)
    return str(value)


def _title(document: Document, template: Any, options: MatchOptions) -> Any:
    if not isinstance(template, str):
        raise document.error(["AlertTitle"], "AlertTitle must be a string", "placeholders look like {field.path}")
    parts: list[str | Resolver] = []
    last = 0
    for match in _PLACEHOLDER.finditer(template):
        parts.append(template[last : match.start()])
        path = match.group(1).strip()
        try:
            parts.append(compile_key_path(path, options.case_insensitive_keys))
        except ValueError as exc:
            raise document.error(["AlertTitle"], f"AlertTitle placeholder {{{path}}} is not a valid path: {exc}") from None
        last = match.end()
    parts.append(template[last:])

    def title(event: Any) -> str:
        root = _root(event)
        return "".join(p if isinstance(p, str) else _text(p(root)) for p in parts)

    return title


def _alert_context(document: Document, entries: Any, options: MatchOptions) -> Any:
    if not isinstance(entries, list):
        raise document.error(["AlertContext"], "AlertContext must be a list of {KeyName, KeyValue}")
    resolvers: list[tuple[str, Resolver]] = []
    for i, entry in enumerate(entries):
        at: list[str | int] = ["AlertContext", i]
        if not isinstance(entry, Mapping) or not isinstance(entry.get("KeyName"), str) or not isinstance(entry.get("KeyValue"), Mapping):
            raise document.error(at, "AlertContext entries need KeyName (a string) and KeyValue (a key specifier)", "e.g. {KeyName: user, KeyValue: {Key: actor}}")
        extra = sorted(set(entry) - {"KeyName", "KeyValue"})
        if extra:
            raise document.error([*at, extra[0]], f"unknown key {extra[0]!r} in an AlertContext entry", of_key=True)
        _only_key_spec(document, [*at, "KeyValue"], entry["KeyValue"])
        resolvers.append((entry["KeyName"], compile_key_spec(document, [*at, "KeyValue"], entry["KeyValue"], case_insensitive=options.case_insensitive_keys)))

    def alert_context(event: Any) -> dict[str, Any]:
        root = _root(event)
        result = {}
        for name, resolve in resolvers:
            value = resolve(root)
            result[name] = None if value is MISSING else value
        return result

    return alert_context


def _only_key_spec(document: Document, keys: list[str | int], spec: Mapping[str, Any]) -> None:
    extra = [k for k in spec if k not in KEY_SPECIFIERS]
    if extra:
        raise document.error([*keys, extra[0]], f"unknown key {extra[0]!r}", "expected one key specifier: Key, DeepKey, KeyPath or Enrichment", of_key=True)


def _dedup(document: Document, entries: Any, options: MatchOptions) -> Any:
    if not isinstance(entries, list) or not entries:
        raise document.error(["GroupBy"], "GroupBy must be a non-empty list of key specifiers")
    resolvers = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            raise document.error(["GroupBy", i], "GroupBy items are key specifiers", "e.g. {Key: actor}")
        _only_key_spec(document, ["GroupBy", i], entry)
        resolvers.append(compile_key_spec(document, ["GroupBy", i], entry, case_insensitive=options.case_insensitive_keys))

    def dedup(event: Any) -> str:
        root = _root(event)
        return ":".join(_text(resolve(root)) for resolve in resolvers)

    return dedup


def _severity(document: Document, entries: Any, options: MatchOptions) -> Any:
    if not isinstance(entries, list):
        raise document.error(["DynamicSeverities"], "DynamicSeverities must be a list of {ChangeTo, Conditions}")
    compiled = []
    for i, entry in enumerate(entries):
        at: list[str | int] = ["DynamicSeverities", i]
        if not isinstance(entry, Mapping) or "ChangeTo" not in entry or "Conditions" not in entry:
            raise document.error(at, "DynamicSeverities entries need ChangeTo and Conditions")
        extra = sorted(set(entry) - {"ChangeTo", "Conditions"})
        if extra:
            raise document.error([*at, extra[0]], f"unknown key {extra[0]!r} in a DynamicSeverities entry", of_key=True)
        severity = entry["ChangeTo"]
        if not isinstance(severity, str) or severity.upper() not in SEVERITIES:
            raise document.error([*at, "ChangeTo"], f"unknown severity {severity!r}", f"use one of {', '.join(s.title() for s in SEVERITIES)}")
        compiled.append((severity.upper(), compile_match_list(document, [*at, "Conditions"], entry["Conditions"], options)))

    def severity_fn(event: Any) -> str:
        root = _root(event)
        for level, matches in compiled:
            if matches(root):
                return level
        return "DEFAULT"

    return severity_fn
