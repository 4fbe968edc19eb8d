"""A fast yes/no validity check compiled from the same JSON Schema that jsonschema applies.

Most specs are valid, and ``jsonschema`` spends ~10 µs per value it descends into (~0.4 s for
panther-analysis). This module compiles the subset of Draft 2020-12 that
``analysis.schema.json`` uses into plain closures (~10x faster); :mod:`pytest_panther.spec.validate`
asks jsonschema for the detailed errors only when the pre-check says "invalid". The schema stays
the single source of truth: a keyword this compiler does not know raises :class:`Unsupported`,
and the caller then always uses jsonschema. ``tests/spec/test_validate.py`` checks that both
agree on the corpus and on randomly broken specs.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from typing import TypeGuard

__all__ = ["Check", "Unsupported", "compile_check", "is_int"]

Check = Callable[[Any], bool]

#: Keywords that only carry wording or metadata.
_ANNOTATIONS = frozenset({"x-message", "x-hint", "x-name", "$schema", "$id", "$defs", "title", "description"})


class Unsupported(Exception):
    """The schema uses a keyword the pre-check cannot evaluate exactly."""


def is_int(value: Any) -> TypeGuard[int]:
    """JSON-Schema ``integer`` as PAT's ``int``: an int that is not a bool (floats excluded)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_TYPES: dict[str, Check] = {
    "string": lambda v: isinstance(v, str),
    "integer": is_int,
    "number": _is_number,
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "null": lambda v: v is None,
}


def exactly_one_problems(instance: dict[Any, Any], groups: list[list[str]]) -> bool:
    """True when some group of keys does not have exactly one member present."""
    return any(sum(k in instance for k in group) != 1 for group in groups)


def any_required_problems(instance: dict[Any, Any], groups: list[list[str]]) -> bool:
    """True when some group of keys has no member present."""
    return any(not any(k in instance for k in group) for group in groups)


def rate_minutes_problem(instance: dict[Any, Any]) -> bool:
    """True when ``RateMinutes`` is ≤ 1 or below ``TimeoutMinutes`` (PAT ``QueryScheduleSchema``)."""
    rate, timeout = instance.get("RateMinutes"), instance.get("TimeoutMinutes")
    if not is_int(rate):
        return False
    return bool(rate <= 1 or (is_int(timeout) and rate < timeout))


def compile_check(schema: dict[str, Any], defs: dict[str, Any]) -> Check:
    """A function ``value -> bool`` that is True exactly when ``schema`` accepts ``value``.

    ``$ref`` may only point at ``#/$defs/<name>`` in ``defs`` (recursion allowed).

    :raises Unsupported: for a keyword or value outside the supported subset.
    """
    compiled: dict[str, Check] = {}

    def by_name(name: str) -> Check:
        if name not in compiled:
            compiled[name] = lambda v: compiled[name](v)  # placeholder for recursive references
            compiled[name] = build(defs[name])
        return compiled[name]

    def build(node: Any) -> Check:
        if node is True or node == {}:
            return lambda v: True
        if not isinstance(node, dict):
            raise Unsupported(repr(node))
        if "patternProperties" in node:
            raise Unsupported("patternProperties")
        checks: list[Check] = []
        for key, value in node.items():
            if key in _ANNOTATIONS or key in ("then", "properties", "additionalProperties"):
                continue
            checks.append(keyword(key, value, node))
        if "properties" in node or "additionalProperties" in node:
            checks.append(members(node))
        if len(checks) == 1:
            return checks[0]

        def all_of(v: Any) -> bool:
            for check in checks:
                if not check(v):
                    return False
            return True

        return all_of

    def members(node: dict[str, Any]) -> Check:
        """``properties`` and ``additionalProperties`` in one pass over the mapping's keys."""
        props = {name: build(sub) for name, sub in node.get("properties", {}).items()}
        extra_schema = node.get("additionalProperties", True)
        closed = extra_schema is False
        extra = None if extra_schema is True or closed else build(extra_schema)

        def check(v: Any) -> bool:
            if not isinstance(v, dict):
                return True
            for k, x in v.items():
                sub = props.get(k) if isinstance(k, str) else None
                if sub is None:
                    if closed or (extra is not None and not extra(x)):
                        return False
                elif not sub(x):
                    return False
            return True

        return check

    def keyword(key: str, value: Any, node: dict[str, Any]) -> Check:
        if key == "$ref":
            if not (isinstance(value, str) and value.startswith("#/$defs/")):
                raise Unsupported(value)
            name = value.removeprefix("#/$defs/")
            by_name(name)
            return lambda v: compiled[name](v)
        if key == "type":
            names = value if isinstance(value, list) else [value]
            tests = [_TYPES[n] for n in names]
            if len(tests) == 1:
                return tests[0]
            return lambda v: any(t(v) for t in tests)
        if key == "required":
            return lambda v: not isinstance(v, dict) or all(k in v for k in value)
        if key == "items":
            sub = build(value)

            def items(v: Any) -> bool:
                if isinstance(v, list):
                    for x in v:
                        if not sub(x):
                            return False
                return True

            return items
        if key == "enum":
            if not all(isinstance(x, str) for x in value):
                raise Unsupported("non-string enum")
            allowed = frozenset(value)
            return lambda v: isinstance(v, str) and v in allowed
        if key == "const":
            if isinstance(value, bool):
                return lambda v: v is value
            if isinstance(value, str):
                return lambda v: isinstance(v, str) and v == value
            raise Unsupported("const")
        if key == "pattern":
            regex = re.compile(value)
            return lambda v: not isinstance(v, str) or regex.search(v) is not None
        if key == "minLength":
            return lambda v: not isinstance(v, str) or len(v) >= value
        if key == "minProperties":
            return lambda v: not isinstance(v, dict) or len(v) >= value
        if key == "if":
            condition = build(value)
            then = build(node.get("then", {}))
            return lambda v: not condition(v) or then(v)
        if key == "exactlyOneOf":
            return lambda v: not isinstance(v, dict) or not exactly_one_problems(v, value)
        if key == "anyRequired":
            return lambda v: not isinstance(v, dict) or not any_required_problems(v, value)
        if key == "rateMinutes":
            return lambda v: not value or not isinstance(v, dict) or not rate_minutes_problem(v)
        raise Unsupported(key)

    return build(schema)
