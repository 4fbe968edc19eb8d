"""What ``upstream pull`` tells about deployment, as it will really happen: whether a sync hook
is installed, which targets deploy from this branch, what the sync will delete, and which
detections an upstream ``Status`` change takes out of production.

The pull makes its last commit with git hooks on, so an installed ``post-commit`` hook (the
``panther-sync-post-commit`` pre-commit hook, or a raw hook calling ``panther-gitops sync
hook``) syncs the result; sync-contract.md §4. The deletions come from the sync's own plan
(:func:`pytest_panther.sync.plan.make_plan`, incremental: no network) for targets with a
synced commit.
"""
from __future__ import annotations

import os
from pathlib import Path

from pytest_panther.upstream.git import Git
from pytest_panther.upstream.overrides import Override

__all__ = ["deployment_lines", "status_lines", "sync_hook"]

_SHOWN = 10  # deletions named per target before "and N more"


def sync_hook(git: Git) -> Path | None:
    """The installed ``post-commit`` hook that runs the sync, or None."""
    hooks = Path(git.out("rev-parse", "--git-path", "hooks"))
    hook = hooks if hooks.is_absolute() else git.root / hooks
    hook = hook / "post-commit"
    if not hook.is_file() or not os.access(hook, os.X_OK):
        return None
    text = hook.read_text(encoding="utf-8", errors="replace")
    if "panther-gitops sync hook" in text or "sync hook --stage" in text:
        return hook
    config = git.root / ".pre-commit-config.yaml"
    if "pre-commit" in text and config.is_file() and "panther-sync-post-commit" in config.read_text(encoding="utf-8", errors="replace"):
        return hook
    return None


def status_lines(
    drops: dict[str, tuple[str, str]], overrides: dict[str, Override], customised: set[str], target: str,
    pack_drops: dict[str, list[str]] | None = None,
) -> list[str]:
    """One line per detection the release takes out of the deployment: an upstream ``Status``
    change (:func:`pytest_panther.upstream.history.status_drops`; those pinned by an override's
    ``Status`` are kept and not listed) or its removal from every selected pack
    (:func:`~pytest_panther.upstream.history.pack_drops`). Customised ones say so and which
    overrides keep them deployed."""
    pack_drops = pack_drops or {}
    lines = []
    for ident in sorted(set(drops) | set(pack_drops)):
        override = overrides.get(ident)
        pinned = override is not None and "Status" in override.fields
        status, path = drops.get(ident, ("", ""))
        why = []
        if status and not pinned:
            why.append(f"marks {ident} Status: {status} ({path})")
        if ident in pack_drops:
            why.append(f"drops {ident} from {', '.join(pack_drops[ident])}")
        if not why:
            continue
        line = f"upstream {target} {' and '.join(why)}: the sync deletes it from Panther"
        if ident in customised:
            where = f"{override.path.parent.name}/{override.path.name}" if override is not None else "in place"
            keep = ([] if pinned or not status else ["`Status: Stable` in its override"]) + [
                f"an override of {p} with `PackDefinition: {{IDs: {{add: [{ident}]}}}}`" for p in pack_drops.get(ident, [])
            ]
            line += f" although you customise it ({where}); {' and '.join(keep)} keep{'s' if len(keep) == 1 else ''} it deployed"
        lines.append(line)
    return lines


def deployment_lines(git: Git) -> list[str]:
    """How the next commit on this branch deploys (said before the pull's last commit)."""
    from pytest_panther.sync.git import current_branch
    from pytest_panther.sync.plan import make_plan
    from pytest_panther.sync.run import repo_targets
    from pytest_panther.sync.targets import TargetError

    hook = sync_hook(git)
    if hook is None:
        return ["no sync hook is installed (post-commit): nothing is deployed automatically;"
                " `panther-gitops sync plan` shows what `sync apply` would change"]
    try:
        targets = repo_targets(git.root, os.environ)
    except TargetError as exc:
        return [f"the sync hook cannot deploy: {exc}"]
    if not targets:
        return ["the sync hook finds no target (PANTHER_API_HOST or [tool.pytest-panther.targets.*]): nothing is deployed"]
    branch = current_branch(git.root)
    chosen = [t for t in targets.values() if t.deploy_branch == branch]
    if not chosen:
        branches = ", ".join(sorted({t.deploy_branch for t in targets.values()}))
        return [f"the sync hook deploys only from {branches}; {branch} is not deployed (merge it there)"]
    lines = []
    for target in chosen:
        lines.append(f"the sync hook deploys the result to target {target.name} ({target.host})")
        try:
            plan = make_plan(git.root, target)
        except ValueError:
            lines.append("  first sync to it: compares with the deployment (`panther-gitops sync plan` shows the changes)")
            continue
        except Exception as exc:  # noqa: BLE001 - a description must not stop the pull
            lines.append(f"  cannot plan it now ({type(exc).__name__}: {exc}); `panther-gitops sync plan` shows the changes")
            continue
        deletes = [c for c in plan.changes if c.action == "delete"]
        counts = {a: sum(1 for c in plan.changes if c.action == a) for a in ("create", "update")}
        lines.append(f"  {counts['create']} to create, {counts['update']} to update, {len(deletes)} to delete")
        lines += [f"  deletes {c.id} ({c.reason})" for c in deletes[:_SHOWN]]
        if len(deletes) > _SHOWN:
            lines.append(f"  and {len(deletes) - _SHOWN} more deletes (`panther-gitops sync plan`)")
    return lines
