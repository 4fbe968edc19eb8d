"""Upstream reads a commit's specs where the sync deploys them from (the commit's
``panther_paths``, else PAT's walk, nested folders included): ``upstream status`` and ``pull``
used the fixed top-level folder list, so a fork's nested detection was deployed by the sync but
unknown to them (its override reported orphaned, packs counting without it)."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from upstream_repos import commit

from pytest_panther.sync.desired import desired_state
from pytest_panther.sync.desired import snapshot
from pytest_panther.upstream.git import Git
from pytest_panther.upstream.history import find_ids
from pytest_panther.upstream.history import repo_at
from pytest_panther.upstream.history import spec_ids_at

NESTED = (
    "AnalysisType: policy\nPolicyID: Team.Nested.Policy\nFilename: p.py\nEnabled: true\nSeverity: Low\n"
    "ResourceTypes: [AWS.S3.Bucket]\n"
)


@pytest.mark.parametrize("where, pyproject", [
    ("team_content/aws_policies", None),  # PAT's walk: a nested "*policies*" folder
    ("detections/team", '[tool.pytest-panther]\npaths = ["detections"]\n'),  # the fork's panther_paths
])
def test_upstream_sees_the_specs_the_sync_deploys(make_repo: Callable[[str], Path], where: str, pyproject: str | None) -> None:
    root = make_repo("fork")
    files: dict[str, str | None] = {f"{where}/p.yml": NESTED, f"{where}/p.py": "def policy(resource):\n    return True\n"}
    if pyproject:
        files["pyproject.toml"] = pyproject
    commit(root, "a nested policy", files)
    head = Git(root).out("rev-parse", "HEAD")
    deployed = {item_id for _, item_id in desired_state(snapshot(root, head), None).items}
    git = Git(root)
    assert deployed == {"Team.Nested.Policy"}
    assert spec_ids_at(git, "HEAD") == deployed
    assert find_ids(git, "HEAD", ["Team.Nested.Policy"]) == {"Team.Nested.Policy": f"{where}/p.yml"}
    assert [s.id for s in repo_at(git, "HEAD").specs] == ["Team.Nested.Policy"]
