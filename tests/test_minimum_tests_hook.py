"""The minimum-tests setting of the template blocks an under-tested detection before the commit
(issue 10.9): a repository made with ``panther-gitops init``, real git and pre-commit."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from gitrepo import GIT_ENV
from gitrepo import git
from gitrepo import make_repo
from gitrepo import write

from pytest_panther.cli.main import main

ONE_TEST_RULE = """\
AnalysisType: rule
RuleID: Custom.Okta.AdminGranted
DisplayName: Okta admin role granted
Enabled: true
Severity: High
LogTypes: [Okta.SystemLog]
Filename: custom_admin_granted.py
Tests:
  - Name: admin role granted
    ExpectedResult: true
    Log: {eventType: user.account.privilege.grant}
"""
SECOND_TEST = """\
  - Name: session start is quiet
    ExpectedResult: false
    Log: {eventType: user.session.start}
"""
PY = "def rule(event):\n    return event.get('eventType') == 'user.account.privilege.grant'\n"


def sh(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    bindir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", ""),
            "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"), **GIT_ENV}


@pytest.mark.slow
def test_a_rule_with_one_test_is_blocked_by_the_hook_in_a_repository_made_with_init(
    tmp_path: Path, env: dict[str, str]
) -> None:
    root = tmp_path / "detections"
    made = sh(tmp_path, env, sys.executable, "-m", "pytest_panther.cli.main", "init", str(root))
    assert made.returncode == 0, made.stdout + made.stderr
    assert sh(root, env, "git", "add", "-A").returncode == 0
    assert sh(root, env, "git", "commit", "-q", "--no-verify", "-m", "template").returncode == 0
    installed = sh(root, env, sys.executable, "-m", "pre_commit", "install", "-t", "pre-commit")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    head = sh(root, env, "git", "rev-parse", "HEAD").stdout

    (root / "rules/custom_admin_granted.yml").write_text(ONE_TEST_RULE)
    (root / "rules/custom_admin_granted.py").write_text(PY)
    sh(root, env, "git", "add", "rules")
    blocked = sh(root, env, "git", "commit", "-m", "admin granted")
    assert blocked.returncode == 1, blocked.stdout + blocked.stderr
    assert ("rules/custom_admin_granted.yml:1:1: insufficient test coverage for Custom.Okta.AdminGranted: 2 tests "
            "required but only 1 found; expected at least one positive (ExpectedResult: true) and one negative "
            "(false) test") in blocked.stderr
    assert sh(root, env, "git", "rev-parse", "HEAD").stdout == head

    (root / "rules/custom_admin_granted.yml").write_text(ONE_TEST_RULE + SECOND_TEST)
    sh(root, env, "git", "add", "rules")
    passed = sh(root, env, "git", "commit", "-m", "admin granted, tested both ways")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert sh(root, env, "git", "rev-parse", "HEAD").stdout != head


UPSTREAM_RULE = """\
AnalysisType: rule
RuleID: {id}
Enabled: true
Severity: Low
LogTypes: [Okta.SystemLog]
Filename: {name}.py
Tests:
  - Name: only one
    ExpectedResult: true
    Log: {{eventType: user.account.privilege.grant}}
