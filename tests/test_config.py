"""One settings reader (pytest_panther.config) for pytest, ``validate`` and ``hook validate`` (issue 13)."""
from __future__ import annotations

from pathlib import Path

import pytest
from pantherrepo import SIMPLE_RULE
from pantherrepo import SIMPLE_TESTS
from pantherrepo import DetectionRepo

from pytest_panther.cli.main import main
from pytest_panther.config import RepositorySettings
from pytest_panther.config import SettingsError
from pytest_panther.config import ini_value
from pytest_panther.config import read_settings


def _three_readers(repo: DetectionRepo, capsys: pytest.CaptureFixture[str]) -> tuple[int, int, int]:
    """Exit codes of pytest, ``panther-gitops validate`` and ``hook validate`` on the repository."""
    tested = repo.pytester.runpytest("-q", "-p", "no:cacheprovider").ret
    validated = main(["validate"])
    hooked = main(["hook", "validate", "rules/extra.yml"])
    capsys.readouterr()
    return int(tested), validated, hooked


@pytest.mark.parametrize("value", ["y", "true", "on", "1"])
def test_allow_extra_keys_in_pytest_ini_means_the_same_to_all_three(
    repo: DetectionRepo, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    repo.rule("extra", SIMPLE_RULE, SIMPLE_TESTS, extra="Author: alice")
    repo.pytester.makeini(f"[pytest]\npanther_allow_extra_keys = {value}\n")
    assert _three_readers(repo, capsys) == (0, 0, 0)
    repo.pytester.makeini("[pytest]\npanther_allow_extra_keys = n\n")
    assert _three_readers(repo, capsys) == (1, 1, 1)


def test_settings_in_the_tool_table_mean_the_same_to_all_three(
    repo: DetectionRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.rule("extra", SIMPLE_RULE, SIMPLE_TESTS, extra="Author: alice")
    (repo.root / "tox.ini").unlink()  # pytester.makeini wrote it
    repo.write("pyproject.toml", "[tool.pytest-panther]\nextra_keys = ['Author']\n")
    assert _three_readers(repo, capsys) == (0, 0, 0)


def test_a_bad_value_is_one_clear_line_everywhere(repo: DetectionRepo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.rule("extra", SIMPLE_RULE, SIMPLE_TESTS)
    (repo.root / "tox.ini").unlink()  # pytester.makeini wrote it
    repo.write("pyproject.toml", "[tool.pytest-panther]\nminimum_test = 2\n")
    result = repo.pytester.runpytest("-q", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert ("pyproject.toml:2:1: [tool.pytest-panther] unknown key 'minimum_test' (did you mean 'minimum_tests'?)"
            in result.stderr.str())
    assert main(["validate"]) == 2
    assert main(["hook", "validate", "rules/extra.yml"]) == 1
    assert "unknown key 'minimum_test'" in capsys.readouterr().err


def test_ini_key_wins_over_the_table_and_values_convert_as_pytest_converts(tmp_path: Path) -> None:
    assert read_settings(tmp_path) == RepositorySettings()
    (tmp_path / "pyproject.toml").write_text(
        "[tool.pytest-panther]\nminimum_tests = 2\npaths = ['rules']\n[tool.pytest.ini_options]\n"
        "panther_minimum_tests = '3'\n"
    )
    assert read_settings(tmp_path) == RepositorySettings(paths=("rules",), minimum_tests=3)
    (tmp_path / "pytest.ini").write_text("[pytest]\npanther_allow_extra_keys = maybe\n")
    with pytest.raises(SettingsError, match="panther_allow_extra_keys: expected a boolean"):
        read_settings(tmp_path)


def test_ini_value_follows_pytests_file_order(tmp_path: Path) -> None:
    assert ini_value(tmp_path, "panther_paths") is None
    (tmp_path / "setup.cfg").write_text("[tool:pytest]\npanther_paths = a\n")
    assert ini_value(tmp_path, "panther_paths") == "a"
    (tmp_path / "pyproject.toml").write_text("[tool.pytest.ini_options]\npanther_paths = ['b', 'c']\n")
    assert ini_value(tmp_path, "panther_paths") == ["b", "c"]
    (tmp_path / "pytest.ini").write_text("[other]\n")
    assert ini_value(tmp_path, "panther_paths") is None  # pytest.ini is pytest's file even without [pytest]
    (tmp_path / "pytest.ini").unlink()
    (tmp_path / "pyproject.toml").write_text("not toml = = =\n")
    assert ini_value(tmp_path, "panther_paths") == "a"
    (tmp_path / "pytest.toml").write_text("[pytest]\npanther_paths = ['d']\n")
    assert ini_value(tmp_path, "panther_paths") == ["d"]


def test_strict_and_log_types_in_the_tool_table_mean_the_same_to_all_three(
    repo: DetectionRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    # Issue 10: a declared log type is known, and strict mode fails a warning, in all three readers.
    repo.rule("extra", SIMPLE_RULE, SIMPLE_TESTS.replace("  ExpectedResult: false", "  LogType: Acme.Firewall\n  ExpectedResult: false"),
              log_types="[Acme.Firewall]")
    (repo.root / "tox.ini").unlink()  # pytester.makeini wrote it
    assert _three_readers(repo, capsys) == (1, 1, 1)  # unknown log type
    repo.write("pyproject.toml", "[tool.pytest-panther]\nlog_types = ['Acme.Firewall']\n")
    assert _three_readers(repo, capsys) == (0, 0, 0)
    repo.write("pyproject.toml", "[tool.pytest-panther]\nlog_types = ['Acme.Firewall']\nstrict = true\n")
    repo.rule("extra", SIMPLE_RULE, SIMPLE_TESTS.replace("  ExpectedResult: false", "  LogType: Okta.SystemLog\n  ExpectedResult: false"),
              log_types="[Acme.Firewall]")
    assert _three_readers(repo, capsys) == (1, 1, 1)  # the legacy test LogType warning, strict
    repo.write("pyproject.toml", "[tool.pytest-panther]\nlog_types = ['Acme.Firewall']\n")
    assert _three_readers(repo, capsys) == (0, 0, 0)
