"""`upstream init`."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from upstream_repos import git
from upstream_repos import make_upstream
from upstream_repos import upstream


def test_init_detects_the_base_release(make_repo: Callable[[str], Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    up = make_repo("up")
    make_upstream(up, 2)
    git(tmp_path, "clone", "-q", str(up), "fork2")
    fork = tmp_path / "fork2"
    code, out = upstream(fork, capsys, "init", "--url", str(up))
    assert code == 0
    assert out.splitlines() == [
        f"added remote upstream -> {up}",
        "enabled git rerere (conflict resolutions are remembered)",
        "recorded base release v2.0.0 in pyproject.toml",
        "committed pyproject.toml",
    ]
    assert git(fork, "config", "rerere.enabled").strip() == "true"
    assert (fork / "pyproject.toml").read_text() == f'[tool.pytest-panther.upstream]\nurl = "{up}"\nremote = "upstream"\nbase = "v2.0.0"\n'
