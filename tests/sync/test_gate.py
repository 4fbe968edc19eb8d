"""The validation gate (issue 11 §2; audit D11, D9): nothing that fails validation is sent.

Inputs are the audit's: a policy with rule-only keys (``SummaryAttributes``, ``Threshold``,
``DedupPeriodMinutes``; validate: unknown key — and ``PolicyAPI.ModifyPolicy`` has none of them),
a RuleID with ``/``, spaces and ``%`` (it was PUT as ``/rules/Audit%2FSlash%20Rule..%252F``), a
test ``Log`` given as a string, and the 600-byte alias bomb. Each is named with ``path:line:col``,
the valid specs deploy, the synced ref stays, and once fixed the next run sends them.
"""
from __future__ import annotations

import io
from typing import Any

from badyaml import alias_bomb
from synchelpers import is_record
from test_apply import seed_repo
from test_apply import sync
from test_apply import writes

from pytest_panther.sync.state import read_synced

POLICY_PY = "def policy(resource):\n    return True\n"
BAD_POLICY = (
    "AnalysisType: policy\nPolicyID: Audit.Policy.Extra\nFilename: p.py\nEnabled: true\nSeverity: High\n"
    "ResourceTypes: [AWS.S3.Bucket]\nSummaryAttributes: [p_any_ip_addresses]\nThreshold: 5\nDedupPeriodMinutes: 15\n"
)
SLASH_RULE = (
    "AnalysisType: rule\nRuleID: 'Audit/Slash Rule..%2F'\nFilename: slash.py\nEnabled: true\nSeverity: Low\n"
    "LogTypes: [AWS.CloudTrail]\n"
)
STRING_LOG = (
    "AnalysisType: rule\nRuleID: Audit.String.Log\nFilename: slash.py\nEnabled: true\nSeverity: Low\n"
    "LogTypes: [AWS.CloudTrail]\nTests:\n  - Name: as text\n    ExpectedResult: false\n    Log: '{\"x\": 1}'\n"
)


def bomb() -> str:
    return alias_bomb(filename="slash.py")


def test_invalid_specs_are_named_and_never_sent_the_rest_deploys(make_repo: Any, standin: Any) -> None:
    repo = make_repo()
    seed_repo(repo, 2)
    repo.write("policies/p.py", POLICY_PY)
    repo.write("policies/p.yml", BAD_POLICY)
    repo.write("rules/slash.py", "def rule(event):\n    return False\n")
    repo.write("rules/slash.yml", SLASH_RULE)
    repo.write("rules/string_log.yml", STRING_LOG)
    repo.write("rules/bomb.yml", bomb())
    repo.commit()
    plan, summary, _ = sync(repo, standin)
    assert sorted(plan.errors) == [
        "policies/p.yml:7:1: unknown key 'SummaryAttributes' ('SummaryAttributes' belongs to other analysis types, not to a policy)",
        "policies/p.yml:8:1: unknown key 'Threshold' ('Threshold' belongs to other analysis types, not to a policy)",
        "policies/p.yml:9:1: unknown key 'DedupPeriodMinutes' ('DedupPeriodMinutes' belongs to other analysis types, not to a policy)",
        "rules/bomb.yml:15:42: aliases expand to more than 100,000 nodes (an alias bomb?) (write the values out instead of nesting aliases)",
        "rules/slash.yml:2:9: RuleID: 'Audit/Slash Rule..%2F' must be non-empty and must not contain < > & \" or %",
        "rules/string_log.yml:10:10: Tests[0].Log: expected a mapping (the test event), got the string '{\"x\": 1}'",
    ]
    assert "6 spec errors" in plan.render()
    sent = [path for _, path, _ in writes(standin)]
    assert sorted(sent) == ["/data-models/Std.DM", "/globals/helper", "/rules/Rule.0", "/rules/Rule.1"]
    assert summary.ok and summary.created == 4 and not summary.ref_moved
    assert read_synced(repo.path, "default") is None
    # Fixed: the next run (the ref did not move past them) sends them, and the ref moves.
    repo.write("policies/p.yml", BAD_POLICY.split("SummaryAttributes")[0])
    repo.write("rules/slash.yml", SLASH_RULE.replace("'Audit/Slash Rule..%2F'", "Audit.Slash.Rule"))
    repo.write("rules/string_log.yml", STRING_LOG.replace("Log: '{\"x\": 1}'", "Log: {x: 1}"))
    repo.remove("rules/bomb.yml")
    head = repo.commit()
    plan, summary, _ = sync(repo, standin)
    assert plan.errors == [] and summary.ok and summary.ref_moved
    assert read_synced(repo.path, "default") == head
    assert sorted(standin.state()["rules"]) == ["Audit.Slash.Rule", "Audit.String.Log", "Rule.0", "Rule.1"]
    assert "summaryAttributes" not in standin.state()["policies"]["Audit.Policy.Extra"]


def test_the_commits_extra_keys_settings_are_honoured(make_repo: Any, standin: Any) -> None:
    repo = make_repo()
    repo.add_rule("R.1", "r", extra="Author: alice\n")
    repo.commit()
    plan, _, _ = sync(repo, standin)
    assert plan.errors == ["rules/r.yml:13:1: unknown key 'Author' (custom metadata: add it to the extra-keys allow-list)"]
    repo.write("pyproject.toml", '[tool.pytest.ini_options]\npanther_extra_keys = ["Author"]\n')
    repo.commit()
    plan, summary, _ = sync(repo, standin)
    assert plan.errors == [] and summary.created == 1 and summary.ref_moved


def test_the_hook_names_the_bomb_and_deploys_the_rest(make_repo: Any, standin: Any) -> None:
    from synchelpers import TOKEN

    from pytest_panther.sync.hooks import run_hook

    repo = make_repo()
    repo.add_rule("R.1", "r")
    repo.write("rules/slash.py", "def rule(event):\n    return False\n")
    repo.write("rules/bomb.yml", bomb())
    repo.commit()
    err = io.StringIO()
    env = {"PANTHER_API_HOST": standin.url, "PANTHER_API_TOKEN": TOKEN}
    run_hook(repo.path, "post-commit", [], env=env, err=err)
    text = err.getvalue()
    assert "panther-sync: error: rules/bomb.yml:15:42: aliases expand to more than 100,000 nodes" in text
    assert "sync FAILED; refs/panther/default/synced was not moved" in text
    assert [r["path"] for r in standin.requests() if r["method"] == "PUT" and not is_record(r["path"])] == ["/rules/R.1"]
