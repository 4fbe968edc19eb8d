"""Fixtures for the sync tests: real git repositories in tmp dirs with pinned identities/dates."""
from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

RULE_PY = "def rule(event):\n    return event.get('x') == 1\n"


def rule_yaml(rule_id: str, filename: str | None, *, severity: str = "Low", enabled: bool = True, extra: str = "") -> str:
    lines = [
        "AnalysisType: rule",
        f"RuleID: {rule_id}",
        f"Filename: {filename}" if filename else "",
        f"Enabled: {'true' if enabled else 'false'}",
        f"Severity: {severity}",
        "LogTypes:\n  - AWS.CloudTrail",
        "Tests:\n  - Name: hit\n    ExpectedResult: true\n    Log:\n      x: 1",
    ]
    return "\n".join(line for line in lines if line) + "\n" + extra


class GitRepo:
    """A git work tree driven with the ``git`` binary (environment pinned by ``git_env``)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def git(self, *args: str, check: bool = True, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            ["git", *args], cwd=self.path, capture_output=True, text=True, env=env or dict(os.environ)
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc

    def write(self, rel: str, text: str) -> None:
        path = self.path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def remove(self, rel: str) -> None:
        (self.path / rel).unlink()

    def add_rule(self, rule_id: str, name: str | None = None, *, body: str = RULE_PY, **kwargs: object) -> str:
        name = name or rule_id.lower().replace(".", "_").replace(" ", "_")
        self.write(f"rules/{name}.py", body)
        self.write(f"rules/{name}.yml", rule_yaml(rule_id, f"{name}.py", **kwargs))  # type: ignore[arg-type]
        return name

    def commit(self, message: str = "change") -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").stdout.strip()


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
