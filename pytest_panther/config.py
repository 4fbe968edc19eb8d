"""The one reader of a detection repository's settings: pytest ini keys and ``[tool.pytest-panther]``.

The pytest plugin, ``panther-gitops validate`` and the pre-commit hooks all resolve the settings
they share here, so that a value means the same everywhere (issue 13: ``panther_allow_extra_keys
= y`` passed ``pytest`` and failed both validators). Each setting has an ini key (any pytest config
file: ``[tool.pytest.ini_options]``, ``pytest.ini``, …) and a key of the ``[tool.pytest-panther]``
table of ``pyproject.toml`` (the template's home for them)::

    [tool.pytest-panther]
    minimum_tests = 2            # ini panther_minimum_tests
    allow_extra_keys = false     # ini panther_allow_extra_keys
    extra_keys = ["Owner"]       # ini panther_extra_keys
    paths = ["rules", "policies"]  # ini panther_paths (default: where PAT's `pat test` looks)
    strict = false               # ini panther_strict: validation warnings fail too
    log_types = ["Acme.Firewall"]  # ini panther_log_types: log types besides Panther's catalogue

Precedence: the ini key (pytest's ``-o`` included), then the table, then the default. Values are
converted as pytest converts ini values (booleans: ``y yes t true on 1`` / ``n no f false off 0``),
and a value that does not convert is a :class:`SettingsError` naming the file and key.
"""
from __future__ import annotations

import configparser
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

from pytest_panther.spec.repository import PAT_DEFAULT_PATH
from pytest_panther.spec.suggest import did_you_mean

if TYPE_CHECKING:
    from pytest_panther.spec.validate import ValidationOptions

__all__ = [
    "IniGetter", "Reader", "RepositorySettings", "SettingsError", "add_minimum_tests", "file_ini", "ini_value",
    "path_reader", "read_settings", "read_settings_from", "spec_paths_from", "validation_options",
]

#: A source of raw ini values: the value of a key, or None when it is not set.
IniGetter = Callable[[str], Any]
#: ``read(name)``: the text of the file ``name`` at the repository root (a working tree or a
#: commit, for the sync), or None when there is no such file.
Reader = Callable[[str], "str | None"]

#: ``[tool.pytest-panther]`` key -> ini key; the sub-tables belong to the upstream workflow and sync.
TABLE_KEYS = {
    "paths": "panther_paths",
    "minimum_tests": "panther_minimum_tests",
    "allow_extra_keys": "panther_allow_extra_keys",
    "extra_keys": "panther_extra_keys",
    "strict": "panther_strict",
    "log_types": "panther_log_types",
}
_SUBTABLES = ("upstream", "targets")
_TRUE = ("y", "yes", "t", "true", "on", "1")
_FALSE = ("n", "no", "f", "false", "off", "0")
#: pytest's config files in its order (https://docs.pytest.org/en/stable/reference/customize.html).
_INI_FILES = (("pytest.toml", "toml"), (".pytest.toml", "toml"), ("pytest.ini", "pytest"), (".pytest.ini", "pytest"),
              ("pyproject.toml", ""), ("tox.ini", "pytest"), ("setup.cfg", "tool:pytest"))


class SettingsError(Exception):
    """A setting with a value of the wrong type, or an unknown ``[tool.pytest-panther]`` key."""


@dataclass(frozen=True)
class RepositorySettings:
    """The settings the plugin, ``validate`` and the hooks share."""

    #: Default: where PAT's default ``pat test`` looks (nested folders included).
    paths: tuple[str, ...] = (PAT_DEFAULT_PATH,)
    minimum_tests: int = 0
    allow_extra_keys: bool = False
    extra_keys: frozenset[str] = frozenset()
    #: Findings Panther accepts (validation warnings) fail too.
    strict: bool = False
    #: Log types known besides Panther's catalogue and ``Custom.*``.
    log_types: frozenset[str] = frozenset()


