"""Correlation rules evaluated locally: Group, Sequence, MatchCriteria, Transitions, Absence,
MinMatchCount/MaxMatchCount, lookback windows, settings and located errors
(shared/reference/local-evaluation.md §7)."""
from __future__ import annotations

import textwrap
from typing import Any

import pytest

from pytest_panther.evaluate.correlation import CorrelationOptions
from pytest_panther.evaluate.correlation import CorrelationRule
from pytest_panther.evaluate.correlation import compile_correlation
from pytest_panther.spec.model import Spec
from pytest_panther.spec.yaml import YamlError
from pytest_panther.spec.yaml import load

P = "correlation_rules/acme.yml"
HEADER = "AnalysisType: correlation_rule\nRuleID: Acme.Corr\nSeverity: High\n"

GROUP = HEADER + textwrap.dedent(
    """\
    Detection:
      - Group:
          - ID: Failed
            RuleID: Acme.Login.Failed
            MinMatchCount: 3
          - ID: Success
            RuleID: Acme.Login.Success
        MatchCriteria:
          user:
            - GroupID: Failed
              Match: actor.email
            - GroupID: Success
              Match: p_any_emails
        LookbackWindowMinutes: 60
        Schedule:
          RateMinutes: 60
          TimeoutMinutes: 5
    """
)

ABSENCE = HEADER + textwrap.dedent(
    """\
    Detection:
      - Group:
          - ID: Exposed
            RuleID: Acme.Secret.Exposed
          - ID: Rotated
            RuleID: Acme.Secret.Rotated
            Absence: true
        MatchCriteria:
          secret:
            - GroupID: Exposed
              Match: secret
            - GroupID: Rotated
              Match: secret
        LookbackWindowMinutes: 60
        Schedule: {RateMinutes: 60, TimeoutMinutes: 5}
    """
)

SEQUENCE = HEADER + textwrap.dedent(
    """\
    Detection:
      - Sequence:
          - ID: Created
            RuleID: Acme.User.Created
          - ID: Promoted
            RuleID: Acme.User.Promoted
            MinMatchCount: 2
          - ID: Deleted
            RuleID: Acme.User.Deleted
        Transitions:
          - ID: created then promoted
            From: Created
            To: Promoted
            WithinTimeFrameMinutes: 30
            Match:
              - On: target
          - ID: promoted then deleted
            From: Promoted
            To: Deleted
            WithinTimeFrameMinutes: 10
            Match:
              - From: target
                To: deleted_user
        LookbackWindowMinutes: 120
        Schedule: {RateMinutes: 60, TimeoutMinutes: 5}
    """
)


def rule_of(text: str, options: CorrelationOptions | None = None) -> CorrelationRule:
    return compile_correlation(Spec(load(text, P)), options)


def case(expected: bool, **outputs: dict[str, dict[Any, list[Any]]]) -> dict[str, Any]:
    return {"Name": "t", "ExpectedResult": expected, "RuleOutputs": [{"ID": k, "Matches": v} for k, v in outputs.items()]}


def result(rule: CorrelationRule, **outputs: dict[str, dict[Any, list[Any]]]) -> bool:
    outcome = rule.run_test(case(True, **outputs))
    assert outcome.matched is not None, outcome.explanation
    return outcome.matched


def failed(user: str, times: list[Any]) -> dict[str, Any]:
    return {"actor.email": {user: times}}


def success(user: str, times: list[Any]) -> dict[str, Any]:
    return {"p_any_emails": {user: times}}


