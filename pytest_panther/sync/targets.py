"""Deployment targets: where to sync, with which token variable, from which branch.

Three sources:

* the environment, as PAT reads it: ``PANTHER_API_HOST`` and ``PANTHER_API_TOKEN`` give the target
  ``default`` (deploy branch ``PANTHER_DEPLOY_BRANCH``, default ``main``);
* the user's (or CI's) own config outside the repository: ``[targets.<name>]`` tables with the
  same keys in ``$PANTHER_GITOPS_CONFIG``, else ``$XDG_CONFIG_HOME/pytest-panther/targets.toml``
  (default ``~/.config/pytest-panther/targets.toml``);
* ``[tool.pytest-panther.targets.<name>]`` tables in the committed ``pyproject.toml``::

      [tool.pytest-panther.targets.dev]
      host = "https://api.dev.example.runpanther.net"   # or host_env = "DEV_PANTHER_HOST"
      token_env = "DEV_PANTHER_TOKEN"                   # default PANTHER_API_TOKEN
      deploy_branch = "main"
      output_ids = ["dev-channel"]                       # override every detection's OutputIds
      enabled = false                                    # optional: deploy detections disabled

A commit decides what is deployed, never where the token goes (issue 11 §3): anyone who can get a
commit onto the deploy branch (an upstream merge, a teammate) would otherwise redirect every hook's
token. So a committed table may name a ``host`` only when the environment (a variable whose name
has ``PANTHER`` and ``HOST``, e.g. ``PANTHER_API_HOST``) or the user config names the same host;
its ``host_env`` and ``token_env`` may only name variables with ``PANTHER`` in their name
(``token_env = "GITHUB_TOKEN"`` is refused). Anything else is a :class:`TargetError` that says
what to set. The user config is trusted as is; where it names a target's host or token variable,
the committed table may only agree. It names no targets of its own: only those a commit names
(and ``default`` from the environment) exist, so one user config cannot make every repository on
the machine deploy.

The token itself is only ever read from the environment variable named by ``token_env`` and is
never stored in a :class:`Target`'s ``repr``. HTTP tuning for tests and slow links comes from
``PANTHER_SYNC_TIMEOUT`` (s), ``PANTHER_SYNC_RETRIES``, ``PANTHER_SYNC_BACKOFF`` and
``PANTHER_SYNC_MAX_BACKOFF`` (s), ``PANTHER_SYNC_MAX_RETRY_AFTER`` (s, the longest ``Retry-After``
waited for; default 300), or the same keys (``timeout`` …) in a target table.
"""
from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pytest_panther.sync.loopback import is_loopback

__all__ = [
    "DEFAULT_TARGET", "Target", "TargetError", "load_targets", "normalise_host", "same_host", "select_target",
    "user_config_path",
]

DEFAULT_TARGET = "default"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_OVERRIDES = ("output_ids", "enabled")
_KEYS = ("host", "host_env", "token_env", "deploy_branch", *_OVERRIDES, "timeout", "retries", "backoff_factor", "max_backoff", "max_retry_after")


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
    max_retry_after: float = 300.0

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


def normalise_host(host: str) -> str:
    """The REST base URL for ``host``, without a trailing slash.

    Accepts ``api.example.runpanther.net`` (https is assumed), ``https://api.example...``, with
    or without a trailing ``/v1`` or ``/public/graphql`` (both removed: the REST paths hang off
    the server root, sync-contract.md §1.1). Raises ``ValueError`` for other schemes, a missing
    host, or ``http://`` to a host that is not loopback (127.0.0.0/8, ::1, localhost).
    """
    text = host.strip()
    if "://" not in text:
        text = "https://" + text
    split = urlsplit(text)
    scheme = split.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError(f"Panther API host must be an https:// URL, got scheme {split.scheme!r}")
    if not split.hostname:
        raise ValueError(f"Panther API host has no host name: {host!r}")
    if scheme == "http" and not is_loopback(split.hostname):
        raise ValueError(
            f"refusing plain http:// to {split.hostname}: the API token would travel unencrypted "
            "(use https://; http:// is allowed only for loopback hosts such as 127.0.0.1)"
        )
    path = split.path.rstrip("/")
    for suffix in ("/public/graphql", "/v1"):
        if path.endswith(suffix):
            path = path[: -len(suffix)].rstrip("/")
    return f"{scheme}://{split.netloc}{path}"


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
        ("max_retry_after", "PANTHER_SYNC_MAX_RETRY_AFTER", float),
    ):
        raw = env.get(var, table.get(key))
        if raw is None or raw == "":
            continue
        try:
            values[key] = cast(raw)
        except (TypeError, ValueError):
            raise TargetError(f"{var or key} must be a number, not {raw!r}") from None
    return values


def user_config_path(env: Mapping[str, str]) -> Path:
    """Where the user's (or CI's) target config lives: ``$PANTHER_GITOPS_CONFIG``, else
    ``$XDG_CONFIG_HOME/pytest-panther/targets.toml`` (``~/.config/...`` by default)."""
    if env.get("PANTHER_GITOPS_CONFIG"):
        return Path(env["PANTHER_GITOPS_CONFIG"]).expanduser()
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME") or Path.home()) / ".config")
    return Path(base) / "pytest-panther" / "targets.toml"


