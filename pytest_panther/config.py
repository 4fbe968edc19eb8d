"""A repository's pytest ini settings, read without pytest: by the CLI hooks (from the working
tree) and by the sync (from a commit), so that both validate specs as pytest does.

Files and order as pytest looks for them (https://docs.pytest.org/en/stable/reference/customize.html):
the first file that has a pytest section wins.
"""
from __future__ import annotations

import configparser
import tomllib
from collections.abc import Callable
from typing import Any

from pytest_panther.spec.validate import ValidationOptions

__all__ = ["INI_FILES", "ini_lines", "ini_value", "validation_options"]

INI_FILES = (("pytest.ini", "pytest"), (".pytest.ini", "pytest"), ("pyproject.toml", ""),
             ("tox.ini", "pytest"), ("setup.cfg", "tool:pytest"))

#: ``read(name)`` → the text of the file ``name`` at the repository root, or None when absent.
Reader = Callable[[str], "str | None"]


def ini_value(read: Reader, key: str) -> str | list[str] | bool | None:
    """The pytest ini ``key``; None when unset. Unreadable or invalid files are skipped."""
    for name, section in INI_FILES:
        try:
            text = read(name)
            if text is None:
                continue
            if name == "pyproject.toml":
                tool = tomllib.loads(text).get("tool", {})
                options = tool.get("pytest", {}).get("ini_options") if isinstance(tool, dict) else None
                if isinstance(options, dict):
                    return options.get(key)
                continue
            parser = configparser.ConfigParser(interpolation=None)
            parser.read_string(text, source=name)
        except (OSError, ValueError, configparser.Error):
            continue
        if parser.has_section(section):
            return parser.get(section, key, fallback=None)
    return None


def ini_lines(value: Any) -> list[str]:
    """A ``linelist`` ini value as its non-empty lines."""
    items = value.splitlines() if isinstance(value, str) else value if isinstance(value, list) else []
    return [str(v).strip() for v in items if str(v).strip()]


def validation_options(read: Reader) -> ValidationOptions:
    """``panther_allow_extra_keys`` and ``panther_extra_keys`` as :class:`ValidationOptions`."""
    allow = ini_value(read, "panther_allow_extra_keys")
    return ValidationOptions(
        allow_extra_keys=allow is True or str(allow).strip().lower() in ("true", "1", "yes", "on"),
        extra_keys_allowlist=frozenset(ini_lines(ini_value(read, "panther_extra_keys"))),
    )