def test_group_matches_in_any_order_with_min_match_count() -> None:
    rule = rule_of(GROUP)
    assert result(rule, Failed=failed("a@x", [0, 1, 2]), Success=success("a@x", [3]))
    assert result(rule, Success=success("a@x", [0]), Failed=failed("a@x", [5, 6, 7]))  # order does not matter
    assert not result(rule, Failed=failed("a@x", [0, 1]), Success=success("a@x", [3]))  # 2 < MinMatchCount
    assert not result(rule, Failed=failed("a@x", [0, 1, 2]))  # member missing
    assert not result(rule, Failed=failed("a@x", [0, 1, 2]), Success=success("b@x", [3]))  # join value differs
    assert not result(rule, Failed=failed("a@x", [0, 1, 2]), Success=success("a@x", [61]))  # outside lookback
    assert not result(rule, Failed=failed("a@x", [0, 30, 70]), Success=success("a@x", [71]))  # 3 not in one window
    assert result(rule, Failed={"actor.email": {"a@x": [0, 1, 2], "b@x": [0]}}, Success=success("a@x", [3]))


def test_group_iso_and_mixed_times() -> None:
    rule = rule_of(GROUP)
    times = ["2024-06-01T10:00:00Z", "2024-06-01T10:10:00Z", "2024-06-01 10:20:00+00:00"]
    assert result(rule, Failed=failed("a@x", times), Success=success("a@x", ["2024-06-01T10:59:00Z"]))
    assert not result(rule, Failed=failed("a@x", times), Success=success("a@x", ["2024-06-01T11:01:00Z"]))


def test_group_max_match_count() -> None:
    text = GROUP.replace("MinMatchCount: 3", "MinMatchCount: 1\n        MaxMatchCount: 2")
    rule = rule_of(text)
    assert result(rule, Failed=failed("a@x", [0, 1]), Success=success("a@x", [3]))
    assert not result(rule, Failed=failed("a@x", [0, 1, 2]), Success=success("a@x", [3]))
    assert rule.run_test(case(False, Failed=failed("a@x", [0, 1, 2]), Success=success("a@x", [3]))).explanation.endswith(
        "join value 'a@x': 'Failed' matched 3 times within the 60-minute lookback, MaxMatchCount is 2"
    )
    assert result(rule, Failed=failed("a@x", [0, 1, 200]), Success=success("a@x", [3]))


def test_group_level_min_match_count_counts_members() -> None:
    text = HEADER + textwrap.dedent(
        """\
        Detection:
          - Group:
              - {ID: A, RuleID: R.A}
              - {ID: B, RuleID: R.B}
              - {ID: C, RuleID: R.C}
            MinMatchCount: 2
            LookbackWindowMinutes: 10
            Schedule: {RateMinutes: 10, TimeoutMinutes: 1}
        """
    )
    rule = rule_of(text)
    assert result(rule, A={"f": {"v": [0]}}, C={"g": {"w": [5]}})  # no MatchCriteria: everything joins
    assert not result(rule, A={"f": {"v": [0]}})
    assert not result(rule, A={"f": {"v": [0]}}, B={"f": {"v": [11]}})


def test_group_absence_in_either_direction_within_lookback() -> None:
    rule = rule_of(ABSENCE)
    assert result(rule, Exposed={"secret": {"k1": [0]}})
    assert not result(rule, Exposed={"secret": {"k1": [0]}}, Rotated={"secret": {"k1": [30]}})
    assert not result(rule, Exposed={"secret": {"k1": [30]}}, Rotated={"secret": {"k1": [0]}})  # before counts too
    assert result(rule, Exposed={"secret": {"k1": [0]}}, Rotated={"secret": {"k2": [30]}})  # other join value
    assert result(rule, Exposed={"secret": {"k1": [0]}}, Rotated={"secret": {"k1": [61]}})  # outside lookback
    assert result(rule, Exposed={"secret": {"k1": [100]}}, Rotated={"secret": {"k1": [39]}})


def test_group_absence_after_only_is_a_setting() -> None:
    rule = rule_of(ABSENCE, CorrelationOptions(group_absence="after"))
    assert result(rule, Exposed={"secret": {"k1": [30]}}, Rotated={"secret": {"k1": [0]}})
    assert not result(rule, Exposed={"secret": {"k1": [0]}}, Rotated={"secret": {"k1": [30]}})


