"""``panther-gitops hook validate|test FILES...``: the pre-commit hooks ``panther-validate`` and
``panther-test`` (``.pre-commit-hooks.yaml``).

Both take the file names pre-commit passes (staged files, relative to the repository root, which
is the working directory) and never write to any file:

* ``validate`` checks the spec files among them and the spec of each changed ``.py`` with the
  repository validator (:func:`pytest_panther.spec.crosscheck.validate_repository`: schema,
  set-like fields, ``Filename``, duplicate IDs, pack members, data models), and the ``.py`` files
  under the spec folders for syntax errors, printing one ``path:line:col: message`` line per
  problem; exit 1 when there is one. To stay fast it loads only the specs a cross-file check of
  those files can involve (specs defining their IDs or the IDs they name, every data model when
  one is checked). A two-file problem reported on another file is shown when it names one of
  them (a duplicate ID goes to the second file in path order).
  Overrides (:mod:`pytest_panther.upstream.overrides`, folder ``overrides`` of
  ``[tool.pytest-panther.upstream]``) of the loaded specs' IDs are applied first, so patched specs
  are validated; the others are not read. Override files among FILES are checked (fields, a
  duplicate, an ID that no spec of the whole working tree has, read as
  :func:`pytest_panther.upstream.history.spec_ids_in` does) and the spec each patches is
  validated too. A bad upstream setting is reported on ``pyproject.toml``.
* ``test`` runs pytest in-process on the detections the change affects
  (:func:`pytest_panther.select.affected_spec_files`), with ``-q -p no:cacheprovider``, and
  returns pytest's exit code, except 5 (nothing collected), which is 0. The minimum-tests setting
  fails only the detections whose spec or ``.py`` is among FILES (``--panther-minimum-tests-on``);
  the others below it are listed.

Settings (``panther_paths``, ``panther_allow_extra_keys``, ``panther_extra_keys``,
``panther_minimum_tests``, ``panther_log_types``, ``panther_strict``) are read as the plugin reads
them (:mod:`pytest_panther.config`: the pytest ini keys, then ``[tool.pytest-panther]`` of
``pyproject.toml``). Findings Panther accepts are ``warning:`` lines unless ``strict`` is set.
"""
from __future__ import annotations

import argparse
import ast
import os
import sys
from pathlib import Path
from typing import Any

from pytest_panther.config import RepositorySettings
from pytest_panther.config import SettingsError
from pytest_panther.config import read_settings
from pytest_panther.config import validation_options
from pytest_panther.select import GitError
from pytest_panther.select import SpecIndex
from pytest_panther.select import affected_spec_files
from pytest_panther.select import changed_files
from pytest_panther.spec.findings import STRICT_NOTE
from pytest_panther.spec.findings import split
from pytest_panther.spec.repository import Repository
from pytest_panther.spec.repository import in_spec_paths
from pytest_panther.spec.yaml import YamlError

__all__ = ["hook_test", "hook_validate", "register"]

#: pytest's "no tests were collected" exit code (``pytest.ExitCode.NO_TESTS_COLLECTED``).
_NO_TESTS = 5


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("hook", help="pre-commit hooks: validate or test what a change touches")
    hooks = parser.add_subparsers(dest="hook", metavar="HOOK", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--root", type=Path, default=None,
                        help="repository root (default: the current directory, where pre-commit runs hooks)")
    common.add_argument("filenames", nargs="*", metavar="FILES", help="changed files (pre-commit passes the staged ones)")
    validate = hooks.add_parser("validate", parents=[common], help="validate the given specs and the specs of given .py files")
    validate.set_defaults(func=hook_validate)
    test = hooks.add_parser("test", parents=[common], help="run pytest on the detections the given files affect")
    test.add_argument("--pytest-arg", action="append", default=[], metavar="ARG",
                      help="extra argument for pytest (repeatable), e.g. --pytest-arg=-x")
    test.add_argument("--no-staged-deletions", dest="staged_deletions", action="store_false",
                      help="do not add the files deleted in the git index (pre-commit does not pass them)")
    test.set_defaults(func=hook_test)


