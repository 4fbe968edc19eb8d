"""The bad-input catalogue (issue 3 item 7): every bad input and the exact lines it gets.

``CASES`` run through ``panther-gitops validate`` (static validation: schema, YAML and cross-file
checks). ``RUNTIME_CASES`` need the pytest plugin's runtime (executing detection code); they run
through ``pytester`` and assert a substring of the failure report.

Inputs come from real user reports (shared/reference/bug-cases.md, section B and A) and from the
checks of shared/reference/semantics.md §2–§4. Paths in the expected lines are relative to the
repository root.
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pytest_panther.cli.main import main

pytest_plugins = ["pytester"]

PY = "def rule(event):\n    return True\n"
POLICY_PY = "def policy(resource):\n    return True\n"


def rule_yml(*, extra: str = "", tests: str | None = None, severity: str = "Low", rule_id: str = "Test.Rule",
             filename: str = "x.py", log_types: str = "  - AWS.CloudTrail\n") -> str:
    """A valid rule spec; ``extra`` lines are appended at the top level, ``tests`` replaces Tests."""
    if tests is None:
        tests = "  - Name: login\n    ExpectedResult: true\n    Log:\n      action: login\n"
    return (
        f"AnalysisType: rule\nRuleID: {rule_id}\nDisplayName: Test Rule\nEnabled: true\n"
        f"Filename: {filename}\nLogTypes:\n{log_types}Severity: {severity}\n{extra}Tests:\n{tests}"
    )


def rule_files(yml: str, name: str = "x") -> dict[str, str]:
    return {f"rules/{name}.yml": yml, f"rules/{name}.py": PY}


DATA_MODEL = textwrap.dedent(
    """\
    AnalysisType: datamodel
    DataModelID: Standard.AWS.CloudTrail
    Enabled: true
    Filename: dm.py
    LogTypes:
      - AWS.CloudTrail
    Mappings:
      - Name: actor_user
        Path: $.userIdentity.userName
      - Name: source_ip
        Method: get_source_ip
    """
)
DATA_MODEL_PY = "def get_source_ip(event):\n    return event.get('sourceIPAddress')\n"

POLICY = textwrap.dedent(
    """\
    AnalysisType: policy
    PolicyID: Test.Policy
    Enabled: true
    Filename: p.py
    ResourceTypes:
      - AWS.S3.Bucket
    Severity: Medium
    Tests:
      - Name: bucket
        ExpectedResult: true
        Resource:
          Name: b
    """
)

# (id, files {relative path: text}, expected output lines of `panther-gitops validate`)
CASES: list[tuple[str, dict[str, str], list[str]]] = [
    ("misspelled-key", rule_files(rule_yml(extra="Displayname: Foo\n")), [
        "rules/x.yml:9:1: unknown key 'Displayname' (did you mean 'DisplayName'?)",
    ]),
    ("custom-metadata-key", rule_files(rule_yml(extra="Author: alice\n")), [
        "rules/x.yml:9:1: unknown key 'Author' (custom metadata: add it to the extra-keys allow-list)",
    ]),
    ("flow-mapping-without-space", rule_files(rule_yml(
        tests="  - Name: t\n    ExpectedResult: true\n    Log: {actor:{id: 1}}\n")), [
        "rules/x.yml:12:16: found unexpected ':' (put a space after ':' in mappings (write `{key: value}`))",
    ]),
    ("expected-result-string", rule_files(rule_yml(
        tests='  - Name: t\n    ExpectedResult: "true"\n    Log:\n      a: 1\n')), [
        "rules/x.yml:11:21: Tests[0].ExpectedResult: expected a boolean (true or false), got the string 'true' (write true or false without quotes)",
    ]),
    ("expected-result-yes", rule_files(rule_yml(
        tests="  - Name: t\n    ExpectedResult: yes\n    Log:\n      a: 1\n")), [
        "rules/x.yml:11:21: Tests[0].ExpectedResult: expected a boolean (true or false), got the string 'yes' (YAML 1.2 reads yes/no/on/off as strings: write true or false)",
    ]),
    ("log-null", rule_files(rule_yml(tests="  - Name: t\n    ExpectedResult: false\n    Log: null\n")), [
        'rules/x.yml:12:10: Tests[0].Log: expected a mapping (the test event), got null (give a mapping of fields, e.g. {key: value}, or {} for an empty one)',
    ]),
    ("filename-points-nowhere", {"rules/x.yml": rule_yml(filename="missing.py")}, [
        "rules/x.yml:5:11: Filename: 'missing.py' does not exist next to this spec (no such file in rules/)",
    ]),
    ("filename-missing", {"rules/x.yml": rule_yml().replace("Filename: x.py\n", "")}, [
        "rules/x.yml:1:1: missing required key 'Filename' or 'Detection'",
    ]),
    ("two-specs-one-rule-id", {**rule_files(rule_yml(filename="a.py"), "a"), **rule_files(rule_yml(filename="b.py"), "b")}, [
        "rules/b.yml:2:9: duplicate ID 'Test.Rule' (also defined in rules/a.yml:2) (IDs are shared by every analysis type: rename one of them)",
    ]),
    ("rule-id-equals-global-id", {**rule_files(rule_yml(rule_id="helpers")),
        "global_helpers/helpers.yml": "AnalysisType: global\nGlobalID: helpers\nFilename: helpers.py\n",
        "global_helpers/helpers.py": ""}, [
        "rules/x.yml:2:9: duplicate ID 'helpers' (also defined in global_helpers/helpers.yml:2) (IDs are shared by every analysis type: rename one of them)",
    ]),
    ("templates-folder-is-not-a-detection-folder", {**rule_files(rule_yml()),
        "templates/example_rule.yml": "AnalysisType: rule\nRuleID: <YOUR.RULE.ID>\nSeverity: <Info|Low>\n",
        ".github/workflows/ci.yml": "on: [push]\njobs: {}\n",
        "rules/test_fixtures/cassette.yaml": "interactions: []\n"}, []),
    ("duplicate-key", rule_files(rule_yml(extra="Severity: High\n")), [
        "rules/x.yml:9:1: duplicate key 'Severity' (first defined on line 8)",
    ]),
    ("duplicate-key-in-test-log", rule_files(rule_yml(
        tests="  - Name: t\n    ExpectedResult: true\n    Log:\n      a: 1\n      a: 2\n")), [
        "rules/x.yml:14:7: duplicate key 'a' (first defined on line 13)",
    ]),
    ("tab-indentation", rule_files(rule_yml(tests="  - Name: t\n\tExpectedResult: true\n")), [
        'rules/x.yml:11:1: found a tab character that violates indentation (YAML indentation must use spaces, not tabs)',
    ]),
    ("unterminated-quote", rule_files(rule_yml(extra='Description: "Okta brute force\n')), [
        'rules/x.yml:15:1: found unexpected end of stream (while scanning a quoted scalar at line 9, column 14)',
    ]),
    ("severity-lower-case", rule_files(rule_yml(severity="low")), [
        "rules/x.yml:8:11: Severity: 'low' is not one of Info, Low, Medium, High, Critical (did you mean 'Low'?)",
    ]),
    ("severity-informational", rule_files(rule_yml(severity="Informational")), [
        "rules/x.yml:8:11: Severity: 'Informational' is not one of Info, Low, Medium, High, Critical",
    ]),
    ("unknown-analysis-type", {"rules/x.yml": rule_yml().replace("AnalysisType: rule", "AnalysisType: rules"),
        "rules/x.py": PY}, [
        "rules/x.yml:1:15: AnalysisType: 'rules' is not one of rule, scheduled_rule, policy, correlation_rule, datamodel, global, pack, saved_query, scheduled_query, lookup_table, scheduled_prompt (did you mean 'rule'?)",
    ]),
    ("missing-severity", rule_files(rule_yml().replace("Severity: Low\n", "")), [
        "rules/x.yml:1:1: missing required key 'Severity'",
    ]),
    ("dedup-period-bool", rule_files(rule_yml(extra="DedupPeriodMinutes: true\n")), [
        'rules/x.yml:9:21: DedupPeriodMinutes: expected an integer, got the boolean true',
    ]),
    ("dedup-period-quoted", rule_files(rule_yml(extra='DedupPeriodMinutes: "60"\n')), [
        "rules/x.yml:9:21: DedupPeriodMinutes: expected an integer, got the string '60' (write the number without quotes)",
    ]),
    ("enabled-yes", rule_files(rule_yml().replace("Enabled: true", "Enabled: yes")), [
        "rules/x.yml:4:10: Enabled: expected a boolean (true or false), got the string 'yes' (YAML 1.2 reads yes/no/on/off as strings: write true or false)",
    ]),
    ("rule-id-bad-character", rule_files(rule_yml(rule_id='"Acme<Login>"')), [
        'rules/x.yml:2:9: RuleID: \'Acme<Login>\' must be non-empty and must not contain < > & " or %',
    ]),
    ("tags-duplicate-case-insensitive", rule_files(rule_yml(extra="Tags:\n  - AWS\n  - Login\n  - aws\n")), [
        "rules/x.yml:12:5: Tags[2]: duplicate value 'aws' (same as Tags[0] 'AWS' on line 10; Tags are compared case-insensitively)",
    ]),
    ("log-types-duplicate", rule_files(rule_yml(log_types="  - AWS.CloudTrail\n  - Okta.SystemLog\n  - AWS.CloudTrail\n")), [
        "rules/x.yml:9:5: LogTypes[2]: duplicate value 'AWS.CloudTrail' (same as LogTypes[0] 'AWS.CloudTrail' on line 7)",
    ]),
    ("log-types-not-a-list", rule_files(rule_yml(log_types="").replace("LogTypes:\n", "LogTypes: AWS.CloudTrail\n")), [
        "rules/x.yml:6:11: LogTypes: expected a list, got the string 'AWS.CloudTrail' (write a list, e.g. [value] or one '- value' line per item)",
    ]),
    ("custom-log-type-bad-name", rule_files(rule_yml(log_types="  - Custom.my_logs\n")), [
        "rules/x.yml:7:5: LogTypes[0]: 'Custom.my_logs' is not a valid custom log type name (write Custom.Name or Custom.Name.Part: each part starts with an upper-case letter followed by letters and digits)",
    ]),
    ("test-log-type-outside-log-types", rule_files(rule_yml(
        tests="  - Name: t\n    LogType: Okta.SystemLog\n    ExpectedResult: true\n    Log:\n      a: 1\n")), [
        # A warning: Panther ignores a test's LogType (issue 10, docs/validation-findings.md).
        "warning: rules/x.yml:11:14: Tests[0].LogType: 'Okta.SystemLog' is not one of the rule's LogTypes "
        "(AWS.CloudTrail) (fix it or remove the legacy LogType key) (Panther accepts this; strict mode fails it: "
        "--panther-strict, ini panther_strict)",
    ]),
    ("rule-test-with-resource", rule_files(rule_yml(
        tests="  - Name: t\n    ExpectedResult: true\n    Resource:\n      a: 1\n")), [
        "rules/x.yml:10:5: Tests[0]: missing required key 'Log' (rule tests give the event under 'Log'; 'Resource' is for policy tests)",
        "rules/x.yml:12:5: Tests[0]: unknown key 'Resource' (allowed keys: Name, ExpectedResult, Log, LogType, Mocks, ExpectedDestinations)",
    ]),
    ("unknown-test-key", rule_files(rule_yml(
        tests="  - Name: t\n    ExpectedResult: true\n    ExpectedTitle: hi\n    Log:\n      a: 1\n")), [
        "rules/x.yml:12:5: Tests[0]: unknown key 'ExpectedTitle' (allowed keys: Name, ExpectedResult, Log, LogType, Mocks, ExpectedDestinations)",
    ]),
    ("mock-number-return-value", rule_files(rule_yml(
        tests="  - Name: t\n    ExpectedResult: true\n    Mocks:\n      - objectName: get_counter\n"
              "        returnValue: 5\n    Log:\n      a: 1\n")), [
        'rules/x.yml:14:22: Tests[0].Mocks[0].returnValue: expected a string or a boolean (true or false), got the integer 5 (a mock returns a string or a boolean; write structured values as a JSON string)',
    ]),
    ("mock-misspelled-key", rule_files(rule_yml(
        tests="  - Name: t\n    ExpectedResult: true\n    Mocks:\n      - objectname: get_counter\n"
              "        returnValue: 'x'\n    Log:\n      a: 1\n")), [
        "rules/x.yml:13:9: Tests[0].Mocks[0]: missing required key 'objectName' (keys are case-sensitive: rename 'objectname' to 'objectName')",
        "rules/x.yml:13:9: Tests[0].Mocks[0]: unknown key 'objectname' (did you mean 'objectName'?)",
    ]),
    ("filename-and-detection", rule_files(rule_yml(extra="Detection:\n  - Key: a\n    Condition: Exists\n")), [
        "rules/x.yml:1:1: 'Filename' and 'Detection' cannot be used together",
    ]),
    ("neither-log-types-nor-scheduled-queries", rule_files(rule_yml(log_types="").replace("LogTypes:\n", "")), [
        "rules/x.yml:1:1: missing required key 'LogTypes' or 'ScheduledQueries'",
    ]),
    ("tests-not-a-list", rule_files(rule_yml(tests="  Name: t\n  ExpectedResult: true\n")), [
        'rules/x.yml:10:3: Tests: expected a list, got a mapping',
    ]),
    ("bad-resource-type", {"policies/p.yml": POLICY.replace("AWS.S3.Bucket", "AWS.S3.Buckets"), "policies/p.py": POLICY_PY}, [
        "policies/p.yml:6:5: ResourceTypes[0]: 'AWS.S3.Buckets' is not a Panther resource type (did you mean 'AWS.S3.Bucket'?)",
    ]),
    ("policy-with-log-types", {"policies/p.yml": POLICY + "LogTypes:\n  - AWS.CloudTrail\n", "policies/p.py": POLICY_PY}, [
        "policies/p.yml:13:1: unknown key 'LogTypes' ('LogTypes' belongs to other analysis types, not to a policy)",
    ]),
    ("pack-names-unknown-id", {**rule_files(rule_yml()),
        "packs/p.yml": "AnalysisType: pack\nPackID: Pack.Test\nPackDefinition:\n  IDs:\n    - Test.Rule\n    - Test.Rul\n"}, [
        "packs/p.yml:6:7: PackDefinition.IDs[1]: pack names unknown ID 'Test.Rul' (did you mean 'Test.Rule'?)",
    ]),
    ("data-model-bad-jsonpath", {"data_models/dm.yml": DATA_MODEL.replace("$.userIdentity.userName", "$.userIdentity[userName"),
        "data_models/dm.py": DATA_MODEL_PY}, [
        "data_models/dm.yml:9:11: Mappings[0].Path: '$.userIdentity[userName' is not valid JSONPath (Parse error near the end of string!) (write a JSONPath such as $.detail.userName)",
    ]),
    ("data-model-method-missing", {"data_models/dm.yml": DATA_MODEL.replace("Method: get_source_ip", "Method: get_src_ip"),
        "data_models/dm.py": DATA_MODEL_PY}, [
        "data_models/dm.yml:11:13: Mappings[1].Method: 'get_src_ip' is not defined in dm.py (did you mean 'get_source_ip'?)",
    ]),
    ("data-model-path-and-method", {"data_models/dm.yml": DATA_MODEL.replace(
        "    Method: get_source_ip", "    Method: get_source_ip\n    Path: $.sourceIPAddress"),
        "data_models/dm.py": DATA_MODEL_PY}, [
        "data_models/dm.yml:10:5: Mappings[1]: 'Path' and 'Method' cannot be used together",
    ]),
    ("two-data-models-one-log-type", {"data_models/dm.yml": DATA_MODEL, "data_models/dm.py": DATA_MODEL_PY,
        "data_models/dm2.yml": DATA_MODEL.replace("Standard.AWS.CloudTrail", "Other.AWS.CloudTrail"),
        "data_models/dm2.py": DATA_MODEL_PY}, [
        "data_models/dm2.yml:6:5: LogTypes[0]: log type 'AWS.CloudTrail' is already claimed by enabled data model 'Standard.AWS.CloudTrail' (data_models/dm.yml:6) (one enabled data model per log type: disable one or remove the log type)",
    ]),
    ("global-filename-points-nowhere", {"global_helpers/h.yml": "AnalysisType: global\nGlobalID: h\nFilename: h.py\n"}, [
        "global_helpers/h.yml:3:11: Filename: 'h.py' does not exist next to this spec (no such file in global_helpers/)",
    ]),
    ("scheduled-query-rate-below-timeout", {"queries/q.yml": textwrap.dedent(
        """\
        AnalysisType: scheduled_query
        QueryName: Test Query
        Enabled: true
        Query: select 1
        Schedule:
          RateMinutes: 5
          TimeoutMinutes: 10
        """)}, [
        'queries/q.yml:6:16: Schedule.RateMinutes: 5 is less than TimeoutMinutes (10)',
    ]),
    ("saved-query-without-query", {"queries/q.yml": "AnalysisType: saved_query\nQueryName: Q\nDescription: d\n"}, [
        "queries/q.yml:1:1: missing required key 'Query', 'AthenaQuery', 'SnowflakeQuery' or 'DatabricksQuery'",
    ]),
    ("scheduled-prompt-bad-name", {"queries/p.yml": textwrap.dedent(
        """\
        AnalysisType: scheduled_prompt
        PromptName: Daily-Summary
        DisplayName: Daily summary
        PromptText: Summarise alerts
        RunAsUser: alice@example.com
        Schedule:
          CronExpression: 0 9 * * *
          TimeoutMinutes: 5
        Private: true
        """)}, [
        "queries/p.yml:2:13: PromptName: 'Daily-Summary' must start with a lower-case letter followed by lower-case letters, digits and _",
        'queries/p.yml:9:10: Private: must be false, got the boolean true (only shared prompts can be uploaded)',
    ]),
]


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def run_validate(root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str], str]:
    monkeypatch.chdir(root)
    code = main(["validate", *args])
    out, err = capsys.readouterr()
    return code, out.splitlines(), out + err


@pytest.mark.parametrize(("files", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_catalogue(files: dict[str, str], expected: list[str], tmp_path: Path,
                   monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, files)
    code, lines, output = run_validate(tmp_path, monkeypatch, capsys)
    assert lines == expected
    assert code == (1 if any(not line.startswith("warning: ") for line in expected) else 0)
    assert "Traceback" not in output
    for line in lines:  # every problem names a file and a line
        path, line_no, col, _ = line.removeprefix("warning: ").split(":", 3)
        assert (tmp_path / path).is_file() and int(line_no) >= 1 and int(col) >= 1


def test_catalogue_size() -> None:
    assert len(CASES) + len(RUNTIME_CASES) >= 30
    assert len({c[0] for c in CASES}) == len(CASES)


def test_one_bad_file_does_not_hide_the_good_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """A broken YAML and a schema error each fail only their file; the good spec beside them is
    still validated (a problem in it would be reported) and reports nothing."""
    write(tmp_path, {
        **rule_files(rule_yml(rule_id="Good.One", filename="good.py"), "good"),
        **rule_files(rule_yml(rule_id="Bad.Yaml", filename="broken.py", extra="Log: {actor:{id: 1}}\n"), "broken"),
        **rule_files(rule_yml(rule_id="Bad.Schema", filename="schema.py", severity="low"), "schema"),
        **rule_files(rule_yml(rule_id="Good.Two", filename="good2.py", extra="Tags: [a, A]\n"), "good2"),
    })
    code, lines, output = run_validate(tmp_path, monkeypatch, capsys)
    assert code == 1
    assert [line.split(":", 1)[0] for line in lines] == ["rules/broken.yml", "rules/good2.yml", "rules/schema.yml"]
    assert lines[1] == ("rules/good2.yml:9:11: Tags[1]: duplicate value 'A' "
                        "(same as Tags[0] 'a' on line 9; Tags are compared case-insensitively)")
    assert "rules/good.yml" not in output and "Traceback" not in output


def test_templates_passed_explicitly_are_not_specs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """pre-commit passes staged files: a template outside the spec folders is never an error."""
    write(tmp_path, {**rule_files(rule_yml()), "templates/example_rule.yml": "AnalysisType: rule\nRuleID: <ID>\n"})
    code, lines, _ = run_validate(tmp_path, monkeypatch, capsys, "templates/example_rule.yml", "rules/x.yml")
    assert (code, lines) == (0, [])


# --- cases that need the plugin's runtime (executing detection code) -----------------------------

TRUE_TEST = "  - Name: positive\n    ExpectedResult: true\n    Log:\n      action: login\n"
FALSE_TEST = "  - Name: negative\n    ExpectedResult: false\n    Log:\n      action: logout\n"

# (id, rules/x.yml, rules/x.py, extra files, substring the failure report must contain)
RUNTIME_CASES: list[tuple[str, str, str, dict[str, str], str]] = [
    ("rule-raises", rule_yml(tests=FALSE_TEST),
     "def rule(event):\n    raise RuntimeError('boom')\n", {}, "actual:   rule() raised RuntimeError: boom"),
    ("title-raises-on-true-test-only", rule_yml(tests=TRUE_TEST + FALSE_TEST),
     "def rule(event):\n    return event.get('action') == 'login'\n\n\n"
     "def title(event):\n    return event['user']['name']\n", {}, "[FAIL] title: KeyError: 'user'"),
    ("dedup-raises-on-true-test-only", rule_yml(tests=TRUE_TEST + FALSE_TEST),
     "def rule(event):\n    return event.get('action') == 'login'\n\n\n"
     "def dedup(event):\n    return event['user']['name']\n", {}, "[FAIL] dedup: KeyError: 'user'"),
    ("alert-context-raises-on-true-test-only", rule_yml(tests=TRUE_TEST + FALSE_TEST),
     "def rule(event):\n    return event.get('action') == 'login'\n\n\n"
     "def alert_context(event):\n    return {'user': event['user']['name']}\n", {}, "[FAIL] alert_context: KeyError: 'user'"),
    ("severity-informational", rule_yml(tests=TRUE_TEST),
     "def rule(event):\n    return True\n\n\ndef severity(event):\n    return 'INFORMATIONAL'\n", {}, "got [INFORMATIONAL] instead"),
    ("alert-context-datetime", rule_yml(tests=TRUE_TEST),
     "import datetime\n\n\ndef rule(event):\n    return True\n\n\n"
     "def alert_context(event):\n    return {'ts': datetime.datetime.now()}\n", {}, "[FAIL] alert_context: TypeError: object of type <class 'datetime.datetime'> is not JSON serializable"),
    ("mock-names-missing-attribute", rule_yml(
        tests="  - Name: mocked\n    ExpectedResult: true\n    Mocks:\n      - objectName: nope\n"
              "        returnValue: 'x'\n    Log:\n      action: login\n"),
     PY, {}, "Mocks name 'nope', which the detection's module does not define"),
    ("python-syntax-error", rule_yml(tests=TRUE_TEST), "def rule(event)\n    return True\n", {}, "syntax error: expected ':'"),
    ("helper-import-fails", rule_yml(tests=TRUE_TEST),
     "from acme_missing_helper import is_bad\n\n\ndef rule(event):\n    return is_bad(event)\n", {},
     "no module named 'acme_missing_helper': neither Panther's runtime nor this repository provides it"),
]


@pytest.mark.parametrize(("yml", "py", "extra", "expected"), [c[1:] for c in RUNTIME_CASES],
                         ids=[c[0] for c in RUNTIME_CASES])
def test_runtime_catalogue(yml: str, py: str, extra: dict[str, str], expected: str, pytester: pytest.Pytester) -> None:
    write(pytester.path, {
        "rules/x.yml": yml, "rules/x.py": py, **extra,
        **rule_files(rule_yml(rule_id="Good.Rule", filename="good.py"), "good"),
    })
    result = pytester.runpytest()
    output = result.stdout.str() + result.stderr.str()
    assert result.ret != 0
    assert expected in output
    assert "rules/x.yml" in output
    assert "Traceback (most recent call last)" not in output
    assert result.parseoutcomes().get("passed", 0) >= 1  # the good detection still runs and passes
