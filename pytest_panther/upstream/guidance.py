"""Conflict guidance for ``upstream pull``: which detection, which side changed what, and the
commands to go on.

During ``git rebase`` the *ours* side (index stage 2) is upstream's release plus the fork
commits already replayed, *theirs* (stage 3) is the fork commit being replayed, named by
``REBASE_HEAD`` (git-rebase(1)).
"""
from __future__ import annotations

import shlex
from typing import Any

from pytest_panther.spec.yaml import YamlError
from pytest_panther.spec.yaml import dump
from pytest_panther.spec.yaml import load
from pytest_panther.upstream.git import Git
from pytest_panther.upstream.history import repo_of_files
from pytest_panther.upstream.history import spec_for_path
from pytest_panther.upstream.migrate import edit_to_override
from pytest_panther.upstream.migrate import override_text
from pytest_panther.upstream.overrides import load_overrides_from_texts
from pytest_panther.upstream.overrides import override_id_key

__all__ = ["changed_keys", "conflict_guidance"]


def spec_data(git: Git, rev: str, path: str) -> dict[str, Any] | None:
    text = git.blob(rev, path)
    if text is None:
        return None
    try:
        data = load(text, path).data
    except YamlError:
        return None
    return data if isinstance(data, dict) else None


def changed_keys(old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[str]:
    """Top-level spec fields whose values differ (in the order of ``old`` then ``new``)."""
    old, new = old or {}, new or {}
    keys = [*old, *(k for k in new if k not in old)]
    return [k for k in keys if old.get(k, ...) != new.get(k, ...)]


def _describe(git: Git, old_rev: str, new_rev: str, path: str) -> str:
    old_exists, new_exists = git.blob_id(old_rev, path), git.blob_id(new_rev, path)
    if old_exists and not new_exists:
        return "deleted the file"
    if new_exists and not old_exists:
        return "added the file"
    if path.endswith((".yml", ".yaml")):
        keys = changed_keys(spec_data(git, old_rev, path), spec_data(git, new_rev, path))
        return f"changed {', '.join(keys)}" if keys else "changed only formatting or comments"
    numstat = git.out("diff", "--numstat", old_rev, new_rev, "--", path).split("\t")
    what = "the code" if path.endswith(".py") else "the file"
    return f"changed {what} (+{numstat[0]} -{numstat[1]} lines)" if len(numstat) > 2 else f"changed {what}"


def conflict_guidance(git: Git, paths: list[str], base: str, target: str, overrides: str, fork_head: str = "HEAD") -> str:
    """The text printed when the rebase stops on ``paths``; ``fork_head`` is the fork's HEAD
    before the pull, whose overrides are the ones that will apply."""
    commit = git.out("log", "-1", "--format=%h %s", "REBASE_HEAD")
    fork_parent = "REBASE_HEAD^"
    base_repo = repo_of_files(git, base, paths)
    prefix = overrides.rstrip("/") + "/"
    override_files = [f for f in git.files(fork_head) if f.startswith(prefix)]
    existing_overrides, _errors = load_overrides_from_texts(git.root, git.texts(fork_head, override_files), overrides)
    lines = [f"upstream pull stopped: conflict while replaying your commit {commit} onto {target}", ""]
    moves: list[str] = []
    for path in paths:
        spec = spec_for_path(base_repo, git.root, path)
        ident = spec.id if spec is not None and spec.id else ""
        what = f"{spec.kind} {ident}" if ident else "file"
        lines.append(f"CONFLICT {path} ({what})")
        lines.append(f"  upstream {base} -> {target}: {_describe(git, base, target, path)}")
        lines.append(f"  your commit:          {_describe(git, fork_parent, 'REBASE_HEAD', path)}")
        if ident and path.endswith((".yml", ".yaml")) and git.blob_id(target, path):
            before, after = spec_data(git, fork_parent, path), spec_data(git, "REBASE_HEAD", path)
            if before is not None and after is not None:
                fields, blocked = edit_to_override(before, after)
                existing = existing_overrides.get(ident)
                shadowed = [k for k in fields if existing is not None and k in existing.fields]
                fields = {k: v for k, v in fields.items() if k not in shadowed}
                if shadowed:
                    rel = existing.path.relative_to(git.root).as_posix() if existing is not None else ""
                    lines.append(f"  {rel} already sets {', '.join(shadowed)}: that value wins over this edit")
                if fields and not blocked:
                    id_key = override_id_key(spec) if spec is not None else "DetectionID"
                    if existing is not None:
                        target_file = existing.path.relative_to(git.root).as_posix()
                        lines.append(f"  your change as an override (add to {target_file}):")
                        text = dump(fields)
                        action = f"add the fields above to {target_file}"
                    else:
                        target_file = f"{overrides}/{ident}.yml"
                        lines.append(f"  your change as an override ({target_file}):")
                        text = override_text(ident, id_key, fields, path)
                        action = f"write {target_file} as above"
                    lines += [f"    {line}" for line in text.splitlines() if not line.startswith("#")]
                    moves.append(f"git checkout --ours -- {shlex.quote(path)} && ({action}) && git add {shlex.quote(path)} {shlex.quote(target_file)}")
                elif not fields and not blocked:
                    moves.append(f"git checkout --ours -- {shlex.quote(path)} && git add {shlex.quote(path)}")
                elif blocked:
                    lines.append(f"  cannot become an override: {', '.join(blocked)}")
        elif path.endswith(".py"):
            lines.append("  Python edits cannot become overrides: merge by hand, or copy the detection under a new ID")
        if not git.blob_id(target, path):
            lines.append(f"  upstream no longer has this file: `git rm {shlex.quote(path)}` accepts the deletion")
    lines.append("")
    lines.append("What to do next:")
    lines.append("  resolve the conflict markers, then:  git add <file> && panther-gitops upstream pull --continue")
    if moves:
        lines.append("  or keep upstream's version and move your edit into an override")
        lines.append("  (during a rebase \"ours\" is upstream's side):")
        lines += [f"    {m}" for m in moves]
        lines.append("    then: panther-gitops upstream pull --continue")
    lines.append("  or go back to where you were:        git rebase --abort")
    lines.append(f"`upstream pull --continue` finishes the rebase, records {target} as the base release and")
    lines.append("runs the tests of the affected detections.")
    return "\n".join(lines) + "\n"
