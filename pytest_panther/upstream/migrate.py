"""``panther-gitops upstream migrate-edits``: turn in-place YAML edits of upstream detections
into override files, so the next rebase onto an upstream release is clean.

For each upstream spec YAML the fork modified since the base release, the field-level
difference (base → HEAD) is written as ``overrides/<ID>.yml`` and the base release's YAML is
restored, in one new commit. A file is migrated only when every changed field can be
overridden and applying the new override to upstream's YAML gives exactly what the fork
deploys today (checked); otherwise it is left alone and reported, as are in-place ``.py``
edits (code cannot be an override). An upstream detection the fork deleted (``git rm``)
becomes an ``Excluded`` override (the reason: the subject of the commit that deleted it) and
its files come back, so upstream changes to them no longer conflict. A pack's changed
``PackDefinition`` IDs become an override of the pack.
"""
from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

from pytest_panther.spec.model import Spec
from pytest_panther.spec.yaml import dump
from pytest_panther.spec.yaml import load
from pytest_panther.upstream.config import UpstreamConfig
from pytest_panther.upstream.git import Git
from pytest_panther.upstream.history import fork_edits
from pytest_panther.upstream.history import repo_of_files
from pytest_panther.upstream.overrides import LIST_FIELDS
from pytest_panther.upstream.overrides import SET_FIELDS
from pytest_panther.upstream.overrides import Override
from pytest_panther.upstream.overrides import _parse
from pytest_panther.upstream.overrides import apply_override
from pytest_panther.upstream.overrides import load_overrides
from pytest_panther.upstream.overrides import override_id_key

__all__ = ["MigrateResult", "edit_to_override", "migrate_edits", "override_text"]

_MISSING = object()


