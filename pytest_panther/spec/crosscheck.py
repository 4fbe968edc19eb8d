"""Repository-wide validation: every per-spec problem plus the checks that need other files.

Cross-file checks (issue 3 item 4; PAT behaviour in shared/reference/semantics.md §2.5–§2.7):

* one ID namespace across all analysis types — the second spec (path order) with an ID gets
  ``duplicate ID 'X' (also defined in rules/a.yml:3)``;
* ``Filename`` naming no file (PAT: detection Invalid, global aborts the run);
* packs naming IDs no spec defines;
* data models: a ``Path`` that is not valid JSONPath (``jsonpath_ng.ext.parse``, as panther-core's
  ``DataModel``), a ``Method`` not defined at the top level of the module (read with :mod:`ast`,
  never executed), a module that does not parse, and an enabled log type claimed by two enabled
  data models (the second one gets the error);
* YAML expressions that cannot be parsed: simple detections, inline filters and correlation
  rules (:mod:`pytest_panther.evaluate.check`).

YAML parse errors already collected in :attr:`Repository.errors` are included under their file.
"""
from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from pytest_panther.evaluate.check import expression_problems
from pytest_panther.spec.model import Spec
from pytest_panther.spec.repository import Repository
from pytest_panther.spec.suggest import did_you_mean
from pytest_panther.spec.validate import ValidationOptions
from pytest_panther.spec.validate import validate_spec
from pytest_panther.spec.yaml import YamlError

__all__ = ["validate_repository"]


def validate_repository(
    repo: Repository, options: ValidationOptions = ValidationOptions()
) -> dict[Path, list[YamlError]]:
    """All problems of ``repo``, keyed by the spec file each belongs to.

    Only files with problems appear; keys are in path order and each list is sorted by line.
    A problem in one file never hides or causes problems in another (except the ones that are
    about two files, which go to the second file). Checks that read ``Filename`` targets run only
    when ``repo.root`` is a directory (a repository loaded from git blobs of another tree skips
    them). Never raises for bad input.
    """
    found: dict[Path, list[YamlError]] = {}
    for error in repo.errors:
        found.setdefault(Path(error.path), []).append(error)
    on_disk = repo.root.is_dir()
    for spec in repo.specs:
        problems = validate_spec(spec, options)
        if not problems:  # a spec the schema accepts may still hold an expression we cannot parse
            problems.extend(expression_problems(spec))
        if on_disk:
            problems.extend(_file_errors(spec))
        if problems:
            found.setdefault(spec.path, []).extend(problems)
    for path, error in _cross_errors(repo):
        found.setdefault(path, []).append(error)
    return {path: sorted(found[path], key=lambda e: (e.line, e.col, e.message)) for path in sorted(found)}


def _rel(repo: Repository, path: Path) -> str:
    try:
        return path.relative_to(repo.root).as_posix()
    except ValueError:
        return str(path)


def _cross_errors(repo: Repository) -> Iterator[tuple[Path, YamlError]]:
    yield from _duplicate_ids(repo)
    yield from _pack_errors(repo)
    yield from _data_model_log_types(repo)


def _duplicate_ids(repo: Repository) -> Iterator[tuple[Path, YamlError]]:
    first: dict[str, Spec] = {}
    for spec in sorted(repo.specs, key=lambda s: s.path):
        if not spec.id:
            continue
        if spec.id in first:
            other = first[spec.id]
            where = f"{_rel(repo, other.path)}:{other.document.position((other.id_field,))[0]}"
            yield spec.path, spec.document.error(
                (spec.id_field,),
                f"duplicate ID {spec.id!r} (also defined in {where})",
                "IDs are shared by every analysis type: rename one of them",
            )
        else:
            first[spec.id] = spec


def _pack_errors(repo: Repository) -> Iterator[tuple[Path, YamlError]]:
    known = {spec.id for spec in repo.specs if spec.id}
    unloaded = _unloaded_files(repo)
    for spec in repo.of_kind("pack"):
        definition = spec.data.get("PackDefinition")
        ids = definition.get("IDs") if isinstance(definition, dict) else None
        if not isinstance(ids, list):
            continue
        for index, item in enumerate(ids):
            if isinstance(item, str) and item not in known:
                yield spec.path, spec.document.error(
                    ("PackDefinition", "IDs", index),
                    f"PackDefinition.IDs[{index}]: pack names unknown ID {item!r}",
                    _unknown_id_hint(item, known, unloaded),
                )


def _unloaded_files(repo: Repository) -> list[str]:
    """The files that failed to load (their IDs are unknown), relative to the root, in order."""
    return sorted({_rel(repo, Path(error.path)) for error in repo.errors})


def _unknown_id_hint(item: str, known: set[str], unloaded: list[str]) -> str:
    """The hint for an ID no loaded spec defines. When some spec files did not load, the ID may
    well be in one of them: say so before any did-you-mean, which would invite a wrong edit."""
    guess = did_you_mean(item, known)
    if not unloaded:
        return guess or "no spec in this repository has that ID"
    shown = ", ".join(unloaded[:3]) + (f" and {len(unloaded) - 3} more" if len(unloaded) > 3 else "")
    where = f"a spec that failed to load may define it: fix {shown} first"
    return f"{where}; otherwise {guess}" if guess else where