def test_sequence_order_window_join_and_min_match_count() -> None:
    rule = rule_of(SEQUENCE)
    created = {"target": {"u1": [0]}}
    promoted = {"target": {"u1": [5, 20]}}
    deleted = {"deleted_user": {"u1": [25]}}
    assert result(rule, Created=created, Promoted=promoted, Deleted=deleted)
    assert not result(rule, Created=created, Promoted={"target": {"u1": [5]}}, Deleted=deleted)  # MinMatchCount 2
    assert not result(rule, Created={"target": {"u1": [10]}}, Promoted=promoted, Deleted=deleted)  # promoted before created
    assert not result(rule, Created=created, Promoted={"target": {"u1": [5, 31]}}, Deleted={"deleted_user": {"u1": [35]}})  # 31 > 30
    assert not result(rule, Created=created, Promoted=promoted, Deleted={"deleted_user": {"u1": [31]}})  # 11 > 10 after promotion
    assert not result(rule, Created=created, Promoted={"target": {"u2": [5, 20]}}, Deleted=deleted)  # On join fails
    assert not result(rule, Created=created, Promoted=promoted, Deleted={"deleted_user": {"u2": [25]}})  # From/To join fails
    assert not result(rule, Created=created, Promoted=promoted, Deleted={"target": {"u1": [25]}})  # wrong field


def test_sequence_lookback_bounds_the_whole_chain() -> None:
    text = SEQUENCE.replace("LookbackWindowMinutes: 120", "LookbackWindowMinutes: 22")
    rule = rule_of(text)
    assert not result(rule, Created={"target": {"u1": [0]}}, Promoted={"target": {"u1": [5, 20]}}, Deleted={"deleted_user": {"u1": [23]}})
    assert result(rule, Created={"target": {"u1": [0]}}, Promoted={"target": {"u1": [5, 20]}}, Deleted={"deleted_user": {"u1": [21]}})


SEQ_ABSENCE = HEADER + textwrap.dedent(
    """\
    Detection:
      - Sequence:
          - {ID: Login, RuleID: R.Login}
          - {ID: Mfa, RuleID: R.Mfa, Absence: true}
        Transitions:
          - {ID: login without mfa, From: Login, To: Mfa, WithinTimeFrameMinutes: 15, Match: [{On: user}]}
        LookbackWindowMinutes: 60
        Schedule: {RateMinutes: 60, TimeoutMinutes: 5}
    """
)


def test_sequence_absence_counts_only_after_the_previous_step() -> None:
    rule = rule_of(SEQ_ABSENCE)
    assert result(rule, Login={"user": {"u": [0]}})
    assert not result(rule, Login={"user": {"u": [0]}}, Mfa={"user": {"u": [10]}})
    assert result(rule, Login={"user": {"u": [0]}}, Mfa={"user": {"u": [16]}})
    assert result(rule, Login={"user": {"u": [10]}}, Mfa={"user": {"u": [5]}})  # before: does not count
    assert result(rule, Login={"user": {"u": [0]}}, Mfa={"user": {"v": [5]}})
    around = rule_of(SEQ_ABSENCE, CorrelationOptions(sequence_absence="around"))
    assert not result(around, Login={"user": {"u": [10]}}, Mfa={"user": {"u": [5]}})


LEADING_ABSENCE = HEADER + textwrap.dedent(
    """\
    Detection:
      - Sequence:
          - {ID: Prompt, RuleID: R.Prompt, Absence: true}
          - {ID: Token, RuleID: R.Token}
        Transitions:
          - {ID: no prompt before token, From: Prompt, To: Token, WithinTimeFrameMinutes: 15, Match: [{On: ip}]}
        LookbackWindowMinutes: 60
        Schedule: {RateMinutes: 60, TimeoutMinutes: 5}
    """
)


