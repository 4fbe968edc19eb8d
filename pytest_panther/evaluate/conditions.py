"""The Conditions of Panther's match-expression language, as plain predicates.

Every condition is a *positive* predicate ``positive(value, operand) -> bool``; the negated
conditions (``DoesNotEqual``, ``IsNotIn`` …) are ``not positive(...)``, so a negated condition is
true when the event value is missing or null (forced by backend-verified panther-analysis tests,
shared/reference/local-evaluation.md §2.4 and §9 #1).

``value`` is the resolved event value or :data:`MISSING`; ``operand`` the YAML ``Value``, the
list of ``Values`` (membership conditions) or, for a multi-key expression, the other key's value.

Sources: condition names from panther-analysis ``AGENTS.md`` §5 / the staff guide
``simple-detections.mdc``, the PAT schema enums and PAT fixtures (local-evaluation.md §2.4);
null/empty/IP semantics follow panther_core 0.16.3 ``filter.py`` operators where they exist.
Semantics not fixed by any source are marked [INFER] there and are settings of
:class:`MatchOptions`.
"""
from __future__ import annotations

import ipaddress
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from typing import TypeGuard

__all__ = [
    "ABSOLUTE",
    "BINARY",
    "CIDR",
    "LIST_COMPREHENSION",
    "MEMBERSHIP",
    "MISSING",
    "UNARY",
    "MatchOptions",
    "all_condition_names",
    "unary_predicate",
]


class _Missing:
    """The value of a key that is not in the event (distinct from JSON null); one instance."""

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()


@dataclass(frozen=True)
class MatchOptions:
    """Settings for behaviours the Panther documentation leaves open (local-evaluation.md §9).

    Defaults are the recommended readings, consistent with every backend-verified test.

    - ``case_insensitive_keys`` (§9 #4): ``Key``/``DeepKey``/simple ``KeyPath`` steps try the exact
      key, then a case-insensitive match, like panther_core's ``PantherEvent``. False = exact only.
    - ``exists_on_null`` (§9 #7): whether ``Exists`` is true for an explicit JSON null. Default
      False (null counts as absent).
    - ``all_elements_on_empty`` (§9 #9): the value of ``AllElements`` on an empty, missing or
      non-list value. Default False.
    """

    case_insensitive_keys: bool = True
    exists_on_null: bool = False
    all_elements_on_empty: bool = False


def _absent(value: Any) -> bool:
    return value is MISSING or value is None


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _equal(value: Any, operand: Any) -> bool:
    """Strict equality: booleans equal only booleans, ints and floats compare numerically."""
    if _absent(value) or _absent(operand):
        return False
    if isinstance(value, bool) or isinstance(operand, bool):
        return isinstance(value, bool) and isinstance(operand, bool) and value == operand
    if _is_number(value) and _is_number(operand):
        return value == operand
    return type(value) is type(operand) and value == operand


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _iequal(value: Any, operand: Any) -> bool:
    return _equal(_lower(value), _lower(operand))


def _contains(value: Any, operand: Any, fold: bool = False) -> bool:
    """Substring for strings; membership (then element substring) for lists; key for mappings."""
    if _absent(value) or _absent(operand):
        return False
    if fold:
        value = [_lower(v) for v in value] if isinstance(value, list) else _lower(value)
        operand = _lower(operand)
    if isinstance(value, str):
        return isinstance(operand, str) and operand in value
    if isinstance(value, list):
        if any(_equal(item, operand) for item in value):
            return True
        return isinstance(operand, str) and any(isinstance(i, str) and operand in i for i in value)
    if isinstance(value, Mapping):
        return isinstance(operand, str) and (operand in value or (fold and operand in {_lower(k) for k in value}))
    return False


def _affix(method: str, fold: bool) -> Callable[[Any, Any], bool]:
    def check(value: Any, operand: Any) -> bool:
        if not isinstance(value, str) or not isinstance(operand, str):
            return False
        if fold:
            value, operand = value.lower(), operand.lower()
        return bool(getattr(value, method)(operand))

    return check


