"""Real git repositories for the upstream workflow tests: an upstream with release tags and a
fork cloned from it (contents in ``upstream_repos.py``). Git runs with a pinned, isolated environment (no user or system config,
fixed identity and dates), so the tests never depend on the machine."""
from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from upstream_repos import git
from upstream_repos import make_fork
from upstream_repos import make_upstream

import pytest_panther.upstream.pull as pull_module


@pytest.fixture(autouse=True)
def pinned_git(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path_factory.mktemp("home")
    config = home / "gitconfig"
    config.write_text("[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n")
    env = {
        "HOME": str(home),
        "GIT_CONFIG_GLOBAL": str(config),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Fork Maintainer",
        "GIT_AUTHOR_EMAIL": "alice@example.com",
        "GIT_COMMITTER_NAME": "Fork Maintainer",
        "GIT_COMMITTER_EMAIL": "alice@example.com",
        "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
        "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for key in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_EDITOR", "EDITOR"):
        monkeypatch.delenv(key, raising=False)


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[[str], Path]:
    def make(name: str) -> Path:
        root = tmp_path / name
        root.mkdir()
        git(root, "init", "-q")
        return root

    return make


@pytest.fixture
def fork(make_repo: Callable[[str], Path], tmp_path: Path) -> Path:
    """The customised fork based on v1.0.0 (upstream ``tmp_path/upstream`` is at v3.0.0)."""
    upstream = make_repo("upstream")
    make_upstream(upstream, 1)
    fork = tmp_path / "fork"
    make_fork(upstream, fork)
    make_upstream(upstream, 3)
    return fork


@pytest.fixture
def ran(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Spec files (relative) that `upstream pull` asked pytest to run, per run."""
    runs: list[list[str]] = []

    def record(root: Path, files: list[Path]) -> int:
        runs.append([f.relative_to(root).as_posix() for f in files])
        return 0

    monkeypatch.setattr(pull_module, "run_pytest", record)
    return runs


@pytest.fixture
def standin(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A stand-in Panther on 127.0.0.1 (stops with the test) and the environment pointing at it."""
    from pytest_panther.sync.standin import StandinServer

    with StandinServer(token="upstream-e2e-token") as server:
        monkeypatch.setenv("PANTHER_API_HOST", server.url)
        monkeypatch.setenv("PANTHER_API_TOKEN", "upstream-e2e-token")
        monkeypatch.setenv("PANTHER_SYNC_RETRIES", "0")
        monkeypatch.setenv("PANTHER_SYNC_TIMEOUT", "5")
        yield server
