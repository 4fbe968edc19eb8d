"""Every condition, combinator and key specifier of simple-detection match expressions,
positive and negative, with the edge cases of shared/reference/local-evaluation.md §2 and §9."""
from __future__ import annotations

import json
from typing import Any

import pytest
from panther_core import PantherEvent

from pytest_panther.evaluate.conditions import MatchOptions
from pytest_panther.evaluate.simple import build_simple_module
from pytest_panther.spec.model import Spec
from pytest_panther.spec.yaml import load

HEADER = "AnalysisType: rule\nRuleID: T.Rule\nSeverity: Low\nLogTypes: [Custom.T]\n"


def matches(expressions: list[dict[str, Any]], log: dict[str, Any], options: MatchOptions | None = None) -> bool:
    text = HEADER + "Detection: " + json.dumps(expressions) + "\n"
    module = build_simple_module(Spec(load(text, "rules/t.yml")), options)
    result = module.rule(PantherEvent(log, None))
    assert isinstance(result, bool)
    return result


def one(condition: str, log: dict[str, Any], key: str = "f", **operand: Any) -> bool:
    return matches([{"Key": key, "Condition": condition, **operand}], log)


MISSING: dict[str, Any] = {}
NULL = {"f": None}


@pytest.mark.parametrize(
    ("condition", "value", "log", "expected"),
    [
        ("Equals", "a", {"f": "a"}, True),
        ("Equals", "a", {"f": "A"}, False),
        ("Equals", "a", MISSING, False),
        ("Equals", "a", NULL, False),
        ("Equals", 403, {"f": 403.0}, True),
        ("Equals", 403, {"f": "403"}, False),
        ("Equals", "403", {"f": 403}, False),
        ("Equals", True, {"f": True}, True),
        ("Equals", True, {"f": 1}, False),
        ("Equals", 1, {"f": True}, False),
        ("Equals", "a", {"f": ["a"]}, False),
        ("DoesNotEqual", "a", {"f": "a"}, False),
        ("DoesNotEqual", "a", {"f": "b"}, True),
        ("DoesNotEqual", "a", MISSING, True),
        ("DoesNotEqual", "a", NULL, True),
        ("IEquals", "ADMIN", {"f": "admin"}, True),
        ("IEquals", "admin", {"f": "root"}, False),
        ("IEquals", 5, {"f": 5}, True),
        ("IDoesNotEqual", "ADMIN", {"f": "Admin"}, False),
        ("IDoesNotEqual", "ADMIN", MISSING, True),
        ("Contains", "adm", {"f": "sysadmin"}, True),
        ("Contains", "adm", {"f": "root"}, False),
        ("Contains", "x", {"f": ["a", "x"]}, True),
        ("Contains", True, {"f": [False, True]}, True),
        ("Contains", True, {"f": [False, 1]}, False),
        ("Contains", "dmi", {"f": ["admin", "b"]}, True),
        ("Contains", "k", {"f": {"k": 1}}, True),
        ("Contains", "v", {"f": {"k": "v"}}, False),
        ("Contains", "1", {"f": 12}, False),
        ("Contains", "a", {"f": []}, False),
        ("Contains", "a", MISSING, False),
        ("DoesNotContain", "a", MISSING, True),
        ("DoesNotContain", "a", NULL, True),
        ("DoesNotContain", "a", {"f": "cat"}, False),
        ("DoesNotContain", "a", {"f": []}, True),
        ("IContains", "ADM", {"f": "SysAdmin"}, True),
        ("IContains", "ADM", {"f": ["x", "sysadmin"]}, True),
        ("IContains", "zzz", {"f": "SysAdmin"}, False),
        ("IDoesNotContain", "ADM", {"f": "SysAdmin"}, False),
        ("Has", "Update", {"f": "UpdateUser"}, True),
        ("DoesNotHave", "-l", {"f": ["ls", "-l"]}, False),
        ("DoesNotHave", "-l", {"f": ["ls", "-a"]}, True),
        ("StartsWith", "arn:", {"f": "arn:aws"}, True),
        ("StartsWith", "arn:", {"f": "ARN:aws"}, False),
        ("StartsWith", "1", {"f": 12}, False),
        ("DoesNotStartWith", "arn:", {"f": "x"}, True),
        ("DoesNotStartWith", "arn:", MISSING, True),
        ("IStartsWith", "ARN:", {"f": "arn:aws"}, True),
        ("IDoesNotStartWith", "ARN:", {"f": "arn:aws"}, False),
        ("EndsWith", ".exe", {"f": "a.exe"}, True),
        ("EndsWith", ".exe", {"f": "a.EXE"}, False),
        ("IEndsWith", ".exe", {"f": "a.EXE"}, True),
        ("DoesNotEndWith", ".exe", {"f": "a.exe"}, False),
        ("IDoesNotEndWith", ".exe", {"f": "a.EXE"}, False),
        ("IDoesNotEndWith", ".exe", NULL, True),
        ("IsGreaterThan", 5, {"f": 6}, True),
        ("IsGreaterThan", 5, {"f": 5}, False),
        ("IsGreaterThan", 5, {"f": 5.5}, True),
        ("IsGreaterThan", 5, {"f": "6"}, False),
        ("IsGreaterThan", 5, MISSING, False),
        ("IsGreaterThan", 0, {"f": True}, False),
        ("IsGreaterThan", "b", {"f": "c"}, True),
        ("IsGreaterThanOrEquals", 5, {"f": 5}, True),
        ("IsGreaterThanOrEqual", 5, {"f": 4}, False),
        ("IsGreaterThanOrEqualTo", 5, {"f": 5}, True),
        ("IsLessThan", 5, {"f": 4}, True),
        ("IsLessThan", 5, {"f": 5}, False),
        ("IsLessThan", 5, NULL, False),
        ("IsLessThanOrEquals", 5, {"f": 5}, True),
        ("IsLessThanOrEqual", 5, {"f": 6}, False),
        ("IsLessThanOrEqualTo", 5, {"f": 5}, True),
    ],
)
def test_value_condition(condition: str, value: Any, log: dict[str, Any], expected: bool) -> None:
    assert one(condition, log, Value=value) is expected