def _data_model_log_types(repo: Repository) -> Iterator[tuple[Path, YamlError]]:
    claimed: dict[str, Spec] = {}
    for spec in sorted(repo.data_models, key=lambda s: s.path):
        log_types = spec.data.get("LogTypes")
        if not spec.enabled or not isinstance(log_types, list):
            continue
        for index, log_type in enumerate(log_types):
            if not isinstance(log_type, str):
                continue
            if log_type in claimed:
                other = claimed[log_type]
                yield spec.path, spec.document.error(
                    ("LogTypes", index),
                    f"LogTypes[{index}]: log type {log_type!r} is already claimed by enabled data model "
                    f"{other.id!r} ({_rel(repo, other.path)}:{other.document.position(('LogTypes',))[0]})",
                    "one enabled data model per log type: disable one or remove the log type",
                )
            else:
                claimed[log_type] = spec


# --- per-file checks that read other files -----------------------------------------------------


def _file_errors(spec: Spec) -> list[YamlError]:
    errors: list[YamlError] = []
    filename = spec.data.get("Filename")
    target = spec.python_path
    if isinstance(filename, str) and target is not None and not target.is_file():
        errors.append(
            spec.document.error(
                ("Filename",), f"Filename: {filename!r} does not exist next to this spec", _near(target)
            )
        )
        target = None
    if spec.kind == "datamodel":
        errors.extend(_data_model_errors(spec, target))
    return errors


def _near(target: Path) -> str:
    folder = target.parent
    if not folder.is_dir():
        return f"folder {folder.name!r} does not exist"
    names = [p.name for p in folder.iterdir() if p.suffix == target.suffix]
    return did_you_mean(target.name, names) or f"no such file in {folder.name}/"


def _data_model_errors(spec: Spec, module: Path | None) -> Iterator[YamlError]:
    mappings = spec.data.get("Mappings")
    if not isinstance(mappings, list):
        return
    names: frozenset[str] | YamlError | None = None
    for index, mapping in enumerate(mappings):
        if not isinstance(mapping, dict):
            continue
        path = mapping.get("Path")
        if isinstance(path, str):
            problem = _jsonpath_problem(path)
            if problem:
                yield spec.document.error(
                    ("Mappings", index, "Path"),
                    f"Mappings[{index}].Path: {path!r} is not valid JSONPath ({problem})",
                    "write a JSONPath such as $.detail.userName",
                )
        method = mapping.get("Method")
        if not isinstance(method, str):
            continue
        if "Filename" not in spec.data:
            yield spec.document.error(
                ("Mappings", index, "Method"),
                f"Mappings[{index}].Method: {method!r} needs a Filename (the module that defines it)",
            )
            continue
        if module is None:
            continue  # the missing Filename is already reported
        if names is None:
            names = _module_names(module)
            if isinstance(names, YamlError):
                yield names  # once; no Method can be checked against a module that does not parse
        if isinstance(names, YamlError):
            continue
        if method not in names:
            yield spec.document.error(
                ("Mappings", index, "Method"),
                f"Mappings[{index}].Method: {method!r} is not defined in {module.name}",
                did_you_mean(method, names) or "define it at the top level of the module",
            )


@lru_cache(maxsize=4096)
def _jsonpath_problem(path: str) -> str:
    """The parser's complaint about ``path``, or ``""`` when it is valid."""
    from pytest_panther.spec.jsonpath import parse_jsonpath as parse

    try:
        parse(path)
    except Exception as exc:  # jsonpath_ng raises several unrelated exception types
        return str(exc) or type(exc).__name__
    return ""


def _module_names(module: Path) -> frozenset[str] | YamlError:
    """Names bound at the top level of ``module`` (functions, classes, assignments, imports),
    or a :class:`YamlError` at the module's syntax error."""
    try:
        tree = ast.parse(module.read_bytes(), filename=str(module))
    except SyntaxError as exc:
        return YamlError(module, exc.lineno or 1, exc.offset or 1, f"cannot parse data model module: {exc.msg}")
    except ValueError as exc:  # null bytes (Python 3.11)
        return YamlError(module, 1, 1, f"cannot parse data model module: {exc}")
    except OSError as exc:
        return YamlError(module, 1, 1, f"cannot read data model module: {exc.strerror}")
    names: set[str] = set()
    for node in tree.body:
        names.update(_bound(node))
    return frozenset(names)


def _bound(node: Any) -> Iterator[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        yield node.name
    elif isinstance(node, ast.Assign):
        for target in node.targets:
            yield from (n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    elif isinstance(node, (ast.AnnAssign, ast.AugAssign)) and isinstance(node.target, ast.Name):
        yield node.target.id
    elif isinstance(node, (ast.Import, ast.ImportFrom)):
        for alias in node.names:
            yield (alias.asname or alias.name).split(".")[0]
    elif isinstance(node, (ast.If, ast.Try)):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt):
                yield from _bound(child)
