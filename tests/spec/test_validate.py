from __future__ import annotations

import copy
import random
import textwrap

import pytest
from jsonschema import Draft202012Validator

from pytest_panther.spec.findings import SpecWarning
from pytest_panther.spec.model import Spec
from pytest_panther.spec.validate import ValidationOptions
from pytest_panther.spec.validate import _document
from pytest_panther.spec.validate import _precheck
from pytest_panther.spec.validate import _validator
from pytest_panther.spec.validate import keypath
from pytest_panther.spec.validate import schema_name
from pytest_panther.spec.validate import validate_spec
from pytest_panther.spec.yaml import load

RULE = """\
AnalysisType: rule
RuleID: Acme.Login
Enabled: true
Filename: x.py
LogTypes: [Okta.SystemLog]
Severity: Low
Tests:
  - Name: t
    ExpectedResult: true
    Log: {a: 1}
"""

VALID = {
    "rule": RULE,
    "scheduled_rule": "AnalysisType: scheduled_rule\nRuleID: S\nEnabled: false\nFilename: s.py\n"
                      "ScheduledQueries: [Q]\nSeverity: Info\nDedupPeriodMinutes: 60\nThreshold: 1\n",
    "simple_detection": textwrap.dedent("""\
        AnalysisType: rule
        RuleID: Simple
        Enabled: true
        LogTypes: [GitHub.Audit]
        Severity: Medium
        Detection:
          - Key: action
            Condition: Equals
            Value: repo.archived
          - Any:
              - DeepKey: [a, 0, b]
                Condition: IsIn
                Values: [1, 2]
        InlineFilters:
          - All: []
        AlertTitle: "t"
        AlertContext:
          - KeyName: actor
            KeyValue: {Key: actor}
        GroupBy:
          - KeyPath: actor
        DynamicSeverities:
          - ChangeTo: High
            Conditions: []
        """),
    "derived": "AnalysisType: rule\nRuleID: D\nBaseDetection: Acme.Login\nSeverity: High\n"
               "Tests:\n  - Name: t\n    ExpectedResult: false\n    Log: {}\n",
    "policy": textwrap.dedent("""\
        AnalysisType: policy
        PolicyID: P
        Enabled: true
        Filename: p.py
        ResourceTypes: [AWS.S3.Bucket, AWS.CloudTrail.Meta]
        Severity: Critical
        Suppressions: ["aws:s3:::x"]
        Tests:
          - Name: t
            ResourceType: AWS.S3.Bucket
            ExpectedResult: true
            Resource: {Name: b}
            Mocks:
              - objectName: f
                returnValue: false
        """),
    "correlation_rule": textwrap.dedent("""\
        AnalysisType: correlation_rule
        RuleID: C
        Enabled: false
        Severity: High
        Detection:
          - Sequence:
              - ID: A
                RuleID: X
              - ID: B
                RuleID: Y
            Transitions:
              - ID: A TO B
                From: A
                To: B
                WithinTimeFrameMinutes: 15
            Schedule:
              RateMinutes: 1440
              TimeoutMinutes: 5
            LookbackWindowMinutes: 2160
        Tests:
          - Name: t
            ExpectedResult: true
            RuleOutputs:
              - ID: A
                Matches:
                  p_actor: {alice: [0]}
        """),
    "global": "AnalysisType: global\nGlobalID: helpers\nFilename: helpers.py\nDescription: d\n",
    "datamodel": "AnalysisType: datamodel\nDataModelID: DM\nEnabled: true\nLogTypes: [Custom.Acme.Audit]\n"
                 "Mappings:\n  - Name: a\n    Path: $.a\n  - Name: b\n    Method: get_b\nFilename: dm.py\n",
    "pack": "AnalysisType: pack\nPackID: P\nPackDefinition:\n  IDs: [A, B]\nDisplayName: Pack\n",
    "saved_query": "AnalysisType: saved_query\nQueryName: Q\nSnowflakeQuery: select 1\nLookback: true\n",
    "scheduled_query": "AnalysisType: scheduled_query\nQueryName: Q\nEnabled: true\nQuery: select 1\n"
                       "Schedule:\n  CronExpression: '0 * * * *'\n  TimeoutMinutes: 5\n"
                       "EmailConfig:\n  Recipients: [alice@example.com]\n",
    "lookup_table": "AnalysisType: lookup_table\nLookupName: L\nEnabled: true\nSchema: Custom.L\n"
                    "Refresh:\n  ObjectPath: s3://b/k\n  PeriodMinutes: 60\n  RoleARN: arn\n"
                    "LogTypeMap:\n  PrimaryKey: ip\n  AssociatedLogTypes:\n    - LogType: AWS.VPCFlow\n"
                    "      Selectors: [srcAddr]\n",
    "lookup_table_sql": "AnalysisType: lookup_table\nLookupName: L\nEnabled: false\nQuery: select 1\n"
                        "Refresh: {PeriodMinutes: 1440}\nLogTypeMap: {PrimaryKey: aid}\n",
    "scheduled_prompt": "AnalysisType: scheduled_prompt\nPromptName: daily_summary\nDisplayName: Daily\n"
                        "PromptText: Summarise\nRunAsUser: alice@example.com\n"
                        "Schedule: {RateMinutes: 60, TimeoutMinutes: 5}\nOutputLength: medium\nPrivate: false\n",
}


