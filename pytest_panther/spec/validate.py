"""Per-spec validation: the JSON Schema of the spec's kind, set-like fields, test ``LogType``.

The schema is data: ``pytest_panther/spec/schema/analysis.schema.json`` (Draft 2020-12, one
``$defs`` entry per kind), written from shared/reference/semantics.md §3–§4 (PAT 1.11.1
``schemas.py`` and ``analysis_config_schema.json``). It adds three keywords: ``exactlyOneOf`` and
``anyRequired`` (groups of keys, PAT's ``Or(..., only_one=True)``/``Or(...)`` keys) and
``rateMinutes`` (a query schedule's ``RateMinutes`` > 1 and ≥ ``TimeoutMinutes``), and reads
``x-message``/``x-hint``/``x-name`` for wording. ``integer`` rejects booleans and floats, as PAT's
``int`` does.

Every problem is a :class:`~pytest_panther.spec.yaml.YamlError` at the line of the offending key
or value, with a human message naming the key path (``Tests[2].ExpectedResult``) and the bad value.

Speed: each kind's schema is compiled once per process, both into a ``jsonschema`` validator and
into a fast yes/no pre-check (:mod:`pytest_panther.spec.schema.precheck`); jsonschema only runs
for specs the pre-check rejects, to produce the detailed errors.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema import ValidationError
from jsonschema.validators import extend

from pytest_panther.spec.findings import SpecWarning
from pytest_panther.spec.logtypes import log_type_errors
from pytest_panther.spec.logtypes import test_log_type_warnings
from pytest_panther.spec.model import Spec
from pytest_panther.spec.schema.precheck import Check
from pytest_panther.spec.schema.precheck import Unsupported
from pytest_panther.spec.schema.precheck import compile_check
from pytest_panther.spec.schema.precheck import is_int
from pytest_panther.spec.suggest import did_you_mean
from pytest_panther.spec.yaml import YamlError

__all__ = ["EXTRA_KEYS_KINDS", "SET_FIELDS", "ValidationOptions", "keypath", "schema_name", "validate_spec"]

#: Schema names whose top level ``allow_extra_keys`` relaxes (PAT ``--ignore-extra-keys``: RULE,
#: POLICY and DERIVED schemas only; semantics.md §3.1).
EXTRA_KEYS_KINDS = frozenset({"rule", "policy", "derived"})

#: Set-like list fields whose values must be unique (PAT ``validation.py:contains_invalid_field_set``);
#: ``Tags`` compare case-insensitively. Value: whether to casefold.
SET_FIELDS: dict[str, bool] = {
    "Tags": True,
    "LogTypes": False,
    "OutputIds": False,
    "SummaryAttributes": False,
    "Suppressions": False,
    "PackIDs": False,
}

_QUERY_KEYS = ("Query", "AthenaQuery", "SnowflakeQuery", "DatabricksQuery")
_LABELS = {
    "rule": "rule",
    "derived": "derived detection",
    "lookup_table": "lookup table",
    "lookup_table_sql": "SQL lookup table",
    "datamodel": "data model",
    "global": "global helper",
}
_TYPE_NAMES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean (true or false)",
    "array": "a list",
    "object": "a mapping",
    "null": "null",
}


@dataclass(frozen=True)
class ValidationOptions:
    """How strict validation is.

    ``allow_extra_keys``: unknown top-level keys of rules, scheduled rules, simple/derived
    detections and policies are allowed (PAT ``--ignore-extra-keys``); test-case keys and all
    other kinds stay strict. ``extra_keys_allowlist``: top-level keys (organisation metadata such
    as ``Author``) allowed in every spec.
    """

    allow_extra_keys: bool = False
    extra_keys_allowlist: frozenset[str] = frozenset()
    #: Log types the team declares (ini ``panther_log_types``) besides the catalogue and ``Custom.*``.
    log_types: frozenset[str] = frozenset()


# --- the schema and its validators (compiled once per kind) -----------------------------------


@cache
def _document() -> dict[str, Any]:
    text = resources.files("pytest_panther.spec.schema").joinpath("analysis.schema.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def _group(keys: list[str], word: str) -> str:
    quoted = [repr(k) for k in keys]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} {word} {quoted[-1]}"


def _exactly_one_of(validator: Any, groups: list[list[str]], instance: Any, schema: Any) -> Iterator[ValidationError]:
    if not isinstance(instance, dict):
        return
    for group in groups:
        present = [k for k in group if k in instance]
        if not present:
            yield ValidationError(f"missing required key {_group(group, 'or')}")
        elif len(present) > 1:
            yield ValidationError(f"{_group(present, 'and')} cannot be used together", validator_value=group)


def _any_required(validator: Any, groups: list[list[str]], instance: Any, schema: Any) -> Iterator[ValidationError]:
    if not isinstance(instance, dict):
        return
    for group in groups:
        if not any(k in instance for k in group):
            yield ValidationError(f"missing required key {_group(group, 'or')}")


def _rate_minutes(validator: Any, enabled: bool, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if not enabled or not isinstance(instance, dict):
        return
    rate, timeout = instance.get("RateMinutes"), instance.get("TimeoutMinutes")
    if not is_int(rate):
        return
    if rate <= 1:
        yield ValidationError(f"{rate} is too small: the rate must be more than 1 minute", path=["RateMinutes"])
    elif is_int(timeout) and rate < timeout:
        yield ValidationError(f"{rate} is less than TimeoutMinutes ({timeout})", path=["RateMinutes"])


_TYPES = Draft202012Validator.TYPE_CHECKER.redefine("integer", lambda _checker, value: is_int(value))
_Validator = extend(  # type: ignore[no-untyped-call]  # types-jsonschema leaves extend() unannotated
    Draft202012Validator,
    validators={"exactlyOneOf": _exactly_one_of, "anyRequired": _any_required, "rateMinutes": _rate_minutes},
    type_checker=_TYPES,
)


#: Definitions that refer to themselves; every other ``$ref`` is inlined when compiling, which
#: makes validation ~2x faster (no reference resolution per instance).
_RECURSIVE = frozenset({"MatchExpressions", "MatchExpression"})


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        target = node.get("$ref")
        if isinstance(target, str) and target.startswith("#/$defs/") and len(node) == 1:
            name = target.removeprefix("#/$defs/")
            if name not in _RECURSIVE:
                return _inline(defs[name], defs)
        return {key: _inline(value, defs) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline(item, defs) for item in node]
    return node


@cache
def _schema(name: str) -> dict[str, Any]:
    document = _document()
    defs = document["$defs"]
    schema: dict[str, Any] = _inline(defs[name], defs)
    schema["$schema"] = document["$schema"]
    schema["$defs"] = {key: _inline(defs[key], defs) for key in _RECURSIVE}
    return schema


@cache
def _validator(name: str) -> Any:
    """The jsonschema validator for ``$defs/<name>`` (built once per process)."""
    return _Validator(_schema(name))


@cache
def _precheck(name: str) -> Check | None:
    """The fast yes/no check for ``$defs/<name>`` (:mod:`~pytest_panther.spec.schema.precheck`),
    or None when the schema uses something it cannot evaluate."""
    schema = _schema(name)
    try:
        return compile_check(schema, schema["$defs"])
    except Unsupported:
        return None


@cache
def _top_level_keys() -> frozenset[str]:
    """Every top-level key some analysis type allows."""
    defs = _document()["$defs"]
    kinds = ("rule", "derived", "policy", "correlation_rule", "global", "datamodel", "pack", "saved_query",
             "scheduled_query", "lookup_table", "lookup_table_sql", "scheduled_prompt")
    return frozenset(key for kind in kinds for key in defs[kind]["properties"])


def schema_name(spec: Spec) -> str:
    """The ``$defs`` entry that validates ``spec`` (PAT ``au.py:classify_analysis``, semantics.md §2.4)."""
    kind = spec.kind
    if kind in ("rule", "scheduled_rule", "simple_detection"):
        return "rule"
    if kind == "lookup_table" and any(k in spec.data for k in _QUERY_KEYS):
        return "lookup_table_sql"
    return kind


# --- validation ---------------------------------------------------------------------------------


def validate_spec(spec: Spec, options: ValidationOptions = ValidationOptions()) -> list[YamlError]:
    """Every schema, set-field and test-``LogType`` problem of one spec, sorted by position.

    Never raises for bad input. An ``AnalysisType`` outside Panther's list gives one error and
    stops there (no schema applies).
    """
    atype = spec.data.get("AnalysisType")
    allowed_types = _document()["$defs"]["AnalysisType"]["enum"]
    if atype not in allowed_types:
        shown = repr(atype) if isinstance(atype, str) else _describe(atype)
        return [
            spec.document.error(
                ("AnalysisType",),
                f"AnalysisType: {shown} is not one of {', '.join(allowed_types)}",
                did_you_mean(atype, allowed_types),
            )
        ]
    name = schema_name(spec)
    errors: list[YamlError] = []
    precheck = _precheck(name)
    if precheck is None or not precheck(spec.data):
        for error in _validator(name).iter_errors(spec.data):
            errors.extend(_render(error, spec, name, options))
    errors.extend(_set_field_errors(spec))
    errors.extend(log_type_errors(spec, options.log_types))
    errors.extend(test_log_type_warnings(spec, options.log_types))
    return sorted(errors, key=lambda e: (e.line, e.col, e.message))


def keypath(path: Any) -> str:
    """``("Tests", 2, "Log")`` → ``"Tests[2].Log"``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, int):
        return f"the integer {value}"
    if isinstance(value, float):
        return f"the number {value}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _prefix(path: Any) -> str:
    text = keypath(path)
    return f"{text}: " if text else ""


