"""Which detections a change touches: the selection behind ``panther-test`` and ``--panther-changed-since``.

A detection is *affected* by a set of changed files when (issue 3 item 6):

* its spec YAML or its ``Filename`` ``.py`` changed;
* its ``.py`` imports a changed global helper, by GlobalID (``import X`` / ``from X import …``,
  anywhere in the module, found with :mod:`ast`), directly or through helpers importing helpers
  (detections import helpers by GlobalID: shared/reference/semantics.md §5.1);
* it is a rule whose ``LogTypes`` a changed data model (its YAML or its ``.py``, or a helper that
  module imports) covers — the model is looked up by log type at run time (semantics.md §4.4);
  enabled or not, since the change may have toggled ``Enabled``;
* an override file for its ID changed (``overrides/<ID>.yml``, or any file under the overrides
  folder naming the ID in ``DetectionID``/``RuleID``/``PolicyID``; issue 7 item 4);
* it is a derived detection whose ``BaseDetection`` is affected.

A deleted ``.py`` that no spec names any more is taken as a deleted global helper named by its
file stem, so the detections still importing it are tested (and fail).

Two entry points share one algorithm over the look-ups of :mod:`pytest_panther.spec_index`:
:func:`affected_specs` works on a loaded :class:`~pytest_panther.spec.repository.Repository`;
:func:`affected_spec_files` reads the disk itself and parses only the files a plain-text
pre-filter cannot rule out, which keeps a pre-commit hook on a 1,300-spec repository fast.
"""
from __future__ import annotations

import subprocess
from collections.abc import Iterable
from pathlib import Path

from pytest_panther.spec.model import Spec
from pytest_panther.spec.repository import DEFAULT_PATHS
from pytest_panther.spec.repository import Repository
from pytest_panther.spec.yaml import YamlError
from pytest_panther.spec.yaml import load_file
from pytest_panther.spec_index import Index
from pytest_panther.spec_index import Paths
from pytest_panther.spec_index import RepositoryIndex
from pytest_panther.spec_index import SpecIndex
from pytest_panther.spec_index import imported_modules
from pytest_panther.spec_index import imports_any
from pytest_panther.upstream.overrides import ID_KEYS

__all__ = ["GitError", "RepositoryIndex", "SpecIndex", "affected_spec_files", "affected_specs", "changed_files", "changed_helpers",
           "imported_modules", "spec_files_for"]

_SPEC_SUFFIXES = (".yml", ".yaml")


class GitError(Exception):
    """git is missing, the folder is not a git work tree, or a revision is unknown."""


# --------------------------------------------------------------------------- changed files


def _git(root: Path, *args: str) -> str:
    try:
        proc = subprocess.run(["git", "-c", "core.quotepath=off", *args], cwd=root, capture_output=True, text=True)
    except OSError as exc:
        raise GitError(f"cannot run git: {exc.strerror}") from None
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"]
        message = next((line for line in lines if line.startswith(("fatal:", "error:"))), lines[0])
        raise GitError(f"git {' '.join(args[:2])} failed in {root}: {message}")
    return proc.stdout


def changed_files(root: Path, since: str | None = None, *, staged: bool = False) -> list[Path]:
    """Absolute paths of the files changed in the git work tree holding ``root``, sorted.

    * ``staged=True``: the index against ``HEAD`` (or against ``since`` when given) — what a
      commit would record;
    * ``since=REF``: the working tree against the merge base of ``REF`` and ``HEAD``
      (``git diff --merge-base REF``, git >= 2.30), so ``origin/main`` gives the branch's own
      changes, committed or not; untracked files are included;
    * neither: the working tree against ``HEAD`` plus untracked files.

    Added, modified, deleted and both sides of a rename are listed (renames are split into a
    deletion and an addition with ``--no-renames``); deleted paths no longer exist.
    In a repository without commits, everything staged (and untracked) counts as changed.

    :raises GitError: git missing, ``root`` outside a work tree, or ``since`` unknown.
    """
    root = Path(root)
    top = Path(_git(root, "rev-parse", "--show-toplevel").strip())
    has_head = _is_commit(root, "HEAD")
    if since and not _is_commit(root, since):
        raise GitError(f"unknown git revision {since!r} in {top} (a branch, tag or commit; a shallow CI clone may need a fetch)")
    diff = ["diff", "--name-only", "-z", "--no-renames", "--no-ext-diff"]
    outputs: list[str] = []
    if staged:
        outputs.append(_git(root, *diff, "--cached", *([since] if since else [])))
    elif since:
        outputs.append(_git(root, *diff, "--merge-base", since) if has_head else _git(root, *diff, since))
    elif has_head:
        outputs.append(_git(root, *diff, "HEAD"))
    else:
        outputs.append(_git(root, *diff, "--cached"))
    if not staged:
        outputs.append(_git(root, "ls-files", "--others", "--exclude-standard", "-z"))
    names = {name for out in outputs for name in out.split("\0") if name}
    return sorted(top / name for name in names)


def _is_commit(root: Path, rev: str) -> bool:
    try:
        _git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    except GitError:
        return False
    return True


# --------------------------------------------------------------------------- selection


