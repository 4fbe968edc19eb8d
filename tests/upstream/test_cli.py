"""`panther-gitops upstream` argument handling (the commands themselves: test_e2e, test_pull, ...)."""
from __future__ import annotations

from pathlib import Path

import pytest
from upstream_repos import git
from upstream_repos import upstream

from pytest_panther.cli.main import main


def test_no_subcommand_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["upstream"]) == 2
    assert "init" in capsys.readouterr().err


def test_not_a_git_work_tree(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert upstream(tmp_path, capsys, "status") == (2, f"panther-gitops upstream: {tmp_path} is not a git work tree\n")


def test_status_without_a_recorded_base(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    git(tmp_path, "init", "-q")
    assert upstream(tmp_path, capsys, "status", "--no-fetch") == (
        1,
        "base release: (none)\nproblem: no base release recorded; run `panther-gitops upstream init --release vX.Y.Z`\n"
        "in-place edits of upstream detections: 0\noverrides: 0\n",
    )


def test_bad_config_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    git(tmp_path, "init", "-q")
    (tmp_path / "pyproject.toml").write_text('[tool.pytest-panther.upstream]\nbase = "latest"\n')
    assert upstream(tmp_path, capsys, "pull") == (
        1,
        f"panther-gitops upstream pull: {tmp_path}/pyproject.toml: [tool.pytest-panther.upstream] base must be a release tag vX.Y.Z, not 'latest'\n",
    )