def _settings(root: Path) -> RepositorySettings | None:
    """The repository's settings as the plugin reads them; None (after saying why) when invalid."""
    try:
        return read_settings(root)
    except SettingsError as exc:
        print(f"panther-gitops hook: {exc}", file=sys.stderr)
        return None


def _show(error: YamlError) -> str:
    """The error with its path relative to the working directory (pre-commit's view)."""
    path = error.path
    if os.path.isabs(path) and Path(path).is_relative_to(Path.cwd()):
        path = os.path.relpath(path)
    return str(YamlError(path, error.line, error.col, error.message, error.hint))


def _relative(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)


def _syntax_error(path: Path) -> YamlError | None:
    try:
        ast.parse(path.read_bytes(), filename=str(path))
    except SyntaxError as exc:
        return YamlError(path, exc.lineno or 1, exc.offset or 1, f"Python syntax error: {exc.msg}")
    except (OSError, ValueError):
        return None
    return None


def hook_validate(args: argparse.Namespace) -> int:
    """``panther-gitops hook validate FILES...``: 0 when the files concerned are valid, else 1."""
    root = (args.root or Path.cwd()).resolve()
    settings = _settings(root)
    if settings is None:
        return 1
    paths = settings.paths
    index = SpecIndex(root, paths)
    given = [Path(f) for f in args.filenames]
    targets = index.spec_files_for(given)
    overrides = _Overrides(index, {index.norm.changed(f) for f in given})
    targets |= overrides.overridden_files()
    repo = index.repository_for(targets)
    override_problems = overrides.apply(repo, targets)
    from pytest_panther.spec.crosscheck import validate_repository

    options = validation_options(settings)
    found = validate_repository(repo, options)
    # A two-file problem goes to the second file (path order); show it when it names a target.
    names = [f"{_relative(path, root)}:" for path in targets]
    problems = [
        e
        for path in sorted(found)
        for e in found[path]
        if path in targets or any(name in e.hint or name in e.message for name in names)
    ]
    problems += override_problems
    for path in sorted(index.norm.changed(f) for f in given if f.suffix == ".py"):
        if not in_spec_paths(index.root, path, paths):
            continue
        error = _syntax_error(path)
        if error is not None:
            problems.append(error)
    problems, suspicious = (problems, []) if settings.strict else split(problems)
    for warning in sorted(suspicious, key=lambda e: (e.path, e.line, e.col)):
        print(f"warning: {_show(warning)} {STRICT_NOTE}")
    for error in sorted(problems, key=lambda e: (e.path, e.line, e.col)):
        print(_show(error))
    return 1 if problems else 0


