"""Conflict guidance for ``upstream pull``: which detection, which side changed what, and the
commands that resolve it, fitted to the case (:func:`pytest_panther.upstream.conflicts.classify`):
a deleted upstream detection, a global helper, a detection's Python, a pack, a spec's fields.

During ``git rebase`` the *ours* side (index stage 2, ``HEAD``) is upstream's release plus the
fork commits already replayed, *theirs* (stage 3) is the fork commit being replayed, named by
``REBASE_HEAD`` (git-rebase(1)).
"""
from __future__ import annotations

import shlex

from pytest_panther.spec.model import Spec
from pytest_panther.spec.yaml import dump
from pytest_panther.upstream.conflicts import changed_keys
from pytest_panther.upstream.conflicts import classify
from pytest_panther.upstream.conflicts import describe
from pytest_panther.upstream.conflicts import spec_data
from pytest_panther.upstream.git import Git
from pytest_panther.upstream.history import repo_of_files
from pytest_panther.upstream.history import spec_for_path
from pytest_panther.upstream.migrate import edit_to_override
from pytest_panther.upstream.migrate import override_text
from pytest_panther.upstream.overrides import Override
from pytest_panther.upstream.overrides import load_overrides_from_texts
from pytest_panther.upstream.overrides import override_id_key

__all__ = ["changed_keys", "conflict_guidance", "spec_data"]

_CONTINUE = "panther-gitops upstream pull --continue"


def _q(*paths: str) -> str:
    return " ".join(shlex.quote(p) for p in paths)


def _override_move(git: Git, path: str, spec: Spec, existing: Override | None, overrides: str, lines: list[str]) -> str | None:
    """Advice for a spec YAML (fields or a pack's IDs): the fork commit's change as an override.
    Returns the command that applies it, or None."""
    before, after = spec_data(git, "REBASE_HEAD^", path), spec_data(git, "REBASE_HEAD", path)
    if before is None or after is None:
        return None
    fields, blocked = edit_to_override(before, after)
    shadowed = [k for k in fields if existing is not None and k in existing.fields]
    fields = {k: v for k, v in fields.items() if k not in shadowed}
    if shadowed and existing is not None:
        lines.append(f"  {existing.path.relative_to(git.root).as_posix()} already sets {', '.join(shadowed)}: that value wins over this edit")
    if blocked:
        lines.append(f"  cannot become an override: {', '.join(blocked)}; merge by hand")
        return None
    if not fields:
        return f"or keep upstream's version (your override has the change): git checkout --ours -- {_q(path)} && git add {_q(path)}"
    if existing is not None:
        target = existing.path.relative_to(git.root).as_posix()
        lines.append(f"  your change as an override (add to {target}):")
        text, action = dump(fields), f"add the fields above to {target}"
    else:
        target = f"{overrides}/{spec.id}.yml"
        lines.append(f"  your change as an override ({target}):")
        text, action = override_text(spec.id, override_id_key(spec), fields, path), f"write {target} as above"
    lines += [f"    {line}" for line in text.splitlines() if not line.startswith("#")]
    return f"or keep upstream's version and move your edit into an override: git checkout --ours -- {_q(path)} && ({action}) && git add {_q(path, target)}"


