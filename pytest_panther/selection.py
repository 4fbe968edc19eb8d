"""Which collected items run: ``--panther-filter``, ``--panther-changed-since``,
``--panther-test-name`` and the ``pytest_panther_collect_spec`` hook. Items left out are reported
as deselected."""
from __future__ import annotations

import importlib
import warnings
from dataclasses import dataclass
from dataclasses import field
from fnmatch import fnmatch
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pytest_panther.collect import ItemKind
from pytest_panther.collect import SpecFile
from pytest_panther.spec.suggest import did_you_mean
from pytest_panther.spec_index import imports_any

if TYPE_CHECKING:
    from pytest_panther.session import PantherSession

__all__ = ["Change", "apply_selection", "change_of", "ignore_unaffected", "merge_worker_output", "worker_output",
           "without_tests"]

_CHANGE = pytest.StashKey["Change | None"]()


@dataclass
class Change:
    """What ``--panther-changed-since`` selects (computed once per run)."""

    #: The changed files, resolved.
    files: frozenset[Path]
    #: Spec files of the affected detections, plus the changed files (their problems), resolved.
    affected: frozenset[Path]
    #: GlobalIDs of the changed global helpers and of the helpers importing them.
    helpers: frozenset[str]
    #: Python test files not collected (unchanged, importing no changed helper).
    left_out: list[Path] = field(default_factory=list)
    #: Spec files not collected (no affected detection, no changed problem).
    specs_left_out: int = 0


def change_of(panther: PantherSession, config: pytest.Config) -> Change | None:
    """The selection of ``--panther-changed-since``, or None without that option."""
    if _CHANGE in config.stash:
        return config.stash[_CHANGE]
    since = panther.settings.changed_since
    change = None
    if since:
        select = importlib.import_module("pytest_panther.select")
        try:
            changed = select.changed_files(panther.root, since)
        except select.GitError as exc:
            raise pytest.UsageError(f"--panther-changed-since {since}: {exc}") from None
        files = frozenset(Path(p).resolve() for p in changed)
        index = select.RepositoryIndex(panther.repo)
        affected = {p.resolve() for p in select.affected_specs(panther.repo, changed, index=index)}
        helpers = select.changed_helpers(panther.repo, changed, index=index)
        change = Change(files, frozenset(affected | files), frozenset(helpers))
    config.stash[_CHANGE] = change
    return change


def ignore_unaffected(panther: PantherSession, config: pytest.Config, path: Path) -> bool | None:
    """``pytest_ignore_collect`` for ``--panther-changed-since`` without path arguments: spec files
    of unaffected detections are not collected at all, nor Python test files (``python_files``)
    that did not change and import no changed global helper (a helper's unittest file runs when
    the helper changed). Those are listed in the terminal summary. With path arguments, every
    Python test under them runs, and detections are deselected after collection."""
    if not panther.settings.changed_since or config.args_source == pytest.Config.ArgsSource.ARGS:
        return None
    change = change_of(panther, config)
    if change is None or path.is_dir():
        return None
    if path.suffix in (".yml", ".yaml", ".toml") and (panther.spec_file_known(path) or str(path) in panther.problem_files):
        if path.resolve() in change.affected:
            return None
        change.specs_left_out += 1
        return True
    if path.suffix == ".py" and path.name != "conftest.py" and any(fnmatch(path.name, p) for p in config.getini("python_files")):
        if path.resolve() in change.files or (change.helpers and imports_any(path, set(change.helpers))):
            return None
        change.left_out.append(path)
        return True
    return None


