"""A small detection repository with every content kind and the fields REST cannot carry.

Used by the every-kind tests and the reference-client comparison (PAT's ``pat upload`` against
one stand-in, ``panther-gitops sync apply`` against another). Written for these tests; shaped
like panther-analysis specs (PAT 1.11.1's schema accepts each of them).
"""
from __future__ import annotations

FILES: dict[str, str] = {
    "global_helpers/helper_one.yml": "AnalysisType: global\nGlobalID: helper_one\nFilename: helper_one.py\nDescription: a helper\n",
    "global_helpers/helper_one.py": "def is_one(value):\n    return value == 1\n",
    "data_models/model.yml": (
        "AnalysisType: datamodel\nDataModelID: Standard.Custom.Thing\nLogTypes:\n  - Custom.Thing\nEnabled: true\n"
        "Mappings:\n  - Name: actor_user\n    Path: user\n"
    ),
    "rules/plain.yml": (
        "AnalysisType: rule\nRuleID: Kind.Plain\nFilename: plain.py\nEnabled: true\nSeverity: Low\nLogTypes:\n  - Custom.Thing\n"
        "Tests:\n  - Name: hit\n    ExpectedResult: true\n    Log:\n      x: 1\n"
    ),
    "rules/plain.py": "from helper_one import is_one\n\n\ndef rule(event):\n    return is_one(event.get('x'))\n",
    "rules/signal.yml": (
        "AnalysisType: rule\nRuleID: Kind.Signal\nFilename: signal.py\nEnabled: true\nSeverity: Medium\nCreateAlert: false\n"
        "Reference: https://example.com/signal\nOnlyUseBaseRiskScore: true\nLogTypes:\n  - Custom.Thing\n"
        "AlertTitle: a signal\nAlertContext:\n  - KeyName: x\n    KeyValue:\n      KeyPath: x\n"
        "DynamicSeverities:\n  - ChangeTo: HIGH\n    Conditions:\n      - KeyPath: x\n        Condition: Equals\n        Value: 2\n"
        "GroupBy:\n  - KeyPath: x\n"
        "Tests:\n  - Name: signal hit\n    ExpectedResult: true\n    Log:\n      x: 1\n"
    ),
    "rules/signal.py": "def rule(event):\n    return event.get('x') == 1\n",
    "rules/simple.yml": (
        "AnalysisType: rule\nRuleID: Kind.Simple\nEnabled: true\nSeverity: High\nLogTypes:\n  - Custom.Thing\n"
        "Detection:\n  - KeyPath: x\n    Condition: Equals\n    Value: 1\n"
        "Tests:\n  - Name: simple hit\n    ExpectedResult: true\n    Log:\n      x: 1\n"
    ),
    "rules/derived.yml": (
        "AnalysisType: rule\nRuleID: Kind.Derived\nBaseDetection: Kind.Plain\nEnabled: true\nSeverity: Critical\n"
    ),
    "rules/scheduled.yml": (
        "AnalysisType: scheduled_rule\nRuleID: Kind.Scheduled\nFilename: scheduled.py\nEnabled: true\nSeverity: Low\n"
        "ScheduledQueries:\n  - Kind Scheduled Query\n"
        "Tests:\n  - Name: sched hit\n    ExpectedResult: true\n    Log:\n      x: 1\n"
    ),
    "rules/scheduled.py": "def rule(event):\n    return event.get('x') == 1\n",
    "policies/policy.yml": (
        "AnalysisType: policy\nPolicyID: Kind.Policy\nFilename: policy.py\nEnabled: true\nSeverity: Medium\n"
        "ResourceTypes:\n  - AWS.S3.Bucket\nActionDelaySeconds: 60\nAutoRemediationID: fix-it\n"
        "AutoRemediationParameters:\n  mode: strict\n"
        "Tests:\n  - Name: compliant\n    ExpectedResult: true\n    Resource:\n      ok: true\n"
    ),
    "policies/policy.py": "def policy(resource):\n    return resource.get('ok') is True\n",
    "correlation_rules/corr.yml": (
        "AnalysisType: correlation_rule\nRuleID: Kind.Correlation\nEnabled: true\nSeverity: High\n"
        "Detection:\n  - Sequence:\n      - ID: First\n        RuleID: Kind.Plain\n      - ID: Second\n        RuleID: Kind.Simple\n"
        "    Transitions:\n      - ID: First TO Second\n        From: First\n        To: Second\n        WithinTimeFrameMinutes: 10\n"
        "    LookbackWindowMinutes: 120\n    Schedule:\n      RateMinutes: 60\n      TimeoutMinutes: 5\n"
    ),
    "lookup_tables/lut.yml": (
        "AnalysisType: lookup_table\nLookupName: kind_lut\nSchema: Custom.Lut\nFilename: lut.jsonl\nEnabled: true\n"
        "Description: a table\nLogTypeMap:\n  PrimaryKey: ip\n  AssociatedLogTypes:\n    - LogType: Custom.Thing\n"
        "      Selectors:\n        - ip\n"
    ),
    "lookup_tables/lut.jsonl": '{"ip": "10.0.0.1", "tag": "a"}\n',
    "packs/pack.yml": (
        "AnalysisType: pack\nPackID: Kind.Pack\nDisplayName: Every kind\nDescription: a pack\n"
        "PackDefinition:\n  IDs:\n    - Kind.Plain\n    - Kind.Signal\n"
    ),
    "queries/saved.yml": (
        "AnalysisType: saved_query\nQueryName: Kind Saved Query\nQuery: SELECT 1\nDescription: saved\n"
        "Tags:\n  - kind\nLookback: true\nLookbackWindowSeconds: 3600\n"
    ),
    "queries/scheduled.yml": (
        "AnalysisType: scheduled_query\nQueryName: Kind Scheduled Query\nQuery: SELECT 2\nEnabled: true\n"
        "Schedule:\n  RateMinutes: 60\n  TimeoutMinutes: 5\n"
    ),
    "queries/prompt.yml": (
        "AnalysisType: scheduled_prompt\nPromptName: daily_summary\nDisplayName: Daily summary\n"
        "PromptText: Summarise yesterday's alerts\nRunAsUser: someone@example.com\n"
        "Schedule:\n  RateMinutes: 1440\n  TimeoutMinutes: 10\n"
    ),
    "queries/databricks.yml": (
        "AnalysisType: saved_query\nQueryName: Kind Databricks Query\nDatabricksQuery: SELECT 3\nDescription: databricks only\n"
    ),
}