def _render(error: ValidationError, spec: Spec, name: str, options: ValidationOptions) -> list[YamlError]:
    path = tuple(error.absolute_path)
    doc = spec.document
    kind = error.validator
    schema = error.schema if isinstance(error.schema, dict) else {}
    # Set on every error iter_errors yields (the stubs allow ``Unset`` for a hand-made one).
    value: Any = error.instance
    expected_value: Any = error.validator_value
    where = _prefix(path)
    if kind == "additionalProperties":
        known = list(schema.get("properties", {}))
        relaxed = options.allow_extra_keys and name in EXTRA_KEYS_KINDS
        out = []
        for key in value:
            if key in known or (not path and (relaxed or key in options.extra_keys_allowlist)):
                continue
            hint = did_you_mean(key, known)
            if not hint and path:
                hint = f"allowed keys: {', '.join(known)}"
            elif not hint:
                hint = (f"{key!r} belongs to other analysis types, not to a {_LABELS.get(name, name)}"
                        if key in _top_level_keys() else "custom metadata: add it to the extra-keys allow-list")
            out.append(doc.error((*path, key), f"{where}unknown key {key!r}", hint, of_key=True))
        return out
    if kind == "required":
        missing = [k for k in expected_value
                   if k not in value and error.message == f"{k!r} is a required property"]
        return [doc.error(path, f"{where}missing required key {key!r}", _missing_hint(key, value)) for key in missing]
    if kind in ("exactlyOneOf", "anyRequired"):
        return [doc.error(path, f"{where}{error.message}")]
    if kind == "type":
        expected: list[str] = expected_value if isinstance(expected_value, list) else [expected_value]
        words = " or ".join(_TYPE_NAMES.get(t, t) for t in expected)
        if "x-name" in schema:
            words += f" ({schema['x-name']})"
        hint = _type_hint(expected, value, schema)
        return [doc.error(path, f"{where}expected {words}, got {_describe(value)}", hint)]
    if kind == "enum":
        allowed = [str(v) for v in expected_value]
        if "x-name" in schema:
            message = f"{where}{value!r} is not a {schema['x-name']}"
        else:
            message = f"{where}{value!r} is not one of {', '.join(allowed)}"
        return [doc.error(path, message, did_you_mean(value, allowed))]
    if kind == "const":
        shown = json.dumps(expected_value)
        return [doc.error(path, f"{where}must be {shown}, got {_describe(value)}", schema.get("x-hint", ""))]
    if kind == "pattern":
        text = schema.get("x-message") or f"does not match {expected_value}"
        return [doc.error(path, f"{where}{value!r} {text}", schema.get("x-hint", ""))]
    if kind in ("minLength", "minProperties"):
        return [doc.error(path, f"{where}must not be empty")]
    if kind == "rateMinutes":
        return [doc.error(path, f"{where}{error.message}")]
    return [doc.error(path, f"{where}{error.message}")]


