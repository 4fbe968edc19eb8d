"""``panther-gitops hook validate|test`` (pytest_panther.cli.hook), called in-process."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from gitrepo import git
from gitrepo import make_repo
from gitrepo import write

from pytest_panther.cli.main import main

RULE = """\
AnalysisType: rule
RuleID: {id}
DisplayName: {id}
Enabled: true
Severity: Low
LogTypes: [AWS.CloudTrail]
Filename: {name}.py
Tests:
  - Name: root
    ExpectedResult: true
    Log: {{userIdentity: {{type: Root}}}}
  - Name: not root
    ExpectedResult: false
    Log: {{userIdentity: {{type: IAMUser}}}}
"""
PY = "import aws_helpers\n\n\ndef rule(event):\n    return aws_helpers.is_root(event)\n"
HELPER_PY = "def is_root(event):\n    return event.get('userIdentity', {}).get('type') == 'Root'\n"

FILES = {
    "rules/root_login.yml": RULE.format(id="AWS.RootLogin", name="root_login"),
    "rules/root_login.py": PY,
    "rules/root_console.yml": RULE.format(id="AWS.RootConsole", name="root_console"),
    "rules/root_console.py": "def rule(event):\n    return event.get('userIdentity', {}).get('type') == 'Root'\n",
    "global_helpers/aws_helpers.yml": "AnalysisType: global\nGlobalID: aws_helpers\nFilename: aws_helpers.py\n",
    "global_helpers/aws_helpers.py": HELPER_PY,
    "packs/aws.yml": "AnalysisType: pack\nPackID: Pack.AWS\nDisplayName: AWS\nPackDefinition:\n  IDs:\n"
                     "    - AWS.RootLogin\n    - AWS.RootConsole\n",
}


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_repo(tmp_path / "repo", FILES)
    monkeypatch.chdir(root)
    return root


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str]]:
    code = main(["hook", *argv])
    return code, capsys.readouterr().out.splitlines()


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p): (p.read_bytes(), p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file() and ".git" not in p.parts}


# --------------------------------------------------------------------------- validate


def test_validate_good_files(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "validate", "rules/root_login.yml", "rules/root_login.py", "README.md") == (0, [])


def test_validate_reports_path_line_col_and_never_writes(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo, {"rules/root_login.yml": FILES["rules/root_login.yml"].replace("DisplayName", "Displayname"),
                 "rules/root_console.yml": "AnalysisType: rule\nRuleID: [\n"})
    before = snapshot(repo)
    code, out = run(capsys, "validate", "rules/root_login.yml", "rules/root_console.yml")
    assert code == 1
    assert out == [
        "rules/root_console.yml:3:1: did not find expected node content (while parsing a flow node at line 3, column 1)",
        "rules/root_login.yml:3:1: unknown key 'Displayname' (did you mean 'DisplayName'?)",
    ]
    assert snapshot(repo) == before


def test_validate_maps_a_py_to_its_spec_and_checks_its_syntax(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo, {"rules/root_login.yml": FILES["rules/root_login.yml"].replace("Severity: Low", "Severity: Urgent"),
                 "rules/root_console.py": "def rule(event:\n"})
    code, out = run(capsys, "validate", "rules/root_login.py", "rules/root_console.py")
    assert code == 1
    assert out == [
        "rules/root_console.py:1:9: Python syntax error: '(' was never closed",
        "rules/root_login.yml:5:11: Severity: 'Urgent' is not one of Info, Low, Medium, High, Critical",
    ]


def test_validate_duplicate_id_in_either_order(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dup = RULE.format(id="AWS.RootLogin", name="root_console")
    write(repo, {"rules/a_first.yml": dup, "rules/z_last.yml": dup})
    expected_last = ("rules/z_last.yml:2:9: duplicate ID 'AWS.RootLogin' (also defined in rules/a_first.yml:2) "
                     "(IDs are shared by every analysis type: rename one of them)")
    assert run(capsys, "validate", "rules/z_last.yml") == (1, [expected_last])
    # the error goes to the second file in path order; it names the staged one, so it is shown
    code, out = run(capsys, "validate", "rules/a_first.yml")
    assert code == 1
    assert out == [expected_last.replace("z_last", "root_login"), expected_last]


def test_validate_pack_members(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "validate", "packs/aws.yml") == (0, [])
    write(repo, {"packs/aws.yml": FILES["packs/aws.yml"] + "    - AWS.RootLogn\n"})
    assert run(capsys, "validate", "packs/aws.yml") == (1, [
        "packs/aws.yml:8:7: PackDefinition.IDs[2]: pack names unknown ID 'AWS.RootLogn' (did you mean 'AWS.RootLogin'?)"])


def test_validate_matches_the_full_validator(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo, {"rules/x.yml": RULE.format(id="AWS.RootConsole", name="missing"),
                 "packs/aws.yml": FILES["packs/aws.yml"] + "    - Nope\n    - AWS.RootLogin\n"})
    files = ["rules/x.yml", "packs/aws.yml", "rules/root_login.yml"]
    code, hook = run(capsys, "validate", *files)
    full_code = main(["validate", *files])
    full = capsys.readouterr().out.splitlines()
    assert (code, sorted(hook)) == (full_code, sorted(full))
    assert len(hook) == 4


def test_validate_ignores_files_outside_the_spec_folders(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo, {"templates/rule.yml": "AnalysisType: [\n", ".github/workflows/ci.yml": "on: [\n",
                 "tools/script.py": "def broken(:\n"})
    assert run(capsys, "validate", "templates/rule.yml", ".github/workflows/ci.yml", "tools/script.py") == (0, [])


def test_validate_reads_nested_folders_as_pat_does(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Same default as the plugin: PAT's folder patterns at any depth (issue 10, item 4).
    write(repo, {"team_content/aws_policies/broken.yml": "AnalysisType: [\n",
                 "team_content/aws_policies/broken.py": "def broken(:\n"})
    code, out = run(capsys, "validate", "team_content/aws_policies/broken.yml", "team_content/aws_policies/broken.py")
    assert code == 1
    assert [line.split(":", 1)[0] for line in out] == ["team_content/aws_policies/broken.py",
                                                        "team_content/aws_policies/broken.yml"]


def test_validate_settings_from_ini(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo, {"rules/root_login.yml": "Team: blue\n" + FILES["rules/root_login.yml"]})
    assert run(capsys, "validate", "rules/root_login.yml") == (1, [
        "rules/root_login.yml:1:1: unknown key 'Team' (custom metadata: add it to the extra-keys allow-list)"])
    write(repo, {"pyproject.toml": "[tool.pytest.ini_options]\npanther_extra_keys = [\"Team\"]\n"})
    assert run(capsys, "validate", "rules/root_login.yml") == (0, [])
    write(repo, {"pyproject.toml": "[tool.pytest.ini_options]\npanther_allow_extra_keys = true\n"})
    assert run(capsys, "validate", "rules/root_login.yml") == (0, [])
    write(repo, {"pyproject.toml": "", "pytest.ini": "[pytest]\npanther_paths =\n    detections\n"})
    write(repo, {"detections/bad.yml": "AnalysisType: rule\nRuleID: [\n"})
    code, out = run(capsys, "validate", "detections/bad.yml", "rules/root_login.yml")
    assert code == 1 and [line.split(":")[0] for line in out] == ["detections/bad.yml"]


NO_LOG = "Tests:\n  add:\n    - Name: team case\n      ExpectedResult: true\n"


def test_validate_applies_only_the_overrides_of_the_partial_load(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Other detections' overrides, orphaned ones included, are not loaded; the staged spec's own
    override is applied, so the patched spec is what gets validated."""
    write(repo, {"overrides/AWS.RootLogin.yml": NO_LOG, "overrides/Gone.yml": "Enabled: false\n",
                 "overrides/AWS.RootConsole.yml": "Severity: Loud\n"})
    assert run(capsys, "validate", "rules/root_login.yml") == (1, [
        "rules/root_login.yml:9:3: Tests[2]: missing required key 'Log'"])
    assert run(capsys, "validate", "rules/root_login.py", "packs/aws.yml") == (1, [
        "rules/root_login.yml:9:3: Tests[2]: missing required key 'Log'"])
    assert run(capsys, "validate", "global_helpers/aws_helpers.yml") == (0, [])


