"""Pack selection: which specs a fork deploys.

A pack is a spec ``AnalysisType: pack`` with ``PackID`` and ``PackDefinition: {IDs: [...]}``
(panther-analysis ``packs/*.yml``; sync-contract.md §3.5: the REST API has no pack endpoint,
so packs only group IDs). ``[tool.pytest-panther.upstream] packs`` lists the PackIDs to deploy.

Rules of :func:`deployable_ids`:

* no ``packs`` setting (or ``[]``): every spec is deployed;
* a spec that is in **no** pack is deployed when it is the fork's own: its ID is not in
  ``upstream_ids`` (the IDs of the base release, :func:`upstream_ids`). Without
  ``upstream_ids`` every spec in no pack counts as the fork's own (panther-analysis has ~200
  detections in no pack: pass ``upstream_ids`` so they follow ``unselected`` too);
* global helpers, data models and lookup tables are always deployed (detections of any pack
  may need them);
* any other spec is deployed when one of its packs is selected; otherwise it is left out
  (``unselected = "skip"``) or deployed with ``Enabled: false`` (``unselected = "disable"``,
  only for specs that have an ``Enabled`` field; others are left out);
* pack specs themselves are never in the result, nor are detections an override excludes
  (``Excluded``, :func:`not_deployed_reason`).

Every spec is still tested whatever the selection.
"""
from __future__ import annotations

import difflib
from collections.abc import Collection
from pathlib import Path

from pytest_panther.spec.model import Spec
from pytest_panther.spec.repository import Repository
from pytest_panther.upstream.config import UpstreamConfig
from pytest_panther.upstream.git import Git

__all__ = ["ALWAYS_DEPLOYED", "check_packs", "deployable_ids", "not_deployed_reason", "pack_members", "upstream_ids"]

#: Kinds deployed whatever the pack selection.
ALWAYS_DEPLOYED = frozenset({"global", "datamodel", "lookup_table"})


def not_deployed_reason(spec: Spec) -> str:
    """Why the sync leaves ``spec`` (overrides applied) out of the deployment whatever the pack
    selection, or "": an override's ``Excluded`` reason, or a ``Status`` Panther does not deploy.
    The plugin skips excluded detections' tests with the same reason."""
    from pytest_panther.sync.convert import RESOURCES
    from pytest_panther.sync.convert import resource_of

    if spec.excluded:
        return spec.excluded
    if spec.kind in RESOURCES and resource_of(spec) is None:  # the sync's Status rule, as PAT's
        return f"Status: {spec.data.get('Status')} is not deployed (an override with `Status: Stable` keeps it deployed)"
    return ""


def pack_members(repo: Repository) -> dict[str, set[str]]:
    """``{PackID: {member IDs}}`` from the repository's pack specs (malformed lists are skipped)."""
    packs: dict[str, set[str]] = {}
    for spec in repo.of_kind("pack"):
        definition = spec.data.get("PackDefinition")
        ids = definition.get("IDs") if isinstance(definition, dict) else None
        members = {i for i in ids if isinstance(i, str)} if isinstance(ids, list) else set()
        packs.setdefault(spec.id, set()).update(members)
    return packs


def check_packs(repo: Repository, config: UpstreamConfig) -> list[str]:
    """Problems with the ``packs`` setting: PackIDs that no pack spec has (with a suggestion)."""
    known = pack_members(repo)
    problems = []
    for pack in config.packs:
        if pack not in known:
            prefixed = [k for k in sorted(known) if k.lower().startswith(pack.lower())]
            close = list(dict.fromkeys([*prefixed, *difflib.get_close_matches(pack, sorted(known), n=3)]))[:3]
            hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
            problems.append(f"pyproject.toml [tool.pytest-panther.upstream] packs: no pack {pack!r}{hint}")
    return problems


def _enabled(spec: Spec) -> bool:
    return spec.data.get("Enabled") is True if "Enabled" in spec.data else True


def upstream_ids(root: Path, config: UpstreamConfig) -> frozenset[str] | None:
    """The spec IDs of the recorded base release (``config.base``) in the git repository at
    ``root``, or None when there is no base release or its tag is not fetched here."""
    from pytest_panther.upstream.history import spec_ids_at

    git = Git(root)
    if not config.base or git.rev(config.base) is None:
        return None
    return frozenset(spec_ids_at(git, config.base))


def deployable_ids(repo: Repository, config: UpstreamConfig, upstream_ids: Collection[str] | None = None) -> dict[str, bool]:
    """``{spec ID: Enabled value to deploy}`` for every spec the sync should deploy (rules
    above). The value is the spec's own (overridden) ``Enabled`` (True for specs without that
    field), or False for an unselected spec in ``disable`` mode. IDs not in the result are
    not deployed (and, if present in Panther, are deleted by the sync)."""
    packs = pack_members(repo)
    selected: set[str] = set()
    in_any: set[str] = set()
    for pack, members in packs.items():
        in_any |= members
        if pack in config.packs:
            selected |= members
    result: dict[str, bool] = {}
    for spec in repo.specs:
        if not spec.id or spec.kind == "pack" or spec.excluded:
            continue
        own = spec.id not in in_any and (upstream_ids is None or spec.id not in upstream_ids)
        if not config.packs or spec.kind in ALWAYS_DEPLOYED or own or spec.id in selected:
            result[spec.id] = _enabled(spec)
        elif config.unselected == "disable" and "Enabled" in spec.data:
            result[spec.id] = False
    return result
