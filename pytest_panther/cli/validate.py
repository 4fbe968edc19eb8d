"""``panther-gitops validate [PATHS...]``: validate every spec of a detection repository.

Loads the whole repository (so cross-file checks such as duplicate IDs see every spec) and prints
one ``path:line:col: message (hint)`` line per problem, paths relative to the current directory
when possible. With ``PATHS`` (files or folders), only problems of files under them are printed;
a ``.py`` path selects the specs whose ``Filename`` names it and is itself checked for syntax
errors. Exit 0 when there is no problem, 1 otherwise, 2 for a path that does not exist.

Files outside the spec folders (``--folder``, default the ``panther_paths`` setting, else where
PAT's default ``pat test`` looks, as the plugin does: :data:`~pytest_panther.spec.repository.PAT_DEFAULT_PATH`),
such as CI workflows, are not specs and are never reported. The settings shared with pytest
(``panther_paths``, ``panther_allow_extra_keys``, ``panther_extra_keys``, ``panther_log_types``,
``panther_strict``) are read as the plugin reads them (:mod:`pytest_panther.config`);
``--allow-extra-keys``, ``--extra-key`` and ``--strict`` add to them. Findings Panther accepts are
printed as ``warning:`` lines and do not fail unless strict.

Override files (:mod:`pytest_panther.upstream.overrides`, folder ``overrides`` of
``[tool.pytest-panther.upstream]``) are applied before validating, so the patched specs are
checked; their own problems (bad field, unknown detection ID, …) are reported on the override
file, and a bad upstream setting in ``pyproject.toml`` on that file.
"""
from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from pytest_panther.config import SettingsError
from pytest_panther.config import read_settings
from pytest_panther.config import validation_options
from pytest_panther.spec.crosscheck import validate_repository
from pytest_panther.spec.findings import STRICT_NOTE
from pytest_panther.spec.findings import split
from pytest_panther.spec.repository import Repository
from pytest_panther.spec.repository import load_repository
from pytest_panther.spec.yaml import YamlError
from pytest_panther.upstream.config import ConfigError
from pytest_panther.upstream.config import read_config
from pytest_panther.upstream.overrides import apply_overrides
from pytest_panther.upstream.overrides import load_overrides

__all__ = ["register", "run_validate"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="validate specs strictly (schemas, IDs, packs, data models) with line-numbered errors",
        description="Validate every analysis spec; print path:line:col: message per problem.",
    )
    parser.add_argument("paths", nargs="*", metavar="PATHS", type=Path,
                        help="report only problems of these files or folders (default: all)")
    parser.add_argument("--root", type=Path, default=Path("."), help="repository root (default: current directory)")
    parser.add_argument("--allow-extra-keys", action="store_true",
                        help="allow unknown top-level keys in rule/policy/derived specs (PAT --ignore-extra-keys; "
                             "default: the panther_allow_extra_keys setting)")
    parser.add_argument("--extra-key", action="append", default=[], metavar="KEY",
                        help="a top-level key always allowed, e.g. organisation metadata (repeatable)")
    parser.add_argument("--strict", action="store_true",
                        help="findings Panther accepts (printed as warnings) fail too (same as --panther-strict, ini panther_strict)")
    parser.add_argument("--folder", action="append", default=None, metavar="DIR",
                        help="spec folder relative to the root (repeatable; default: the panther_paths setting, else "
                             "the folders PAT's default `pat test` reads, nested ones included)")
    parser.set_defaults(func=run_validate)


def run_validate(args: argparse.Namespace) -> int:
    """Run the command for parsed ``args``; return 0 (no problem), 1 (problems) or 2 (bad root, a
    path that does not exist)."""
    root = Path(args.root)
    if not root.is_dir():
        print(f"panther-gitops validate: --root {root} is not a directory", file=sys.stderr)
        return 2
    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:  # a mistyped path must not read as "no problems"
        print(f"panther-gitops validate: no such file or folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    try:
        settings = read_settings(root)
    except SettingsError as exc:
        print(f"panther-gitops validate: {exc}", file=sys.stderr)
        return 2
    repo = load_repository(root, tuple(args.folder) if args.folder else settings.paths)
    override_errors = _apply_overrides(repo.root, repo)
    options = validation_options(replace(
        settings,
        allow_extra_keys=args.allow_extra_keys or settings.allow_extra_keys,
        extra_keys=settings.extra_keys | frozenset(args.extra_key),
    ))
    strict = args.strict or settings.strict
    problems = validate_repository(repo, options)
    for error in override_errors:
        problems.setdefault(Path(error.path), []).append(error)
    problems = {path: sorted(problems[path], key=lambda e: (e.line, e.col)) for path in sorted(problems)}
    selected = [p.resolve() for p in args.paths]
    python_files = [p for p in selected if p.suffix == ".py" and p.is_file()]
    if python_files:
        for spec in repo.specs:
            target = spec.python_path
            if target is not None and target.resolve() in python_files:
                selected.append(spec.path)
    errors: list[YamlError] = []
    for path, found in problems.items():
        if not selected or any(_under(path, s) for s in selected):
            errors.extend(found)
    for python_file in python_files:
        problem = _syntax_error(python_file)
        if problem is not None:
            errors.append(problem)
    if not strict:
        errors, suspicious = split(errors)
        for warning in suspicious:
            print(f"warning: {_relative(warning)} {STRICT_NOTE}")
    for error in errors:
        print(_relative(error))
    if errors:
        files = len({e.path for e in errors})
        print(f"{len(errors)} problem{'s' if len(errors) != 1 else ''} in {files} file{'s' if files != 1 else ''}",
              file=sys.stderr)
        return 1
    return 0


def _apply_overrides(root: Path, repo: Repository) -> list[YamlError]:
    """Apply the overrides of the configured folder to ``repo``; return their problems (and a bad
    ``[tool.pytest-panther.upstream]`` setting, reported at ``pyproject.toml:1:1``; the default
    folder is used then)."""
    errors: list[YamlError] = []
    folder = "overrides"
    try:
        folder = read_config(root).overrides
    except ConfigError as exc:
        pyproject = root / "pyproject.toml"
        errors.append(YamlError(pyproject, 1, 1, str(exc).removeprefix(f"{pyproject}: ")))
    overrides, load_errors = load_overrides(root, folder)
    return errors + load_errors + apply_overrides(repo, overrides)


def _under(path: Path, selected: Path) -> bool:
    return path == selected or selected in path.parents


def _syntax_error(path: Path) -> YamlError | None:
    try:
        compile(path.read_bytes(), str(path), "exec", dont_inherit=True)
    except SyntaxError as exc:
        return YamlError(path, exc.lineno or 1, exc.offset or 1, f"Python syntax error: {exc.msg}")
    except (OSError, ValueError) as exc:
        return YamlError(path, 1, 1, f"cannot read Python file: {exc}")
    return None


def _relative(error: YamlError) -> str:
    try:
        shown = os.path.relpath(error.path)
    except ValueError:  # another drive on Windows
        shown = error.path
    if shown.startswith(".."):
        shown = error.path
    return YamlError(shown, error.line, error.col, error.message, error.hint).format()
