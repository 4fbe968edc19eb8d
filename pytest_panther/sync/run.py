"""Glue shared by ``sync plan|apply`` and the hooks: targets of a repository, the client, one sync."""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

from pytest_panther.sync.git import current_branch
from pytest_panther.sync.git import git
from pytest_panther.sync.plan import Plan
from pytest_panther.sync.plan import make_plan
from pytest_panther.sync.targets import Target
from pytest_panther.sync.targets import TargetError
from pytest_panther.sync.targets import load_targets
from pytest_panther.sync.targets import user_config_path

if TYPE_CHECKING:
    from pytest_panther.sync.apply import Output
    from pytest_panther.sync.apply import Summary

__all__ = ["LazyClient", "branch_refusal", "make_client", "repo_targets", "sync_target"]


def repo_targets(repo: Path, env: Mapping[str, str] | None = None) -> dict[str, Target]:
    """Targets from the environment, the user's target config and HEAD's committed
    ``pyproject.toml`` (not the working tree: what is deployed is decided by commits; where the
    token goes, only by the environment and the user config — see :mod:`~pytest_panther.sync.targets`).

    :raises TargetError: see :func:`~pytest_panther.sync.targets.load_targets`, or an unreadable user config.
    """
    env = os.environ if env is None else env
    text = git(repo, "show", "HEAD:pyproject.toml", check=False) or None
    path = user_config_path(env)
    try:
        user = path.read_text(encoding="utf-8") if path.is_file() else None
    except (OSError, UnicodeDecodeError) as exc:
        raise TargetError(f"{path}: cannot read the target config ({exc})") from None
    return load_targets(text, env, user)


def branch_refusal(repo: Path, target: Target) -> str | None:
    """Why HEAD must not be deployed to ``target`` (it is not on the target's deploy branch, or
    detached), or None. A wip branch or an old commit deployed to production would be undone only
    by the next sync from the deploy branch (audit D6)."""
    branch = current_branch(repo)
    if branch == target.deploy_branch:
        return None
    where = f"on branch {branch}" if branch else "detached"
    return (f"HEAD is {where}, not on {target.deploy_branch}, the deploy branch of target {target.name}: "
            f"nothing done (check out {target.deploy_branch}, or pass --any-branch to use this HEAD anyway)")


def make_client(target: Target, env: Mapping[str, str] | None = None) -> Any:
    """A :class:`pytest_panther.sync.client.PantherClient` for ``target``, wrapped in a
    :class:`pytest_panther.sync.upload.RoutedWriter` (upload bodies go through GraphQL).

    :raises pytest_panther.sync.targets.TargetError: when the token variable is unset.
    """
    from pytest_panther.sync.client import PantherClient
    from pytest_panther.sync.upload import RoutedWriter

    return RoutedWriter(PantherClient(
        target.host,
        target.token(env),
        timeout=target.timeout,
        retries=target.retries,
        backoff_factor=target.backoff_factor,
        max_backoff=target.max_backoff,
        max_retry_after=target.max_retry_after,
    ))


class LazyClient:
    """Creates the client (and reads the token) on first use, so a plan that needs no call
    (incremental mode) works without a token."""

    def __init__(self, target: Target, env: Mapping[str, str] | None = None) -> None:
        self._target, self._env, self._client = target, env, None

    def __getattr__(self, name: str) -> Any:
        if self._client is None:
            self._client = make_client(self._target, self._env)
        return getattr(self._client, name)


def sync_target(
    repo: Path,
    target: Target,
    *,
    refresh: bool = False,
    prune: bool = False,
    dry_run: bool = False,
    out: Output,
    progress: Output,
    tty: bool | None = None,
    env: Mapping[str, str] | None = None,
) -> tuple[Plan, Summary | None]:
    """Plan (and unless ``dry_run``, apply) HEAD to ``target``; the plan is printed to ``out``.

    :raises pytest_panther.sync.targets.TargetError: token variable unset.
    :raises pytest_panther.sync.client.ApiError: a list call failed while planning.
    """
    client = LazyClient(target, env)
    plan = make_plan(repo, target, client, refresh=refresh or prune, prune=prune)
    out.write(plan.render(verbose=dry_run or len(plan.changes) <= 50) + "\n")
    out.flush()
    if dry_run:
        return plan, None
    from pytest_panther.sync.apply import apply_plan

    if any(c.action != "delete" for c in plan.changes):
        client.expect(plan.changes)  # upload items go in batches (sync.upload.RoutedWriter)
    summary = apply_plan(repo, plan, client, out=progress, tty=tty)
    return plan, summary
