"""InlineFilters → panther_core filter trees, gating a Python rule's ``rule()`` through
panther_core's own ``Rule``/``Filter`` (shared/reference/local-evaluation.md §3)."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from panther_core import PantherEvent
from panther_core.rule import Rule

from pytest_panther.evaluate.inline_filters import core_filters
from pytest_panther.spec.model import Spec
from pytest_panther.spec.yaml import YamlError
from pytest_panther.spec.yaml import load

P = "rules/acme/rule.yml"


def spec_of(filters: Any, analysis_type: str = "rule") -> Spec:
    text = f"AnalysisType: {analysis_type}\nRuleID: Acme.Rule\nFilename: rule.py\nSeverity: Low\nInlineFilters: {json.dumps(filters)}\n"
    return Spec(load(text, P))


@pytest.fixture(scope="module")
def rule_py(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rules") / "rule.py"
    path.write_text("def rule(event):\n    return True\n")
    return path


def run(rule_py: Path, filters: Any, log: dict[str, Any], analysis_type: str = "rule") -> Any:
    spec = spec_of(filters, analysis_type)
    config = {
        "id": "Acme.Rule",
        "analysisType": "RULE" if analysis_type == "rule" else "SCHEDULED_RULE",
        "versionId": "0",
        "path": str(rule_py),
        "filters": core_filters(spec),
    }
    return Rule(config).run(PantherEvent(log, None), {}, {}, batch_mode=False)


def passes(rule_py: Path, filters: Any, log: dict[str, Any]) -> bool:
    result = run(rule_py, filters, log)
    assert result.filter_exception is None
    return bool(result.trigger_alert)


def test_no_inline_filters_gives_none() -> None:
    spec = Spec(load("AnalysisType: rule\nRuleID: A\n", P))
    assert core_filters(spec) is None


def test_shape_is_the_backend_transpiled_one() -> None:
    filters = [
        {"KeyPath": "eventName", "Condition": "Equals", "Value": "Login"},
        {"Any": [{"KeyPath": "src.ip", "Condition": "IsIPAddressInCIDR", "Value": "10.0.0.0/8"}, {"KeyPath": "user", "Condition": "IsNullOrEmpty"}]},
        {"All": [{"Enrichment": {"Table": "ip-info", "Selector": "srcAddr", "FieldPath": "geo.cc"}, "Condition": "IsIn", "Values": ["FR"]}]},
        {"KeyPath": "role", "Condition": "IsNotIn", "Value": "admin"},
        {"All": []},
        {"Any": []},
    ]
    assert core_filters(spec_of(filters)) == [
        {
            "statement": {
                "and": [
                    {"target": "eventName", "operator": "==", "value": "Login"},
                    {"or": [{"target": "src.ip", "operator": "in_cidr", "value": "10.0.0.0/8"}, {"target": "user", "operator": "empty"}]},
                    {"and": [{"target": 'p_enrichment."ip-info".srcAddr.geo.cc', "operator": "in", "value": ["FR"]}]},
                    {"target": "role", "operator": "!in", "value": ["admin"]},
                    {"and": []},
                    {"not": [{}]},
                ]
            }
        }
    ]


def test_empty_all_placeholder_lets_rule_run(rule_py: Path) -> None:
    assert passes(rule_py, [{"All": []}], {}) is True
    assert passes(rule_py, [], {}) is True


def test_empty_any_is_false(rule_py: Path) -> None:
    assert passes(rule_py, [{"Any": []}], {}) is False


EQ = {"KeyPath": "environment", "Condition": "StartsWith", "Value": "Sandbox"}


@pytest.mark.parametrize(
    ("filters", "log", "expected"),
    [
        ([EQ], {"environment": "Sandbox-1"}, True),
        ([EQ], {"environment": "Prod"}, False),
        ([EQ], {}, False),  # missing behaves like null in panther_core
        ([EQ], {"Environment": "Sandbox-1"}, False),  # filters read the raw event: case-sensitive
        ([{"KeyPath": "a.b", "Condition": "Equals", "Value": 1}], {"a": {"b": 1}}, True),
        ([{"KeyPath": "a.b", "Condition": "DoesNotEqual", "Value": 1}], {}, True),
        ([{"KeyPath": "tags", "Condition": "Contains", "Value": "pii"}], {"tags": ["x", "pii"]}, True),
        ([{"KeyPath": "tags", "Condition": "DoesNotContain", "Value": "pii"}], {"tags": ["x"]}, True),
        ([{"KeyPath": "n", "Condition": "IsGreaterThanOrEquals", "Value": 5}], {"n": 5}, True),
        ([{"KeyPath": "n", "Condition": "IsLessThan", "Value": 5}], {}, False),
        ([{"KeyPath": "ip", "Condition": "IsIPAddressNotInCIDR", "Value": "10.0.0.0/8"}], {"ip": "8.8.8.8"}, True),
        ([{"KeyPath": "p_any_ip_addresses", "Condition": "CIDRContainsIPAddresses", "Value": "10.0.0.0/8"}], {"p_any_ip_addresses": ["8.8.8.8", "10.1.1.1"]}, True),
        ([{"KeyPath": "ip", "Condition": "IsIPAddressPublic"}], {"ip": "8.8.8.8"}, True),
        ([{"KeyPath": "ip", "Condition": "IsIPAddressPrivate"}], {"ip": "8.8.8.8"}, False),
        ([{"KeyPath": "name", "Condition": "IEquals", "Value": "ROOT"}], {"name": "root"}, True),
        ([{"KeyPath": "items[*].kind", "Condition": "Contains", "Value": "vm"}], {"items": [{"kind": "vm"}]}, True),
        ([{"Any": [EQ, {"KeyPath": "x", "Condition": "Equals", "Value": 1}]}], {"x": 1}, True),
        ([EQ, {"KeyPath": "x", "Condition": "Equals", "Value": 1}], {"environment": "Sandbox", "x": 2}, False),
    ],
)
def test_filters_gate_rule_through_panther_core(rule_py: Path, filters: Any, log: dict[str, Any], expected: bool) -> None:
    assert passes(rule_py, filters, log) is expected


def test_filter_exception_is_recorded_by_panther_core(rule_py: Path) -> None:
    result = run(rule_py, [{"KeyPath": "ip", "Condition": "IsIPAddressPublic"}], {"ip": "not-an-ip"})
    assert isinstance(result.filter_exception, ValueError)
    assert result.errored and not result.trigger_alert


def test_filters_are_ignored_for_scheduled_rules(rule_py: Path) -> None:
    result = run(rule_py, [{"Any": []}], {}, analysis_type="scheduled_rule")
    assert result.trigger_alert is True


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"KeyPath": "a"}, f"{P}:5:16: InlineFilters must be a list of filter expressions"),
        ([{"Key": "a", "Condition": "Equals", "Value": 1}], f"{P}:5:18: Key is not allowed in InlineFilters (filters take KeyPath or Enrichment, and All/Any)"),
        ([{"OnlyOne": []}], f"{P}:5:18: OnlyOne is not allowed in InlineFilters (filters take KeyPath or Enrichment, and All/Any)"),
        ([{"KeyPath": "a", "Condition": "Exists"}], f"{P}:5:47: Condition 'Exists' is not supported in InlineFilters (filters take comparisons, (I)Contains/StartsWith/EndsWith, IsIn, IsNullOrEmpty, CIDR and public/private IP checks)"),
        ([{"KeyPath": "a", "Condition": "Equls", "Value": 1}], f"{P}:5:47: unknown Condition 'Equls' (did you mean 'Equals'?)"),
        ([{"KeyPath": "a", "Condition": "Equals"}], f"{P}:5:17: Condition 'Equals' needs a Value (or Values for IsIn / IsNotIn)"),
        ([{"KeyPath": "a", "Condition": "Equals", "Values": [1]}], f"{P}:5:67: Equals takes a single Value (Values is for IsIn / IsNotIn)"),
        ([{"KeyPath": "a", "Condition": "IsIPAddressInCIDR", "Value": "10/99"}], f"{P}:5:77: '10/99' is not a CIDR block (e.g. 10.0.0.0/8)"),
        ([{"KeyPath": "a-b", "Condition": "Equals", "Value": 1}], f"{P}:5:29: 'a-b' is not a valid JMESPath expression: Bad jmespath expression: Unknown token '-': (quote keys with special characters: \"my-key\".field)"),
        ([{"KeyPath": "a", "Condition": "IsNullOrEmpty", "Value": "x"}], f"{P}:5:73: IsNullOrEmpty takes no Value"),
        ([{"All": [{"KeyPath": "a", "Condition": "Equals", "Value": 1, "Note": 2}]}], f"{P}:5:78: unknown key 'Note' in a filter expression (allowed: Condition, Enrichment, KeyPath, Value, Values)"),
        ([{"Condition": "Equals", "Value": 1}], f"{P}:5:17: filter expression needs KeyPath or Enrichment"),
        ([{"Any": {"KeyPath": "a"}}], f"{P}:5:25: Any must be a list of filter expressions"),
        ([{"All": [], "KeyPath": "a"}], f"{P}:5:29: All cannot be combined with 'KeyPath' in one expression (nest it in its own list item)"),
    ],
)
def test_bad_filters_are_located_errors(filters: Any, message: str) -> None:
    with pytest.raises(YamlError) as info:
        core_filters(spec_of(filters))
    assert str(info.value) == message


def test_error_in_block_yaml_names_the_line() -> None:
    text = textwrap.dedent(
        """\
        AnalysisType: rule
        RuleID: Acme.Rule
        InlineFilters:
          - All:
              - KeyPath: eventName
                Condition: StartWith
                Value: x
        """
    )
    with pytest.raises(YamlError) as info:
        core_filters(Spec(load(text, P)))
    assert str(info.value) == f"{P}:6:20: unknown Condition 'StartWith' (did you mean 'StartsWith'?)"
