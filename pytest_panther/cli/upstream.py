"""``panther-gitops upstream init|status|pull|migrate-edits``: keep a fork of an upstream
detection repository (panther-analysis) current without losing customisations.

The work is in :mod:`pytest_panther.upstream`; this module parses arguments and prints.
Exit codes: 0 ok (``migrate-edits``: also when some edits cannot become overrides; they are
listed and stay as commits); 1 a problem to fix (conflict, failing tests, orphaned override, git
error); 2 usage (not a git work tree).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pytest_panther.upstream.config import ConfigError
from pytest_panther.upstream.config import read_config
from pytest_panther.upstream.git import Git
from pytest_panther.upstream.git import GitError
from pytest_panther.upstream.migrate import migrate_edits
from pytest_panther.upstream.pull import PullError
from pytest_panther.upstream.pull import continue_pull
from pytest_panther.upstream.pull import pull
from pytest_panther.upstream.remote import init_upstream
from pytest_panther.upstream.status import collect_status
from pytest_panther.upstream.status import fetch_tags
from pytest_panther.upstream.status import format_status
from pytest_panther.upstream.status import status_exit_code
from pytest_panther.upstream.status import status_json

__all__ = ["register", "run_upstream"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "upstream",
        help="pull upstream detection releases into a fork; overrides instead of in-place edits",
        description="Keep a fork of an upstream detection repository current (rebase onto release tags).",
    )
    parser.add_argument("--root", type=Path, default=Path("."), help="repository root (default: current directory)")
    sub = parser.add_subparsers(dest="upstream_command", metavar="SUBCOMMAND")
    init = sub.add_parser("init", help="add the upstream remote, enable rerere, record the base release")
    init.add_argument("--url", help="upstream repository URL (default: panther-analysis on GitHub)")
    init.add_argument("--name", help="remote name (default: upstream)")
    init.add_argument("--release", metavar="vX.Y.Z", help="release the fork is based on (default: newest release tag in HEAD)")
    init.add_argument("--no-commit", action="store_true", help="leave the pyproject.toml change uncommitted")
    status = sub.add_parser("status", help="base release, newer releases, customisations, conflicts ahead")
    status.add_argument("--no-fetch", action="store_true", help="use the tags already fetched")
    status.add_argument("--tag", metavar="vX.Y.Z", help="predict the pull onto this release (default: the newest)")
    status.add_argument("--json", action="store_true", help="print the status as JSON (base, newer, latest, edits, overrides, ...)")
    pull_parser = sub.add_parser("pull", help="rebase the fork onto an upstream release and run the affected tests")
    pull_parser.add_argument("--tag", metavar="vX.Y.Z", help="release to rebase onto (default: the newest)")
    pull_parser.add_argument("--continue", dest="cont", action="store_true", help="go on after resolving a conflict")
    pull_parser.add_argument("--no-fetch", action="store_true", help="use the tags already fetched")
    pull_parser.add_argument("--no-tests", action="store_true", help="do not run the tests of the affected detections")
    sub.add_parser("migrate-edits", help="turn in-place YAML edits of upstream detections into overrides (one commit)")
    parser.set_defaults(func=run_upstream, upstream_parser=parser)


def run_upstream(args: argparse.Namespace) -> int:
    command = args.upstream_command
    if command is None:
        args.upstream_parser.print_help(sys.stderr)
        return 2
    git = Git(Path(args.root).resolve())
    if not git.ok("rev-parse", "--is-inside-work-tree"):
        print(f"panther-gitops upstream: {git.root} is not a git work tree", file=sys.stderr)
        return 2
    try:
        git.root = Path(git.out("rev-parse", "--show-toplevel")).resolve()
        config = read_config(git.root)
        if command == "init":
            lines = init_upstream(git, config, url=args.url, name=args.name, release=args.release, commit=not args.no_commit)
            print("\n".join(lines))
            return 0
        if command == "status":
            if not args.no_fetch:
                fetch_tags(git, config)
            report = collect_status(git, config, args.tag)
            if args.json:
                print(json.dumps(status_json(report), indent=2, sort_keys=True))
            else:
                print(format_status(report), end="")
            return status_exit_code(report)
        if command == "pull":
            runner = None if args.no_tests else _default_runner()
            echo = _echo
            if args.cont:
                result = continue_pull(git, config, runner=runner, echo=echo)
            else:
                result = pull(git, config, tag=args.tag, fetch=not args.no_fetch, runner=runner, echo=echo)
            for line in result.lines[result.printed :]:
                print(line)
            return result.exit_code
        result_m = migrate_edits(git, config)
        for line in result_m.migrated:
            print(f"migrated {line}")
        for line in result_m.skipped:
            print(f"not migrated: {line}")
        if result_m.commit:
            print(f"committed {result_m.commit[:12]}: the next `upstream pull` replays no migrated edit")
        elif not result_m.migrated:
            print("no in-place YAML edits or deletions to migrate")
        if result_m.skipped:
            print(f"{len(result_m.skipped)} edit(s) stay as your commits; `upstream status` shows which ones the next pull stops on")
        return 0  # done: what can be an override is one (docs/reference.md, exit codes)
    except (ConfigError, GitError, PullError, RuntimeError) as exc:
        print(f"panther-gitops upstream {command}: {exc}", file=sys.stderr)
        return 1


def _echo(line: str) -> None:
    print(line, flush=True)  # before pytest's own output, which goes straight to the terminal


def _default_runner() -> Any:
    from pytest_panther.upstream.pull import run_pytest

    return run_pytest
