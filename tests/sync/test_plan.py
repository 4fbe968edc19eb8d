"""Desired state, targets and plans over real git repositories (no network: a plain list stands
in for the deployment in refresh mode)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_panther.sync.desired import desired_state
from pytest_panther.sync.desired import snapshot
from pytest_panther.sync.plan import ANY_DETECTION
from pytest_panther.sync.plan import make_plan
from pytest_panther.sync.state import read_synced
from pytest_panther.sync.state import write_synced
from pytest_panther.sync.targets import Target
from pytest_panther.sync.targets import TargetError
from pytest_panther.sync.targets import load_targets
from pytest_panther.sync.targets import select_target

TARGET = Target(name="default", host="http://127.0.0.1:9")


class Deployment:
    """What a deployment holds, for refresh-mode plans (read-only)."""

    def __init__(self, objects: dict[str, list[dict[str, Any]]]) -> None:
        self.objects = objects

    def list(self, resource: str) -> list[dict[str, Any]]:
        return self.objects.get(resource, [])


def synced_at(repo: Any, commit: str) -> None:
    write_synced(repo.path, "default", commit, read_synced(repo.path, "default"))


def plan_lines(plan: Any) -> list[str]:
    return [f"{c.action} {c.label} ({c.reason})" for c in plan.changes]


def test_rule_body_follows_the_openapi_fields(make_repo: Any) -> None:
    repo = make_repo()
    repo.add_rule("AWS.Root Login", "root", severity="High", extra="OutputIds:\n  - sec\nDedupPeriodMinutes: 60\n")
    repo.commit()
    state = desired_state(snapshot(repo.path, "HEAD"))
    assert state.errors == []
    body = state.items[("rules", "AWS.Root Login")].body
    assert body == {
        "id": "AWS.Root Login",
        "severity": "HIGH",
        "enabled": True,
        "outputIDs": ["sec"],
        "dedupPeriodMinutes": 60,
        "body": "def rule(event):\n    return event.get('x') == 1\n",
        "logTypes": ["AWS.CloudTrail"],
        "tests": [{"name": "hit", "resource": json.dumps({"x": 1}), "expectedResult": True}],
    }


def test_only_committed_content_counts(make_repo: Any) -> None:
    repo = make_repo()
    repo.add_rule("A.One")
    repo.commit()
    repo.add_rule("A.One", severity="Critical")  # not committed
    repo.add_rule("B.Two")  # not committed
    state = desired_state(snapshot(repo.path, "HEAD"))
    assert list(state.items) == [("rules", "A.One")]
    assert state.items[("rules", "A.One")].body["severity"] == "LOW"


def test_kinds_map_to_collections_and_status_filters(make_repo: Any) -> None:
    repo = make_repo()
    repo.write("global_helpers/h.py", "X = 1\n")
    repo.write("global_helpers/h.yml", "AnalysisType: global\nGlobalID: h\nFilename: h.py\n")
    repo.write("data_models/m.yml", "AnalysisType: datamodel\nDataModelID: M.1\nEnabled: true\nLogTypes: [Okta.SystemLog]\nMappings:\n  - Name: actor_user\n    Path: $.actor.name\n")
    repo.write("policies/p.py", "def policy(resource):\n    return True\n")
    repo.write("policies/p.yml", "AnalysisType: policy\nPolicyID: P.1\nFilename: p.py\nEnabled: true\nSeverity: Medium\nResourceTypes: [AWS.S3.Bucket]\n")
    repo.write("queries/q.yml", "AnalysisType: scheduled_query\nQueryName: Q one\nEnabled: true\nQuery: select 1\nSchedule:\n  RateMinutes: 60\n  TimeoutMinutes: 2\n")
    repo.add_rule("Old.Rule", extra="Status: Deprecated\n")
    repo.write("correlation_rules/c.yml", "AnalysisType: correlation_rule\nRuleID: C.1\nEnabled: true\nSeverity: Low\nDetection: []\n")
    repo.commit()
    state = desired_state(snapshot(repo.path, "HEAD"))
    assert state.errors == []
    # The correlation rule has no REST route: it is sent by upload, its file as committed.
    assert sorted(state.items) == [
        ("correlation-rules", "C.1"), ("data-models", "M.1"), ("globals", "h"), ("policies", "P.1"), ("queries", "Q one")
    ]
    assert state.items[("correlation-rules", "C.1")].body == {
        "upload:correlation_rules/c.yml": "AnalysisType: correlation_rule\nRuleID: C.1\nEnabled: true\nSeverity: Low\nDetection: []\n"
    }
    assert state.notes == ["rules/old_rule.yml: Old.Rule is not deployed (Status: deprecated), as pat upload skips it"]
    assert state.items[("globals", "h")].body == {"body": "X = 1\n"}
    assert state.items[("data-models", "M.1")].body["mappings"] == [{"name": "actor_user", "path": "$.actor.name"}]
    assert state.items[("queries", "Q one")].body == {
        "name": "Q one", "sql": "select 1", "schedule": {"rateMinutes": 60, "timeoutMinutes": 2, "disabled": False}
    }


def test_conversion_errors_are_located(make_repo: Any) -> None:
    repo = make_repo()
    repo.add_rule("Bad.Sev", "bad", severity="Urgent")
    repo.write("rules/nopy.yml", "AnalysisType: rule\nRuleID: No.Py\nFilename: missing.py\nSeverity: Low\nEnabled: true\nLogTypes: [Okta.SystemLog]\n")
    repo.commit()
    state = desired_state(snapshot(repo.path, "HEAD"))
    assert state.items == {}
    assert state.errors == [
        "rules/bad.yml:5:11: Severity: 'Urgent' is not one of Info, Low, Medium, High, Critical",
        "rules/nopy.yml:3:11: Python file 'missing.py' is not in the commit",
    ]


def test_incremental_plan_create_update_delete_rename(make_repo: Any) -> None:
    repo = make_repo()
    repo.add_rule("Keep.Same", "same")
    repo.add_rule("Change.Me", "change")
    repo.add_rule("Remove.Me", "remove")
    repo.add_rule("Old.Name", "renamed")
    synced_at(repo, repo.commit("base"))
    repo.add_rule("Change.Me", "change", severity="High")
    repo.remove("rules/remove.yml")
    repo.remove("rules/remove.py")
    repo.add_rule("New.Name", "renamed")
    repo.add_rule("Brand.New", "new")
    repo.commit("head")
    plan = make_plan(repo.path, TARGET)
    assert plan.mode == "incremental"
    assert plan_lines(plan) == [
        "create rules/Brand.New (new)",
        "update rules/Change.Me (changed)",
        "create rules/New.Name (new)",
        "delete rules/Old.Name (renamed to New.Name)",
        "delete rules/Remove.Me (spec removed)",
    ]
    assert plan.unchanged == 1
    update = plan.changes[1]
    assert update.diff() == ['severity: "LOW" → "HIGH"']
    text = plan.render()
    assert "  ~ update rules/Change.Me  (changed)\n      severity: \"LOW\" → \"HIGH\"" in text
    assert text.endswith("plan: 2 to create, 1 to update, 2 to delete, 1 unchanged")


def test_body_change_shows_a_unified_diff(make_repo: Any) -> None:
    repo = make_repo()
    repo.add_rule("R.1", "r")
    synced_at(repo, repo.commit())
    repo.add_rule("R.1", "r", body="def rule(event):\n    return event.get('x') == 2\n")
    repo.commit()
    (change,) = make_plan(repo.path, TARGET).changes
    assert change.diff() == ["body:", "  @@ -1,2 +1,2 @@", "   def rule(event):", "  -    return event.get('x') == 1", "  +    return event.get('x') == 2"]


def test_rewritten_history_with_same_content_plans_nothing(make_repo: Any) -> None:
    repo = make_repo()
    repo.add_rule("R.1", "r")
    repo.commit("one")
    repo.add_rule("R.2", "s")
    synced_at(repo, repo.commit("two"))
    repo.git("commit", "-q", "--amend", "-m", "two, reworded")
    repo.write("README.md", "docs only\n")
    repo.commit("docs")
    plan = make_plan(repo.path, TARGET)
    assert plan.changes == []
    assert plan.unchanged == 2


def test_moved_file_with_same_id_is_unchanged(make_repo: Any) -> None:
    repo = make_repo()
    repo.add_rule("R.1", "r")
    synced_at(repo, repo.commit())
    repo.git("mv", "rules/r.yml", "rules/moved.yml")
    repo.commit()
    assert make_plan(repo.path, TARGET).changes == []


def test_deprecated_entries_delete_known_and_unknown_ids(make_repo: Any) -> None:
    repo = make_repo()
    repo.add_rule("Going.Away", "away")
    repo.add_rule("Stays.Defined", "stays")
    repo.write("deprecated.txt", "# removed upstream\n")
    synced_at(repo, repo.commit())
    repo.remove("rules/away.yml")
    repo.write("deprecated.txt", "# removed upstream\nGoing.Away\nNever.Synced.Here\nStays.Defined\n")
    repo.commit()
    plan = make_plan(repo.path, TARGET)
    assert plan_lines(plan) == [
        "delete rules/Going.Away (deprecated.txt)",
        f"delete {ANY_DETECTION}/Never.Synced.Here (deprecated.txt)",
    ]


def test_a_broken_spec_never_deletes_its_deployed_detection(make_repo: Any) -> None:
    repo = make_repo()
    repo.add_rule("R.1", "r")
    synced_at(repo, repo.commit())
    repo.write("rules/r.yml", "AnalysisType: rule\nRuleID: R.1\nRuleID: R.2\n")
    repo.commit()
    plan = make_plan(repo.path, TARGET)
    assert plan.changes == []
    assert plan.errors == ["rules/r.yml:3:1: duplicate key 'RuleID' (first defined on line 2)"]


def test_refresh_reports_drift_and_guards_deletes(make_repo: Any) -> None:
    repo = make_repo()
    repo.add_rule("Same.Rule", "same")
    repo.add_rule("Drifted.Rule", "drift")
    repo.add_rule("Missing.Rule", "missing")
    repo.write("deprecated.txt", "Dep.Rule\n")
    repo.commit()
    wanted = {c.id: c.body for c in make_plan(repo.path, TARGET, Deployment({})).changes}
    stored = {**wanted["Same.Rule"], "createdAt": "2026-01-01T00:00:00Z", "threshold": 1, "managed": False}
    deployment = Deployment({
        "rules": [
            stored,
            {**wanted["Drifted.Rule"], "severity": "CRITICAL"},
            {"id": "Dep.Rule", "body": "x", "severity": "LOW"},
            {"id": "Console.Made", "body": "x", "severity": "LOW"},
        ]
    })
    plan = make_plan(repo.path, TARGET, deployment)
    assert plan.mode == "refresh"
    assert plan_lines(plan) == [
        "update rules/Drifted.Rule (drift: the deployment differs)",
        "create rules/Missing.Rule (not in the deployment)",
        "delete rules/Dep.Rule (deprecated.txt)",
    ]
    assert [c.label for c in plan.unmanaged] == ["rules/Console.Made"]
    assert plan.unchanged == 1
    pruned = make_plan(repo.path, TARGET, deployment, refresh=True, prune=True)
    assert "delete rules/Console.Made (--prune)" in plan_lines(pruned)


def test_refresh_needs_a_client(make_repo: Any) -> None:
    repo = make_repo()
    repo.add_rule("R.1")
    repo.commit()
    with pytest.raises(ValueError, match="comparing with the deployment needs an API client"):
        make_plan(repo.path, TARGET)


def test_target_overrides_apply_and_a_change_replans_everything(make_repo: Any) -> None:
    repo = make_repo()
    repo.add_rule("R.1", "r")
    repo.write("pyproject.toml", '[tool.pytest-panther.targets.dev]\nhost = "http://127.0.0.1:9"\n')
    synced_at_dev = repo.commit()
    write_synced(repo.path, "dev", synced_at_dev, None)
    repo.write("pyproject.toml", '[tool.pytest-panther.targets.dev]\nhost = "http://127.0.0.1:9"\noutput_ids = ["dev-channel"]\n')
    repo.commit()
    target = load_targets((repo.path / "pyproject.toml").read_text(), {"DEV_PANTHER_HOST": "http://127.0.0.1:9"})["dev"]
    (change,) = make_plan(repo.path, target).changes
    assert (change.action, change.body["outputIDs"]) == ("update", ["dev-channel"])
    assert change.diff() == ['outputIDs: (absent) → ["dev-channel"]']


def test_targets_from_env_and_pyproject() -> None:
    text = (
        '[tool.pytest-panther.targets.prod]\nhost = "https://api.acme.runpanther.net/public/graphql"\n'
        'token_env = "PROD_PANTHER_TOKEN"\ndeploy_branch = "release"\n'
    )
    env = {"PANTHER_API_HOST": "http://127.0.0.1:5", "PANTHER_SYNC_RETRIES": "0", "PROD_PANTHER_TOKEN": "s3cr3t",
           "PROD_PANTHER_HOST": "https://api.acme.runpanther.net"}
    targets = load_targets(text, env)
    assert sorted(targets) == ["default", "prod"]
    prod = targets["prod"]
    assert (prod.host, prod.token_env, prod.deploy_branch, prod.retries) == ("https://api.acme.runpanther.net", "PROD_PANTHER_TOKEN", "release", 0)
    assert prod.token(env) == "s3cr3t"
    assert "s3cr3t" not in repr(prod)
    with pytest.raises(TargetError, match=r"^target 'default': the token variable PANTHER_API_TOKEN is not set$"):
        targets["default"].token(env)
    with pytest.raises(TargetError, match=r"several targets configured \(default, prod\); choose one with --target"):
        select_target(targets, None)
    with pytest.raises(TargetError, match=r"unknown target 'dev' \(configured: default, prod\)"):
        select_target(targets, "dev")
    with pytest.raises(TargetError, match=r"^no target configured"):
        select_target(load_targets(None, {}), None)
    with pytest.raises(TargetError, match=r"targets.x\]: unknown key\(s\) outputs \(known: host, host_env, token_env"):
        load_targets('[tool.pytest-panther.targets.x]\nhost = "h"\noutputs = []\n', {})
    with pytest.raises(TargetError, match=r"output_ids must be a list of destination IDs"):
        load_targets('[tool.pytest-panther.targets.x]\nhost = "h"\noutput_ids = "c"\n', {})


def test_plan_of_an_unborn_repository_is_a_clear_error(make_repo: Any) -> None:
    repo = make_repo()
    with pytest.raises(ValueError, match="HEAD has no commit yet"):
        make_plan(repo.path, TARGET)


def test_synced_ref_moves_by_compare_and_swap(make_repo: Any, tmp_path: Path) -> None:
    from pytest_panther.sync.state import StateError

    repo = make_repo()
    first = repo.commit("one")
    second = repo.commit("two")
    write_synced(repo.path, "default", first, None)
    with pytest.raises(StateError):
        write_synced(repo.path, "default", second, None)
    write_synced(repo.path, "default", second, first)
    assert read_synced(repo.path, "default") == second
    assert repo.git("for-each-ref", "refs/panther/").stdout.split()[-1] == "refs/panther/default/synced"


def test_override_files_patch_what_is_deployed(make_repo: Any) -> None:
    repo = make_repo()
    repo.add_rule("Up.One", "one")
    repo.add_rule("Up.Two", "two")
    synced_at(repo, repo.commit())
    repo.write("overrides/Up.One.yml", "Severity: Critical\nTags:\n  add: [ACME.Reviewed]\n")
    repo.commit("override Up.One")
    plan = make_plan(repo.path, TARGET)
    assert plan.notes == ["upstream settings, overrides or packs changed: every spec is compared"]
    assert plan_lines(plan) == ["update rules/Up.One (changed)"]
    assert plan.changes[0].diff() == ['severity: "LOW" → "CRITICAL"', 'tags: (absent) → ["ACME.Reviewed"]']
    # The upstream file changes later: the override still applies on top.
    synced_at(repo, repo.head())
    repo.add_rule("Up.One", "one", body="def rule(event):\n    return False\n")
    repo.commit("upstream edits Up.One")
    (change,) = make_plan(repo.path, TARGET).changes
    assert (change.body["severity"], change.body["body"]) == ("CRITICAL", "def rule(event):\n    return False\n")


def test_bad_override_is_an_error_and_keeps_the_detection(make_repo: Any) -> None:
    repo = make_repo()
    repo.add_rule("Up.One", "one")
    synced_at(repo, repo.commit())
    repo.write("overrides/Up.One.yml", "LogTypes: [Okta.SystemLog]\n")
    repo.commit()
    plan = make_plan(repo.path, TARGET)
    assert plan.changes == []
    assert len(plan.errors) == 1 and plan.errors[0].startswith("overrides/Up.One.yml:1:1: ")


def test_pack_selection_skips_or_disables_unselected_detections(make_repo: Any) -> None:
    repo = make_repo()
    repo.add_rule("In.Selected", "sel")
    repo.add_rule("In.Other", "other")
    repo.add_rule("Own.Rule", "own")
    repo.write("packs/a.yml", "AnalysisType: pack\nPackID: Pack.A\nPackDefinition:\n  IDs: [In.Selected]\n")
    repo.write("packs/b.yml", "AnalysisType: pack\nPackID: Pack.B\nPackDefinition:\n  IDs: [In.Other]\n")
    repo.write("pyproject.toml", '[tool.pytest-panther.upstream]\npacks = ["Pack.A"]\n')
    repo.commit()
    plan = make_plan(repo.path, TARGET, Deployment({}))
    assert [c.id for c in plan.changes] == ["In.Selected", "Own.Rule"]
    repo.write("pyproject.toml", '[tool.pytest-panther.upstream]\npacks = ["Pack.A"]\nunselected = "disable"\n')
    repo.commit()
    plan = make_plan(repo.path, TARGET, Deployment({}))
    assert {c.id: c.body["enabled"] for c in plan.changes} == {"In.Other": False, "In.Selected": True, "Own.Rule": True}


def test_upstream_detections_in_no_pack_follow_the_pack_selection(make_repo: Any) -> None:
    """The IDs of the base release tell upstream's pack-less detections from the fork's own."""
    repo = make_repo()
    for rule_id in ("Up.InPack", "Up.Other", "Up.NoPack"):
        repo.add_rule(rule_id)
    repo.write("packs/a.yml", "AnalysisType: pack\nPackID: Pack.A\nPackDefinition:\n  IDs: [Up.InPack]\n")
    repo.write("packs/b.yml", "AnalysisType: pack\nPackID: Pack.B\nPackDefinition:\n  IDs: [Up.Other]\n")
    repo.commit("upstream release")
    repo.git("tag", "v1.0.0")
    repo.add_rule("Own.Rule")
    repo.write("pyproject.toml", '[tool.pytest-panther.upstream]\nbase = "v1.0.0"\npacks = ["Pack.A"]\n')
    repo.commit("fork")
    plan = make_plan(repo.path, TARGET, Deployment({}))
    assert [c.id for c in plan.changes] == ["Own.Rule", "Up.InPack"]
    repo.write("pyproject.toml", '[tool.pytest-panther.upstream]\nbase = "v1.0.0"\npacks = ["Pack.A"]\nunselected = "disable"\n')
    repo.commit()
    plan = make_plan(repo.path, TARGET, Deployment({}))
    assert {c.id: c.body["enabled"] for c in plan.changes} == {
        "Own.Rule": True, "Up.InPack": True, "Up.NoPack": False, "Up.Other": False}
    # A base release whose tag this clone lacks: every detection in no pack counts as the fork's.
    repo.write("pyproject.toml", '[tool.pytest-panther.upstream]\nbase = "v2.0.0"\npacks = ["Pack.A"]\n')
    repo.commit()
    plan = make_plan(repo.path, TARGET, Deployment({}))
    assert [c.id for c in plan.changes] == ["Own.Rule", "Up.InPack", "Up.NoPack"]


def test_invalid_upstream_settings_stop_the_plan(make_repo: Any) -> None:
    from pytest_panther.sync.selection import SelectionError

    repo = make_repo()
    repo.add_rule("R.1")
    repo.write("pyproject.toml", '[tool.pytest-panther.upstream]\nunselected = "maybe"\n')
    repo.commit()
    with pytest.raises(SelectionError, match=r'pyproject.toml: \[tool.pytest-panther.upstream\] unselected must be "skip" or "disable"'):
        make_plan(repo.path, TARGET, Deployment({}))


def test_refresh_never_deletes_for_a_broken_spec(make_repo: Any) -> None:
    repo = make_repo()
    repo.add_rule("R.1", "r")
    repo.add_rule("R.2", "s")
    synced_at(repo, repo.commit())
    deployment = Deployment({"rules": [c.body for c in make_plan(repo.path, TARGET, Deployment({}), refresh=True).changes]
                             + [{"id": "Console.Made", "body": "x", "severity": "LOW"}]})
    repo.write("rules/r.yml", "AnalysisType: rule\nRuleID: [not, a, string]\n")
    repo.commit()
    plan = make_plan(repo.path, TARGET, deployment, refresh=True, prune=True)
    assert plan.changes == []
    assert plan.notes[0] == "specs have errors: --prune deletes nothing until they are fixed"
    assert sorted(c.id for c in plan.unmanaged) == ["Console.Made", "R.1"]
    assert plan.errors[-1] == "rules/r.yml:2:9: RuleID: expected a string, got a list"
    assert all(error.startswith("rules/r.yml:") for error in plan.errors)


def test_specs_are_read_where_pytest_collects_them_nested_folders_included(make_repo: Any) -> None:
    """A policy in team_content/aws_policies/ is tested by pytest (PAT's folder patterns) and so
    deployed; a commit's panther_paths narrows both alike."""
    repo = make_repo()
    repo.write("team_content/aws_policies/p.py", "def policy(resource):\n    return True\n")
    repo.write("team_content/aws_policies/p.yml", "AnalysisType: policy\nPolicyID: Team.P\nFilename: p.py\nEnabled: true\n"
               "Severity: Medium\nResourceTypes: [AWS.S3.Bucket]\n")
    repo.write("team_content/notes.yml", "AnalysisType: policy\nPolicyID: Not.A.Spec.Folder\n")
    repo.add_rule("A.One")
    repo.commit()
    assert sorted(desired_state(snapshot(repo.path, "HEAD")).items) == [("policies", "Team.P"), ("rules", "A.One")]
    repo.write("pyproject.toml", '[tool.pytest.ini_options]\npanther_paths = ["rules"]\n')
    repo.commit()
    assert sorted(desired_state(snapshot(repo.path, "HEAD")).items) == [("rules", "A.One")]