def _compare(test: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def check(value: Any, operand: Any) -> bool:
        if _is_number(value) and _is_number(operand):
            return test(value, operand)
        if isinstance(value, str) and isinstance(operand, str):
            return test(value, operand)
        return False

    return check


def _is_in(value: Any, items: list[Any]) -> bool:
    """Scalar: equals some item. List: some element equals some item (panther_core ``in``)."""
    if isinstance(value, list):
        return any(_equal(element, item) for element in value for item in items)
    return any(_equal(value, item) for item in items)


def _network(value: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    if not isinstance(value, str):
        return None
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None


def _in_cidr(value: Any, cidr: Any) -> bool:
    network = _network(value)
    return network is not None and network.overlaps(cidr)


def _cidr_contains(value: Any, cidr: Any) -> bool:
    if not isinstance(value, list):
        return False
    return any(_in_cidr(item, cidr) for item in value)


def _address(value: Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not isinstance(value, str):
        return None
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _empty(value: Any) -> bool:
    """MISSING, null, "", [] and {} are empty; 0 and false are not (panther_core ``empty``)."""
    if _absent(value):
        return True
    return isinstance(value, (str, list, Mapping)) and len(value) == 0


_POSITIVE_BINARY: dict[str, Callable[[Any, Any], bool]] = {
    "Equals": _equal,
    "IEquals": _iequal,
    "Contains": _contains,
    "IContains": lambda v, x: _contains(v, x, fold=True),
    "Has": _contains,  # early PAT-fixture alias (local-evaluation.md §9 #15)
    "StartsWith": _affix("startswith", False),
    "IStartsWith": _affix("startswith", True),
    "EndsWith": _affix("endswith", False),
    "IEndsWith": _affix("endswith", True),
    "IsGreaterThan": _compare(lambda v, x: v > x),
    "IsGreaterThanOrEquals": _compare(lambda v, x: v >= x),
    "IsLessThan": _compare(lambda v, x: v < x),
    "IsLessThanOrEquals": _compare(lambda v, x: v <= x),
}
for _base in ("IsGreaterThanOrEqual", "IsLessThanOrEqual"):  # §9 #14: accept every spelling
    _POSITIVE_BINARY[_base] = _POSITIVE_BINARY[_base + "s"]
    _POSITIVE_BINARY[_base + "To"] = _POSITIVE_BINARY[_base + "s"]

_NEGATED_BINARY = {
    "DoesNotEqual": "Equals",
    "IDoesNotEqual": "IEquals",
    "DoesNotContain": "Contains",
    "IDoesNotContain": "IContains",
    "DoesNotHave": "Has",
    "DoesNotStartWith": "StartsWith",
    "IDoesNotStartWith": "IStartsWith",
    "DoesNotEndWith": "EndsWith",
    "IDoesNotEndWith": "IEndsWith",
}

#: Condition name → (positive predicate, negated?) for ``Value`` / multi-key expressions.
BINARY: dict[str, tuple[Callable[[Any, Any], bool], bool]] = {
    **{name: (fn, False) for name, fn in _POSITIVE_BINARY.items()},
    **{name: (_POSITIVE_BINARY[base], True) for name, base in _NEGATED_BINARY.items()},
}

#: Membership conditions (``Values`` list; a single ``Value`` is a one-item list, §9 #21).
MEMBERSHIP: dict[str, tuple[Callable[[Any, list[Any]], bool], bool]] = {
    "IsIn": (_is_in, False),
    "IsNotIn": (_is_in, True),
}

#: CIDR conditions; the operand is a network parsed once when the expression is compiled.
CIDR: dict[str, tuple[Callable[[Any, Any], bool], bool]] = {
    "IsIPAddressInCIDR": (_in_cidr, False),
    "IsIPAddressNotInCIDR": (_in_cidr, True),
    "CIDRContainsIPAddresses": (_cidr_contains, False),
    "CIDRDoesNotContainIPAddresses": (_cidr_contains, True),
}

#: Conditions without a value (existence, null/empty, IP checks); see :func:`unary_predicate`.
UNARY: frozenset[str] = frozenset(
    {
        "Exists",
        "DoesNotExist",
        "IsNull",
        "IsNotNull",
        "IsNullOrEmpty",
        "IsNotNullOrEmpty",
        "IsIPAddress",
        "IsIPv4Address",
        "IsIPv6Address",
        "IsIPAddressPublic",
        "IsIPAddressPrivate",
    }
)

ABSOLUTE: frozenset[str] = frozenset({"AlwaysTrue", "AlwaysFalse"})
LIST_COMPREHENSION: frozenset[str] = frozenset({"AnyElement", "AllElements", "NoElement", "OnlyOneElement"})


def unary_predicate(name: str, options: MatchOptions) -> Callable[[Any], bool]:
    """The predicate of a unary condition ``name`` (one of :data:`UNARY`)."""
    if name in ("Exists", "DoesNotExist"):
        null_exists = options.exists_on_null

        def exists(v: Any) -> bool:
            return v is not MISSING if null_exists else not _absent(v)

        return exists if name == "Exists" else (lambda v: not exists(v))
    table: dict[str, Callable[[Any], bool]] = {
        "IsNull": _absent,
        "IsNotNull": lambda v: not _absent(v),
        "IsNullOrEmpty": _empty,
        "IsNotNullOrEmpty": lambda v: not _empty(v),
        "IsIPAddress": lambda v: _address(v) is not None,
        "IsIPv4Address": lambda v: isinstance(_address(v), ipaddress.IPv4Address),
        "IsIPv6Address": lambda v: isinstance(_address(v), ipaddress.IPv6Address),
        "IsIPAddressPublic": lambda v: (a := _address(v)) is not None and a.is_global,
        "IsIPAddressPrivate": lambda v: (a := _address(v)) is not None and a.is_private,
    }
    return table[name]


def all_condition_names() -> list[str]:
    """Every condition name the evaluator knows (for "did you mean" hints)."""
    return sorted({*BINARY, *MEMBERSHIP, *CIDR, *UNARY, *ABSOLUTE, *LIST_COMPREHENSION})