def test_validate_checks_staged_override_files(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo, {
        "overrides/AWS.RootLogn.yml": "Enabled: false\n",
        "overrides/console.yml": "RuleID: AWS.RootConsole\nSeverity: Loud\n",
        "overrides/AWS.RootLogin.yml": "Tags: {add: [Reviewed]}\n",
        "overrides/other.yml": "RuleID: AWS.RootLogin\nEnabled: false\n",  # not staged
        "overrides/Gone.yml": "Enabled: false\n",  # not staged
    })
    code, out = run(capsys, "validate", "overrides/AWS.RootLogn.yml", "overrides/console.yml", "overrides/AWS.RootLogin.yml")
    assert code == 1
    assert out == [
        "overrides/AWS.RootLogn.yml:1:1: override for unknown detection ID 'AWS.RootLogn': upstream removed or renamed "
        "it (did you mean 'AWS.RootLogin'?)",
        "overrides/console.yml:2:11: Severity must be one of Info, Low, Medium, High, Critical, not 'Loud'",
        "overrides/other.yml:1:9: second override for 'AWS.RootLogin' (first one is overrides/AWS.RootLogin.yml; merge them)",
    ]
    assert run(capsys, "validate", "overrides/AWS.RootLogin.yml", "rules/root_console.yml") == (1, [
        "overrides/other.yml:1:9: second override for 'AWS.RootLogin' (first one is overrides/AWS.RootLogin.yml; merge them)"])
    assert run(capsys, "validate", "overrides/other.yml") == (1, [
        "overrides/other.yml:1:9: second override for 'AWS.RootLogin' (first one is overrides/AWS.RootLogin.yml; merge them)"])


