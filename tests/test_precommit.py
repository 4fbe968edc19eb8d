"""The pre-commit hooks for real: pre-commit (the framework) runs them in a throw-away git
repository, offline, through `repo: local` hooks calling the installed console script."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from gitrepo import GIT_ENV

from pytest_panther.spec.yaml import load_file

ROOT = Path(__file__).resolve().parents[1]
HOOK_IDS = [
    "panther-validate", "panther-test", "panther-sync-post-merge", "panther-sync-post-rewrite",
    "panther-sync-post-commit", "panther-sync-post-checkout",
]

CONFIG = """\
repos:
  - repo: local
    hooks:
      - id: panther-validate
        name: validate Panther specs
        entry: panther-gitops hook validate
        language: system
        files: \\.(ya?ml|py)$
      - id: panther-test
        name: test the detections a change touches
        entry: panther-gitops hook test
        language: system
        files: \\.(ya?ml|py)$
        require_serial: true
"""
RULE = """\
AnalysisType: rule
RuleID: Okta.AdminGranted
DisplayName: Okta admin role granted
Enabled: true
Severity: High
LogTypes: [Okta.SystemLog]
Filename: admin_granted.py
Tests:
  - Name: granted
    ExpectedResult: true
    Log: {eventType: user.account.privilege.grant}
  - Name: other
    ExpectedResult: false
    Log: {eventType: user.session.start}
