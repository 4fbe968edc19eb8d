from __future__ import annotations

import re
from pathlib import Path

from pytest_panther.spec.yaml import load_file

WORKFLOW = Path(__file__).parents[2] / "template" / ".github" / "workflows" / "panther-upstream.yml"


def test_weekly_and_manual_with_least_permissions() -> None:
    data = load_file(WORKFLOW).data
    assert list(data["on"]) == ["schedule", "workflow_dispatch"]
    assert re.fullmatch(r"\d+ \d+ \* \* [0-6]", data["on"]["schedule"][0]["cron"])
    assert data["permissions"] == {"contents": "read"}
    (job,) = data["jobs"].values()
    assert job["permissions"] == {"contents": "write", "pull-requests": "write"}
    assert job["timeout-minutes"] <= 60


def test_actions_are_pinned_by_sha() -> None:
    (job,) = load_file(WORKFLOW).data["jobs"].values()
    uses = [step["uses"] for step in job["steps"] if "uses" in step]
    assert uses and all(re.fullmatch(r"[\w-]+/[\w-]+@[0-9a-f]{40}", u) for u in uses), uses


def test_fails_visibly_on_conflict_and_push_errors() -> None:
    text = WORKFLOW.read_text()
    (job,) = load_file(WORKFLOW).data["jobs"].values()
    steps = {step.get("name", ""): step for step in job["steps"]}
    rebase = steps["Rebase onto the release and run the affected tests"]["run"]
    assert "panther-gitops upstream pull --tag \"$TAG\" --no-fetch" in rebase
    assert "GITHUB_STEP_SUMMARY" in rebase and "::error title=Upstream $TAG conflicts" in rebase and "exit 1" in rebase
    push = steps["Push the branch and open the pull request"]["run"]
    assert "::error title=Cannot push" in push and "gh pr create" in push
    # untrusted values reach shell only through env, never through ${{ }} inside run:
    for step in job["steps"]:
        assert "${{" not in step.get("run", ""), step.get("name")
    assert "secrets.PANTHER_UPSTREAM_TOKEN" in text