@pytest.mark.parametrize(
    ("condition", "values", "log", "expected"),
    [
        ("IsIn", ["a", "b"], {"f": "b"}, True),
        ("IsIn", ["a", "b"], {"f": "c"}, False),
        ("IsIn", ["a", "b"], {"f": ["x", "a"]}, True),
        ("IsIn", ["a", "b"], {"f": ["x"]}, False),
        ("IsIn", ["a", "b"], {"f": []}, False),
        ("IsIn", [1, 2], {"f": 2.0}, True),
        ("IsIn", [1, 2], {"f": "1"}, False),
        ("IsIn", [1], {"f": True}, False),
        ("IsIn", [], {"f": "a"}, False),
        ("IsIn", ["a"], MISSING, False),
        ("IsNotIn", ["a", "b"], {"f": "c"}, True),
        ("IsNotIn", ["a", "b"], {"f": "a"}, False),
        ("IsNotIn", ["a"], MISSING, True),
        ("IsNotIn", ["a"], NULL, True),
        ("Equals", ["a", "b"], {"f": "b"}, True),  # Values with a scalar condition: any operand
        ("DoesNotEqual", ["a", "b"], {"f": "b"}, False),
    ],
)
def test_values_condition(condition: str, values: list[Any], log: dict[str, Any], expected: bool) -> None:
    assert one(condition, log, Values=values) is expected


def test_is_in_with_a_single_value_is_a_one_item_list() -> None:
    assert one("IsIn", {"f": "a"}, Value="a") is True
    assert one("IsIn", {"f": "ab"}, Value="a") is False  # never a substring test