"""
PY = "def rule(event):\n    return event.get('eventType') == 'user.account.privilege.grant'\n"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    bindir = str(Path(sys.executable).parent)
    return {
        **os.environ,
        "PATH": bindir + os.pathsep + os.environ.get("PATH", ""),
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        **GIT_ENV,
    }


def sh(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture
def repo(tmp_path: Path, env: dict[str, str]) -> Path:
    root = tmp_path / "detections"
    (root / "rules").mkdir(parents=True)
    (root / ".pre-commit-config.yaml").write_text(CONFIG)
    (root / "rules/admin_granted.yml").write_text(RULE)
    (root / "rules/admin_granted.py").write_text(PY)
    assert sh(root, env, "git", "init", "-q", "-b", "main").returncode == 0
    assert sh(root, env, "git", "add", "-A").returncode == 0
    assert sh(root, env, "git", "commit", "-q", "--no-verify", "-m", "one").returncode == 0
    return root


def pre_commit(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return sh(root, env, sys.executable, "-m", "pre_commit", *args)


def test_run_panther_validate_on_files(repo: Path, env: dict[str, str]) -> None:
    ok = pre_commit(repo, env, "run", "panther-validate", "--files", "rules/admin_granted.yml", "rules/admin_granted.py")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "validate Panther specs" in ok.stdout and "Passed" in ok.stdout
    (repo / "rules/admin_granted.yml").write_text(RULE.replace("Severity: High", "Severity: Urgent"))
    bad = pre_commit(repo, env, "run", "panther-validate", "--files", "rules/admin_granted.py")
    assert bad.returncode == 1
    assert "rules/admin_granted.yml:5:11: Severity: 'Urgent' is not one of Info, Low, Medium, High, Critical" in bad.stdout
    assert "Traceback" not in bad.stdout + bad.stderr


def test_a_broken_spec_blocks_the_commit_and_a_good_change_passes(repo: Path, env: dict[str, str]) -> None:
    installed = pre_commit(repo, env, "install", "-t", "pre-commit")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    head = sh(repo, env, "git", "rev-parse", "HEAD").stdout

    (repo / "rules/admin_granted.yml").write_text(RULE.replace("DisplayName", "Displayname"))
    sh(repo, env, "git", "add", "rules/admin_granted.yml")
    env_validate_only = {**env, "SKIP": "panther-test"}
    blocked = sh(repo, env_validate_only, "git", "commit", "-m", "typo")
    assert blocked.returncode == 1
    assert "rules/admin_granted.yml:3:1: unknown key 'Displayname' (did you mean 'DisplayName'?)" in blocked.stderr
    assert sh(repo, env, "git", "rev-parse", "HEAD").stdout == head
    assert (repo / "rules/admin_granted.yml").read_text() == RULE.replace("DisplayName", "Displayname")

    (repo / "rules/admin_granted.yml").write_text(RULE.replace("Severity: High", "Severity: Medium"))
    sh(repo, env, "git", "add", "rules/admin_granted.yml")
    passed = sh(repo, env_validate_only, "git", "commit", "-m", "lower severity")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert sh(repo, env, "git", "rev-parse", "HEAD").stdout != head


def test_run_panther_test_on_a_changed_detection(repo: Path, env: dict[str, str]) -> None:
    (repo / "rules/admin_granted.py").write_text(PY + "\n# tuned\n")
    sh(repo, env, "git", "add", "rules/admin_granted.py")
    ok = pre_commit(repo, env, "run", "panther-test", "--verbose")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "2 passed" in ok.stdout
    # Newcomer trial P10: every hook run warned "Module already imported so cannot be rewritten".
    assert "PytestAssertRewriteWarning" not in ok.stdout + ok.stderr
    (repo / "rules/admin_granted.py").write_text(PY.replace("==", "!="))
    sh(repo, env, "git", "add", "rules/admin_granted.py")
    failed = pre_commit(repo, env, "run", "panther-test")
    assert failed.returncode == 1
    assert "2 failed" in failed.stdout


def test_published_hooks_manifest() -> None:
    manifest = load_file(ROOT / ".pre-commit-hooks.yaml").data
    assert [hook["id"] for hook in manifest] == HOOK_IDS
    for hook in manifest:
        assert {"id", "name", "description", "entry", "language", "minimum_pre_commit_version"} <= set(hook), hook["id"]
        assert hook["language"] == "python"
    by_id = {hook["id"]: hook for hook in manifest}
    assert by_id["panther-validate"]["entry"] == "panther-gitops hook validate"
    assert by_id["panther-test"]["entry"] == "panther-gitops hook test"
    assert by_id["panther-test"]["require_serial"] is True
    for stage in ("post-merge", "post-rewrite", "post-commit", "post-checkout"):
        hook = by_id[f"panther-sync-{stage}"]
        assert hook["entry"] == f"panther-gitops sync hook --stage {stage}"
        assert (hook["stages"], hook["always_run"], hook["pass_filenames"]) == ([stage], True, False)
    checked = subprocess.run([sys.executable, "-m", "pre_commit", "validate-manifest", str(ROOT / ".pre-commit-hooks.yaml")],
                             capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_this_repositorys_config_uses_the_published_hooks() -> None:
    config = load_file(ROOT / ".pre-commit-config.yaml").data
    assert config["default_install_hook_types"] == ["pre-commit", "post-merge", "post-rewrite", "post-commit", "post-checkout"]
    local = {hook["id"]: hook for repo in config["repos"] if repo["repo"] == "local" for hook in repo["hooks"]}
    published = {hook["id"]: hook for hook in load_file(ROOT / ".pre-commit-hooks.yaml").data}
    assert set(published) <= set(local)
    for hook_id, hook in published.items():
        assert local[hook_id]["entry"] == hook["entry"]
        assert local[hook_id]["language"] == "system"  # offline: no clone, no virtualenv build
    assert local["ruff"]["entry"].startswith("ruff check")


def test_documentation_lists_every_hook() -> None:
    """As pre-commit-hooks does (style.md §2): the README or docs/ name every published hook."""
    docs = ROOT / "docs"
    pages = [ROOT / "README.md", *sorted(docs.rglob("*.md"))]
    text = "\n".join(page.read_text() for page in pages if page.is_file())
    assert [hook_id for hook_id in HOOK_IDS if f"`{hook_id}`" not in text] == []
    assert "pre-commit install" in text


def test_the_plugin_package_opts_out_of_assertion_rewriting() -> None:
    # The hook imports pytest_panther before pytest.main(); without the opt-out pytest warns
    # "Module already imported so cannot be rewritten; pytest_panther" on every hook run.
    from _pytest.assertion.rewrite import AssertionRewriter

    import pytest_panther

    assert AssertionRewriter.is_rewrite_disabled(pytest_panther.__doc__ or "")