def spec(text: str, path: str = "rules/x.yml") -> Spec:
    return Spec(load(text, path))


def messages(text: str, options: ValidationOptions = ValidationOptions()) -> list[str]:
    return [str(e) for e in validate_spec(spec(text), options)]


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_spec_of_every_kind(name: str) -> None:
    assert schema_name(spec(VALID[name])) == ("rule" if name in ("scheduled_rule", "simple_detection") else name)
    assert messages(VALID[name]) == []


def test_schema_file_is_a_valid_draft_2020_12_schema() -> None:
    Draft202012Validator.check_schema(_document())


def test_validators_are_compiled_once() -> None:
    assert _validator("rule") is _validator("rule")


def test_keypath() -> None:
    assert keypath(("Tests", 2, "Mocks", 0, "returnValue")) == "Tests[2].Mocks[0].returnValue"
    assert keypath(()) == ""


def test_unknown_top_level_key_is_an_error_by_default() -> None:
    assert messages(RULE + "Displayname: Foo\n") == [
        "rules/x.yml:11:1: unknown key 'Displayname' (did you mean 'DisplayName'?)"
    ]


def test_allow_extra_keys_relaxes_only_the_top_level_of_rules_policies_and_derived() -> None:
    relaxed = ValidationOptions(allow_extra_keys=True)
    assert messages(RULE + "Author: alice\n", relaxed) == []
    assert messages(VALID["derived"] + "Author: alice\n", relaxed) == []
    assert messages(RULE.replace("    Log: {a: 1}\n", "    Log: {a: 1}\n    ExpectedTitle: x\n"), relaxed) == [
        "rules/x.yml:11:5: Tests[0]: unknown key 'ExpectedTitle' (allowed keys: Name, ExpectedResult, Log, LogType, Mocks, ExpectedDestinations)"
    ]
    assert messages(VALID["global"] + "Author: alice\n", relaxed) == [
        "rules/x.yml:5:1: unknown key 'Author' (custom metadata: add it to the extra-keys allow-list)"
    ]


def test_allow_list_admits_organisation_metadata_in_every_kind() -> None:
    options = ValidationOptions(extra_keys_allowlist=frozenset({"Author"}))
    assert messages(VALID["global"] + "Author: alice\n", options) == []
    assert messages(RULE + "Author: alice\nOwner: bob\n", options) == [
        "rules/x.yml:12:1: unknown key 'Owner' (custom metadata: add it to the extra-keys allow-list)"
    ]


@pytest.mark.parametrize(("line", "expected"), [
    ("Threshold: 1.0", "rules/x.yml:11:12: Threshold: expected an integer, got the number 1.0"),
    ("Threshold: false", "rules/x.yml:11:12: Threshold: expected an integer, got the boolean false"),
    ("CreateAlert: 'no'", "rules/x.yml:11:14: CreateAlert: expected a boolean (true or false), got the string 'no' "
                          "(YAML 1.2 reads yes/no/on/off as strings: write true or false)"),
    ("Reports: {MITRE: [{a: 1}]}", "rules/x.yml:11:19: Reports.MITRE[0]: expected a string or a number, got a mapping"),
    ("DisplayName: ''", "rules/x.yml:11:14: DisplayName: '' must be non-empty and must not contain < > & \" or %"),
])
def test_type_and_pattern_messages(line: str, expected: str) -> None:
    assert messages(RULE + line + "\n") == [expected]


def test_a_yes_stays_a_string_and_is_not_a_boolean() -> None:
    assert messages(RULE.replace("ExpectedResult: true", "ExpectedResult: on")) == [
        "rules/x.yml:9:21: Tests[0].ExpectedResult: expected a boolean (true or false), got the string 'on' "
        "(YAML 1.2 reads yes/no/on/off as strings: write true or false)"
    ]


