"""Compiling match expressions (``Detection``, ``DynamicSeverities`` ``Conditions``, list
comprehension ``Expressions``) once into plain predicates ``predicate(root) -> bool``.

Grammar and shape detection follow shared/reference/local-evaluation.md §2.1–2.7 (Panther docs
https://docs.panther.com/detections/rules/writing-simple-detections/match-expression, the PAT
schema ``$defs.MatchExpressions`` and panther-analysis ``AGENTS.md`` §5). Every malformed
expression is a :class:`~pytest_panther.spec.yaml.YamlError` at the offending key — an unknown
Condition is never a silent False.
"""
from __future__ import annotations

import difflib
import ipaddress
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

from pytest_panther.evaluate import conditions as c
from pytest_panther.evaluate.keys import KEY_SPECIFIERS
from pytest_panther.evaluate.keys import compile_key_spec
from pytest_panther.spec.yaml import Document

__all__ = ["COMBINATORS", "Predicate", "combinator_children", "compile_match_list", "condition_error"]

Predicate = Callable[[Any], bool]
Keys = Sequence[str | int]

#: Combinator key → how child results combine.
COMBINATORS: dict[str, Callable[[list[Predicate]], Predicate]] = {
    "All": lambda ps: (lambda root: all(p(root) for p in ps)),
    "Any": lambda ps: (lambda root: any(p(root) for p in ps)),
    "OnlyOne": lambda ps: (lambda root: sum(1 for p in ps if p(root)) == 1),
    "None": lambda ps: (lambda root: not any(p(root) for p in ps)),
}


def condition_error(document: Document, keys: Keys, name: Any, known: Sequence[str]) -> Exception:
    """The YamlError for an unknown Condition ``name`` at ``keys`` (with a "did you mean")."""
    close = difflib.get_close_matches(str(name), known, n=1) if isinstance(name, str) else []
    hint = f"did you mean {close[0]!r}?" if close else "see the Panther match-expression conditions"
    return document.error([*keys, "Condition"], f"unknown Condition {name!r}", hint)


def combinator_children(document: Document, keys: Keys, expr: Mapping[str, Any], name: str, what: str) -> list[Any]:
    """The child list of combinator ``name`` (All, Any, ...) in the expression ``expr`` at ``keys``.

    Shared by match expressions and ``InlineFilters`` (:mod:`pytest_panther.evaluate.inline_filters`).

    :raises YamlError: at the first other key when ``expr`` holds anything besides ``name``, or at
        ``name`` when its value is not a list (``"<name> must be a list of <what>"``).
    """
    if len(expr) > 1:
        other = next(k for k in expr if k != name)
        raise document.error([*keys, other], f"{name} cannot be combined with {other!r} in one expression", "nest it in its own list item", of_key=True)
    children = expr[name]
    if not isinstance(children, list):
        raise document.error([*keys, name], f"{name} must be a list of {what}")
    return children


def compile_match_list(document: Document, keys: Keys, items: Any, options: c.MatchOptions) -> Predicate:
    """A list of match expressions at ``keys``, ANDed (an empty list is true).

    :raises YamlError: when ``items`` is not a list or any expression is malformed.
    """
    if not isinstance(items, list):
        raise document.error(keys, "expected a list of match expressions")
    predicates = [compile_expression(document, [*keys, i], item, options) for i, item in enumerate(items)]
    if len(predicates) == 1:
        return predicates[0]
    return COMBINATORS["All"](predicates)


def compile_expression(document: Document, keys: Keys, expr: Any, options: c.MatchOptions) -> Predicate:
    """One match expression (any of the seven shapes or a combinator) at ``keys``."""
    if not isinstance(expr, Mapping):
        raise document.error(keys, "a match expression must be a mapping", "e.g. {Key: action, Condition: Equals, Value: x}")
    combinators = [k for k in COMBINATORS if k in expr]
    if combinators:
        name = combinators[0]
        children = combinator_children(document, keys, expr, name, "match expressions")
        return COMBINATORS[name]([compile_expression(document, [*keys, name, i], ch, options) for i, ch in enumerate(children)])
    if "Condition" not in expr:
        raise document.error(keys, "match expression has no Condition", "or use a combinator: All, Any, OnlyOne, None")
    condition = expr["Condition"]
    if condition in c.ABSOLUTE:
        _only(document, keys, expr, {"Condition"})
        return (lambda root: True) if condition == "AlwaysTrue" else (lambda root: False)
    if condition in c.LIST_COMPREHENSION:
        return _list_comprehension(document, keys, expr, condition, options)
    values = expr.get("Values")
    if isinstance(values, list) and values and all(isinstance(v, Mapping) for v in values):
        return _multi_key(document, keys, expr, condition, options)
    return _key_expression(document, keys, expr, condition, options)


def _only(document: Document, keys: Keys, expr: Mapping[str, Any], allowed: set[str]) -> None:
    for key in expr:
        if key not in allowed:
            raise document.error([*keys, key], f"unknown key {key!r} in this match expression", f"allowed: {', '.join(sorted(allowed))}", of_key=True)


