"""Which collected items run: ``--panther-filter``, ``--panther-changed-since`` and the
``pytest_panther_collect_spec`` hook. Items left out are reported as deselected."""
from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pytest_panther.collect import SpecFile

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
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def without_tests(panther: PantherSession, config: pytest.Config) -> set[str] | None:
    """IDs of the collected detections (path arguments, filters and the collect hook applied)
    that have no test case at all; None when ``-k``, ``-m`` or ``--lf`` chose items (a detection
    without tests has no item those could match, so no honest list exists)."""
    if config.option.keyword or config.option.markexpr or config.getoption("lf", False):
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
