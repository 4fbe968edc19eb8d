"""The ``[tool.pytest-panther.upstream]`` table of ``pyproject.toml``.

Keys (all optional until ``panther-gitops upstream init`` writes them)::

    [tool.pytest-panther.upstream]
    url = "https://github.com/panther-labs/panther-analysis.git"  # the upstream repository
    remote = "upstream"          # git remote name for it
    base = "v3.111.0"            # upstream release tag the fork is rebased on (vX.Y.Z)
    packs = ["PantherManaged.AWS"]  # PackIDs to deploy; absent or [] = deploy everything
    unselected = "skip"          # detections only in unselected packs: "skip" (not deployed)
                                 # or "disable" (deployed with Enabled: false); always tested
    overrides = "overrides"      # folder holding override files

Reading uses :mod:`tomllib`. Writing is a minimal text edit of that one table (other lines,
comments and formatting stay byte-for-byte), checked by parsing the result again, so no
TOML-writing dependency is needed.
"""
from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

from pytest_panther.upstream.git import RELEASE_TAG

__all__ = ["ConfigError", "TABLE", "UpstreamConfig", "parse_config", "read_config", "write_config"]

TABLE = "[tool.pytest-panther.upstream]"
DEFAULT_URL = "https://github.com/panther-labs/panther-analysis.git"
_KEYS = ("url", "remote", "base", "packs", "unselected", "overrides")


class ConfigError(Exception):
    """``pyproject.toml`` is missing, unparsable or holds a bad upstream setting."""


@dataclass
class UpstreamConfig:
    url: str = DEFAULT_URL
    remote: str = "upstream"
    base: str = ""
    packs: list[str] = field(default_factory=list)
    unselected: str = "skip"
    overrides: str = "overrides"


def read_config(root: Path) -> UpstreamConfig:
    """The upstream settings of the repository at ``root`` (defaults when the table is absent).

    :raises ConfigError: on invalid TOML (with tomllib's line and column) or a bad value.
    """
    path = root / "pyproject.toml"
    if not path.exists():
        return UpstreamConfig()
    return parse_config(path.read_text(encoding="utf-8"), path)


def parse_config(text: str, path: str | Path = "pyproject.toml") -> UpstreamConfig:
    """:func:`read_config` on the text of a ``pyproject.toml`` (for example a commit's blob, as
    the sync reads it). :raises ConfigError: as :func:`read_config`."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    table = data.get("tool", {}).get("pytest-panther", {}).get("upstream", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: {TABLE} must be a table")
    unknown = sorted(set(table) - set(_KEYS))
    if unknown:
        raise ConfigError(f"{path}: {TABLE} unknown key(s) {', '.join(unknown)} (known: {', '.join(_KEYS)})")
    config = UpstreamConfig()
    for key in ("url", "remote", "base", "unselected", "overrides"):
        if key in table:
            if not isinstance(table[key], str):
                raise ConfigError(f"{path}: {TABLE} {key} must be a string, not {table[key]!r}")
            setattr(config, key, table[key])
    if "packs" in table:
        packs = table["packs"]
        if not isinstance(packs, list) or not all(isinstance(p, str) for p in packs):
            raise ConfigError(f"{path}: {TABLE} packs must be a list of PackID strings")
        config.packs = list(packs)
    if config.unselected not in ("skip", "disable"):
        raise ConfigError(f'{path}: {TABLE} unselected must be "skip" or "disable", not {config.unselected!r}')
    if config.base and not RELEASE_TAG.match(config.base):
        raise ConfigError(f"{path}: {TABLE} base must be a release tag vX.Y.Z, not {config.base!r}")
    return config


def _toml_value(value: Any) -> str:
    # JSON strings are valid TOML basic strings; lists are written on one line.
    if isinstance(value, list):
        return "[" + ", ".join(json.dumps(v) for v in value) + "]"
    return json.dumps(value)


def write_config(root: Path, updates: dict[str, Any]) -> None:
    """Set ``updates`` (keys of :class:`UpstreamConfig`) in ``root/pyproject.toml``.

    Replaces ``key = value`` lines inside the table (a multi-line array included), appends
    missing keys at the table's end, appends the table when absent, and creates the file
    when missing. :raises ConfigError: if the edited text would not parse back to the
    requested values (nothing is written then).
    """
    unknown = set(updates) - set(_KEYS)
    if unknown:
        raise ValueError(f"unknown upstream setting(s): {sorted(unknown)}")
    path = root / "pyproject.toml"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    start = next((i for i, line in enumerate(lines) if line.strip() == TABLE), None)
    if start is None:
        if lines and lines[-1].strip():
            lines.append("\n")
        lines.append(TABLE + "\n")
        lines.extend(f"{key} = {_toml_value(value)}\n" for key, value in updates.items())
    else:
        end = next((i for i in range(start + 1, len(lines)) if re.match(r"\s*\[", lines[i])), len(lines))
        body = lines[start + 1 : end]
        for key, value in updates.items():
            body = _set_key(body, key, f"{key} = {_toml_value(value)}\n")
        lines[start + 1 : end] = body
    new_text = "".join(lines)
    try:
        parsed = tomllib.loads(new_text)["tool"]["pytest-panther"]["upstream"]
    except (tomllib.TOMLDecodeError, KeyError) as exc:
        raise ConfigError(f"{path}: could not update {TABLE} safely ({exc}); edit it by hand") from None
    if any(parsed.get(key) != value for key, value in updates.items()):
        raise ConfigError(f"{path}: could not update {TABLE} safely; edit it by hand")
    path.write_text(new_text, encoding="utf-8")


def _set_key(body: list[str], key: str, line: str) -> list[str]:
    pattern = re.compile(rf"\s*{re.escape(key)}\s*=")
    for i, existing in enumerate(body):
        if pattern.match(existing):
            j = i
            if existing.split("=", 1)[1].strip().startswith("[") and "]" not in existing.split("#", 1)[0]:
                while j + 1 < len(body) and "]" not in body[j].split("#", 1)[0]:
                    j += 1
            return body[:i] + [line] + body[j + 1 :]
    # Append after the last non-blank line of the table.
    last = len(body)
    while last > 0 and not body[last - 1].strip():
        last -= 1
    return body[:last] + [line] + body[last:]