def affected_specs(
    repo: Repository, changed: Iterable[Path], *, overrides: str = "overrides", index: RepositoryIndex | None = None,
) -> set[Path]:
    """Spec paths (as in ``repo``) of the detections affected by ``changed`` files.

    ``changed`` holds paths (absolute, or relative to ``repo.root``), existing or deleted, e.g.
    from :func:`changed_files`. Files that are neither specs, their ``.py``, nor override files
    (any ``*.yml``/``*.yaml`` under ``root/<overrides>``) are ignored, so the result may be empty.
    Pass ``index`` (a :class:`RepositoryIndex` of ``repo``) to reuse it.
    """
    index = index if index is not None else RepositoryIndex(repo)
    return _affected(index, index.norm, changed, overrides)


def affected_spec_files(
    root: Path, changed: Iterable[Path], paths: Iterable[str] = DEFAULT_PATHS, *, overrides: str = "overrides",
    index: SpecIndex | None = None,
) -> set[Path]:
    """Like :func:`affected_specs`, for the repository at ``root`` (spec folders ``paths``),
    without loading it whole: only the specs the selection needs are parsed. Spec paths are
    absolute. Pass ``index`` (a :class:`SpecIndex` of the same root) to reuse what it read."""
    index = index if index is not None else SpecIndex(root, paths)
    return _affected(index, index.norm, changed, overrides)


def changed_helpers(repo: Repository, changed: Iterable[Path], *, index: RepositoryIndex | None = None) -> set[str]:
    """GlobalIDs of the global helpers ``changed`` touches (their spec or ``.py``; a deleted ``.py``
    no spec names counts by its stem), plus every helper importing one of them, transitively.
    Pass ``index`` (a :class:`RepositoryIndex` of ``repo``) to reuse it."""
    index = index if index is not None else RepositoryIndex(repo)
    helpers: set[str] = set()
    for raw in changed:
        path = index.norm.changed(raw)
        if path.suffix in _SPEC_SUFFIXES:
            spec = index.spec_at(path)
            specs = [spec] if spec is not None else []
        elif path.suffix == ".py":
            specs = index.specs_for_python(path)
            if not specs and not path.exists():
                helpers.add(path.stem)
        else:
            continue
        helpers.update(spec.id for spec in specs if spec.kind == "global" and spec.id)
    return _helper_closure(index.globals(), helpers) if helpers else set()


def spec_files_for(root: Path, files: Iterable[Path], paths: Iterable[str] = DEFAULT_PATHS) -> set[Path]:
    """The spec files among ``files`` plus the specs of the ``.py`` files among them
    (:meth:`SpecIndex.spec_files_for`); absolute paths. No dependents are added."""
    return SpecIndex(root, paths).spec_files_for(files)


def _affected(index: Index, norm: Paths, changed: Iterable[Path], overrides: str) -> set[Path]:
    overrides_dir = Path(norm.real) / overrides
    selected: dict[Path, Spec] = {}
    helpers: set[str] = set()
    models: dict[Path, Spec] = {}
    override_ids: set[str] = set()

    def take(spec: Spec) -> None:
        if spec.is_detection:
            selected[spec.path] = spec
        elif spec.kind == "global" and spec.id:
            helpers.add(spec.id)
        elif spec.kind == "datamodel":
            models[spec.path] = spec

    for raw in changed:
        path = norm.changed(raw)
        if path.suffix in _SPEC_SUFFIXES:
            if overrides_dir in path.parents:
                override_ids.add(_override_id(path))
                continue
            spec = index.spec_at(path)
            if spec is not None:
                take(spec)
        elif path.suffix == ".py":
            specs = index.specs_for_python(path)
            for spec in specs:
                take(spec)
            if not specs and not path.exists():
                helpers.add(path.stem)

    if override_ids:
        for spec in index.specs_with_ids(override_ids):
            take(spec)

    if helpers:
        closure = _helper_closure(index.globals(), helpers)
        for spec in index.detections_importing(closure):
            selected[spec.path] = spec
        for model in index.data_models():
            if model.python_path is not None and imports_any(model.python_path, closure):
                models[model.path] = model

    log_types = {t for model in models.values() for t in model.log_types}
    if log_types:
        for spec in index.detections_with_log_types(log_types):
            selected[spec.path] = spec

    frontier = {spec.id for spec in selected.values() if spec.id}
    while frontier:
        new = [s for s in index.derived_from(frontier) if s.is_detection and s.path not in selected]
        selected.update((s.path, s) for s in new)
        frontier = {s.id for s in new if s.id}
    return set(selected)


def _override_id(path: Path) -> str:
    """The detection an override file patches: its ``DetectionID``/``RuleID``/``PolicyID`` key,
    else its file name without the suffix (:mod:`pytest_panther.upstream.overrides`)."""
    try:
        data = load_file(path).data
    except YamlError:
        data = None
    if isinstance(data, dict):
        for key in ID_KEYS:
            if isinstance(data.get(key), str) and data[key]:
                return str(data[key])
    return path.stem


def _helper_closure(globals_: list[Spec], changed: set[str]) -> set[str]:
    """``changed`` GlobalIDs plus every global helper importing one of them, transitively."""
    closure = set(changed)
    pending: list[tuple[str, Path]] = []
    for helper in globals_:
        if helper.id and helper.python_path is not None:
            pending.append((helper.id, helper.python_path))
    grew = True
    while grew:
        grew = False
        for helper_id, python_path in pending:
            if helper_id not in closure and imports_any(python_path, closure):
                closure.add(helper_id)
                grew = True
    return closure
