"""What of a commit gets deployed, beyond the specs themselves: the fork's upstream settings.

Read from the commit, like everything the sync deploys:

* ``[tool.pytest-panther.upstream]`` of its ``pyproject.toml``
  (:func:`pytest_panther.upstream.config.parse_config`): ``packs`` selects what to deploy,
  ``unselected`` says whether the rest is skipped or deployed disabled, ``overrides`` names the
  override folder;
* the override files in that folder (:func:`pytest_panther.upstream.overrides.load_overrides_from_texts`),
  applied to each spec with :func:`~pytest_panther.upstream.overrides.apply_override`;
* pack membership from the ``pack`` specs (:func:`pytest_panther.upstream.packs.deployable_ids`),
  parsed only when ``packs`` is set; then the IDs of the base release ``base``
  (:func:`pytest_panther.upstream.packs.upstream_ids`, read once per base and process) tell
  upstream detections that are in no pack, which follow ``unselected``, from the fork's own,
  which are always deployed.

:attr:`Selection.signature` changes whenever any of these does; the plan then compares every
spec instead of only those whose blobs changed.
"""
from __future__ import annotations

import functools
import json
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_panther.spec.model import Spec
from pytest_panther.spec.repository import Repository
from pytest_panther.spec.repository import load_repository_from_texts
from pytest_panther.upstream.config import ConfigError
from pytest_panther.upstream.config import UpstreamConfig
from pytest_panther.upstream.config import parse_config
from pytest_panther.upstream.git import Git
from pytest_panther.upstream.overrides import Override
from pytest_panther.upstream.overrides import load_overrides_from_texts
from pytest_panther.upstream.overrides import patch_spec
from pytest_panther.upstream.packs import deployable_ids
from pytest_panther.upstream.packs import not_deployed_reason
from pytest_panther.upstream.packs import upstream_ids

if TYPE_CHECKING:
    from pytest_panther.sync.desired import Snapshot

__all__ = ["Selection", "SelectionError", "select"]


class SelectionError(Exception):
    """The commit's upstream settings are invalid (nothing can be planned safely)."""


@dataclass
class Selection:
    config: UpstreamConfig
    override_files: dict[str, str]  # path -> blob id
    pack_files: dict[str, str]  # path -> blob id (only when packs are selected)
    overrides: dict[str, Override] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    #: Why specs seen by :meth:`apply` are not deployed (ID -> reason), for the plan's deletes.
    reasons: dict[str, str] = field(default_factory=dict)
    _packs: list[Spec] | None = None

    @property
    def signature(self) -> str:
        return json.dumps([asdict(self.config), sorted(self.override_files.items()), sorted(self.pack_files.items())])

    def pack_specs(self, snap: Snapshot) -> list[Spec]:
        if self._packs is None:
            texts = {p: snap.blobs[sha].decode("utf-8", "replace") for p, sha in self.pack_files.items()}
            self._packs = load_repository_from_texts(Path("."), texts, paths=sorted({p.split("/", 1)[0] for p in texts}) or ["-"]).specs
            for spec in self._packs:  # an override of a pack changes its IDs
                self.errors.extend(p.format() for p in patch_spec(spec, self.overrides.get(spec.id)))
        return self._packs

    def apply(self, snap: Snapshot, specs: list[Spec]) -> tuple[list[Spec], dict[str, bool]]:
        """Patch ``specs`` with their overrides (in place: ``spec.data`` becomes a patched copy)
        and return those to deploy with the ``Enabled`` value each gets (see
        :func:`~pytest_panther.upstream.packs.deployable_ids`)."""
        for spec in specs:
            self.errors.extend(p.format() for p in patch_spec(spec, self.overrides.get(spec.id)))
            reason = not_deployed_reason(spec)
            if reason:
                self.reasons[spec.id] = reason
        specs = [s for s in specs if not s.excluded]
        enabled = {spec.id: (spec.data.get("Enabled") is True if "Enabled" in spec.data else True) for spec in specs}
        if not self.config.packs or not specs:
            return specs, enabled
        repo = Repository(root=Path("."), specs=[*specs, *self.pack_specs(snap)])
        chosen = deployable_ids(repo, self.config, _upstream_ids(snap.repo, self.config.base))
        for spec in specs:
            if spec.id not in chosen:
                self.reasons.setdefault(spec.id, f"in no selected pack ({', '.join(self.config.packs)})")
        return [s for s in specs if s.id in chosen], chosen


def _upstream_ids(repo: Path, base: str) -> frozenset[str] | None:
    """:func:`~pytest_panther.upstream.packs.upstream_ids` of ``base`` in ``repo``, cached by the
    commit the tag names (a plan reads it for the synced commit and for HEAD)."""
    commit = Git(repo).rev(base) if base else None
    if commit is None:
        return None
    return _ids_of_base(str(Path(repo).resolve()), base, commit)


@functools.lru_cache(maxsize=8)
def _ids_of_base(repo: str, base: str, commit: str) -> frozenset[str] | None:
    return upstream_ids(Path(repo), UpstreamConfig(base=base))


def select(snap: Snapshot) -> Selection:
    """The :class:`Selection` of a snapshot (reads override blobs into ``snap.blobs``).

    :raises SelectionError: invalid ``pyproject.toml`` or upstream settings.
    """
    from pytest_panther.sync.git import read_blobs

    try:
        config = parse_config(snap.pyproject, "pyproject.toml") if snap.pyproject else UpstreamConfig()
    except ConfigError as exc:
        raise SelectionError(str(exc)) from None
    prefix = config.overrides.rstrip("/") + "/"
    override_files = {p: sha for p, sha in snap.all_files.items() if p.startswith(prefix) and p.endswith((".yml", ".yaml"))}
    pack_files = {u.yaml: u.yaml_sha for u in snap.units.values() if u.kind == "pack"} if config.packs else {}
    missing = [sha for sha in [*override_files.values(), *pack_files.values()] if sha not in snap.blobs]
    snap.blobs.update(read_blobs(snap.repo, missing))
    texts = {p: snap.blobs[sha].decode("utf-8", "replace") for p, sha in override_files.items()}
    overrides, errors = load_overrides_from_texts(Path("."), texts, config.overrides)
    selection = Selection(config, override_files, pack_files, overrides, [e.format() for e in errors])
    return selection
