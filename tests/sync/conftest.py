"""Fixtures for the sync tests: real git repositories in tmp dirs with pinned identities/dates,
and the real stand-in Panther on loopback."""
from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from synchelpers import TOKEN
from synchelpers import GitRepo


@pytest.fixture
def git_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Pinned author/committer and an empty git config, for this process and its children."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    values = {
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
        "GIT_AUTHOR_NAME": "Sync Test",
        "GIT_AUTHOR_EMAIL": "sync-test@example.invalid",
        "GIT_AUTHOR_DATE": "2026-01-01T00:00:00+00:00",
        "GIT_COMMITTER_NAME": "Sync Test",
        "GIT_COMMITTER_EMAIL": "sync-test@example.invalid",
        "GIT_COMMITTER_DATE": "2026-01-01T00:00:00+00:00",
        "GIT_TERMINAL_PROMPT": "0",
    }
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n")
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    for key in ("PANTHER_API_HOST", "PANTHER_API_TOKEN", "PANTHER_DEPLOY_BRANCH", "GIT_DIR", "GIT_WORK_TREE"):
        monkeypatch.delenv(key, raising=False)
    return values


@pytest.fixture
def make_repo(tmp_path: Path, git_env: dict[str, str]) -> Callable[[str], GitRepo]:
    """``make_repo(name)`` → an initialised repository on branch ``main`` with no commit."""

    def factory(name: str = "repo") -> GitRepo:
        path = tmp_path / name
        path.mkdir()
        repo = GitRepo(path)
        repo.git("init", "-q", "-b", "main")
        return repo

    return factory


@pytest.fixture
def standin() -> Iterator[Any]:
    """The real stand-in Panther on an ephemeral loopback port (stopped after the test)."""
    from pytest_panther.sync.standin import StandinServer

    with StandinServer(token=TOKEN) as server:
        yield server