def edit_to_override(base: dict[str, Any], edited: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Override fields that turn spec data ``base`` into ``edited``, and the changed fields
    that cannot be expressed (not overridable, or deleted)."""
    fields: dict[str, Any] = {}
    blocked: list[str] = []
    for key in [*base, *(k for k in edited if k not in base)]:
        old, new = base.get(key, _MISSING), edited.get(key, _MISSING)
        if old == new:
            continue
        if new is _MISSING:
            blocked.append(f"{key} (removed)")
        elif key == "Tests":
            patch = _tests_patch(old if isinstance(old, list) else [], new)
            if patch is None:
                blocked.append("Tests (cases without a unique Name)")
            else:
                fields[key] = patch
        elif key in LIST_FIELDS and isinstance(old, list) and isinstance(new, list):
            fields[key] = _list_patch(old, new)
        elif key == "PackDefinition" and isinstance(old, dict) and isinstance(new, dict) and set(old) | set(new) == {"IDs"}:
            old_ids, new_ids = old.get("IDs"), new.get("IDs")
            if not isinstance(old_ids, list) or not isinstance(new_ids, list):
                blocked.append("PackDefinition (IDs is not a list)")
            else:
                fields[key] = {"IDs": _list_patch(old_ids, new_ids)}
        elif key in SET_FIELDS or key in LIST_FIELDS:
            fields[key] = new
        else:
            blocked.append(key)
    return fields, blocked


def _list_patch(old: list[Any], new: list[Any]) -> Any:
    """``{remove, add}`` turning ``old`` into ``new``, or ``new`` itself when order matters."""
    patch = {"remove": [v for v in old if v not in new], "add": [v for v in new if v not in old]}
    patch = {k: v for k, v in patch.items() if v}
    if [v for v in old if v not in patch.get("remove", [])] + patch.get("add", []) == new:
        return patch
    return new


def _tests_patch(old: list[Any], new: Any) -> dict[str, Any] | None:
    if not isinstance(new, list):
        return None
    def names(cases: list[Any]) -> list[Any]:
        return [c.get("Name") if isinstance(c, dict) else None for c in cases]
    for cases in (old, new):
        ns = names(cases)
        if None in ns or len(set(ns)) != len(ns):
            return None
    before = {c["Name"]: c for c in old}
    after = {c["Name"]: c for c in new}
    remove = [n for n, c in before.items() if after.get(n) != c]
    add = [c for c in new if before.get(c["Name"]) != c]
    patch = {k: v for k, v in (("remove", remove), ("add", add)) if v}
    return patch


def override_text(ident: str, id_key: str, fields: dict[str, Any], source: str, action: str = "an in-place edit of") -> str:
    header = f"# Override of upstream {ident}, moved out of {action} {source}\n# by `panther-gitops upstream migrate-edits`.\n"
    return header + dump({id_key: ident, **fields})


@dataclass
class MigrateResult:
    migrated: list[str] = field(default_factory=list)  # "ID: path -> override path"
    skipped: list[str] = field(default_factory=list)  # reasons, one per file
    commit: str | None = None


def migrate_edits(git: Git, config: UpstreamConfig, *, commit: bool = True) -> MigrateResult:
    """Migrate the fork at ``git.root`` (clean tree required; see module docstring).

    :raises GitError: when git fails; :raises RuntimeError: on a dirty tree or no base release.
    """
    if not config.base:
        raise RuntimeError("no base release recorded; run `panther-gitops upstream init --release vX.Y.Z`")
    if git.rebase_in_progress() or not git.is_clean():
        raise RuntimeError("commit or stash your changes (and finish any rebase) before migrate-edits")
    root = git.root
    edits = fork_edits(git, config.base)
    yaml_edits = [e.path for e in edits if e.kind == "yaml" and e.status in "MD"]
    base_repo, head_repo = repo_of_files(git, config.base, yaml_edits), repo_of_files(git, "HEAD", yaml_edits)
    existing, _errors = load_overrides(root, config.overrides)
    deleted = {e.path: base_repo.by_path.get(root / e.path) for e in edits if e.kind == "yaml" and e.status == "D"}
    deleted_code = {s.python_path.relative_to(root).as_posix() for s in deleted.values() if s is not None and s.id and s.python_path is not None}
    result = MigrateResult()
    touched: list[str] = []
    for edit in edits:
        if edit.kind == "python" and not (edit.status == "D" and edit.path in deleted_code):
            result.skipped.append(f"{edit.path} ({', '.join(edit.ids) or 'no spec'}): Python edits cannot become overrides; keep the commit or write a new detection")
            continue
        if edit.kind != "yaml":
            continue
        if edit.status == "D":
            touched += _exclude(git, config, deleted.get(edit.path), edit.path, existing, result)
            continue
        if edit.status != "M":
            result.skipped.append(f"{edit.path}: the fork changed its file type; left in place")
            continue
        base_spec = base_repo.by_path.get(root / edit.path)
        head_spec = head_repo.by_path.get(root / edit.path)
        if base_spec is None or head_spec is None or not base_spec.id:
            continue
        ident = base_spec.id
        if head_spec.id != ident:
            result.skipped.append(f"{edit.path}: the fork changed the ID {ident} to {head_spec.id}; IDs cannot be overridden")
            continue
        fields, blocked = edit_to_override(base_spec.document.data, head_spec.document.data)
        if blocked:
            result.skipped.append(f"{edit.path} ({ident}): cannot override {', '.join(blocked)}; left in place")
            continue
        old = existing.get(ident)
        if old is not None:
            for key, value in old.fields.items():
                fields[key] = value if key not in fields else apply_override(head_spec.document.data, old)[0].get(key)
        target = old.path if old is not None else root / config.overrides / f"{_safe(ident)}.yml"
        text = override_text(ident, override_id_key(base_spec), fields, edit.path)
        new_override, problems = _parse(load(text, target))
        expected = apply_override(head_spec.document.data, old)[0] if old is not None else head_spec.document.data
        if new_override is None or problems or apply_override(base_spec.document.data, new_override)[0] != expected:
            result.skipped.append(f"{edit.path} ({ident}): the edit cannot be expressed exactly as an override; left in place")
            continue
        touched += _write(git, config.base, target, text, [edit.path])
        result.migrated.append(f"{ident}: {edit.path} -> {target.relative_to(root).as_posix()}")
    if touched and commit:
        git.run("add", "--", *touched)
        ids = ", ".join(m.split(":", 1)[0] for m in result.migrated)
        message = f"Move in-place edits of upstream detections into overrides\n\nRestores {config.base}'s files of {ids} so the next upstream rebase is clean."
        git.run("commit", "--quiet", "-m", message, "--", *touched)
        result.commit = git.out("rev-parse", "HEAD")
    return result


def _write(git: Git, base: str, target: Path, text: str, restore: list[str]) -> list[str]:
    """Write the override ``target`` and restore ``restore`` from ``base``; the paths touched."""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    for path in restore:
        upstream_text = git.blob(base, path)
        assert upstream_text is not None
        (git.root / path).parent.mkdir(parents=True, exist_ok=True)
        (git.root / path).write_text(upstream_text, encoding="utf-8")
    return [*restore, target.relative_to(git.root).as_posix()]


def _exclude(git: Git, config: UpstreamConfig, spec: Spec | None, path: str, existing: dict[str, Override], result: MigrateResult) -> list[str]:
    """An upstream spec the fork deleted: an ``Excluded`` override and upstream's files back."""
    if spec is None or not spec.id:
        result.skipped.append(f"{path}: deleted by the fork; not a spec with an ID, left deleted")
        return []
    if spec.kind == "pack":
        result.skipped.append(f"{path} ({spec.id}): deleted by the fork; restore it and select packs in [tool.pytest-panther.upstream] packs")
        return []
    subject = git.out("log", "-1", "--format=%s", "--diff-filter=D", f"{config.base}..HEAD", "--", path) or "deleted by the fork"
    old = existing.get(spec.id)
    fields = {**(old.fields if old is not None else {}), "Excluded": subject}
    target = old.path if old is not None else git.root / config.overrides / f"{_safe(spec.id)}.yml"
    restore = [path]
    if spec.python_path is not None and git.blob_id("HEAD", spec.python_path.relative_to(git.root).as_posix()) is None:
        restore.append(spec.python_path.relative_to(git.root).as_posix())
    text = override_text(spec.id, override_id_key(spec), fields, path, "the fork's deletion of")
    result.migrated.append(f"{spec.id}: deleted {path} -> {target.relative_to(git.root).as_posix()} (Excluded)")
    return _write(git, config.base, target, text, restore)


def _safe(ident: str) -> str:
    name = "".join(c if c.isalnum() or c in "._- " else "_" for c in ident).strip(". ")
    return name or "override"