def test_sequence_leading_absence_means_not_preceded_by() -> None:
    rule = rule_of(LEADING_ABSENCE)
    assert result(rule, Token={"ip": {"1.1.1.1": [20]}})
    assert not result(rule, Prompt={"ip": {"1.1.1.1": [10]}}, Token={"ip": {"1.1.1.1": [20]}})
    assert result(rule, Prompt={"ip": {"1.1.1.1": [4]}}, Token={"ip": {"1.1.1.1": [20]}})  # 16 > 15 minutes before
    assert result(rule, Prompt={"ip": {"1.1.1.1": [25]}}, Token={"ip": {"1.1.1.1": [20]}})  # after does not count
    assert result(rule, Prompt={"ip": {"2.2.2.2": [10]}}, Token={"ip": {"1.1.1.1": [20]}})
    outcome = rule.run_test(case(True, Prompt={"ip": {"1.1.1.1": [10]}}, Token={"ip": {"1.1.1.1": [20]}}))
    assert outcome.explanation == (
        "Sequence rule did not match (expected true; evaluated locally): absent step 'Prompt' matched at 10, "
        "within 15 minutes before Token@20 (transition 'no prompt before token')"
    )


def test_missing_join_fields_compare_as_null_unless_disabled() -> None:
    rule = rule_of(LEADING_ABSENCE)
    assert not result(rule, Prompt={"user": {"u": [10]}}, Token={"user": {"u": [20]}})  # null == null joins
    strict = rule_of(LEADING_ABSENCE, CorrelationOptions(null_joins=False))
    assert result(strict, Prompt={"user": {"u": [10]}}, Token={"user": {"u": [20]}})
    group = rule_of(ABSENCE)
    assert not result(group, Exposed={"other": {"x": [0]}}, Rotated={"other": {"y": [10]}})
    assert result(rule_of(ABSENCE, CorrelationOptions(null_joins=False)), Exposed={"secret": {"k": [0]}}, Rotated={"other": {"y": [10]}})


def test_transition_window_and_match_are_optional() -> None:
    text = SEQ_ABSENCE.replace("WithinTimeFrameMinutes: 15, Match: [{On: user}]", "")
    text = text.replace(", To: Mfa, }", ", To: Mfa}")
    rule = rule_of(text)
    assert rule.transitions[0].within == 60 and rule.transitions[0].pairs == ()
    assert not result(rule, Login={"user": {"u": [0]}}, Mfa={"user": {"v": [50]}})  # everything joins
    assert result(rule, Login={"user": {"u": [0]}}, Mfa={"user": {"v": [61]}})


