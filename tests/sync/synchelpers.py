"""Helpers shared by the sync tests (imported by name: test modules have no package)."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

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


TOKEN = "tok-e2e-7f3a9c1d5b"  # a recognisable value to grep for: it must appear nowhere


def is_record(path: str) -> bool:
    """A request path of the sync's record of what it deployed (pytest_panther.sync.manifest)."""
    from pytest_panther.sync.manifest import MANIFEST_PREFIX

    return path.startswith(f"/globals/{MANIFEST_PREFIX}")


def deployed(server: Any) -> dict[str, dict[str, dict[str, Any]]]:
    """The stand-in's objects, normalised like plans compare them (server fields, defaults out),
    without the sync's own record (compared by the tests of pytest_panther.sync.manifest)."""
    from pytest_panther.sync.manifest import is_manifest
    from pytest_panther.sync.plan import normalize

    out = {
        kind: {key: normalize(kind, obj) for key, obj in objects.items() if not is_manifest(kind, key)}
        for kind, objects in server.state(server_fields=False).items()
    }
    return {kind: objects for kind, objects in out.items() if objects}


def desired(path: Path, commit: str = "HEAD", overrides: dict[str, Any] | None = None) -> dict[str, dict[str, dict[str, Any]]]:
    """HEAD's desired state in the same shape as :func:`deployed`."""
    from pytest_panther.sync.desired import desired_state
    from pytest_panther.sync.desired import snapshot
    from pytest_panther.sync.plan import normalize

    state = desired_state(snapshot(path, commit), None, overrides)
    assert state.errors == []
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for (resource, item_id), item in state.items.items():
        out.setdefault(resource, {})[item_id] = normalize(resource, item.body)
    return out