def test_unknown_analysis_type_stops_validation() -> None:
    assert messages("AnalysisType: polcy\nPolicyID: x\n") == [
        "rules/x.yml:1:15: AnalysisType: 'polcy' is not one of rule, scheduled_rule, policy, correlation_rule, "
        "datamodel, global, pack, saved_query, scheduled_query, lookup_table, scheduled_prompt (did you mean 'policy'?)"
    ]


def test_derived_detection_takes_no_filename() -> None:
    assert messages(VALID["derived"] + "Filename: d.py\n") == [
        "rules/x.yml:9:1: unknown key 'Filename' ('Filename' belongs to other analysis types, not to a derived detection)"
    ]


def test_correlation_rule_tests_need_rule_outputs() -> None:
    text = VALID["correlation_rule"].split("Tests:")[0] + "Tests:\n  - Name: t\n    ExpectedResult: true\n"
    assert messages(text) == ["rules/x.yml:21:5: Tests[0]: missing required key 'RuleOutputs'"]


def test_simple_detection_match_expression_keys_are_checked() -> None:
    text = VALID["simple_detection"].replace("    Condition: Equals", "    Conditon: Equals")
    assert messages(text) == ["rules/x.yml:8:5: Detection[0].Conditon: unknown key 'Conditon' (did you mean 'Condition'?)"
                              .replace("Detection[0].Conditon: ", "Detection[0]: ")]


def test_sql_lookup_table_refresh_is_one_of_period_or_cron() -> None:
    text = VALID["lookup_table_sql"].replace("{PeriodMinutes: 1440}", "{PeriodMinutes: 1440, CronExpression: '0 * * * *'}")
    assert messages(text) == ["rules/x.yml:5:10: Refresh: 'PeriodMinutes' and 'CronExpression' cannot be used together"]


def test_scheduled_prompt_run_as_user_must_not_be_empty() -> None:
    assert messages(VALID["scheduled_prompt"].replace("alice@example.com", "''")) == [
        "rules/x.yml:5:12: RunAsUser: must not be empty"
    ]


def test_rate_minutes_must_be_more_than_one() -> None:
    text = VALID["scheduled_prompt"].replace("RateMinutes: 60", "RateMinutes: 1")
    assert messages(text) == [
        "rules/x.yml:6:25: Schedule.RateMinutes: 1 is too small: the rate must be more than 1 minute"
    ]


def test_set_fields_compare_tags_case_insensitively_and_others_exactly() -> None:
    text = RULE + "Tags: [Okta, okta]\nOutputIds: [a, A, a]\nSummaryAttributes: [x, x]\n"
    assert messages(text) == [
        "rules/x.yml:11:14: Tags[1]: duplicate value 'okta' (same as Tags[0] 'Okta' on line 11; "
        "Tags are compared case-insensitively)",
        "rules/x.yml:12:19: OutputIds[2]: duplicate value 'a' (same as OutputIds[0] 'a' on line 12)",
        "rules/x.yml:13:24: SummaryAttributes[1]: duplicate value 'x' (same as SummaryAttributes[0] 'x' on line 13)",
    ]


def test_pack_ids_must_be_unique() -> None:
    assert messages(VALID["pack"].replace("[A, B]", "[A, B, A]")) == [
        "rules/x.yml:4:15: PackDefinition.IDs[2]: duplicate value 'A' (same as PackDefinition.IDs[0] 'A' on line 4)"
    ]


def test_test_log_type_not_among_the_rule_log_types_is_a_warning() -> None:
    # PAT and Panther ignore a test's legacy LogType: a warning (SpecWarning), not an error.
    found = validate_spec(spec(RULE.replace("    Log: {a: 1}", "    Log: {a: 1}\n    LogType: Okta.SystemLogs")))
    assert [str(e) for e in found] == [
        "rules/x.yml:11:14: Tests[0].LogType: 'Okta.SystemLogs' is not one of the rule's LogTypes (Okta.SystemLog), "
        "and not a Panther log type (did you mean 'Okta.SystemLog'?)"
    ]
    assert all(isinstance(e, SpecWarning) for e in found)


