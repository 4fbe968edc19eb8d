"""``panther-gitops sync plan|apply|status|hook``: deploy the committed detections to Panther.

* ``plan``   — what ``apply`` would do (creates, updates with a field diff, guarded deletes);
  ``plan`` and ``apply`` refuse a HEAD that is not on the target's deploy branch (or detached)
  unless ``--any-branch`` is given;
* ``apply``  — do it; exit 1 when a call failed or a spec has errors (the synced ref stays put);
  holds the same lock as the hooks, so a hook and a manual apply never sync at once;
* ``status`` — target, deploy branch, synced commit and how far HEAD is ahead (no network);
* ``hook --stage STAGE [-- ARGS]`` — for git/pre-commit hooks; always exits 0.

Common options: ``--target NAME`` (see :mod:`pytest_panther.sync.targets`), ``--refresh``
(compare with the deployment instead of the synced commit), ``--prune`` (also delete what the
deployment holds and this repository does not; implies ``--refresh``), ``-C DIR``.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path
from typing import Any

from pytest_panther.sync.git import GitError

__all__ = ["register"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sync",
        help="deploy the committed detections to a Panther target",
        description=(
            "Deploy the detections committed on the deploy branch to Panther (REST API). Target: "
            "PANTHER_API_HOST and PANTHER_API_TOKEN, or [tool.pytest-panther.targets.<name>] in "
            "pyproject.toml. The last synced commit is kept in refs/panther/<target>/synced. "
            "HTTP tuning: PANTHER_SYNC_TIMEOUT, PANTHER_SYNC_RETRIES, PANTHER_SYNC_BACKOFF, "
            "PANTHER_SYNC_MAX_BACKOFF, PANTHER_SYNC_MAX_RETRY_AFTER."
        ),
    )
    actions = parser.add_subparsers(dest="sync_action", metavar="ACTION")

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("-C", dest="repo", default=".", help="the git repository (default: current directory)")
        sub.add_argument("--target", help="target name (default: the only one configured)")

    for name, helptext in (("plan", "show what apply would change"), ("apply", "deploy HEAD to the target")):
        sub = actions.add_parser(name, help=helptext)
        common(sub)
        sub.add_argument("--refresh", action="store_true", help="compare with what the deployment holds")
        sub.add_argument("--prune", action="store_true", help="also delete objects this repository does not define (implies --refresh)")
        sub.add_argument("--any-branch", action="store_true",
                         help="use HEAD even when it is not on the target's deploy branch (or is detached)")
        sub.set_defaults(func=_plan_or_apply, apply=name == "apply")
    sub = actions.add_parser("status", help="synced commit per target (no network)")
    common(sub)
    sub.set_defaults(func=_status)
    sub = actions.add_parser("hook", help="run from a git hook (always exits 0)")
    common(sub)
    sub.add_argument("--stage", required=True, help="post-merge, post-rewrite, post-commit or post-checkout")
    sub.add_argument("hook_args", nargs="*", help="the arguments git passed to the hook")
    sub.set_defaults(func=_hook)
    parser.set_defaults(func=lambda args: (parser.print_help(sys.stderr), 2)[1])


def _repo(args: argparse.Namespace) -> Path:
    return Path(args.repo).resolve()


def _plan_or_apply(args: argparse.Namespace) -> int:
    from pytest_panther.sync.hooks import LockTimeout
    from pytest_panther.sync.hooks import sync_lock
    from pytest_panther.sync.run import branch_refusal
    from pytest_panther.sync.run import repo_targets
    from pytest_panther.sync.run import sync_target
    from pytest_panther.sync.selection import SelectionError
    from pytest_panther.sync.targets import TargetError
    from pytest_panther.sync.targets import select_target

    repo = _repo(args)
    try:
        target = select_target(repo_targets(repo), args.target)
        refusal = None if args.any_branch else branch_refusal(repo, target)
        if refusal:
            print(f"panther-gitops sync: {refusal}", file=sys.stderr)
            return 1
        with sync_lock(repo) if args.apply else contextlib.nullcontext():
            plan, summary = sync_target(
                repo, target, refresh=args.refresh, prune=args.prune, dry_run=not args.apply,
                out=sys.stdout, progress=sys.stderr,
            )
    except (TargetError, GitError, SelectionError, LockTimeout, ValueError) as exc:
        print(f"panther-gitops sync: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        from pytest_panther.sync.apply import describe_error
        from pytest_panther.sync.client import ApiError  # imported late: requests is slow to import

        if not isinstance(exc, ApiError):
            raise
        print(f"panther-gitops sync: {describe_error(exc)}", file=sys.stderr)
        return 1
    if summary is None:
        return 1 if plan.errors else 0
    print(summary.render())
    for note in summary.notes:
        print(f"note: {note}", file=sys.stderr)
    for line in summary.failures:
        print(f"  failed: {line}", file=sys.stderr)
    if plan.errors:
        print("specs with errors were not deployed and the synced ref was not moved; fix them and rerun", file=sys.stderr)
    elif summary.ref_moved:
        print(f"{target.ref} → {plan.head[:12]}")
    else:
        print(f"{target.ref} was not moved; rerun `panther-gitops sync apply` to finish", file=sys.stderr)
    return 0 if summary.ok and summary.ref_moved else 1


def _status(args: argparse.Namespace) -> int:
    from pytest_panther.sync.git import current_branch
    from pytest_panther.sync.git import git
    from pytest_panther.sync.git import rev_parse
    from pytest_panther.sync.run import repo_targets
    from pytest_panther.sync.state import read_pending
    from pytest_panther.sync.state import read_synced
    from pytest_panther.sync.state import read_synced_host
    from pytest_panther.sync.targets import TargetError
    from pytest_panther.sync.targets import same_host

    repo = _repo(args)
    try:
        targets = repo_targets(repo)
        head = rev_parse(repo, "HEAD")
        branch = current_branch(repo)
    except (TargetError, GitError) as exc:
        print(f"panther-gitops sync: {exc}", file=sys.stderr)
        return 1
    if args.target:
        targets = {k: v for k, v in targets.items() if k == args.target}
    if not targets:
        print("no target configured (set PANTHER_API_HOST and PANTHER_API_TOKEN, or [tool.pytest-panther.targets.<name>])")
        return 1 if args.target else 0
    print(f"HEAD {head[:12] if head else '(no commit)'} on {branch or 'a detached HEAD'}")
    for target in targets.values():
        synced = read_synced(repo, target.name)
        recorded = read_synced_host(repo, target.name) if synced else None
        if recorded is not None and not same_host(recorded, target.host):
            state = f"synced to {recorded}, not this host (the next apply is a full first sync)"
        elif synced is None:
            state = "never synced (the first apply compares with the deployment)"
        elif synced == head:
            state = f"up to date at {synced[:12]}"
        elif rev_parse(repo, synced) is None:
            state = f"synced at {synced[:12]}, a commit this clone lacks"
        else:
            ahead = git(repo, "rev-list", "--count", f"{synced}..{head}") if head else "?"
            state = f"synced at {synced[:12]}; HEAD is {ahead} commit(s) ahead"
        pending = read_pending(repo, target.name, target.host)
        if pending:
            state += f"; {len(pending)} object(s) written by an unfinished sync (the next apply finishes it)"
        token = "set" if target.token_env in os.environ else "NOT SET"
        print(f"{target.name}: {target.host} branch {target.deploy_branch}, token ${target.token_env} {token}: {state}")
    return 0


def _hook(args: argparse.Namespace) -> int:
    from pytest_panther.sync.hooks import run_hook

    return run_hook(_repo(args), args.stage, args.hook_args, target_name=args.target)