class _Overrides:
    """The override files ``panther-validate`` needs (:mod:`pytest_panther.upstream.overrides`,
    folder from ``[tool.pytest-panther.upstream]``), read without loading every one of them."""

    def __init__(self, index: SpecIndex, given: set[Path]) -> None:
        from pytest_panther.upstream.config import ConfigError
        from pytest_panther.upstream.config import read_config
        from pytest_panther.upstream.overrides import override_paths

        self.index = index
        self.problems: list[YamlError] = []
        self.folder = "overrides"
        try:
            self.folder = Path(read_config(index.root).overrides).as_posix()
        except ConfigError as exc:
            pyproject = index.root / "pyproject.toml"
            self.problems.append(YamlError(pyproject, 1, 1, str(exc).removeprefix(f"{pyproject}: ")))
        self.files = override_paths(index.root, self.folder)
        self.given = [path for path in self.files if path in given]
        self.texts: dict[Path, str] = {}

    def _load(self, files: list[Path]) -> tuple[dict[str, Any], list[YamlError]]:
        from pytest_panther.upstream.overrides import load_overrides_from_texts

        for path in files:
            if path not in self.texts:
                self.texts[path] = self.index.text(path)
        texts = {_relative(path, self.index.root): self.texts[path] for path in files}
        return load_overrides_from_texts(self.index.root, texts, self.folder)

    def overridden_files(self) -> set[Path]:
        """The spec files of the detections the given override files patch (validated patched)."""
        if not self.given:
            return set()
        ids = set(self._load(self.given)[0])
        return {spec.path for spec in self.index.where(ids) if spec.id in ids}

    def apply(self, repo: Repository, targets: set[Path]) -> list[YamlError]:
        """Apply to ``repo`` (a partial load) the overrides of its specs' IDs only; return the
        problems of the given override files (an ID no spec of the whole repository has
        included), of the overrides of ``targets`` and of ``pyproject.toml``'s upstream table."""
        from pytest_panther.upstream.history import spec_ids_in
        from pytest_panther.upstream.overrides import apply_overrides
        from pytest_panther.upstream.overrides import unknown_id_error

        ids = {spec.id for spec in repo.specs if spec.id}
        target_ids = {spec.id for spec in repo.specs if spec.path in targets}
        wanted = [
            path for path in self.files
            if path in self.given or path.name.rsplit(".", 1)[0] in ids or any(i in self.index.text(path) for i in ids)
        ]
        overrides, errors = self._load(wanted)
        given = set(self.given)
        names = [f"{_relative(path, self.index.root)}" for path in self.given]
        problems = list(self.problems)
        problems += [e for e in errors if Path(e.path) in given or any(n in e.hint for n in names)]
        chosen = {i: o for i, o in overrides.items() if i in ids}
        shown = {o.path for i, o in chosen.items() if i in target_ids or o.path in given}
        problems += [e for e in apply_overrides(repo, chosen) if Path(e.path) in shown]
        orphans = [o for i, o in overrides.items() if i not in ids and o.path in given]
        if orphans:
            known = spec_ids_in(self.index.text(path) for path in self.index.files)
            problems += [unknown_id_error(o, known) for o in orphans if o.id not in known]
        return problems


def _staged_deletions(root: Path) -> list[Path]:
    """Files deleted in the index (pre-commit passes only added and changed files); [] outside git."""
    try:
        return [path for path in changed_files(root, staged=True) if not path.exists()]
    except GitError:
        return []


def hook_test(args: argparse.Namespace) -> int:
    """``panther-gitops hook test FILES...``: pytest's exit code on the affected detections
    (0 when none is affected)."""
    root = (args.root or Path.cwd()).resolve()
    settings = _settings(root)
    if settings is None:
        return 1
    paths = settings.paths
    changed = [Path(f) for f in args.filenames]
    if args.staged_deletions:
        changed += _staged_deletions(root)
    index = SpecIndex(root, paths)
    specs = affected_spec_files(root, changed, paths, index=index)
    if not specs:
        print("panther-test: no detection affected")
        return 0
    import pytest

    # The plugin loads only these spec files (its panther_paths accepts files): the affected
    # detections, the specs they name (base detections, correlated rules), every global helper and
    # data model -- not the whole repository.
    context = index.repository_for(specs)
    needed = sorted({s.path for s in context.specs} | {Path(e.path) for e in context.errors} | set(index.runtime_files()))
    load = "\n".join(_relative(p, index.root) for p in needed)
    cwd = Path.cwd()
    argv = [os.path.relpath(p) if p.is_relative_to(cwd) else str(p) for p in sorted(specs)]
    argv += ["-q", "-p", "no:cacheprovider", f"--rootdir={root}", "-o", f"panther_paths={load}"]
    # The minimum-tests setting fails the detections the change touches; the others it affects
    # (through a global helper or a data model) are listed.
    argv += [f"--panther-minimum-tests-on={(cwd / path).resolve()}" for path in changed]
    argv += args.pytest_arg
    sys.stdout.flush()
    code = int(pytest.main(argv))
    return 0 if code == _NO_TESTS else code
