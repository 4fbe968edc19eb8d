"""Deployment targets: where to sync, with which token variable, from which branch.

Two sources:

* the environment, as PAT reads it: ``PANTHER_API_HOST`` and ``PANTHER_API_TOKEN`` give the target
  ``default`` (deploy branch ``PANTHER_DEPLOY_BRANCH``, default ``main``);
* ``[tool.pytest-panther.targets.<name>]`` tables in the committed ``pyproject.toml``::

      [tool.pytest-panther.targets.dev]
      host = "https://api.dev.example.runpanther.net"   # or host_env = "DEV_PANTHER_HOST"
      token_env = "DEV_PANTHER_TOKEN"                   # default PANTHER_API_TOKEN
      deploy_branch = "main"
      output_ids = ["dev-channel"]                       # override every detection's OutputIds
      enabled = false                                    # optional: deploy detections disabled

The token itself is only ever read from the environment variable named by ``token_env`` and is
never stored in a :class:`Target`'s ``repr``. HTTP tuning for tests and slow links comes from
``PANTHER_SYNC_TIMEOUT`` (s), ``PANTHER_SYNC_RETRIES``, ``PANTHER_SYNC_BACKOFF`` and
``PANTHER_SYNC_MAX_BACKOFF`` (s), or the same keys (``timeout`` …) in a target table.
"""
from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any

__all__ = ["DEFAULT_TARGET", "Target", "TargetError", "load_targets", "select_target"]

DEFAULT_TARGET = "default"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_OVERRIDES = ("output_ids", "enabled")
_KEYS = ("host", "host_env", "token_env", "deploy_branch", *_OVERRIDES, "timeout", "retries", "backoff_factor", "max_backoff")


class TargetError(Exception):
    """A target that is missing or misconfigured; the message says what to set."""


@dataclass(frozen=True)
class Target:
    name: str
    host: str
    token_env: str = "PANTHER_API_TOKEN"
    deploy_branch: str = "main"
    overrides: dict[str, Any] = field(default_factory=dict)
    timeout: float = 30.0
    retries: int = 5
    backoff_factor: float = 0.5
    max_backoff: float = 30.0

    @property
    def ref(self) -> str:
        """The ref holding the last commit synced to this target."""
        return f"refs/panther/{self.name}/synced"

    def token(self, env: Mapping[str, str] | None = None) -> str:
        """The token from the environment.

        :raises TargetError: when the variable is unset or empty (its name is given, never a value).
        """
        value = (env if env is not None else os.environ).get(self.token_env, "")
        if not value:
            raise TargetError(f"target {self.name!r}: the token variable {self.token_env} is not set")
        return value


def rest_base(host: str) -> str:
    """PAT's ``PANTHER_API_HOST`` may be the GraphQL URL; the REST base drops ``/public/graphql``
    (sync-contract.md §1.1)."""
    host = host.strip().rstrip("/")
    if host.endswith("/public/graphql"):
        host = host[: -len("/public/graphql")]
    return host


def _tuning(table: Mapping[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, var, cast in (
        ("timeout", "PANTHER_SYNC_TIMEOUT", float),
        ("retries", "PANTHER_SYNC_RETRIES", int),
        ("backoff_factor", "PANTHER_SYNC_BACKOFF", float),
        ("max_backoff", "PANTHER_SYNC_MAX_BACKOFF", float),
    ):
        raw = env.get(var, table.get(key))
        if raw is None or raw == "":
            continue
        try:
            values[key] = cast(raw)
        except (TypeError, ValueError):
            raise TargetError(f"{var or key} must be a number, not {raw!r}") from None
    return values


def load_targets(pyproject: str | None, env: Mapping[str, str] | None = None) -> dict[str, Target]:
    """All targets, named tables first, then ``default`` from the environment if set.

    :raises TargetError: on invalid TOML or a malformed target table.
    """
    env = os.environ if env is None else env
    targets: dict[str, Target] = {}
    tables: dict[str, Any] = {}
    if pyproject:
        try:
            data = tomllib.loads(pyproject)
        except tomllib.TOMLDecodeError as exc:
            raise TargetError(f"pyproject.toml: {exc}") from None
        tables = data.get("tool", {}).get("pytest-panther", {}).get("targets", {}) or {}
    for name, table in tables.items():
        where = f"pyproject.toml [tool.pytest-panther.targets.{name}]"
        if not isinstance(table, dict) or not _NAME.match(name):
            raise TargetError(f"{where}: a target is a table with a simple name")
        unknown = sorted(set(table) - set(_KEYS))
        if unknown:
            raise TargetError(f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(_KEYS)})")
        host = table.get("host") or (env.get(table["host_env"], "") if "host_env" in table else "")
        if not host:
            raise TargetError(f"{where}: set host = \"https://api.<your-panther-domain>\" or host_env")
        overrides = {key: table[key] for key in _OVERRIDES if key in table}
        if "output_ids" in overrides and not (
            isinstance(overrides["output_ids"], list) and all(isinstance(v, str) for v in overrides["output_ids"])
        ):
            raise TargetError(f"{where}: output_ids must be a list of destination IDs")
        targets[name] = Target(
            name=name,
            host=rest_base(str(host)),
            token_env=str(table.get("token_env", "PANTHER_API_TOKEN")),
            deploy_branch=str(table.get("deploy_branch", "main")),
            overrides=overrides,
            **_tuning(table, env),
        )
    if env.get("PANTHER_API_HOST") and DEFAULT_TARGET not in targets:
        targets[DEFAULT_TARGET] = Target(
            name=DEFAULT_TARGET,
            host=rest_base(env["PANTHER_API_HOST"]),
            deploy_branch=env.get("PANTHER_DEPLOY_BRANCH") or "main",
            **_tuning({}, env),
        )
    return targets


def select_target(targets: Mapping[str, Target], name: str | None) -> Target:
    """The target called ``name``, or the only one there is.

    :raises TargetError: unknown name, none configured, or several and no name given.
    """
    if name:
        if name not in targets:
            known = ", ".join(sorted(targets)) or "none"
            raise TargetError(f"unknown target {name!r} (configured: {known})")
        return targets[name]
    if not targets:
        raise TargetError(
            "no target configured (set PANTHER_API_HOST and PANTHER_API_TOKEN, "
            "or add [tool.pytest-panther.targets.<name>] to pyproject.toml)"
        )
    if len(targets) > 1:
        raise TargetError(f"several targets configured ({', '.join(sorted(targets))}); choose one with --target")
    return next(iter(targets.values()))