@pytest.mark.parametrize(
    ("condition", "log", "expected"),
    [
        ("Exists", {"f": "x"}, True),
        ("Exists", {"f": ""}, True),
        ("Exists", {"f": False}, True),
        ("Exists", NULL, False),
        ("Exists", MISSING, False),
        ("DoesNotExist", MISSING, True),
        ("DoesNotExist", NULL, True),
        ("DoesNotExist", {"f": 0}, False),
        ("IsNull", MISSING, True),
        ("IsNull", NULL, True),
        ("IsNull", {"f": ""}, False),
        ("IsNotNull", {"f": 0}, True),
        ("IsNotNull", NULL, False),
        ("IsNullOrEmpty", MISSING, True),
        ("IsNullOrEmpty", NULL, True),
        ("IsNullOrEmpty", {"f": ""}, True),
        ("IsNullOrEmpty", {"f": []}, True),
        ("IsNullOrEmpty", {"f": {}}, True),
        ("IsNullOrEmpty", {"f": 0}, False),
        ("IsNullOrEmpty", {"f": False}, False),
        ("IsNullOrEmpty", {"f": [None]}, False),
        ("IsNotNullOrEmpty", {"f": ["a"]}, True),
        ("IsNotNullOrEmpty", {"f": []}, False),
        ("IsNotNullOrEmpty", MISSING, False),
        ("IsIPAddress", {"f": "10.0.0.1"}, True),
        ("IsIPAddress", {"f": "::1"}, True),
        ("IsIPAddress", {"f": "sqs.amazonaws.com"}, False),
        ("IsIPAddress", {"f": 167772161}, False),
        ("IsIPAddress", MISSING, False),
        ("IsIPv4Address", {"f": "10.0.0.1"}, True),
        ("IsIPv4Address", {"f": "2001:db8::1"}, False),
        ("IsIPv6Address", {"f": "2001:db8::1"}, True),
        ("IsIPv6Address", {"f": "10.0.0.1"}, False),
        ("IsIPAddressPublic", {"f": "8.8.8.8"}, True),
        ("IsIPAddressPublic", {"f": "10.1.2.3"}, False),
        ("IsIPAddressPublic", {"f": "not-an-ip"}, False),
        ("IsIPAddressPrivate", {"f": "192.168.1.1"}, True),
        ("IsIPAddressPrivate", {"f": "8.8.8.8"}, False),
        ("IsIPAddressPrivate", NULL, False),
    ],
)
def test_unary_condition(condition: str, log: dict[str, Any], expected: bool) -> None:
    assert one(condition, log) is expected


def test_unary_value_true_is_ignored_and_false_negates() -> None:
    assert one("IsIPAddressPrivate", {"f": "10.0.0.1"}, Value=True) is True
    assert one("IsIPAddressPrivate", {"f": "10.0.0.1"}, Value=False) is False
    assert one("IsIPAddressPrivate", {"f": "8.8.8.8"}, Value=False) is True


def test_exists_on_null_is_a_setting() -> None:
    expr = [{"Key": "f", "Condition": "Exists"}]
    assert matches(expr, NULL, MatchOptions(exists_on_null=True)) is True
    assert matches(expr, MISSING, MatchOptions(exists_on_null=True)) is False


@pytest.mark.parametrize(
    ("condition", "cidr", "log", "expected"),
    [
        ("IsIPAddressInCIDR", "10.0.0.0/8", {"f": "10.1.2.3"}, True),
        ("IsIPAddressInCIDR", "10.0.0.0/8", {"f": "11.1.2.3"}, False),
        ("IsIPAddressInCIDR", "10.0.0.0/8", {"f": "10.2.0.0/16"}, True),
        ("IsIPAddressInCIDR", "2001:db8::/32", {"f": "2001:db8::5"}, True),
        ("IsIPAddressInCIDR", "10.0.0.0/8", {"f": "host"}, False),
        ("IsIPAddressInCIDR", "10.0.0.0/8", {"f": ["10.1.2.3"]}, False),
        ("IsIPAddressInCIDR", "10.0.0.0/8", MISSING, False),
        ("IsIPAddressNotInCIDR", "10.0.0.0/8", {"f": "11.1.2.3"}, True),
        ("IsIPAddressNotInCIDR", "10.0.0.0/8", {"f": "10.1.2.3"}, False),
        ("IsIPAddressNotInCIDR", "10.0.0.0/8", MISSING, True),
        ("CIDRContainsIPAddresses", "10.0.0.0/8", {"f": ["8.8.8.8", "10.9.9.9"]}, True),
        ("CIDRContainsIPAddresses", "10.0.0.0/8", {"f": ["8.8.8.8"]}, False),
        ("CIDRContainsIPAddresses", "10.0.0.0/8", {"f": []}, False),
        ("CIDRContainsIPAddresses", "10.0.0.0/8", {"f": "10.9.9.9"}, False),
        ("CIDRDoesNotContainIPAddresses", "10.0.0.0/8", {"f": ["8.8.8.8"]}, True),
        ("CIDRDoesNotContainIPAddresses", "10.0.0.0/8", {"f": ["10.0.0.1"]}, False),
    ],
)
def test_cidr_condition(condition: str, cidr: str, log: dict[str, Any], expected: bool) -> None:
    assert one(condition, log, Value=cidr) is expected