"""
HELPER_PY = "import okta_helpers\n\n\ndef rule(event):\n    return okta_helpers.granted(event)\n"


def _fork(tmp_path: Path) -> Path:
    """A fork at upstream release v1.0.0 whose two upstream rules have one test each."""
    root = make_repo(tmp_path / "fork", {
        "rules/upstream_a.yml": UPSTREAM_RULE.format(id="Upstream.A", name="upstream_a"),
        "rules/upstream_a.py": HELPER_PY,
        "rules/upstream_b.yml": UPSTREAM_RULE.format(id="Upstream.B", name="upstream_b"),
        "rules/upstream_b.py": PY,
        "global_helpers/okta_helpers.yml": "AnalysisType: global\nGlobalID: okta_helpers\nFilename: okta_helpers.py\n",
        "global_helpers/okta_helpers.py": "def granted(event):\n    return event.get('eventType') == "
                                          "'user.account.privilege.grant'\n",
    })
    git(root, "tag", "v1.0.0")
    write(root, {"pyproject.toml": "[tool.pytest-panther]\nminimum_tests = 2\n\n[tool.pytest-panther.upstream]\n"
                                   "base = \"v1.0.0\"\n"})
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "fork set-up")
    return root


def test_in_a_fork_untouched_upstream_detections_below_the_minimum_are_listed_not_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _fork(tmp_path)
    write(root, {
        "rules/custom_admin_granted.yml": ONE_TEST_RULE, "rules/custom_admin_granted.py": PY,  # the fork's own
        "rules/upstream_b.py": PY + "\n# tuned by the fork\n",  # an upstream detection the fork edits
    })
    monkeypatch.chdir(root)
    code = pytest.main(["-p", "no:cacheprovider", "-rfs", "-o", "addopts="])
    out = capsys.readouterr().out
    assert code == pytest.ExitCode.TESTS_FAILED
    assert "FAILED rules/custom_admin_granted.yml::Custom.Okta.AdminGranted::[minimum tests]" in out
    assert "FAILED rules/upstream_b.yml::Upstream.B::[minimum tests]" in out
    assert ("SKIPPED [1] rules/upstream_a.yml: upstream detection, unchanged since v1.0.0 (listed, not failed): "
            "2 tests required") in out
    assert "below minimum tests: 2; below minimum, not failed: 1" in out
    assert "below minimum, not failed (upstream detection, unchanged since v1.0.0): 1: Upstream.A" in out

    # A commit that changes only the helper Upstream.A imports is not blocked by Upstream.A's tests.
    write(root, {"rules/upstream_b.py": PY, "global_helpers/okta_helpers.py": "def granted(event):\n    return "
                 "event.get('eventType') == 'user.account.privilege.grant'  # reviewed\n"})
    (root / "rules/custom_admin_granted.yml").unlink()
    (root / "rules/custom_admin_granted.py").unlink()
    hooked = main(["hook", "test", "--pytest-arg=-rs", "global_helpers/okta_helpers.py"])
    out = capsys.readouterr().out
    assert hooked == 0, out
    assert "1 passed, 1 skipped" in out
    assert "SKIPPED [1] rules/upstream_a.yml: not touched by this change (listed, not failed): 2 tests required" in out


def test_the_hook_fails_only_the_detections_the_commit_touches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _fork(tmp_path)
    write(root, {"pyproject.toml": "[tool.pytest-panther]\nminimum_tests = 2\n"})  # not a fork: no base
    monkeypatch.chdir(root)
    helper = "global_helpers/okta_helpers.py"
    write(root, {helper: (root / helper).read_text() + "# reviewed\n"})
    hooked = main(["hook", "test", "--pytest-arg=-rs", helper])
    out = capsys.readouterr().out
    assert hooked == 0, out  # Upstream.A imports the helper and has one test: listed, not failed
    assert "SKIPPED [1] rules/upstream_a.yml: not touched by this change (listed, not failed): 2 tests required" in out
    assert "below minimum, not failed: 1" in out
    hooked = main(["hook", "test", helper, "rules/upstream_a.py"])
    out = capsys.readouterr().out
    assert hooked == 1
    assert "FAILED rules/upstream_a.yml::Upstream.A::[minimum tests]" in out


def test_while_a_pull_tests_a_newer_release_its_unchanged_detections_are_listed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _fork(tmp_path)
    # Upstream v1.1.0 changes Upstream.A (still one test); the fork is rebased onto it, and the
    # pull has not recorded v1.1.0 as the base yet when it runs the affected detections' tests.
    git(root, "checkout", "-q", "-b", "upstream", "v1.0.0")
    write(root, {"rules/upstream_a.yml": UPSTREAM_RULE.format(id="Upstream.A", name="upstream_a").replace("Low", "High")})
    git(root, "commit", "-q", "-am", "upstream release")
    git(root, "tag", "v1.1.0")
    git(root, "checkout", "-q", "main")
    git(root, "rebase", "-q", "v1.1.0")
    monkeypatch.chdir(root)
    code = pytest.main(["-p", "no:cacheprovider", "-o", "addopts=", "rules/upstream_a.yml"])
    out = capsys.readouterr().out
    assert code == pytest.ExitCode.OK, out
    assert "below minimum, not failed (upstream detection, unchanged since v1.1.0): 1: Upstream.A" in out
