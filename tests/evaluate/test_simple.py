"""Simple detections: the module build_simple_module returns, run through panther_core, and the
``path:line:col`` errors for malformed expressions."""
from __future__ import annotations

import textwrap
import types
from typing import Any

import pytest
from panther_core import PantherEvent
from panther_core.rule import Rule

from pytest_panther.evaluate.simple import build_simple_module
from pytest_panther.spec.model import Spec
from pytest_panther.spec.yaml import YamlError
from pytest_panther.spec.yaml import load

HEADER = "AnalysisType: rule\nRuleID: Acme.Repo.Archived\nSeverity: Info\nLogTypes: [GitHub.Audit]\n"

RULE = HEADER + textwrap.dedent(
    """\
    Detection:
      - Key: action
        Condition: Equals
        Value: repo.archived
    AlertTitle: "Repository [{repo}] archived by {actor.login} in {org}"
    AlertContext:
      - KeyName: repo
        KeyValue:
          Key: repo
      - KeyName: country
        KeyValue:
          KeyPath: actor_location.country_code
    GroupBy:
      - Key: org
      - KeyPath: actor.login
    DynamicSeverities:
      - ChangeTo: High
        Conditions:
          - Key: org
            Condition: Equals
            Value: prod-org
          - Key: visibility
            Condition: Equals
            Value: public
      - ChangeTo: medium
        Conditions:
          - Key: org
            Condition: Equals
            Value: prod-org
    """
)

ARCHIVED = {"action": "repo.archived", "repo": "o/r", "actor": {"login": "cat"}, "org": "prod-org"}


def spec_of(text: str) -> Spec:
    return Spec(load(text, "rules/github/archived.yml"))


class ModuleRule(Rule):
    """panther_core's Rule with a ready module instead of a file (as the engine integrates it)."""

    @staticmethod
    def _load_detection(identifier: str, config: Any) -> types.ModuleType:
        return config["_module"]


def run(module: types.ModuleType, log: dict[str, Any]) -> Any:
    config = {"id": "Acme.Repo.Archived", "analysisType": "RULE", "versionId": "0", "body": "unused", "_module": module}
    return ModuleRule(config).run(PantherEvent(log, None), {}, {}, batch_mode=False)


def test_module_functions() -> None:
    module = build_simple_module(spec_of(RULE))
    event = PantherEvent(ARCHIVED, None)
    assert module.rule(event) is True
    assert module.rule(PantherEvent({"action": "repo.create"}, None)) is False
    assert module.title(event) == "Repository [o/r] archived by cat in prod-org"
    assert module.alert_context(event) == {"repo": "o/r", "country": None}
    assert module.dedup(event) == "prod-org:cat"
    assert module.severity(event) == "MEDIUM"
    assert module.severity(PantherEvent({**ARCHIVED, "visibility": "public"}, None)) == "HIGH"
    assert module.severity(PantherEvent({"org": "dev"}, None)) == "DEFAULT"


def test_missing_title_fields_render_empty_and_do_not_raise() -> None:
    module = build_simple_module(spec_of(RULE))
    assert module.title(PantherEvent({"action": "repo.archived"}, None)) == "Repository [] archived by  in "
    assert module.dedup(PantherEvent({}, None)) == ":"


def test_non_string_title_values() -> None:
    module = build_simple_module(spec_of(HEADER + "Detection: []\nAlertTitle: '{n} {b} {l} {d}'\n"))
    assert module.title(PantherEvent({"n": 3, "b": True, "l": [1], "d": {"k": "v"}}, None)) == '3 True [1] {"k": "v"}'


def test_only_configured_functions_exist() -> None:
    module = build_simple_module(spec_of(HEADER + "Detection:\n  - Condition: AlwaysTrue\n"))
    assert callable(module.rule)
    for name in ("title", "alert_context", "dedup", "severity"):
        assert not hasattr(module, name)


def test_runs_through_panther_core() -> None:
    module = build_simple_module(spec_of(RULE))
    hit = run(module, {**ARCHIVED, "visibility": "public"})
    assert hit.detection_output is True and hit.trigger_alert and not hit.errored
    assert hit.title_output == "Repository [o/r] archived by cat in prod-org"
    assert hit.dedup_output == "prod-org:cat"
    assert hit.severity_output == "HIGH"
    assert hit.alert_context_output == '{"repo": "o/r", "country": null}'
    miss = run(module, {"action": "repo.create"})
    assert miss.detection_output is False and not miss.trigger_alert


def test_each_build_is_a_fresh_module() -> None:
    spec = spec_of(RULE)
    assert build_simple_module(spec) is not build_simple_module(spec)


def error_of(body: str) -> str:
    with pytest.raises(YamlError) as info:
        build_simple_module(spec_of(HEADER + textwrap.dedent(body)))
    return str(info.value)


