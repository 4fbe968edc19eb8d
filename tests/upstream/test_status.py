"""`upstream status`: pack selection, JSON in a fresh clone, an unreachable upstream."""
from __future__ import annotations

from pathlib import Path

import pytest
from upstream_repos import git
from upstream_repos import upstream
from upstream_repos import write


def test_status_reports_the_pack_selection(fork: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pytest_panther.upstream.config import write_config

    write_config(fork, {"packs": ["Up.Okta", "Up.Oktaa"], "unselected": "disable"})
    git(fork, "commit", "-q", "-am", "deploy the Okta pack only")
    code, out = upstream(fork, capsys, "status", "--no-fetch")
    lines = out.splitlines()
    assert lines[1] == "problem: pyproject.toml [tool.pytest-panther.upstream] packs: no pack 'Up.Oktaa'; did you mean 'Up.Okta'?"
    assert "packs: Up.Okta, Up.Oktaa; 6 of 6 detections deployed, 3 of them forced disabled (unselected = disable)" in lines
    assert code == 1


def test_status_json_in_a_fresh_clone_adds_the_remote(fork: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    git(tmp_path, "clone", "-q", str(fork), "ci-clone")
    clone = tmp_path / "ci-clone"
    assert "upstream" not in git(clone, "remote").split()
    code, out = upstream(clone, capsys, "status", "--json")
    import json

    data = json.loads(out)
    assert (data["base"], data["newer"], data["latest"]) == ("v1.0.0", ["v2.0.0", "v3.0.0"], "v3.0.0")
    assert data["renamed"] == {"Up.AWS.AccessKeyCreated": ["Up.AWS.IAMKeyCreated", "rules/aws/key_created.yml"]}
    assert data["edits"] == [{"ids": ["Up.Okta.BruteForce"], "kind": "yaml", "path": "rules/okta/brute_force.yml", "status": "M"}]
    assert code == 1  # the override for the renamed ID
    assert "upstream" in git(clone, "remote").split()


def test_unreachable_upstream_says_how_to_work_offline(fork: Path, capsys: pytest.CaptureFixture[str]) -> None:
    git(fork, "remote", "set-url", "upstream", str(fork.parent / "nowhere"))
    code, out = upstream(fork, capsys, "status")
    assert code == 1
    assert out.startswith("panther-gitops upstream status: `git fetch --quiet --tags upstream` failed (128): fatal: ")
    assert out.endswith("(use --no-fetch to work with the tags already fetched)\n")
    assert upstream(fork, capsys, "status", "--no-fetch")[1].startswith("base release: v1.0.0\n")


def test_an_override_with_a_typo_gets_a_suggestion(fork: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(fork, {"overrides/typo.yml": "RuleID: Up.Okta.BruteForse\nSeverity: Low\n"})
    git(fork, "add", "overrides/typo.yml")
    git(fork, "commit", "-q", "-m", "typo")
    code, out = upstream(fork, capsys, "status", "--no-fetch")
    assert (
        "orphaned override: overrides/typo.yml:1:9: override for unknown detection ID 'Up.Okta.BruteForse':"
        " upstream removed or renamed it (did you mean 'Up.Okta.BruteForce'?)"
    ) in out.splitlines()
    assert code == 1