def _list_comprehension(document: Document, keys: Keys, expr: Mapping[str, Any], condition: str, options: c.MatchOptions) -> Predicate:
    _only(document, keys, expr, {"Key", "DeepKey", "KeyPath", "Condition", "Expressions"})
    if "Expressions" not in expr:
        raise document.error(keys, f"{condition} needs Expressions (match expressions applied to each element)")
    resolve = compile_key_spec(document, keys, expr, case_insensitive=options.case_insensitive_keys, allowed=("Key", "DeepKey", "KeyPath"))
    inner = compile_match_list(document, [*keys, "Expressions"], expr["Expressions"], options)
    on_empty = options.all_elements_on_empty

    def elements(root: Any) -> list[Any]:
        value = resolve(root)
        return value if isinstance(value, list) else []

    if condition == "AnyElement":
        return lambda root: any(inner(e) for e in elements(root))
    if condition == "NoElement":
        return lambda root: not any(inner(e) for e in elements(root))
    if condition == "OnlyOneElement":
        return lambda root: sum(1 for e in elements(root) if inner(e)) == 1

    def all_elements(root: Any) -> bool:
        items = elements(root)
        return all(inner(e) for e in items) if items else on_empty

    return all_elements


def _multi_key(document: Document, keys: Keys, expr: Mapping[str, Any], condition: Any, options: c.MatchOptions) -> Predicate:
    _only(document, keys, expr, {"Condition", "Values"})
    if condition not in c.BINARY:
        if condition in c.all_condition_names():
            raise document.error([*keys, "Condition"], f"Condition {condition!r} cannot compare two keys", "multi-key expressions take a comparison such as Equals or IsGreaterThan")
        raise condition_error(document, keys, condition, c.all_condition_names())
    values = expr["Values"]
    if len(values) != 2:
        raise document.error([*keys, "Values"], f"a multi-key expression compares exactly 2 keys, got {len(values)}")
    left, right = (
        compile_key_spec(document, [*keys, "Values", i], v, case_insensitive=options.case_insensitive_keys) for i, v in enumerate(values)
    )
    for i, v in enumerate(values):
        extra = [k for k in v if k not in KEY_SPECIFIERS]
        if extra:
            raise document.error([*keys, "Values", i, extra[0]], f"unknown key {extra[0]!r} in a multi-key item", "each item is one key specifier", of_key=True)
    test, negated = c.BINARY[condition]
    if negated:
        return lambda root: not test(left(root), right(root))
    return lambda root: test(left(root), right(root))


def _key_expression(document: Document, keys: Keys, expr: Mapping[str, Any], condition: Any, options: c.MatchOptions) -> Predicate:
    if "Value" in expr and "Values" in expr:
        raise document.error([*keys, "Values"], "Value and Values are both set", "use Value for one operand, Values for a list", of_key=True)
    _only(document, keys, expr, {*KEY_SPECIFIERS, "Condition", "Value", "Values"})
    known = c.all_condition_names()
    if condition not in known:
        raise condition_error(document, keys, condition, known)
    resolve = compile_key_spec(document, keys, expr, case_insensitive=options.case_insensitive_keys)
    if condition in c.UNARY:
        test = c.unary_predicate(condition, options)
        flag = expr.get("Value", True)
        if "Values" in expr or not isinstance(flag, bool):
            raise document.error([*keys, "Value" if "Value" in expr else "Values"], f"{condition} takes no Value", "remove it (Value: true is tolerated, Value: false negates)")
        if not flag:
            return lambda root: not test(resolve(root))
        return lambda root: test(resolve(root))
    operand_key = "Values" if "Values" in expr else "Value"
    if operand_key not in expr:
        raise document.error(keys, f"Condition {condition!r} needs a Value", "or Values for IsIn / IsNotIn")
    operand = expr[operand_key]
    at = [*keys, operand_key]
    if operand_key == "Values":
        if not isinstance(operand, list) or not all(_scalar(v) for v in operand):
            raise document.error(at, "Values must be a list of strings, numbers or booleans")
    elif not _scalar(operand):
        raise document.error(at, "Value must be a string, number or boolean", "use Values for a list")
    if condition in c.MEMBERSHIP:
        member, negated = c.MEMBERSHIP[condition]
        items = operand if operand_key == "Values" else [operand]
        if negated:
            return lambda root: not member(resolve(root), items)
        return lambda root: member(resolve(root), items)
    operands = operand if operand_key == "Values" else [operand]
    if condition in c.CIDR:
        cidr_test, negated = c.CIDR[condition]
        networks = []
        for index, item in enumerate(operands):
            try:
                networks.append(ipaddress.ip_network(item, strict=False) if isinstance(item, str) else None)
            except ValueError:
                networks.append(None)
            if networks[-1] is None:
                raise document.error(at if operand_key == "Value" else [*at, index], f"{item!r} is not a CIDR block", "e.g. 10.0.0.0/8")
        return _any_operand(resolve, cidr_test, networks, negated)
    binary, negated = c.BINARY[condition]
    return _any_operand(resolve, binary, operands, negated)


def _any_operand(resolve: Callable[[Any], Any], test: Callable[[Any, Any], bool], operands: list[Any], negated: bool) -> Predicate:
    """True when ``test`` holds for some operand (``Values`` with a scalar condition, [INFER])."""
    if len(operands) == 1:
        only = operands[0]
        if negated:
            return lambda root: not test(resolve(root), only)
        return lambda root: test(resolve(root), only)

    def check(root: Any) -> bool:
        value = resolve(root)
        hit = any(test(value, x) for x in operands)
        return not hit if negated else hit

    return check


def _scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool))
