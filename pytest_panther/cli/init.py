"""``panther-gitops init [DIR] [--upstream URL]``: start a detections repository from the template.

Lays the skeleton (:mod:`pytest_panther.scaffold.layout`) out into DIR (default: the current
folder), which may be empty or an existing repository: a path that exists is never overwritten and
is reported as skipped. Runs ``git init`` when DIR is not in a git work tree. With ``--upstream``,
leaves the template's example detections and helper out (a fork would deploy them with upstream's
content), runs ``panther-gitops upstream init --url URL --no-commit`` in DIR when that command is installed, or prints it,
and, when DIR kept its own ``pyproject.toml``, adds ``[tool.pytest-panther] minimum_tests = 2`` to it
unless a minimum is set (lines are only added, as ``upstream init`` does).

Exit codes: 0 done (even if every file was skipped), 1 a problem (DIR is a file, git or the
upstream step failed), 2 usage.
"""
from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
from pathlib import Path

from pytest_panther.config import SettingsError
from pytest_panther.config import add_minimum_tests
from pytest_panther.scaffold.layout import LayoutError
from pytest_panther.scaffold.layout import ensure_git_repository
from pytest_panther.scaffold.layout import is_example_content
from pytest_panther.scaffold.layout import lay_out

__all__ = ["register", "run"]

#: The template's ``[tool.pytest-panther] minimum_tests`` (a test that alerts, one that does not).
MINIMUM_TESTS = 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "init",
        help="lay out the detections repository template (never overwrites)",
        description=(
            "Lay the template of a detections repository out into DIR: rules/, policies/, "
            "global_helpers/, data_models/, overrides/, pyproject.toml, .pre-commit-config.yaml and "
            "CI workflows. Existing files are kept and reported as skipped."
        ),
    )
    parser.add_argument("directory", nargs="?", default=".", metavar="DIR", help="target folder (default: .)")
    parser.add_argument(
        "--upstream",
        metavar="URL",
        help="also set up an upstream detection repository to pull releases from (panther-gitops upstream init)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    destination = Path(args.directory)
    print(f"Laying out the detections template in {destination.resolve()}")
    try:
        placed = lay_out(destination, leave_out=is_example_content if args.upstream else None)
    except (LayoutError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    width = max((len(p.status) for p in placed), default=7)
    for item in placed:
        print(f"  {item.status:<{width}}  {item.path}{_NOTES.get(item.status, '')}")
    try:
        created_repo = ensure_git_repository(destination)
    except LayoutError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    created = sum(p.status == "created" for p in placed)
    skipped = sum(p.status == "skipped" for p in placed)
    left_out = len(placed) - created - skipped
    if created_repo:
        print("  git init (branch main)")
    _merge_hints([p.path for p in placed if p.status == "skipped"])
    status = 0
    if args.upstream:
        status = _upstream(destination, args.upstream)
        if status == 0 and "pyproject.toml" in {p.path for p in placed if p.status == "skipped"}:
            status = _minimum_tests(destination)
    print(
        f"{created} files created, {skipped} skipped"
        + (f", {left_out} left out" if left_out else "")
        + (", new git repository" if created_repo else "")
    )
    _next_steps(destination, own_pyproject="pyproject.toml" in {p.path for p in placed if p.status == "skipped"})
    return status


def _upstream(destination: Path, url: str) -> int:
    # --no-commit: the laid-out files are not committed yet either; the user commits them together.
    command = ["panther-gitops", "upstream", "init", "--url", url, "--no-commit"]
    if importlib.util.find_spec("pytest_panther.cli.upstream") is None:
        print(f"Upstream: this version has no upstream command yet; later run in {destination}:")
        print(f"  {' '.join(command)}")
        return 0
    print(f"Upstream: {' '.join(command)}")
    result = subprocess.run(
        [sys.executable, "-m", "pytest_panther.cli.main", *command[1:]], cwd=destination, check=False
    )
    if result.returncode != 0:
        print(
            f"error: upstream set-up failed (exit {result.returncode}); fix it and rerun: {' '.join(command)}",
            file=sys.stderr,
        )
        return 1
    return 0


def _minimum_tests(destination: Path) -> int:
    """The fork kept its own ``pyproject.toml``: give it the template's minimum-tests setting, so
    pytest, the hooks and CI block under-tested detections of the fork (untouched upstream ones
    are listed, not failed). Same edit policy as ``upstream init``'s: lines are only added."""
    try:
        added = add_minimum_tests(destination, MINIMUM_TESTS)
    except (SettingsError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if added:
        print(f"  added [tool.pytest-panther] minimum_tests = {MINIMUM_TESTS} to pyproject.toml (upstream detections "
              "the fork does not change are listed below the minimum, not failed)")
    return 0


#: What follows a laid-out path's line, by its status.
_NOTES = {
    "skipped": "  (exists, kept as is)",
    "left out": "  (template example: a fork would deploy it with upstream's detections)",
}

#: Files an existing repository often has already, and what to take over from the template's copy.
_MERGE_HINTS: dict[str, str] = {
    "pyproject.toml": "add pytest-panther and pre-commit to its dependencies, and the [tool.pytest-panther] table "
                      "(minimum_tests)",
    ".pre-commit-config.yaml": "add the panther-* hooks and default_install_hook_types",
    ".gitignore": "ignore .venv/, __pycache__/ and reports/",
}


def _merge_hints(skipped: list[str]) -> None:
    from pytest_panther.scaffold.layout import skeleton_root

    for rel in skipped:
        if rel in _MERGE_HINTS:
            print(f"  note: your {rel} was kept; {_MERGE_HINTS[rel]} (see {skeleton_root() / rel})")


def _next_steps(destination: Path, own_pyproject: bool) -> None:
    cd = "" if destination.resolve() == Path.cwd().resolve() else f"cd {destination}\n  "
    # A kept pyproject.toml (a panther-analysis fork's) neither lists pytest-panther nor is
    # installable with `pip install -e .` (a flat layout of many top-level folders).
    install = (
        "pip install pytest-panther pre-commit   # plus the libraries your detections import"
        if own_pyproject
        else "pip install -e .        # pytest-panther, pre-commit"
    )
    print(
        "Next:\n"
        f"  {cd}python -m venv .venv && . .venv/bin/activate\n"
        f"  {install}\n"
        "  pytest                  # every detection's tests\n"
        "  pre-commit install      # validate and test on commit, deploy after merges\n"
        "  panther-gitops new rule MyRule --log-type AWS.CloudTrail"
    )
