"""``InlineFilters`` turned into the filter tree panther_core's ``Rule`` evaluates.

With a backend, PAT sends ``InlineFilters`` to GraphQL ``transpileFilters`` and passes the result
to panther_core as ``Rule(config)["filters"]`` (shared/reference/local-evaluation.md §3, §5).
This module builds that structure locally, so panther_core's own ``filter.Filter`` operators gate
``rule()`` — the exact code the Panther engine runs — instead of re-implementing them.

Shape produced (panther_core ``rule.py`` / ``filter.py``)::

    [{"statement": {"and": [node, ...]}}]
    node := {"target": <JMESPath>, "operator": <op id>, "value": <Value | [Values]>}
          | {"and": [node, ...]}            # All
          | {"or": [node, ...]}             # Any (non-empty)
          | {"not": [{}]}                   # Any: [] (always false; see below)

Condition → operator ids follow local-evaluation.md §3.3 ([INFER] from the staff guide's 20
filter conditions and panther_core's operator ids). ``KeyPath`` is the target verbatim;
``Enrichment`` becomes ``p_enrichment.<Table>.<Selector>.<FieldPath>``. panther_core reads the
raw event, so filter keys are case-sensitive and a missing field behaves like null (§3.5; the
docs' "a missing field passes" cannot be expressed in panther_core's tree and is not offered).
An empty ``Any`` is encoded as ``{"not": [{}]}`` (false), because panther_core treats an empty
``or`` node as a no-op true [INFER: logically an empty OR is false].
"""
from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError

from pytest_panther.evaluate.conditions import all_condition_names
from pytest_panther.evaluate.expressions import combinator_children
from pytest_panther.evaluate.expressions import condition_error
from pytest_panther.evaluate.keys import enrichment_target
from pytest_panther.spec.model import Spec
from pytest_panther.spec.yaml import Document

__all__ = ["FILTER_OPERATORS", "UNARY_FILTER_CONDITIONS", "core_filters"]

#: InlineFilters Condition → panther_core ``filter.py`` operator id.
FILTER_OPERATORS: dict[str, str] = {
    "Equals": "==",
    "DoesNotEqual": "!=",
    "IsGreaterThan": ">",
    "IsGreaterThanOrEquals": ">=",
    "IsGreaterThanOrEqual": ">=",
    "IsGreaterThanOrEqualTo": ">=",
    "IsLessThan": "<",
    "IsLessThanOrEquals": "<=",
    "IsLessThanOrEqual": "<=",
    "IsLessThanOrEqualTo": "<=",
    "Contains": "contains",
    "DoesNotContain": "!contains",
    "StartsWith": "starts_with",
    "DoesNotStartWith": "!starts_with",
    "EndsWith": "ends_with",
    "DoesNotEndWith": "!ends_with",
    "IEquals": "insensitive_equals",
    "IDoesNotEqual": "!insensitive_equals",
    "IContains": "insensitive_contains",
    "IDoesNotContain": "!insensitive_contains",
    "IStartsWith": "insensitive_starts_with",
    "IDoesNotStartWith": "!insensitive_starts_with",
    "IEndsWith": "insensitive_ends_with",
    "IDoesNotEndWith": "!insensitive_ends_with",
    "IsIn": "in",
    "IsNotIn": "!in",
    "IsNullOrEmpty": "empty",
    "IsNotNullOrEmpty": "!empty",
    "IsIPAddressInCIDR": "in_cidr",
    "IsIPAddressNotInCIDR": "!in_cidr",
    "CIDRContainsIPAddresses": "contains_ip",
    "CIDRDoesNotContainIPAddresses": "!contains_ip",
    "IsIPAddressPublic": "is_public",
    "IsIPAddressPrivate": "is_private",
}

#: Filter conditions that take no Value.
UNARY_FILTER_CONDITIONS = frozenset({"IsNullOrEmpty", "IsNotNullOrEmpty", "IsIPAddressPublic", "IsIPAddressPrivate"})
_CIDR = frozenset({"IsIPAddressInCIDR", "IsIPAddressNotInCIDR", "CIDRContainsIPAddresses", "CIDRDoesNotContainIPAddresses"})
_MEMBERSHIP = frozenset({"IsIn", "IsNotIn"})
_NOT_IN_FILTERS = frozenset({"Key", "DeepKey", "OnlyOne", "None", "Expressions"})
Keys = Sequence[str | int]


def core_filters(spec: Spec) -> list[dict[str, Any]] | None:
    """The spec's ``InlineFilters`` as panther_core ``Rule`` ``config["filters"]``, or None.

    Returns ``[{"statement": {"and": [...]}}]`` (one statement; the list is ANDed) or None when the
    spec has no ``InlineFilters`` key. panther_core applies filters to ``AnalysisType: rule``
    only (``Rule._filters_should_run``); for scheduled rules the result is ignored there.

    :raises YamlError: (``path:line:col``) for a non-list value, a Key/DeepKey/OnlyOne/None/list
        comprehension (not allowed in filters), an unknown or filter-incompatible Condition, a
        missing/extra Value, a bad CIDR or an invalid JMESPath ``KeyPath``.
    """
    data, document = spec.data, spec.document
    if "InlineFilters" not in data:
        return None
    filters = data["InlineFilters"]
    if not isinstance(filters, list):
        raise document.error(["InlineFilters"], "InlineFilters must be a list of filter expressions")
    nodes = [_node(document, ["InlineFilters", i], item) for i, item in enumerate(filters)]
    return [{"statement": {"and": nodes}}]