def _missing_hint(key: str, instance: Any) -> str:
    if key == "Log" and "Resource" in instance:
        return "rule tests give the event under 'Log'; 'Resource' is for policy tests"
    if key == "Resource" and "Log" in instance:
        return "policy tests give the resource under 'Resource'; 'Log' is for rule tests"
    if isinstance(instance, dict):
        for present in instance:
            if isinstance(present, str) and present.casefold() == key.casefold():
                return f"keys are case-sensitive: rename {present!r} to {key!r}"
    return ""


def _type_hint(expected: list[str], value: Any, schema: dict[str, Any]) -> str:
    if "x-hint" in schema:
        return str(schema["x-hint"])
    if expected == ["boolean"] and isinstance(value, str):
        if value.lower() in ("true", "false"):
            return "write true or false without quotes"
        if value.lower() in ("yes", "no", "on", "off", "y", "n"):
            return "YAML 1.2 reads yes/no/on/off as strings: write true or false"
    if expected == ["integer"] and isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return "write the number without quotes"
    if expected == ["array"] and isinstance(value, (str, int, float, bool)):
        return "write a list, e.g. [value] or one '- value' line per item"
    if expected == ["object"] and value is None:
        return "give a mapping of fields, e.g. {key: value}, or {} for an empty one"
    return ""


def _set_field_errors(spec: Spec) -> Iterator[YamlError]:
    fields: list[tuple[tuple[str, ...], bool]] = [((f,), fold) for f, fold in SET_FIELDS.items()]
    if spec.analysis_type == "pack":
        fields.append((("PackDefinition", "IDs"), False))
    for path, fold in fields:
        values: Any = spec.data
        for part in path:
            values = values.get(part) if isinstance(values, dict) else None
        if not isinstance(values, list):
            continue
        seen: dict[Any, int] = {}
        for index, item in enumerate(values):
            if not isinstance(item, str):
                continue
            norm = item.casefold() if fold else item
            if norm in seen:
                first = seen[norm]
                line = spec.document.position((*path, first))[0]
                note = f"same as {keypath((*path, first))} {values[first]!r} on line {line}"
                if fold:
                    note += f"; {keypath(path)} are compared case-insensitively"
                error = spec.document.error((*path, index), f"{keypath((*path, index))}: duplicate value {item!r}", note)
                # PAT checks the set fields of detections, not a pack's IDs, and Panther installs
                # a pack listing an ID twice (panther-analysis packs/aws.yml does): a warning.
                yield SpecWarning.of(error) if path == ("PackDefinition", "IDs") else error
            else:
                seen[norm] = index