def test_validate_a_staged_override_validates_the_patched_spec(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo, {"overrides/AWS.RootConsole.yml": NO_LOG})
    assert run(capsys, "validate", "overrides/AWS.RootConsole.yml") == (1, [
        "rules/root_console.yml:9:3: Tests[2]: missing required key 'Log'"])
    write(repo, {"overrides/AWS.RootConsole.yml": "Tests:\n  add:\n    - Name: root\n      ExpectedResult: true\n"
                                                  "      Log: {}\n"})
    assert run(capsys, "validate", "overrides/AWS.RootConsole.yml") == (1, [
        "overrides/AWS.RootConsole.yml:3:7: Tests.add[0]: AWS.RootConsole already has a test named 'root' "
        "(add it to Tests.remove to replace it)"])


def test_validate_overrides_folder_setting(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo, {"pyproject.toml": '[tool.pytest-panther.upstream]\noverrides = "custom"\n',
                 "custom/AWS.RootLogn.yml": "Enabled: false\n", "overrides/AWS.RootLogn.yml": "Enabled: false\n"})
    expected = ("custom/AWS.RootLogn.yml:1:1: override for unknown detection ID 'AWS.RootLogn': upstream removed or "
                "renamed it (did you mean 'AWS.RootLogin'?)")
    assert run(capsys, "validate", "custom/AWS.RootLogn.yml", "overrides/AWS.RootLogn.yml") == (1, [expected])
    write(repo, {"pyproject.toml": "[tool.pytest-panther.upstream]\noverrides = 3\n"})
    assert run(capsys, "validate", "rules/root_login.yml", "overrides/AWS.RootLogn.yml") == (1, [
        "overrides/AWS.RootLogn.yml:1:1: override for unknown detection ID 'AWS.RootLogn': upstream removed or "
        "renamed it (did you mean 'AWS.RootLogin'?)",
        "pyproject.toml:1:1: [tool.pytest-panther.upstream] overrides must be a string, not 3",
    ])


# --------------------------------------------------------------------------- test


class FakePytest:
    def __init__(self, code: int) -> None:
        self.code = code
        self.calls: list[list[str]] = []

    def __call__(self, argv: list[str], *args: Any, **kwargs: Any) -> int:
        self.calls.append(list(argv))
        return self.code