def _node(document: Document, keys: Keys, expr: Any) -> dict[str, Any]:
    if not isinstance(expr, Mapping):
        raise document.error(keys, "a filter expression must be a mapping", "e.g. {KeyPath: eventName, Condition: Equals, Value: x}")
    for key in expr:
        if key in _NOT_IN_FILTERS:
            raise document.error([*keys, key], f"{key} is not allowed in InlineFilters", "filters take KeyPath or Enrichment, and All/Any", of_key=True)
    for name, op in (("All", "and"), ("Any", "or")):
        if name in expr:
            children = combinator_children(document, keys, expr, name, "filter expressions")
            nodes = [_node(document, [*keys, name, i], child) for i, child in enumerate(children)]
            if op == "or" and not nodes:
                return {"not": [{}]}
            return {op: nodes}
    return _leaf(document, keys, expr)


def _leaf(document: Document, keys: Keys, expr: Mapping[str, Any]) -> dict[str, Any]:
    allowed = {"KeyPath", "Enrichment", "Condition", "Value", "Values"}
    for key in expr:
        if key not in allowed:
            raise document.error([*keys, key], f"unknown key {key!r} in a filter expression", f"allowed: {', '.join(sorted(allowed))}", of_key=True)
    if "KeyPath" in expr and "Enrichment" in expr:
        raise document.error([*keys, "Enrichment"], "more than one key specifier (KeyPath, Enrichment)", "use exactly one", of_key=True)
    if "Condition" not in expr:
        raise document.error(keys, "filter expression has no Condition", "or use All / Any")
    condition = expr["Condition"]
    if condition not in FILTER_OPERATORS and condition in all_condition_names():
        raise document.error(
            [*keys, "Condition"],
            f"Condition {condition!r} is not supported in InlineFilters",
            "filters take comparisons, (I)Contains/StartsWith/EndsWith, IsIn, IsNullOrEmpty, CIDR and public/private IP checks",
        )
    if condition not in FILTER_OPERATORS:
        raise condition_error(document, keys, condition, sorted(FILTER_OPERATORS))
    target = _target(document, keys, expr)
    node: dict[str, Any] = {"target": target, "operator": FILTER_OPERATORS[condition]}
    if "Value" in expr and "Values" in expr:
        raise document.error([*keys, "Values"], "Value and Values are both set", of_key=True)
    if condition in UNARY_FILTER_CONDITIONS:
        if "Values" in expr or expr.get("Value", True) is not True:
            raise document.error([*keys, "Value" if "Value" in expr else "Values"], f"{condition} takes no Value")
        return node
    key = "Values" if "Values" in expr else "Value"
    if key not in expr:
        raise document.error(keys, f"Condition {condition!r} needs a Value", "or Values for IsIn / IsNotIn")
    value = expr[key]
    at = [*keys, key]
    if key == "Values":
        if condition not in _MEMBERSHIP:
            raise document.error(at, f"{condition} takes a single Value", "Values is for IsIn / IsNotIn")
        if not isinstance(value, list) or not all(isinstance(v, (str, int, float, bool)) for v in value):
            raise document.error(at, "Values must be a list of strings, numbers or booleans")
    elif not isinstance(value, (str, int, float, bool)):
        raise document.error(at, "Value must be a string, number or boolean")
    elif condition in _MEMBERSHIP:
        value = [value]
    if condition in _CIDR:
        try:
            ipaddress.ip_network(value, strict=False)
        except (TypeError, ValueError):
            raise document.error(at, f"{value!r} is not a CIDR block", "e.g. 10.0.0.0/8") from None
    node["value"] = value
    return node


def _target(document: Document, keys: Keys, expr: Mapping[str, Any]) -> str:
    if "KeyPath" in expr:
        path = expr["KeyPath"]
        at = [*keys, "KeyPath"]
        if not isinstance(path, str) or not path:
            raise document.error(at, "KeyPath must be a non-empty string")
    elif "Enrichment" in expr:
        value = expr["Enrichment"]
        at = [*keys, "Enrichment"]
        if not isinstance(value, Mapping) or set(value) != {"Table", "Selector", "FieldPath"} or not all(
            isinstance(v, str) and v for v in value.values()
        ):
            raise document.error(at, "Enrichment needs exactly Table, Selector and FieldPath (strings)")
        path = enrichment_target(value)
    else:
        raise document.error(keys, "filter expression needs KeyPath or Enrichment")
    try:
        jmespath.compile(path)
    except JMESPathError as exc:
        message = str(exc).splitlines()[0]
        raise document.error(at, f"{path!r} is not a valid JMESPath expression: {message}", 'quote keys with special characters: "my-key".field') from None
    return path