def test_outcome_passed_and_explanation() -> None:
    rule = rule_of(GROUP)
    ok = rule.run_test(case(True, Failed=failed("a@x", [0, 1, 2]), Success=success("a@x", [3])))
    assert ok.passed and ok.matched
    assert ok.explanation == "Group rule matched (as expected; evaluated locally): join value 'a@x': 2 member(s) matched within 60 minutes (at 0, 1, 2, 3)"
    bad = rule.run_test(case(True, Failed=failed("a@x", [0, 1]), Success=success("a@x", [3])))
    assert not bad.passed and bad.matched is False
    assert bad.explanation == "Group rule did not match (expected true; evaluated locally): join value 'a@x': 'Failed' has 2 match(es) within 60 minutes, needs 3"
    seq = rule_of(SEQUENCE).run_test(case(False, Created={"target": {"u1": [0]}}, Promoted={"target": {"u1": [5]}}))
    assert seq.passed
    assert seq.explanation == (
        "Sequence rule did not match (as expected; evaluated locally): no 2 match(es) of 'Promoted' joining on target "
        "within 30 minutes after Created@0 (transition 'created then promoted') and inside the 120-minute lookback"
    )
    absent = rule_of(ABSENCE).run_test(case(True, Exposed={"secret": {"k": [30]}}, Rotated={"secret": {"k": [0]}}))
    assert absent.explanation.endswith("join value 'k': absent member 'Rotated' matched at 0, within the 60-minute lookback")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"ExpectedResult": True}, "invalid test case: a correlation rule test needs RuleOutputs: a list of {ID, Matches}"),
        ({"ExpectedResult": "yes", "RuleOutputs": []}, "invalid test case: ExpectedResult must be true or false"),
        ({"ExpectedResult": True, "RuleOutputs": [{"ID": "Nope", "Matches": {}}]}, "invalid test case: RuleOutputs[0]: ID 'Nope' is not a member of this rule (members: Failed, Success)"),
        ({"ExpectedResult": True, "RuleOutputs": [{"ID": "Failed", "Matches": {"f": {"v": ["soon"]}}}]}, "invalid test case: RuleOutputs[0].Matches.f.v: time 'soon' is not a number or an ISO-8601 timestamp"),
        ({"ExpectedResult": True, "RuleOutputs": [{"ID": "Failed", "Matches": ["x"]}]}, "invalid test case: RuleOutputs[0]: Matches must map field paths to {value: [times]}"),
    ],
)
def test_malformed_cases_fail_with_an_explanation(data: dict[str, Any], message: str) -> None:
    outcome = rule_of(GROUP).run_test(data)
    assert (outcome.passed, outcome.matched, outcome.explanation) == (False, None, message)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("  - Group:", "  - Groop:", f"{P}:5:5: Detection needs exactly one of Group or Sequence"),
        ("        MinMatchCount: 3", "        MinMatchCount: 0", f"{P}:8:24: MinMatchCount must be a positive integer"),
        ("        - GroupID: Success", "        - GroupID: Sucess", f"{P}:15:20: GroupID 'Sucess' is not a Group ID (Group IDs: Failed, Success)"),
        ("    LookbackWindowMinutes: 60", "    LookbackWindowMinutes: soon", f"{P}:17:28: LookbackWindowMinutes must be a positive number of minutes"),
        ("      - ID: Success", "      - ID: Failed", f"{P}:9:13: duplicate Group ID 'Failed'"),
        ("        RuleID: Acme.Login.Success", "        RuleID: Acme.Login.Success\n        Absent: true", f"{P}:11:9: unknown key 'Absent' in a Group entry (allowed: Absence, ID, MaxMatchCount, MinMatchCount, RuleID)"),
    ],
)
def test_malformed_group_is_a_located_error(old: str, new: str, message: str) -> None:
    text = GROUP.replace(old, new)
    assert text != GROUP
    with pytest.raises(YamlError) as info:
        rule_of(text)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("        To: Deleted", "        To: Created", f"{P}:14:7: no transition from 'Promoted' to 'Deleted' (Transitions must link consecutive Sequence steps in order)"),
        ("          - On: target", "          - Using: target", f"{P}:19:13: a Match item is {{On: field}} or {{From: field, To: field}}"),
        ("        WithinTimeFrameMinutes: 10", "        WithinTimeFrameMinutes: -1", f"{P}:23:33: WithinTimeFrameMinutes must be a positive number"),
        ("          - On: target", "          []", f"{P}:19:11: transition Match must be a list like [{{On: field}}] or [{{From: field, To: field}}]"),
    ],
)
def test_malformed_sequence_is_a_located_error(old: str, new: str, message: str) -> None:
    text = SEQUENCE.replace(old, new)
    assert text != SEQUENCE
    with pytest.raises(YamlError) as info:
        rule_of(text)
    assert str(info.value) == message


def test_detection_must_be_a_one_item_list() -> None:
    with pytest.raises(YamlError) as info:
        rule_of(HEADER + "Detection:\n  Group: []\n")
    assert str(info.value) == f"{P}:5:3: a correlation rule's Detection is a one-item list holding a Group or a Sequence"


def test_options_are_validated() -> None:
    with pytest.raises(ValueError, match="group_absence must be"):
        CorrelationOptions(group_absence="before")