def path_reader(root: Path) -> Reader:
    """A :data:`Reader` over the files of the working tree at ``root``."""

    def read(name: str) -> str | None:
        path = root / name
        try:
            return path.read_text(encoding="utf-8") if path.is_file() else None
        except (OSError, UnicodeDecodeError):
            return None

    return read


def ini_value(root: Path, key: str) -> Any:
    """The raw pytest ini ``key`` of the repository at ``root``, from the first config file that
    pytest would use (``pytest.ini`` wins even without the key); None when unset. Unreadable
    files are skipped."""
    return file_ini(root)(key)


def file_ini(root: Path | Reader) -> IniGetter:
    """An :data:`IniGetter` over the pytest config file of ``root`` (a directory or a
    :data:`Reader`; for the command-line tools and the sync, the plugin uses ``config.getini``)."""
    options = _ini_options(path_reader(root) if isinstance(root, Path) else root)
    return lambda key: options.get(key)


def _ini_options(read: Reader) -> dict[str, Any]:
    for name, section in _INI_FILES:
        text = read(name)
        if text is None:
            continue
        try:
            if section == "toml" or name == "pyproject.toml":
                data = tomllib.loads(text)
                if section == "toml":
                    return dict(data.get("pytest", {}))
                tool = data.get("tool", {}).get("pytest", {})
                options = tool.get("ini_options", tool if tool else None) if isinstance(tool, dict) else None
                if isinstance(options, dict):
                    return {k: v for k, v in options.items() if k != "ini_options"}
                continue
            parser = configparser.ConfigParser(interpolation=None)
            parser.read_string(text, source=name)
        except (ValueError, configparser.Error):
            continue
        if parser.has_section(section):
            return dict(parser.items(section))
        if name in ("pytest.ini", ".pytest.ini"):  # pytest uses it even without a [pytest] section
            return {}
    return {}


def _table(read: Reader, path: Path | str) -> dict[str, Any]:
    """``[tool.pytest-panther]`` without its sub-tables ({} when absent or unreadable: a broken
    ``pyproject.toml`` is reported where the upstream table is read); ``path`` names the file."""
    text = read("pyproject.toml")
    if text is None:
        return {}
    try:
        data = tomllib.loads(text)
    except ValueError:
        return {}
    table = data.get("tool", {}).get("pytest-panther", {})
    if not isinstance(table, dict):
        raise SettingsError(f"{path}: [tool.pytest-panther] must be a table")
    unknown = sorted(set(table) - set(TABLE_KEYS) - set(_SUBTABLES))
    if unknown:
        hint = did_you_mean(unknown[0], TABLE_KEYS)
        line = next((i for i, row in enumerate(text.splitlines(), 1) if re.match(rf"\s*{re.escape(unknown[0])}\s*=", row)), 1)
        raise SettingsError(
            f"{path}:{line}:1: [tool.pytest-panther] unknown key {unknown[0]!r} ("
            + (hint if hint else f"known: {', '.join(TABLE_KEYS)}") + ")"
        )
    return {key: table[key] for key in TABLE_KEYS if key in table}