def test_absolute_conditions() -> None:
    assert matches([{"Condition": "AlwaysTrue"}], {}) is True
    assert matches([{"Condition": "AlwaysFalse"}], {}) is False


A = {"Key": "a", "Condition": "Equals", "Value": 1}
B = {"Key": "b", "Condition": "Equals", "Value": 1}


@pytest.mark.parametrize(
    ("combinator", "log", "expected"),
    [
        ("All", {"a": 1, "b": 1}, True),
        ("All", {"a": 1, "b": 2}, False),
        ("Any", {"a": 2, "b": 1}, True),
        ("Any", {"a": 2, "b": 2}, False),
        ("OnlyOne", {"a": 1, "b": 2}, True),
        ("OnlyOne", {"a": 1, "b": 1}, False),
        ("OnlyOne", {"a": 2, "b": 2}, False),
        ("None", {"a": 2, "b": 2}, True),
        ("None", {"a": 1, "b": 2}, False),
    ],
)
def test_combinator(combinator: str, log: dict[str, Any], expected: bool) -> None:
    assert matches([{combinator: [A, B]}], log) is expected


def test_empty_combinators_and_top_level_list() -> None:
    assert matches([{"All": []}], {}) is True
    assert matches([{"Any": []}], {}) is False
    assert matches([{"None": []}], {}) is True
    assert matches([{"OnlyOne": []}], {}) is False
    assert matches([], {}) is True
    assert matches([A, B], {"a": 1, "b": 1}) is True
    assert matches([A, B], {"a": 1}) is False


def test_nested_combinators() -> None:
    expr = [{"Any": [{"All": [A, {"Any": [B, {"Key": "c", "Condition": "Exists"}]}]}, {"Condition": "AlwaysFalse"}]}]
    assert matches(expr, {"a": 1, "c": "x"}) is True
    assert matches(expr, {"a": 1}) is False


ITEMS = [{"name": "x", "ok": True}, {"name": "y", "ok": False}]
PER_ELEMENT = [{"Key": "name", "Condition": "Equals", "Value": "y"}, {"Key": "ok", "Condition": "Equals", "Value": True}]


@pytest.mark.parametrize(
    ("condition", "items", "expected"),
    [
        ("AnyElement", ITEMS, False),  # expressions are ANDed within one element
        ("AnyElement", [*ITEMS, {"name": "y", "ok": True}], True),
        ("AnyElement", [], False),
        ("AllElements", [{"name": "y", "ok": True}] * 2, True),
        ("AllElements", [*ITEMS, {"name": "y", "ok": True}], False),
        ("AllElements", [], False),
        ("NoElement", ITEMS, True),
        ("NoElement", [{"name": "y", "ok": True}], False),
        ("NoElement", [], True),
        ("OnlyOneElement", [{"name": "y", "ok": True}, {"name": "x", "ok": True}], True),
        ("OnlyOneElement", [{"name": "y", "ok": True}] * 2, False),
        ("OnlyOneElement", ["y", 1, None], False),  # scalar elements have no keys
    ],
)
def test_list_comprehension(condition: str, items: list[Any], expected: bool) -> None:
    assert matches([{"Key": "items", "Condition": condition, "Expressions": PER_ELEMENT}], {"items": items}) is expected


def test_list_comprehension_on_missing_or_non_list_values() -> None:
    for condition, expected in (("AnyElement", False), ("AllElements", False), ("NoElement", True), ("OnlyOneElement", False)):
        assert matches([{"Key": "items", "Condition": condition, "Expressions": PER_ELEMENT}], {}) is expected
        assert matches([{"Key": "items", "Condition": condition, "Expressions": PER_ELEMENT}], {"items": "y"}) is expected
    expr = [{"Key": "items", "Condition": "AllElements", "Expressions": PER_ELEMENT}]
    assert matches(expr, {"items": []}, MatchOptions(all_elements_on_empty=True)) is True