def _advice(git: Git, case: str, path: str, spec: Spec | None, existing: Override | None, overrides: str, lines: list[str]) -> list[str]:
    """Case-specific lines (appended to ``lines``) and the commands that resolve ``path``."""
    if case == "deleted" and spec is not None:
        files = [p.relative_to(git.root).as_posix() for p in (spec.path, spec.python_path) if p is not None]
        target = f"{overrides}/{spec.id}.yml"
        lines.append("  you deleted this upstream detection and upstream changed it: a deletion conflicts on every")
        lines.append(f"  release that touches it. Keep upstream's files and exclude it with an override ({target}):")
        lines.append(f"    {override_id_key(spec)}: {spec.id}")
        lines.append("    Excluded: <why you do not run it>")
        return [f"git checkout HEAD -- {_q(*files)} && (write {target} as above) && git add {_q(*files, target)}",
                f"or keep it deleted (stops again next time): git rm --quiet {_q(*files)}"]
    if case == "upstream-deleted":
        lines.append("  upstream no longer has this file")
        return [f"git rm --quiet {_q(path)}   (accepts upstream's deletion; keep your change in a detection of your own)"]
    if case == "helper":
        lines.append("  a global helper you changed: move your functions into a helper module of your own")
        lines.append("  (global_helpers/<yours>.py with its .yml) and import it where you use it, so upstream's")
        lines.append("  file stays untouched and later pulls do not stop here")
        return [f"take upstream's helper: git checkout --ours -- {_q(path)} && (add your helper module) && git add -A global_helpers",
                f"or merge by hand: edit {_q(path)} (conflict markers) && git add {_q(path)}"]
    if case == "code":
        lines.append("  upstream changed this detection's logic where you did. Merge by hand; or take upstream's")
        lines.append("  code and keep your change out of it: an allow-list as an `InlineFilters` override (evaluated")
        lines.append("  before the rule), or your own copy under a new ID with this one `Excluded` in an override")
        return [f"merge by hand: edit {_q(path)} (conflict markers) && git add {_q(path)}",
                f"or take upstream's code: git checkout --ours -- {_q(path)} && (write the override) && git add {_q(path)} {overrides}"]
    if case in ("pack", "spec") and spec is not None and git.blob_id("HEAD", path):
        move = _override_move(git, path, spec, existing, overrides, lines)
        manual = f"merge by hand: edit {_q(path)} (conflict markers) && git add {_q(path)}"
        return [manual, *([move] if move else [])]
    return [f"merge by hand: edit {_q(path)} && git add {_q(path)}"]


def conflict_guidance(git: Git, paths: list[str], base: str, target: str, overrides: str, fork_head: str = "HEAD") -> str:
    """The text printed when the rebase stops on ``paths``; ``fork_head`` is the fork's HEAD
    before the pull, whose overrides are the ones that will apply."""
    commit = git.out("log", "-1", "--format=%h %s", "REBASE_HEAD")
    base_repo = repo_of_files(git, base, paths)
    prefix = overrides.rstrip("/") + "/"
    override_files = [f for f in git.files(fork_head) if f.startswith(prefix)]
    existing, _errors = load_overrides_from_texts(git.root, git.texts(fork_head, override_files), overrides)
    lines = [f"upstream pull stopped: conflict while replaying your commit {commit} onto {target}", ""]
    commands: list[str] = []
    for path in paths:
        spec = spec_for_path(base_repo, git.root, path)
        case = classify(git, path, spec, "REBASE_HEAD^", "REBASE_HEAD", "HEAD")
        what = f"{spec.kind.replace('_', ' ')} {spec.id}" if spec is not None and spec.id else "file"
        lines.append(f"CONFLICT {path} ({what})")
        lines.append(f"  upstream {base} -> {target}: {describe(git, base, target, path)}")
        lines.append(f"  your commit:          {describe(git, 'REBASE_HEAD^', 'REBASE_HEAD', path)}")
        found = [c for c in _advice(git, case, path, spec, existing.get(spec.id) if spec is not None else None, overrides, lines) if c not in commands]
        commands += found
    lines += ["", "What to do next (during a rebase \"ours\" is upstream's side):"]
    lines += [f"  {c}" for c in commands]
    lines.append(f"  then: {_CONTINUE}")
    lines.append("  or go back to where you were: git rebase --abort")
    lines.append(f"`upstream pull --continue` finishes the rebase, records {target} as the base release and")
    lines.append("runs the tests of the affected detections; git rerere replays a resolution when the same")
    lines.append("conflict comes back (the same pull again), not when a later release changes those lines.")
    return "\n".join(lines) + "\n"
