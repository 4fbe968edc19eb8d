"""``panther-gitops``: the command line. This module only parses and dispatches.

Each command lives in its own module ``pytest_panther.cli.<name>`` exposing
``register(subparsers) -> None`` (adds its parser and sets ``func``) and a function that takes
the parsed arguments and returns the exit code: 0 ok, 1 a problem the user can fix, 2 usage.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version

#: Command modules, in ``--help`` order.
COMMANDS: tuple[str, ...] = ("init", "new", "validate", "sync", "standin", "upstream", "hook")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser with every command, or with ``only`` that one (git hooks run ``panther-gitops``
    on every commit: importing the stand-in server or jsonschema for ``hook test`` costs ~0.4 s)."""
    parser = argparse.ArgumentParser(
        prog="panther-gitops",
        description="Detections-as-code for Panther: validate, deploy and keep in sync with upstream.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in (only,) if only else COMMANDS:
        try:
            module = importlib.import_module(f"pytest_panther.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"pytest_panther.cli.{name}":
                continue
            raise
        module.register(subparsers)
    return parser


def _version() -> str:
    try:
        return version("pytest-panther")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "(not installed)"


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    first = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(first if first in COMMANDS and "-h" not in argv[:1] else None)
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(func(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