def _bool(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise SettingsError(f"{where}: expected a boolean (true/false, yes/no, on/off, 1/0), got {value!r}")


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise SettingsError(f"{where}: expected a whole number, got {value!r}")
    try:
        return int(value)
    except ValueError:
        raise SettingsError(f"{where}: expected a whole number, got {value!r}") from None


def _lines(value: Any, where: str) -> list[str]:
    items = value.splitlines() if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
        raise SettingsError(f"{where}: expected a list of strings, got {value!r}")
    return [v.strip() for v in items if v.strip()]


def read_settings(root: Path, ini: IniGetter | None = None) -> RepositorySettings:
    """The :class:`RepositorySettings` of the repository at ``root``: ``ini`` (default: the
    repository's pytest config file) over ``[tool.pytest-panther]`` over the defaults.

    :raises SettingsError: for a value that does not convert or an unknown table key.
    """
    read = path_reader(root)
    return read_settings_from(read, root / "pyproject.toml", ini if ini is not None else file_ini(read))


def read_settings_from(read: Reader, pyproject: Path | str = "pyproject.toml", ini: IniGetter | None = None) -> RepositorySettings:
    """:func:`read_settings` over any :data:`Reader` (the sync reads a commit's files);
    ``pyproject`` is how messages name the ``pyproject.toml`` read."""
    get = ini if ini is not None else file_ini(read)
    table = _table(read, pyproject)
    values: dict[str, tuple[Any, str]] = {}
    for key, ini_key in TABLE_KEYS.items():
        raw = get(ini_key)
        if raw is not None:
            values[key] = (raw, f"ini {ini_key}")
        elif key in table:
            values[key] = (table[key], f"{pyproject}: [tool.pytest-panther] {key}")
    settings: dict[str, Any] = {}
    if "paths" in values:
        paths = _lines(*values["paths"])
        if paths:
            settings["paths"] = tuple(paths)
    if "minimum_tests" in values:
        settings["minimum_tests"] = _int(*values["minimum_tests"])
    if "allow_extra_keys" in values:
        settings["allow_extra_keys"] = _bool(*values["allow_extra_keys"])
    if "extra_keys" in values:
        settings["extra_keys"] = frozenset(_lines(*values["extra_keys"]))
    if "strict" in values:
        settings["strict"] = _bool(*values["strict"])
    if "log_types" in values:
        settings["log_types"] = frozenset(_lines(*values["log_types"]))
    return RepositorySettings(**settings)


def add_minimum_tests(root: Path, minimum: int) -> bool:
    """Set ``minimum_tests`` in ``[tool.pytest-panther]`` of ``root/pyproject.toml`` unless a
    minimum is already set (that table or the ini key); True when written. A text edit: every
    other line stays as it was; nothing is written unless the result parses back.

    :raises SettingsError: when the file cannot be edited safely (it does not parse, say).
    """
    path = root / "pyproject.toml"
    current = read_settings(root)
    if file_ini(root)("panther_minimum_tests") is not None or "minimum_tests" in _table(path_reader(root), path):
        return False
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    entry = f"minimum_tests = {minimum}\n"
    header = next((i for i, line in enumerate(lines) if line.strip() == "[tool.pytest-panther]"), None)
    if header is None:
        note = "# Every detection needs this many tests, one that alerts and one that does not (pytest-panther).\n"
        lines += ["\n"] if lines and lines[-1].strip() else []
        lines += ["[tool.pytest-panther]\n", note, entry]
    else:
        lines.insert(header + 1, entry)
    new_text = "".join(lines)
    try:
        written = tomllib.loads(new_text)["tool"]["pytest-panther"]["minimum_tests"]
    except (tomllib.TOMLDecodeError, KeyError, TypeError):
        written = None
    if written != minimum or current.minimum_tests not in (0, minimum):
        raise SettingsError(f"{path}: could not add [tool.pytest-panther] minimum_tests = {minimum} safely; add it by hand")
    path.write_text(new_text, encoding="utf-8")
    return True


def spec_paths_from(read: Reader) -> tuple[str, ...]:
    """Where specs are read in the tree ``read`` reads (a commit, for the sync and upstream):
    its ``panther_paths`` setting, else PAT's default walk. A setting that does not read gives
    the default here (whoever reads the settings in full reports it)."""
    try:
        return read_settings_from(read).paths
    except SettingsError:
        return RepositorySettings().paths


def validation_options(settings: RepositorySettings) -> ValidationOptions:
    """How strictly specs are validated under ``settings`` (extra keys, declared log types)."""
    from pytest_panther.spec.validate import ValidationOptions  # jsonschema: only where specs are validated

    return ValidationOptions(allow_extra_keys=settings.allow_extra_keys, extra_keys_allowlist=settings.extra_keys,
                             log_types=settings.log_types)
