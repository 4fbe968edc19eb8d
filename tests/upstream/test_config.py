from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from pytest_panther.upstream.config import ConfigError
from pytest_panther.upstream.config import UpstreamConfig
from pytest_panther.upstream.config import read_config
from pytest_panther.upstream.config import write_config

PYPROJECT = """\
[tool.black]
line-length = 100  # keep

[tool.pytest-panther.upstream]
remote = "upstream"
packs = [
    "PantherManaged.AWS",  # cloud
    "PantherManaged.Okta",
]

[tool.isort]
profile = "black"
"""


def test_defaults_without_pyproject(tmp_path: Path) -> None:
    assert read_config(tmp_path) == UpstreamConfig()


def test_read(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    config = read_config(tmp_path)
    assert config.packs == ["PantherManaged.AWS", "PantherManaged.Okta"]
    assert config.unselected == "skip" and config.base == ""


def test_write_replaces_keys_in_place_and_keeps_everything_else(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    write_config(tmp_path, {"packs": ["PantherManaged.GCP"], "base": "v1.2.3"})
    text = (tmp_path / "pyproject.toml").read_text()
    assert text == PYPROJECT.replace(
        'packs = [\n    "PantherManaged.AWS",  # cloud\n    "PantherManaged.Okta",\n]\n',
        'packs = ["PantherManaged.GCP"]\nbase = "v1.2.3"\n',
    )
    assert read_config(tmp_path).base == "v1.2.3"


def test_write_appends_the_table(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'")
    write_config(tmp_path, {"url": "file:///up", "base": "v2.0.0"})
    assert (tmp_path / "pyproject.toml").read_text() == (
        "[project]\nname = 'x'\n\n[tool.pytest-panther.upstream]\nurl = \"file:///up\"\nbase = \"v2.0.0\"\n"
    )
    assert tomllib.loads((tmp_path / "pyproject.toml").read_text())["project"]["name"] == "x"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('base = "3.0"', 'base must be a release tag vX.Y.Z, not \'3.0\''),
        ('unselected = "hide"', 'unselected must be "skip" or "disable", not \'hide\''),
        ("packs = \"AWS\"", "packs must be a list of PackID strings"),
        ("pack = []", "unknown key(s) pack (known: url, remote, base, packs, unselected, overrides)"),
    ],
)
def test_bad_values(tmp_path: Path, table: str, message: str) -> None:
    (tmp_path / "pyproject.toml").write_text(f"[tool.pytest-panther.upstream]\n{table}\n")
    with pytest.raises(ConfigError) as info:
        read_config(tmp_path)
    assert str(info.value) == f"{tmp_path}/pyproject.toml: [tool.pytest-panther.upstream] {message}"


def test_invalid_toml_is_reported_with_position(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool\n")
    with pytest.raises(ConfigError, match=r"pyproject.toml: invalid TOML: .*\(at line 1, column 6\)"):
        read_config(tmp_path)


def test_parse_config_from_text() -> None:
    from pytest_panther.upstream.config import parse_config

    assert parse_config('[tool.pytest-panther.upstream]\npacks = ["A"]\nunselected = "disable"\n').packs == ["A"]
    with pytest.raises(ConfigError, match=r"^pyproject.toml: \[tool.pytest-panther.upstream\] unselected must be"):
        parse_config('[tool.pytest-panther.upstream]\nunselected = "x"\n')
