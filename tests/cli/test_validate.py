from __future__ import annotations

from pathlib import Path

import pytest

from pytest_panther.cli.main import main

RULE = ("AnalysisType: rule\nRuleID: {id}\nEnabled: true\nFilename: {py}\nLogTypes: [AWS.CloudTrail]\n"
        "Severity: Low\n{extra}")


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    write(tmp_path, {
        "rules/good.yml": RULE.format(id="Good", py="good.py", extra=""),
        "rules/good.py": "def rule(e):\n    return True\n",
        "rules/bad.yml": RULE.format(id="Bad", py="bad.py", extra="Author: alice\n"),
        "rules/bad.py": "def rule(e)\n    return True\n",
        "policies/p.yml": "AnalysisType: policy\nPolicyID: P\nEnabled: true\nFilename: p.py\nSeverity: low\n",
        "policies/p.py": "def policy(r):\n    return True\n",
    })
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str], str]:
    code = main(["validate", *args])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def test_prints_one_line_per_problem_and_exits_1(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, err = run(capsys)
    assert code == 1
    assert lines == [
        "policies/p.yml:5:11: Severity: 'low' is not one of Info, Low, Medium, High, Critical (did you mean 'Low'?)",
        "rules/bad.yml:7:1: unknown key 'Author' (custom metadata: add it to the extra-keys allow-list)",
    ]
    assert err == "2 problems in 2 files\n"


def test_paths_limit_the_report(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, _ = run(capsys, "rules/good.yml", "policies")
    assert (code, [line.split(":")[0] for line in lines]) == (1, ["policies/p.yml"])
    assert run(capsys, "rules/good.yml")[:2] == (0, [])


def test_a_python_path_selects_its_spec_and_is_syntax_checked(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, _ = run(capsys, "rules/bad.py")
    assert code == 1
    assert lines == [
        "rules/bad.yml:7:1: unknown key 'Author' (custom metadata: add it to the extra-keys allow-list)",
        "rules/bad.py:1:12: Python syntax error: expected ':'",
    ]


def test_allow_extra_keys_and_extra_key(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "--allow-extra-keys", "rules")[:2] == (0, [])
    assert run(capsys, "--extra-key", "Author", "rules")[:2] == (0, [])


def test_root_and_folder_options(repo: Path, tmp_path_factory: pytest.TempPathFactory,
                                 monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    code, lines, _ = run(capsys, "--root", str(repo), "--folder", "rules")
    assert code == 1
    assert lines == [f"{repo.resolve()}/rules/bad.yml:7:1: unknown key 'Author' "
                     "(custom metadata: add it to the extra-keys allow-list)"]


def test_missing_root_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, err = run(capsys, "--root", str(tmp_path / "nope"))
    assert (code, lines) == (2, [])
    assert "is not a directory" in err


def test_empty_repository_is_fine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert run(capsys) == (0, [], "")


def test_overrides_of_the_configured_folder_are_checked(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo, {
        "pyproject.toml": '[tool.pytest-panther.upstream]\noverrides = "custom"\n',
        "custom/Good.yml": "Severity: Loud\n",
        "custom/Gone.yml": "RuleID: Goood\nEnabled: false\n",
        "custom/P.yml": "Enabled: false\n",
        "overrides/Nope.yml": "Enabled: false\n",  # not the configured folder: ignored
    })
    code, lines, err = run(capsys, "custom", "policies")
    assert code == 1
    assert lines == [
        "custom/Gone.yml:1:9: override for unknown detection ID 'Goood': upstream removed or renamed it (did you mean 'Good'?)",
        "custom/Good.yml:1:11: Severity must be one of Info, Low, Medium, High, Critical, not 'Loud'",
        "policies/p.yml:5:11: Severity: 'low' is not one of Info, Low, Medium, High, Critical (did you mean 'Low'?)",
    ]
    assert err == "3 problems in 3 files\n"
    assert run(capsys, "rules/good.yml")[:2] == (0, [])


def test_overridden_specs_are_validated_patched(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo, {"overrides/Good.yml": "Tests:\n  add:\n    - Name: no log\n      ExpectedResult: true\n"})
    code, lines, _ = run(capsys, "rules/good.yml")
    assert code == 1
    assert lines == ["rules/good.yml:1:1: Tests[0]: missing required key 'Log'"]


def test_a_bad_upstream_setting_is_a_problem_not_a_traceback(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo, {"pyproject.toml": "[tool.pytest-panther.upstream]\noverrides = 3\n", "overrides/Gone.yml": "Enabled: false\n"})
    code, lines, _ = run(capsys, "pyproject.toml", "overrides")
    assert code == 1
    assert lines == [
        "overrides/Gone.yml:1:1: override for unknown detection ID 'Gone': upstream removed or renamed it "
        "(delete the override if the detection is gone for good)",
        "pyproject.toml:1:1: [tool.pytest-panther.upstream] overrides must be a string, not 3",
    ]


def test_a_path_that_does_not_exist_is_a_usage_error(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # `panther-gitops validate nonexistent.yml` exited 0 silently, as if the file had no problem.
    code, lines, err = run(capsys, "rules/good.yml", "nonexistent.yml")
    assert (code, lines) == (2, [])
    assert err == "panther-gitops validate: no such file or folder: nonexistent.yml\n"


def test_nested_folders_and_ini_settings_as_the_plugin_reads_them(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Default folders: PAT's walk (team_content/aws_policies/ included); panther_log_types and
    # panther_strict from the ini, as pytest reads them (issue 10, items 3, 4 and 8).
    write(repo, {
        "team_content/aws_policies/q.yml": "AnalysisType: policy\nPolicyID: Q\nEnabled: true\nFilename: q.py\nSeverity: Lo\n",
        "team_content/aws_policies/q.py": "def policy(r):\n    return True\n",
        "rules/acme.yml": RULE.format(id="Acme", py="good.py", extra="").replace("AWS.CloudTrail", "Acme.Firewall"),
        "packs/p.yml": "AnalysisType: pack\nPackID: Pk\nPackDefinition:\n  IDs: [Good, Good]\n",
    })
    code, lines, _ = run(capsys, "team_content", "rules/acme.yml", "packs")
    assert code == 1
    assert [line.split(": ", 2)[:2] for line in lines] == [
        ["warning", "packs/p.yml:4:15"],
        ["rules/acme.yml:5:12", "LogTypes[0]"],
        ["team_content/aws_policies/q.yml:5:11", "Severity"],
    ]
    write(repo, {"pyproject.toml": '[tool.pytest.ini_options]\npanther_log_types = ["Acme.Firewall"]\npanther_strict = true\n'})
    code, lines, _ = run(capsys, "rules/acme.yml", "packs")
    assert (code, [line.split(":")[0] for line in lines]) == (1, ["packs/p.yml"])
