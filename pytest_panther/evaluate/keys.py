"""Key specifiers (``Key``, ``DeepKey``, ``KeyPath``, ``Enrichment``) compiled into resolvers.

A resolver maps an event root (a plain ``dict``, or a list element inside a list comprehension)
to the value at that key or :data:`~pytest_panther.evaluate.conditions.MISSING`. MISSING stays
distinct from JSON null (local-evaluation.md §2.3).

- ``Key: name``: top-level key, taken literally (dots are part of the name, §9 #10).
- ``DeepKey: [a, 0, b]``: strings step into mappings, ints index lists.
- ``KeyPath: a.b[0].c``: JMESPath (Panther's filter targets are JMESPath, panther_core
  ``filter.py``). Plain dotted/indexed paths are walked here to keep MISSING and case-insensitive
  keys; anything else (``[*]`` projections, quoted identifiers …) goes through ``jmespath``,
  where null and missing are both MISSING.
- ``Enrichment: {Table, Selector, FieldPath}``: ``p_enrichment.<Table>.<Selector>.<FieldPath>``
  (PAT fixture ``test.enrichment.rule.yml``; the dotted FieldPath is [INFER]).
"""
from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError

from pytest_panther.evaluate.conditions import MISSING
from pytest_panther.spec.yaml import Document

__all__ = ["KEY_SPECIFIERS", "Resolver", "compile_key_path", "compile_key_spec", "enrichment_target", "key_spec_name"]

Resolver = Callable[[Any], Any]

#: The keys that name an event field in a match expression.
KEY_SPECIFIERS = ("Key", "DeepKey", "KeyPath", "Enrichment")

_SIMPLE_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*|\[-?[0-9]+\])*$")
_SEGMENT = re.compile(r"\.?([A-Za-z_][A-Za-z0-9_]*)|\[(-?[0-9]+)\]")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _stepper(case_insensitive: bool) -> Callable[[Any, str | int], Any]:
    def step(node: Any, key: str | int) -> Any:
        if isinstance(key, int):
            if isinstance(node, list) and -len(node) <= key < len(node):
                return node[key]
            return MISSING
        if not isinstance(node, Mapping):
            return MISSING
        if key in node:
            return node[key]
        if case_insensitive:
            lowered = key.lower()
            for name in node:
                if isinstance(name, str) and name.lower() == lowered:
                    return node[name]
        return MISSING

    return step


def _walker(segments: Sequence[str | int], case_insensitive: bool) -> Resolver:
    step = _stepper(case_insensitive)
    if len(segments) == 1:
        only = segments[0]
        return lambda root: step(root, only)

    def walk(root: Any) -> Any:
        node = root
        for segment in segments:
            node = step(node, segment)
            if node is MISSING:
                return MISSING
        return node

    return walk


def compile_key_path(path: str, case_insensitive: bool) -> Resolver:
    """A resolver for a ``KeyPath`` string.

    :raises ValueError: when ``path`` is not a valid JMESPath expression (message from jmespath).
    """
    if _SIMPLE_PATH.match(path):
        segments: list[str | int] = []
        for name, index in _SEGMENT.findall(path):
            segments.append(name if name else int(index))
        return _walker(segments, case_insensitive)
    try:
        search = jmespath.compile(path).search
    except JMESPathError as exc:
        raise ValueError(str(exc).splitlines()[0]) from None

    def resolve(root: Any) -> Any:
        result = search(root)
        return MISSING if result is None else result

    return resolve


def key_spec_name(expr: Mapping[str, Any]) -> str | None:
    """The single key specifier used by ``expr`` (None when it has none)."""
    for name in KEY_SPECIFIERS:
        if name in expr:
            return name
    return None


def compile_key_spec(
    document: Document,
    keys: Sequence[str | int],
    expr: Mapping[str, Any],
    *,
    case_insensitive: bool,
    allowed: Sequence[str] = KEY_SPECIFIERS,
) -> Resolver:
    """The resolver for the key specifier in mapping ``expr`` found at ``keys`` of ``document``.

    :raises YamlError: (located at the specifier) when there is none, more than one, a specifier
        not in ``allowed``, or a malformed one (``DeepKey`` not a list of strings/ints, bad
        JMESPath, incomplete ``Enrichment``).
    """
    present = [name for name in KEY_SPECIFIERS if name in expr]
    if not present:
        raise document.error(keys, f"match expression needs one of {', '.join(allowed)}")
    if len(present) > 1:
        raise document.error([*keys, present[1]], f"more than one key specifier ({', '.join(present)})", "use exactly one", of_key=True)
    name = present[0]
    if name not in allowed:
        raise document.error([*keys, name], f"{name} is not allowed here", f"use {' or '.join(allowed)}", of_key=True)
    value = expr[name]
    at = [*keys, name]
    if name == "Key":
        if not isinstance(value, str) or not value:
            raise document.error(at, "Key must be a non-empty string")
        return _walker([value], case_insensitive)
    if name == "DeepKey":
        if not isinstance(value, list) or not value or not all(
            isinstance(v, (str, int)) and not isinstance(v, bool) for v in value
        ):
            raise document.error(at, "DeepKey must be a non-empty list of keys (strings) and list indexes (integers)")
        return _walker(value, case_insensitive)
    if name == "KeyPath":
        if not isinstance(value, str) or not value:
            raise document.error(at, "KeyPath must be a non-empty string")
        try:
            return compile_key_path(value, case_insensitive)
        except ValueError as exc:
            raise document.error(at, f"KeyPath {value!r} is not a valid JMESPath expression: {exc}", 'quote keys with special characters: "my-key".field') from None
    return _compile_enrichment(document, at, value, case_insensitive)


def _compile_enrichment(document: Document, at: list[str | int], value: Any, case_insensitive: bool) -> Resolver:
    if not isinstance(value, Mapping):
        raise document.error(at, "Enrichment must be a mapping with Table, Selector and FieldPath")
    for part in ("Table", "Selector", "FieldPath"):
        if not isinstance(value.get(part), str) or not value.get(part):
            raise document.error(at, f"Enrichment needs a non-empty string {part}")
    extra = sorted(set(value) - {"Table", "Selector", "FieldPath"})
    if extra:
        raise document.error([*at, extra[0]], f"unknown Enrichment key {extra[0]!r}", "use Table, Selector and FieldPath", of_key=True)
    try:
        field = compile_key_path(value["FieldPath"], case_insensitive)
    except ValueError as exc:
        raise document.error([*at, "FieldPath"], f"FieldPath is not a valid JMESPath expression: {exc}") from None
    base = _walker(["p_enrichment", value["Table"], value["Selector"]], case_insensitive)

    def resolve(root: Any) -> Any:
        node = base(root)
        return MISSING if node is MISSING else field(node)

    return resolve


def enrichment_target(value: Mapping[str, str]) -> str:
    """The JMESPath target ``p_enrichment.<Table>.<Selector>.<FieldPath>`` (quoting odd names)."""
    parts = [p if _IDENTIFIER.match(p) else '"' + p.replace('"', '\\"') + '"' for p in (value["Table"], value["Selector"])]
    return ".".join(["p_enrichment", *parts, value["FieldPath"]])