def _tables(text: str | None, where: str, *keys: str) -> dict[str, Any]:
    if not text:
        return {}
    try:
        data: Any = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TargetError(f"{where}: {exc}") from None
    for key in keys:
        data = data.get(key, {}) if isinstance(data, dict) else {}
    return data if isinstance(data, dict) else {}


def _check_table(table: Any, name: str, where: str) -> dict[str, Any]:
    if not isinstance(table, dict) or not _NAME.match(name):
        raise TargetError(f"{where}: a target is a table with a simple name")
    unknown = sorted(set(table) - set(_KEYS))
    if unknown:
        raise TargetError(f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(_KEYS)})")
    if "output_ids" in table and not (
        isinstance(table["output_ids"], list) and all(isinstance(v, str) for v in table["output_ids"])
    ):
        raise TargetError(f"{where}: output_ids must be a list of destination IDs")
    return table


def same_host(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` name the same REST base (see :func:`normalise_host`)."""
    try:
        return normalise_host(a).lower() == normalise_host(b).lower()
    except ValueError:
        return False


def _panther_variable(var: Any, key: str, where: str) -> str:
    """A variable name a committed file may point at: it must mention PANTHER."""
    if not isinstance(var, str) or "PANTHER" not in var.upper():
        raise TargetError(
            f"{where}: {key} = {var!r} refused: a committed file may only name variables with PANTHER in "
            "their name, so that a commit cannot send another secret anywhere (name it in your own "
            "target config outside the repository instead)"
        )
    return var


def load_targets(pyproject: str | None, env: Mapping[str, str] | None = None, user_config: str | None = None) -> dict[str, Target]:
    """All targets: those the committed ``pyproject`` text names (with where they go from
    ``user_config``, the text of :func:`user_config_path`, when it names them too), and
    ``default`` when ``PANTHER_API_HOST`` is set.

    :raises TargetError: on invalid TOML, a malformed table, or a committed host or variable the
        environment and the user config do not back (see the module doc).
    """
    env = os.environ if env is None else env
    user = _tables(user_config, "user target config", "targets")
    committed = _tables(pyproject, "pyproject.toml", "tool", "pytest-panther", "targets")
    trusted = [v for k, v in env.items() if v and "PANTHER" in k.upper() and "HOST" in k.upper()]
    trusted += [str(t["host"]) for t in user.values() if isinstance(t, dict) and t.get("host")]
    # The user config says where a target goes, not which targets a repository has: its tables
    # apply only to targets the commit names (else every repository on the machine would deploy).
    names = list(dict.fromkeys([*committed, *([DEFAULT_TARGET] if env.get("PANTHER_API_HOST") else [])]))
    return {name: _target(name, user.get(name), committed.get(name), env, trusted) for name in names}


def _target(name: str, user: Any, committed: Any, env: Mapping[str, str], trusted: list[str]) -> Target:
    where = f"pyproject.toml [tool.pytest-panther.targets.{name}]"
    mine = _check_table(user, name, f"user target config [targets.{name}]") if user is not None else {}
    ours = _check_table(committed, name, where) if committed is not None else {}
    host = mine.get("host") or (env.get(mine["host_env"], "") if "host_env" in mine else "")
    token_env = str(mine.get("token_env", ""))
    if "token_env" in ours:
        committed_var = _panther_variable(ours["token_env"], "token_env", where)
        if token_env and committed_var != token_env:
            raise TargetError(f"{where}: token_env = {committed_var!r} differs from {token_env!r} in your own target config; remove one")
        token_env = committed_var
    committed_host = ours.get("host") or (
        env.get(_panther_variable(ours["host_env"], "host_env", where), "") if "host_env" in ours else ""
    )
    if committed_host and host and not same_host(str(committed_host), str(host)):
        raise TargetError(f"{where}: host {committed_host!r} differs from {host!r} in your own target config; the token goes only there")
    if "host" in ours and not host and not any(same_host(str(ours["host"]), t) for t in trusted):
        raise TargetError(
            f"{where}: host {ours['host']!r} is named only by a committed file, so the token is not sent "
            f"there (to deploy to it, set PANTHER_API_HOST to that host or name it in [targets.{name}] "
            "of your own target config, e.g. ~/.config/pytest-panther/targets.toml)"
        )
    host = host or committed_host or (env.get("PANTHER_API_HOST", "") if name == DEFAULT_TARGET else "")
    if not host:
        raise TargetError(f"{where}: set host = \"https://api.<your-panther-domain>\" or host_env")
    branch = mine.get("deploy_branch") or ours.get("deploy_branch")
    if not branch and name == DEFAULT_TARGET:
        branch = env.get("PANTHER_DEPLOY_BRANCH")
    merged = {**ours, **mine}
    return Target(
        name=name,
        host=rest_base(str(host)),
        token_env=token_env or "PANTHER_API_TOKEN",
        deploy_branch=str(branch or "main"),
        overrides={key: merged[key] for key in _OVERRIDES if key in merged},
        **_tuning(merged, env),
    )


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