P = "rules/github/archived.yml"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "Detection:\n  - Key: action\n    Condition: Equal\n    Value: x\n",
            f"{P}:7:16: unknown Condition 'Equal' (did you mean 'Equals'?)",
        ),
        (
            "Detection:\n  - Key: action\n    Condition: Frobnicate\n    Value: x\n",
            f"{P}:7:16: unknown Condition 'Frobnicate' (see the Panther match-expression conditions)",
        ),
        (
            "Detection:\n  - Key: action\n    Condition: Equals\n",
            f"{P}:6:5: Condition 'Equals' needs a Value (or Values for IsIn / IsNotIn)",
        ),
        (
            "Detection:\n  - Condition: Equals\n    Value: x\n",
            f"{P}:6:5: match expression needs one of Key, DeepKey, KeyPath, Enrichment",
        ),
        (
            "Detection:\n  - Key: a\n    KeyPath: b\n    Condition: Exists\n",
            f"{P}:7:5: more than one key specifier (Key, KeyPath) (use exactly one)",
        ),
        (
            "Detection:\n  - Key: a\n    Condition: Equals\n    Value: x\n    Extra: Param\n",
            f"{P}:9:5: unknown key 'Extra' in this match expression (allowed: Condition, DeepKey, Enrichment, Key, KeyPath, Value, Values)",
        ),
        (
            "Detection:\n  - Key: a\n    Condition: IsIn\n    Value: x\n    Values: [y]\n",
            f"{P}:9:5: Value and Values are both set (use Value for one operand, Values for a list)",
        ),
        (
            "Detection:\n  - Condition: Equals\n    Values:\n      - Key: a\n      - Key: b\n      - Key: c\n",
            f"{P}:8:7: a multi-key expression compares exactly 2 keys, got 3",
        ),
        (
            "Detection:\n  - Key: items\n    Condition: AnyElement\n",
            f"{P}:6:5: AnyElement needs Expressions (match expressions applied to each element)",
        ),
        (
            "Detection:\n  - Any:\n      - Key: a\n        Condition: Exits\n",
            f"{P}:8:20: unknown Condition 'Exits' (did you mean 'Exists'?)",
        ),
        (
            "Detection:\n  - All: {Key: a}\n",
            f"{P}:6:10: All must be a list of match expressions",
        ),
        (
            "Detection:\n  - All: []\n    Any: []\n",
            f"{P}:7:5: All cannot be combined with 'Any' in one expression (nest it in its own list item)",
        ),
        (
            "Detection:\n  - Key: a\n",
            f"{P}:6:5: match expression has no Condition (or use a combinator: All, Any, OnlyOne, None)",
        ),
        (
            "Detection: {Key: a}\n",
            f"{P}:5:12: Detection must be a list of match expressions",
        ),
        (
            "Detection:\n  - KeyPath: user-agent.name\n    Condition: Exists\n",
            (
                f"{P}:6:14: KeyPath 'user-agent.name' is not a valid JMESPath expression: Bad jmespath expression: "
                "Unknown token '-': (quote keys with special characters: \"my-key\".field)"
            ),
        ),
        (
            "Detection:\n  - DeepKey: a.b\n    Condition: Exists\n",
            f"{P}:6:14: DeepKey must be a non-empty list of keys (strings) and list indexes (integers)",
        ),
        (
            "Detection:\n  - Key: ip\n    Condition: IsIPAddressInCIDR\n    Value: 10.0.0.0/33\n",
            f"{P}:8:12: '10.0.0.0/33' is not a CIDR block (e.g. 10.0.0.0/8)",
        ),
        (
            "Detection:\n  - Key: ip\n    Condition: IsIPAddress\n    Value: 10.0.0.1\n",
            f"{P}:8:12: IsIPAddress takes no Value (remove it (Value: true is tolerated, Value: false negates))",
        ),
        (
            "Detection:\n  - Key: a\n    Condition: Equals\n    Value: [x]\n",
            f"{P}:8:12: Value must be a string, number or boolean (use Values for a list)",
        ),
        (
            "Detection:\n  - Condition: IsIn\n    Values:\n      - Key: a\n      - Key: b\n",
            f"{P}:6:16: Condition 'IsIn' cannot compare two keys (multi-key expressions take a comparison such as Equals or IsGreaterThan)",
        ),
        (
            "Detection:\n  - Key: tags\n    Condition: AnyElement\n    Expressions:\n      - Key: k\n        Condition: Equls\n        Value: x\n",
            f"{P}:10:20: unknown Condition 'Equls' (did you mean 'Equals'?)",
        ),
        (
            "Detection:\n  - Key: a\n    Condition: Exists\nAlertContext:\n  - KeyName: a\n    KeyValue: {Key: a, Other: b}\n",
            f"{P}:10:24: unknown key 'Other' (expected one key specifier: Key, DeepKey, KeyPath or Enrichment)",
        ),
        (
            "Detection: []\nDynamicSeverities:\n  - ChangeTo: Urgent\n    Conditions: []\n",
            f"{P}:7:15: unknown severity 'Urgent' (use one of Info, Low, Medium, High, Critical)",
        ),
        (
            "Detection: []\nAlertTitle: 'x {a-b}'\n",
            f"{P}:6:13: AlertTitle placeholder {{a-b}} is not a valid path: Bad jmespath expression: Unknown token '-':",
        ),
        (
            "Detection: []\nGroupBy: []\n",
            f"{P}:6:10: GroupBy must be a non-empty list of key specifiers",
        ),
        (
            "Detection: []\nInlineFilters:\n  - Key: a\n    Condition: Equals\n    Value: x\n",
            f"{P}:7:5: Key is not allowed in InlineFilters (filters take KeyPath or Enrichment, and All/Any)",
        ),
    ],
)
def test_malformed_expressions_are_located_errors(body: str, message: str) -> None:
    assert error_of(body) == message