@pytest.fixture
def fake_pytest(monkeypatch: pytest.MonkeyPatch) -> FakePytest:
    fake = FakePytest(0)
    monkeypatch.setattr(pytest, "main", fake)
    return fake


def test_test_runs_pytest_on_the_affected_specs(repo: Path, fake_pytest: FakePytest, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "test", "global_helpers/aws_helpers.py") == (0, [])
    # the plugin is told to load only the affected spec, the specs it names, helpers and data models
    load = "panther_paths=global_helpers/aws_helpers.yml\nrules/root_login.yml"
    # and that the minimum-tests setting fails only detections whose own files are among the changed ones
    touched = f"--panther-minimum-tests-on={repo.resolve() / 'global_helpers/aws_helpers.py'}"
    assert fake_pytest.calls == [
        ["rules/root_login.yml", "-q", "-p", "no:cacheprovider", f"--rootdir={repo.resolve()}", "-o", load, touched]]


def test_test_passes_extra_args_and_exit_codes(repo: Path, fake_pytest: FakePytest, capsys: pytest.CaptureFixture[str]) -> None:
    fake_pytest.code = 1
    assert run(capsys, "test", "--pytest-arg=-x", "rules/root_console.py", "rules/root_login.yml")[0] == 1
    assert fake_pytest.calls[-1][:2] == ["rules/root_console.yml", "rules/root_login.yml"]
    assert fake_pytest.calls[-1][-1] == "-x"
    fake_pytest.code = 5  # no tests collected is not a failure
    assert run(capsys, "test", "rules/root_console.py")[0] == 0


def test_test_with_nothing_affected_does_not_start_pytest(repo: Path, fake_pytest: FakePytest, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "test", "README.md", "packs/aws.yml") == (0, ["panther-test: no detection affected"])
    assert fake_pytest.calls == []


def test_test_adds_staged_deletions(repo: Path, fake_pytest: FakePytest, capsys: pytest.CaptureFixture[str]) -> None:
    git(repo, "rm", "-q", "global_helpers/aws_helpers.py")
    assert run(capsys, "test")[0] == 0
    assert fake_pytest.calls[-1][0] == "rules/root_login.yml"
    assert run(capsys, "test", "--no-staged-deletions") == (0, ["panther-test: no detection affected"])


def test_test_outside_git_uses_the_given_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               fake_pytest: FakePytest, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, FILES)
    monkeypatch.chdir(tmp_path)
    assert run(capsys, "test", "rules/root_console.py")[0] == 0
    assert fake_pytest.calls[-1][0] == "rules/root_console.yml"


def test_test_runs_the_real_plugin(repo: Path) -> None:
    """End to end in a subprocess: pytest with the plugin runs the affected detection's tests."""
    cmd = [sys.executable, "-m", "pytest_panther.cli.main", "hook", "test", "rules/root_login.py"]
    proc = subprocess.run(cmd, cwd=repo, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 passed" in proc.stdout
    write(repo, {"rules/root_login.py": PY.replace("return aws_helpers.is_root(event)", "return False")})
    proc = subprocess.run(cmd, cwd=repo, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "1 failed, 1 passed" in proc.stdout


def test_test_applies_overrides_with_the_partial_load(repo: Path) -> None:
    """Only the affected specs are loaded: an override of another detection must not get in the
    way, and the affected detection's override (an added test) still applies."""
    write(repo, {
        "overrides/AWS.RootConsole.yml": "Severity: High\n",
        "overrides/AWS.RootLogin.yml": "Tests:\n  add:\n    - Name: team case\n      ExpectedResult: true\n"
                                       "      Log: {userIdentity: {type: IAMUser}}\n",
    })
    cmd = [sys.executable, "-m", "pytest_panther.cli.main", "hook", "test", "overrides/AWS.RootLogin.yml"]
    proc = subprocess.run(cmd, cwd=repo, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "1 failed, 2 passed" in proc.stdout
    assert "team case" in proc.stdout