@pytest.mark.parametrize(("log_type", "hint"), [
    ("Okta.SystemLogs", "did you mean 'Okta.SystemLog'?"),
    ("AWS.CloudTrial", "did you mean 'AWS.CloudTrail'?"),
    ("okta.systemlog", "did you mean 'Okta.SystemLog'?"),
])
def test_an_unknown_log_type_is_an_error_with_did_you_mean(log_type: str, hint: str) -> None:
    # Panther does not deploy a detection whose LogTypes it does not know (PAT 1.11.1 marks it
    # invalid with a backend, `pat upload` skips it): an error, not a warning.
    found = validate_spec(spec(RULE.replace("[Okta.SystemLog]", f"[{log_type}]")))
    assert [str(e) for e in found] == [
        f"rules/x.yml:5:12: LogTypes[0]: {log_type!r} is not a Panther log type ({hint} or a type of your own or one "
        "newer than pytest-panther's catalogue: add it to the ini setting panther_log_types)"
    ]
    assert not any(isinstance(e, SpecWarning) for e in found)


def test_custom_and_declared_log_types_are_known() -> None:
    text = RULE.replace("[Okta.SystemLog]", "[Custom.Acme.Audit, Acme.Firewall]")
    assert messages(text, ValidationOptions(log_types=frozenset({"Acme.Firewall"}))) == []
    assert [m.split(" (")[0] for m in messages(text)] == ["rules/x.yml:5:31: LogTypes[1]: 'Acme.Firewall' is not a Panther log type"]


def test_custom_log_types_need_capitalised_parts() -> None:
    assert messages(RULE.replace("[Okta.SystemLog]", "[Custom.Acme.Audit, Custom.acme, Customer.Logs]")) == [
        "rules/x.yml:5:31: LogTypes[1]: 'Custom.acme' is not a valid custom log type name (write Custom.Name or "
        "Custom.Name.Part: each part starts with an upper-case letter followed by letters and digits)",
        "rules/x.yml:5:44: LogTypes[2]: 'Customer.Logs' is not a Panther log type (a type of your own or one newer "
        "than pytest-panther's catalogue: add it to the ini setting panther_log_types)",
    ]


def test_errors_are_sorted_by_position_and_never_raise_on_odd_values() -> None:
    text = "AnalysisType: rule\nRuleID: [a]\nEnabled: 1\nFilename: x.py\nLogTypes: [1]\nSeverity: null\nTests: [1]\n"
    assert messages(text) == [
        "rules/x.yml:2:9: RuleID: expected a string, got a list",
        "rules/x.yml:3:10: Enabled: expected a boolean (true or false), got the integer 1",
        "rules/x.yml:5:12: LogTypes[0]: expected a string, got the integer 1",
        "rules/x.yml:6:11: Severity: None is not one of Info, Low, Medium, High, Critical",
        "rules/x.yml:7:9: Tests[0]: expected a mapping, got the integer 1",
    ]


_ODD_VALUES = [None, 0, 1, True, False, 1.5, "", "x", "Custom.bad_name", [], {}, [1], ["a", "a"], {"a": 1}, {1: 2},
               [{"Key": "a"}], {"RateMinutes": 1, "TimeoutMinutes": 5}, [None]]


def _mutate(data: object, rng: random.Random, depth: int = 0) -> None:
    if isinstance(data, dict) and data:
        key = rng.choice(list(data))
        if depth > 3 or rng.random() < 0.5:
            data[key] = copy.deepcopy(rng.choice(_ODD_VALUES))
        else:
            _mutate(data[key], rng, depth + 1)
        if rng.random() < 0.2:
            data[rng.choice(["Zzz", "Tests", "Detection", "Schedule", 3])] = copy.deepcopy(rng.choice(_ODD_VALUES))
        if rng.random() < 0.1:
            del data[rng.choice(list(data))]
    elif isinstance(data, list) and data:
        index = rng.randrange(len(data))
        if depth > 3 or rng.random() < 0.5:
            data[index] = copy.deepcopy(rng.choice(_ODD_VALUES))
        else:
            _mutate(data[index], rng, depth + 1)


def test_precheck_agrees_with_jsonschema_on_broken_specs() -> None:
    """The fast pre-check must say "valid" exactly when jsonschema finds no error."""
    rng = random.Random(20261130)
    disagreements = []
    for _ in range(2000):
        name = rng.choice(sorted(VALID))
        data = copy.deepcopy(load(VALID[name]).data)
        for _ in range(rng.randint(1, 3)):
            _mutate(data, rng)
        kind = schema_name(Spec(load(VALID[name]), data))
        if kind not in VALID:  # AnalysisType broken: validate_spec stops before any schema
            continue
        precheck = _precheck(kind)
        assert precheck is not None
        if precheck(data) != (next(_validator(kind).iter_errors(data), None) is None):
            disagreements.append((kind, data))
    assert disagreements == []