def apply_selection(panther: PantherSession, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect items of detections that the filters, the change selection or a
    ``pytest_panther_collect_spec`` implementation leave out."""
    settings = panther.settings
    change = change_of(panther, config)
    affected = change.affected if change is not None else None
    keep: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    verdicts: dict[object, bool] = {}
    for item in items:
        spec = getattr(item, "spec", None) or getattr(getattr(item, "parent", None), "spec", None)
        if spec is None:
            # A ::validate item of a file the change does not touch is not the change's problem.
            unaffected = affected is not None and isinstance(item.parent, SpecFile) and item.path.resolve() not in affected
            (dropped if unaffected else keep).append(item)
            continue
        wanted = verdicts.get(id(spec))
        if wanted is None:
            wanted = all(f.matches(spec.data) for f in settings.filters)
            if wanted and affected is not None:
                wanted = spec.path.resolve() in affected
            if wanted:
                wanted = config.hook.pytest_panther_collect_spec(spec=spec, config=config) is not False
            verdicts[id(spec)] = wanted
        (keep if wanted else dropped).append(item)
    if settings.test_names:
        keep, unnamed = _by_test_name(settings.test_names, keep, items)
        dropped += unnamed
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def _by_test_name(names: frozenset[str], kept: list[pytest.Item], collected: list[pytest.Item]
                  ) -> tuple[list[pytest.Item], list[pytest.Item]]:
    """``--panther-test-name``: PAT's ``--test-names``, an exact match on ``Name``. Keeps the test
    cases of those names, a duplicate-name error about one of them, and the validation item of
    each spec file that keeps a case; warns about a name no collected test case has."""
    chosen = {id(item) for item in kept if getattr(item, "test_name", None) in names}
    files = {item.path for item in kept if id(item) in chosen}
    keep = [
        item for item in kept
        if id(item) in chosen or (getattr(item, "panther_kind", None) == ItemKind.VALIDATE and item.path in files)
    ]
    kept_ids = {id(item) for item in keep}
    known = {name for item in collected if isinstance(name := getattr(item, "test_name", None), str)}
    for name in sorted(names - known):
        hint = did_you_mean(name, known)
        # Located at the option the user typed, not at this line of the installed package.
        warnings.warn_explicit(pytest.PytestWarning(
            f"--panther-test-name {name!r}: no collected test case has this name" + (f" ({hint})" if hint else "")
        ), pytest.PytestWarning, "--panther-test-name", 0)
    return keep, [item for item in kept if id(item) not in kept_ids]


def without_tests(panther: PantherSession, config: pytest.Config) -> set[str] | None:
    """IDs of the collected detections (path arguments, filters, the change selection and the collect hook applied)
    that have no test case at all; None when ``-k``, ``-m``, ``--lf`` or ``--panther-test-name``
    chose items (a detection
    without tests has no item those could match, so no honest list exists)."""
    if (config.option.keyword or config.option.markexpr or config.getoption("lf", False)
            or panther.settings.test_names):
        return None
    collected = panther.collected_specs
    if collected is None:
        # An xdist controller whose workers reported nothing (merge_worker_output): the specs
        # under the path arguments.
        roots = [Path(config.invocation_params.dir, arg.split("::")[0]).resolve() for arg in config.args]
        collected = {s.path for s in panther.repo.detections if any(s.path.is_relative_to(r) for r in roots)}
    change = change_of(panther, config)
    result: set[str] = set()
    for spec in panther.repo.detections:
        if spec.path not in collected or not spec.id or panther.test_cases_of(spec):
            continue
        if change is not None and spec.path.resolve() not in change.affected:
            continue  # deselected by --panther-changed-since with path arguments
        if all(f.matches(spec.data) for f in panther.settings.filters) and (
            config.hook.pytest_panther_collect_spec(spec=spec, config=config) is not False
        ):
            result.add(spec.id)
    return result


def worker_output(panther: PantherSession, config: pytest.Config) -> dict[str, object]:
    """What a pytest-xdist worker learnt while collecting and the controller's summary needs
    (the controller collects nothing itself): the spec files collected and what
    ``--panther-changed-since`` left out. Plain lists and ints, as execnet carries them."""
    output: dict[str, object] = {"panther_collected": sorted(str(p) for p in panther.collected_specs or ())}
    change = change_of(panther, config) if panther.settings.changed_since else None
    if change is not None:
        output["panther_left_out"] = sorted(str(p) for p in change.left_out)
        output["panther_specs_left_out"] = change.specs_left_out
    return output


def merge_worker_output(panther: PantherSession, config: pytest.Config, output: dict[str, object]) -> None:
    """On the xdist controller: fold in one worker's :func:`worker_output` (every worker collects
    the same files, so the summary then agrees with a serial run's)."""
    collected = output.get("panther_collected")
    if isinstance(collected, list):
        if panther.collected_specs is None:
            panther.collected_specs = set()
        panther.collected_specs.update(Path(p) for p in collected)
    change = change_of(panther, config) if panther.settings.changed_since else None
    left_out = output.get("panther_left_out")
    if change is not None and isinstance(left_out, list):
        known = set(change.left_out)
        change.left_out.extend(p for p in map(Path, left_out) if p not in known)
        specs_left_out = output.get("panther_specs_left_out")
        if isinstance(specs_left_out, int):
            change.specs_left_out = max(change.specs_left_out, specs_left_out)
