"""The walk-through of issue 7, scripted as a new user would do it (slow: it builds a venv).

1. In an empty folder: ``panther-gitops init``; the README's install command in a fresh venv;
   ``pytest`` green; ``pre-commit install``; ``pre-commit run --all-files`` green;
   ``panther-gitops new rule …`` then ``pytest`` green; commit on a branch and merge it into the
   deploy branch with the stand-in server running: the new rule is deployed.
2. The same on a fresh clone of this repository: install, ``pytest`` on its detections,
   ``pre-commit run --all-files``.

pytest-panther is not on a package index yet, so the venv first gets ``pip install <this
checkout>`` (non-editable, so the wheel's package data is what ``init`` lays out); the template's
``pip install -e .`` then finds its ``pytest-panther`` dependency installed. One venv is shared by
both tests (session fixture) to keep CI time down. Every command runs with the venv's ``bin``
first on PATH, a private ``PRE_COMMIT_HOME`` and without any ``PANTHER_*`` variable of the caller.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
TOKEN = "walkthrough-token"


@dataclass(frozen=True)
class Venv:
    root: Path
    env: dict[str, str]

    @property
    def bin(self) -> Path:
        return self.root / "bin"


def run(venv: Venv, cwd: Path, *argv: str, timeout: float = 300, env: dict[str, str] | None = None) -> str:
    """Run a command the way a user types it; fail the test with its output unless it exits 0."""
    result = subprocess.run(
        list(argv), cwd=cwd, env=env or venv.env, capture_output=True, text=True, timeout=timeout, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"$ {' '.join(argv)}  (exit {result.returncode})\n{output}"
    return output


@pytest.fixture(scope="session")
def user_venv(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """A fresh virtual environment with this checkout installed from its path."""
    base = tmp_path_factory.mktemp("walkthrough")
    root = base / "venv"
    try:
        subprocess.run([sys.executable, "-m", "venv", str(root)], check=True, capture_output=True, timeout=180)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        pytest.skip(f"cannot create a virtual environment here ({exc}); the walk-through needs one")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PANTHER_", "PYTEST_", "VIRTUAL_ENV", "PYTHON"))}
    env.update(
        PATH=f"{root / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        VIRTUAL_ENV=str(root),
        PRE_COMMIT_HOME=str(base / "pre-commit-home"),
        GIT_AUTHOR_NAME="Walk Through",
        GIT_AUTHOR_EMAIL="walk@example.com",
        GIT_COMMITTER_NAME="Walk Through",
        GIT_COMMITTER_EMAIL="walk@example.com",
        GIT_CONFIG_NOSYSTEM="1",
        # The venv is shared: the second test replaces the installed package with an editable
        # one. Bytecode that pytest's assertion rewriting would leave in site-packages after that
        # uninstall turns ``pytest_panther`` into a namespace package, so none is written.
        PYTHONDONTWRITEBYTECODE="1",
    )
    venv = Venv(root=root, env=env)
    run(venv, base, str(root / "bin" / "python"), "-m", "pip", "install", "--quiet", str(REPO), timeout=900)
    return venv


class Standin:
    """``panther-gitops standin`` as a user starts it, stopped when the test ends."""

    def __init__(self, venv: Venv, cwd: Path) -> None:
        self.process = subprocess.Popen(
            [str(venv.bin / "panther-gitops"), "standin", "--port", "0", "--token", TOKEN],
            cwd=cwd, env=venv.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        assert self.process.stdout is not None
        first = self.process.stdout.readline()  # "serving http://127.0.0.1:PORT ..."
        assert first.startswith("serving http://127.0.0.1:"), first + self.process.stderr.read()
        self.url = first.split()[1]

    def state(self) -> dict[str, dict[str, dict[str, object]]]:
        request = urllib.request.Request(f"{self.url}/__standin__/state", headers={"X-API-Key": TOKEN})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def _template_files() -> set[str]:
    template = REPO / "template"
    return {
        p.relative_to(template).as_posix()
        for p in template.rglob("*")
        if p.is_file() and not {"__pycache__", ".pytest_cache", ".ruff_cache"} & set(p.parts) and p.suffix != ".pyc"
    }


def test_walkthrough_from_an_empty_folder(user_venv: Venv, tmp_path: Path) -> None:
    venv = user_venv
    project = tmp_path / "detections"
    project.mkdir()

    # 1. Lay the template out (from the installed package, not from this checkout).
    result = subprocess.run(["panther-gitops", "init"], cwd=project, env=venv.env, capture_output=True, text=True,
                            timeout=120, check=False)
    out = result.stdout + result.stderr
    created = {line.split()[1] for line in out.splitlines() if line.startswith("  created  ")}
    missing = sorted(_template_files() - created)
    assert not missing, f"init did not lay out {missing} from the installed package:\n{out}"
    assert result.returncode == 0, out
    assert "new git repository" in out

    # 2. The README's two commands.
    readme = (project / "README.md").read_text()
    assert "pip install -e .\npytest\n" in readme
    run(venv, project, "pip", "install", "--quiet", "-e", ".", timeout=900)
    out = run(venv, project, "pytest", "-p", "no:cacheprovider")
    assert "6 passed" in out.splitlines()[-1]

    # 3. pre-commit: install every hook type, then all hooks green on all files.
    out = run(venv, project, "pre-commit", "install")
    for hook in ("pre-commit", "post-merge", "post-rewrite", "post-commit", "post-checkout"):
        assert f".git/hooks/{hook}" in out
    run(venv, project, "git", "add", "-A")
    out = run(venv, project, "pre-commit", "run", "--all-files")
    assert "validate Panther specs" in out and "test the detections a change touches" in out
    run(venv, project, "git", "commit", "-q", "-m", "Start from the pytest-panther template")

    # 4. A new rule on a branch: scaffolded tests pass, the commit hooks pass.
    run(venv, project, "git", "checkout", "-q", "-b", "add-new-admin-rule")
    out = run(venv, project, "panther-gitops", "new", "rule", "NewAdminUser", "--log-type", "AWS.CloudTrail")
    assert "  created  rules/custom_new_admin_user.py" in out
    out = run(venv, project, "pytest", "-p", "no:cacheprovider")
    assert "8 passed" in out.splitlines()[-1]
    run(venv, project, "git", "add", "rules")
    run(venv, project, "git", "commit", "-q", "-m", "Detect new IAM admin users")

    # 5. Merge into the deploy branch with a (stand-in) Panther: the hooks deploy.
    standin = Standin(venv, tmp_path)
    try:
        deploy_env = dict(venv.env, PANTHER_API_HOST=standin.url, PANTHER_API_TOKEN=TOKEN)
        run(venv, project, "git", "checkout", "-q", "main", env=deploy_env)
        out = run(venv, project, "git", "merge", "--no-ff", "-m", "Merge the new rule", "add-new-admin-rule",
                  env=deploy_env)
        assert "created rules/Custom.NewAdminUser" in out
        state = standin.state()
        out = run(venv, project, "panther-gitops", "sync", "status", env=deploy_env)
    finally:
        standin.stop()
    deployed = state["rules"]["Custom.NewAdminUser"]
    assert deployed["body"] == (project / "rules" / "custom_new_admin_user.py").read_text()
    assert sorted(state["rules"]) == ["Custom.NewAdminUser", "Example.IAM.AccessKeyForOtherUser"]
    assert sorted(state["policies"]) == ["Example.S3.BucketVersioning"]
    # The helper, and the sync's record of what this repository deployed (docs/reference.md, sync).
    assert sorted(state["globals"]) == ["panther_gitops_manifest__default", "team_context"]
    assert "up to date" in out
    # The token is never written into the repository (hooks, refs, logs).
    for path in project.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path


def test_walkthrough_on_a_fresh_clone_of_this_repository(user_venv: Venv, tmp_path: Path) -> None:
    venv = user_venv
    clone = tmp_path / "pytest-panther"
    run(venv, tmp_path, "git", "clone", "-q", str(REPO), str(clone))
    assert (clone / ".pre-commit-config.yaml").is_file()
    # This repository's own install command (README / .pre-commit-config.yaml): the package with
    # its dev tools, and ruff for the lint hook.
    run(venv, clone, "pip", "install", "--quiet", "-e", ".[dev]", "ruff", timeout=900)
    folders = [f for f in ("rules", "policies", "correlation_rules", "queries", "data_models", "global_helpers")
               if (clone / f).is_dir()]
    # Its own detections (not its whole test suite, which includes this test).
    out = run(venv, clone, "pytest", "-p", "no:cacheprovider", "--panther-minimum-tests", "2", *folders)
    last = out.splitlines()[-1]
    assert " passed" in last and "failed" not in last and "error" not in last, out
    run(venv, clone, "pre-commit", "install")
    run(venv, clone, "pre-commit", "run", "--all-files", timeout=600)