def test_nested_list_comprehension() -> None:
    inner = {"Key": "bindings", "Condition": "AnyElement", "Expressions": [{"Key": "role", "Condition": "Equals", "Value": "owner"}]}
    expr = [{"DeepKey": ["policy", "groups"], "Condition": "AnyElement", "Expressions": [inner]}]
    assert matches(expr, {"policy": {"groups": [{"bindings": [{"role": "viewer"}]}, {"bindings": [{"role": "owner"}]}]}}) is True
    assert matches(expr, {"policy": {"groups": [{"bindings": [{"role": "viewer"}]}]}}) is False


@pytest.mark.parametrize(
    ("condition", "log", "expected"),
    [
        ("Equals", {"a": "u1", "b": "u1"}, True),
        ("Equals", {"a": "u1", "b": "u2"}, False),
        ("Equals", {"a": "u1"}, False),
        ("DoesNotEqual", {"a": "u1", "b": "u2"}, True),
        ("DoesNotEqual", {"a": "u1", "b": "u1"}, False),
        ("DoesNotEqual", {"a": "u1"}, True),
        ("IsGreaterThan", {"a": 3, "b": 2}, True),
        ("IsGreaterThan", {"a": 2, "b": 3}, False),
        ("StartsWith", {"a": "arn:aws:iam", "b": "arn:aws"}, True),
    ],
)
def test_multi_key(condition: str, log: dict[str, Any], expected: bool) -> None:
    assert matches([{"Condition": condition, "Values": [{"Key": "a"}, {"KeyPath": "b"}]}], log) is expected


def test_key_specifiers() -> None:
    log = {
        "a.b": "literal",
        "a": {"b": "nested", "list": [{"c": 1}, {"c": 2}, {"d": 3}]},
        "userIdentity": {"ARN": "arn:x"},
        "flags": [{"on": True}, {"on": False}],
        "p_enrichment": {"ipinfo_location": {"srcAddr": {"city": "Paris", "geo": {"cc": "FR"}}}},
    }
    assert matches([{"Key": "a.b", "Condition": "Equals", "Value": "literal"}], log)  # Key is literal
    assert matches([{"KeyPath": "a.b", "Condition": "Equals", "Value": "nested"}], log)
    assert matches([{"DeepKey": ["a", "list", 1, "c"], "Condition": "Equals", "Value": 2}], log)
    assert matches([{"DeepKey": ["a", "list", 9, "c"], "Condition": "DoesNotExist"}], log)
    assert matches([{"KeyPath": "a.list[0].c", "Condition": "Equals", "Value": 1}], log)
    assert matches([{"KeyPath": "a.list[-1].d", "Condition": "Equals", "Value": 3}], log)
    assert matches([{"KeyPath": "a.list[*].c", "Condition": "Contains", "Value": 2}], log)
    assert not matches([{"KeyPath": "a.list[*].c", "Condition": "Contains", "Value": 3}], log)
    assert matches([{"KeyPath": "flags[*].on", "Condition": "Contains", "Value": False}], log)
    assert matches([{"KeyPath": "a.list[*].zzz", "Condition": "IsNullOrEmpty"}], log)
    assert matches([{"KeyPath": "useridentity.arn", "Condition": "Equals", "Value": "arn:x"}], log)  # case fallback
    assert matches([{"DeepKey": ["USERIDENTITY", "arn"], "Condition": "Equals", "Value": "arn:x"}], log)
    assert not matches([{"Key": "USERIDENTITY", "Condition": "Exists"}], log, MatchOptions(case_insensitive_keys=False))
    enrichment = {"Table": "ipinfo_location", "Selector": "srcAddr", "FieldPath": "city"}
    assert matches([{"Enrichment": enrichment, "Condition": "Equals", "Value": "Paris"}], log)
    assert matches([{"Enrichment": {**enrichment, "FieldPath": "geo.cc"}, "Condition": "IsIn", "Values": ["FR", "DE"]}], log)
    assert matches([{"Enrichment": {**enrichment, "Selector": "dstAddr"}, "Condition": "DoesNotExist"}], log)


def test_exact_key_wins_over_case_insensitive_match() -> None:
    assert matches([{"Key": "Name", "Condition": "Equals", "Value": "exact"}], {"name": "lower", "Name": "exact"})
