"""Which collected items run: ``--panther-filter``, ``--panther-changed-since``,
``--panther-test-name`` and the ``pytest_panther_collect_spec`` hook. Items left out are reported
as deselected."""
from __future__ import annotations

import importlib
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pytest_panther.collect import ItemKind
from pytest_panther.collect import SpecFile
from pytest_panther.spec.suggest import did_you_mean

if TYPE_CHECKING:
    from pytest_panther.session import PantherSession

__all__ = ["apply_selection", "without_tests"]


def apply_selection(panther: PantherSession, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect items of detections that the filters, the change selection or a
    ``pytest_panther_collect_spec`` implementation leave out."""
    settings = panther.settings
    affected = None
    if settings.changed_since:
        select = importlib.import_module("pytest_panther.select")
        try:
            changed = select.changed_files(panther.root, settings.changed_since)
        except select.GitError as exc:
            raise pytest.UsageError(f"--panther-changed-since {settings.changed_since}: {exc}") from None
        affected = {p.resolve() for p in select.affected_specs(panther.repo, changed)}
        affected |= {Path(p).resolve() for p in changed}  # problems of changed non-spec files
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
        warnings.warn(pytest.PytestWarning(
            f"--panther-test-name {name!r}: no collected test case has this name" + (f" ({hint})" if hint else "")
        ), stacklevel=1)
    return keep, [item for item in kept if id(item) not in kept_ids]


def without_tests(panther: PantherSession, config: pytest.Config) -> set[str] | None:
    """IDs of the collected detections (path arguments, filters and the collect hook applied)
    that have no test case at all; None when ``-k``, ``-m``, ``--lf`` or ``--panther-test-name``
    chose items (a detection
    without tests has no item those could match, so no honest list exists)."""
    if (config.option.keyword or config.option.markexpr or config.getoption("lf", False)
            or panther.settings.test_names):
        return None
    collected = panther.collected_specs
    if collected is None:
        # An xdist controller collects nothing itself: the specs under the path arguments.
        roots = [Path(config.invocation_params.dir, arg.split("::")[0]).resolve() for arg in config.args]
        collected = {s.path for s in panther.repo.detections if any(s.path.is_relative_to(r) for r in roots)}
    result: set[str] = set()
    for spec in panther.repo.detections:
        if spec.path not in collected or not spec.id or panther.test_cases_of(spec):
            continue
        if all(f.matches(spec.data) for f in panther.settings.filters) and (
            config.hook.pytest_panther_collect_spec(spec=spec, config=config) is not False
        ):
            result.add(spec.id)
    return result
