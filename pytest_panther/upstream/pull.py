"""``panther-gitops upstream pull``: rebase the fork onto an upstream release.

Steps: fetch tags; ``git rebase --onto <tag> <base tag>`` (the fork's own commits are
replayed on the new release, merge commits linearised as ``git rebase`` does;
sync-contract.md §3.5 "releases only"); conflicts on files the fork no longer changes (for
example after ``migrate-edits`` restored upstream's YAML) are resolved to upstream's side
automatically; any other conflict stops with guidance (:mod:`pytest_panther.upstream.guidance`).
After the rebase, deletions and renames of upstream IDs and overrides left without a detection
are reported and the tests of the affected detections run; then the new base release is
recorded in ``pyproject.toml`` in one commit.

Deployment: the rebase runs with git hooks off, so the sync hooks (sync-contract.md §4) see
only that last commit, and its ``post-commit`` hook runs only when the tests passed and every
override applies; otherwise the commit is made with hooks off and nothing is deployed until
the next commit (the sync is state-based: it deploys last-synced..HEAD). What the pull says
about it (hook installed or not, targets, deletions, upstream Status changes that take a
detection out of production) is from :mod:`.deployment`.

State between a stop and ``pull --continue`` is kept in ``$GIT_DIR/panther-upstream/pull.json``.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from pytest_panther.spec.model import Spec
from pytest_panther.sync.convert import resource_of
from pytest_panther.upstream.affected import affected_spec_files
from pytest_panther.upstream.config import TABLE
from pytest_panther.upstream.config import UpstreamConfig
from pytest_panther.upstream.config import read_config
from pytest_panther.upstream.config import write_config
from pytest_panther.upstream.conflicts import without_table
from pytest_panther.upstream.deployment import deployment_lines
from pytest_panther.upstream.deployment import status_lines
from pytest_panther.upstream.git import Git
from pytest_panther.upstream.git import release_key
from pytest_panther.upstream.guidance import conflict_guidance
from pytest_panther.upstream.history import find_ids
from pytest_panther.upstream.history import fork_edits
from pytest_panther.upstream.history import id_changes
from pytest_panther.upstream.history import pack_drops
from pytest_panther.upstream.history import status_drops
from pytest_panther.upstream.overrides import load_overrides
from pytest_panther.upstream.status import fetch_tags
from pytest_panther.upstream.status import orphans

__all__ = ["PullError", "PullResult", "TestRunner", "continue_pull", "pull", "run_pytest"]

#: Runs the tests of the given spec files in ``root``; returns pytest's exit code.
TestRunner = Callable[[Path, list[Path]], int]
_MAX_STEPS = 10_000


class PullError(Exception):
    """A pull cannot start or continue; the message says why and what to do."""


@dataclass
class PullResult:
    ok: bool
    lines: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    tested: list[Path] = field(default_factory=list)
    tests_exit: int | None = None
    orphans: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # override files that do not load
    echo: Callable[[str], None] | None = None  # called with each line as it is added
    printed: int = 0  # how many of ``lines`` went through ``echo``

    def add(self, *lines: str) -> None:
        for line in lines:
            self.lines.append(line)
            if self.echo is not None:
                self.echo(line)
                self.printed += 1

    @property
    def exit_code(self) -> int:
        failed = self.tests_exit not in (None, 0, 5)  # 5: pytest collected nothing
        return 0 if self.ok and not failed and not self.orphans and not self.problems else 1


def run_pytest(root: Path, files: list[Path]) -> int:
    """Default :data:`TestRunner`: ``python -m pytest -q <files>`` in ``root``."""
    return subprocess.run([sys.executable, "-m", "pytest", "-q", *map(str, files)], cwd=root, check=False).returncode


def _state_file(git: Git) -> Path:
    return git.git_dir() / "panther-upstream" / "pull.json"


def pull(
    git: Git, config: UpstreamConfig, *, tag: str | None = None, fetch: bool = True,
    runner: TestRunner | None = run_pytest, echo: Callable[[str], None] | None = None,
) -> PullResult:
    """Start a pull (see module docstring). :raises PullError: when it cannot start."""
    if fetch:
        fetch_tags(git, config)
    if not config.base or git.rev(config.base) is None:
        raise PullError(f"base release {config.base or '(none)'} unknown; run `panther-gitops upstream init --release vX.Y.Z`")
    state = _state_file(git)
    if git.rebase_in_progress():
        raise PullError("a rebase is in progress; finish it with `panther-gitops upstream pull --continue` or `git rebase --abort`")
    state.unlink(missing_ok=True)  # a stop that was aborted with `git rebase --abort`
    if not git.is_clean():
        raise PullError("commit or stash your changes before pulling upstream")
    newer = [t for t in git.release_tags() if release_key(t) > release_key(config.base)]
    if tag is None:
        if not newer:
            return PullResult(ok=True, lines=[f"already on the latest upstream release {config.base}"])
        tag = newer[-1]
    elif git.rev(tag) is None:
        raise PullError(f"no tag {tag} (known newer releases: {', '.join(newer) or 'none'})")
    elif tag not in newer:
        raise PullError(f"{tag} is not newer than the base release {config.base}")
    if not git.ok("merge-base", "--is-ancestor", config.base, "HEAD"):
        raise PullError(f"HEAD does not contain the base release {config.base}; fix `base` in pyproject.toml")
    branch = git.run("symbolic-ref", "--quiet", "--short", "HEAD", check=False).stdout.strip()
    if not branch:
        raise PullError("HEAD is detached; check out your branch first")
    saved = {"base": config.base, "target": tag, "pre_head": git.out("rev-parse", "HEAD"), "branch": branch}
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_text(json.dumps(saved), encoding="utf-8")
    proc = git.run("rebase", "--onto", tag, config.base, branch, check=False, hooks=False)
    if proc.returncode != 0 and not git.rebase_in_progress():
        state.unlink(missing_ok=True)
        raise PullError(f"git rebase failed: {(proc.stderr or proc.stdout).strip()}")
    return _drive(git, config, saved, runner, echo)


def continue_pull(
    git: Git, config: UpstreamConfig, *, runner: TestRunner | None = run_pytest, echo: Callable[[str], None] | None = None,
) -> PullResult:
    """Go on after a stop: continue the rebase (the user has ``git add``-ed resolutions) and finish."""
    state = _state_file(git)
    if not state.exists():
        raise PullError("no upstream pull to continue; run `panther-gitops upstream pull`")
    saved = json.loads(state.read_text(encoding="utf-8"))
    if git.rebase_in_progress():
        if git.unmerged():
            raise PullError(f"unresolved files: {', '.join(git.unmerged())}; resolve them and `git add` them first")
        _step(git)
    elif not git.ok("merge-base", "--is-ancestor", saved["target"], "HEAD"):
        state.unlink()
        raise PullError("the rebase was aborted; nothing to continue (run `panther-gitops upstream pull` to start again)")
    return _drive(git, config, saved, runner, echo)


def _step(git: Git) -> None:
    """Continue the rebase, skipping a commit that the resolution left empty."""
    if git.ok("diff", "--cached", "--quiet"):
        git.run("rebase", "--skip", check=False, hooks=False)
    else:
        git.run("rebase", "--continue", check=False, hooks=False)


def _resolve_to_upstream(git: Git, path: str) -> None:
    stages = {line.split()[2] for line in git.out("ls-files", "-u", "--", path).splitlines()}
    if "2" in stages:
        git.run("checkout", "--ours", "--", path, hooks=False)
        git.run("add", "--", path)
    else:
        git.run("rm", "--quiet", "--", path)


def _resolve_pyproject(git: Git) -> bool:
    """Resolve a ``pyproject.toml`` conflict when the fork commit being replayed changed only
    the upstream table (``init`` and base-release commits): upstream's file plus that table.
    Upstream panther-analysis has its own ``pyproject.toml``, so this conflict is common."""
    before, after = git.blob("REBASE_HEAD^", "pyproject.toml"), git.blob("REBASE_HEAD", "pyproject.toml")
    if after is None or without_table(before) != without_table(after):
        return False
    try:
        table = tomllib.loads(after).get("tool", {}).get("pytest-panther", {}).get("upstream", {})
    except tomllib.TOMLDecodeError:
        return False
    _resolve_to_upstream(git, "pyproject.toml")
    if table:
        write_config(git.root, table)
    git.run("add", "--", "pyproject.toml")
    return True


def _replayed_by_rerere(git: Git, paths: list[str]) -> list[str]:
    """Conflicted ``paths`` that ``git rerere`` resolved from a recorded resolution (enabled by
    ``upstream init``): not listed by ``git rerere remaining`` and free of conflict markers."""
    if not paths or git.run("config", "--bool", "rerere.enabled", check=False).stdout.strip() != "true":
        return []
    remaining = set(git.out("rerere", "remaining").splitlines())
    replayed = []
    for path in paths:
        file = git.root / path
        if path in remaining or not file.is_file():
            continue
        text = file.read_text(encoding="utf-8", errors="replace")
        if not any(line.startswith(("<<<<<<< ", ">>>>>>> ")) for line in text.splitlines()):
            replayed.append(path)
    return replayed


def _drive(git: Git, config: UpstreamConfig, saved: dict[str, str], runner: TestRunner | None, echo: Callable[[str], None] | None) -> PullResult:
    notes: list[str] = []  # one line per automatic resolution

    def note(line: str) -> None:
        if line not in notes:
            notes.append(line)

    for _ in range(_MAX_STEPS):
        if not git.rebase_in_progress():
            break
        unmerged = git.unmerged()
        if not unmerged:
            before = git.rev("REBASE_HEAD")
            _step(git)
            if git.rebase_in_progress() and not git.unmerged() and git.rev("REBASE_HEAD") == before:
                return PullResult(ok=False, lines=["upstream pull stopped: git rebase could not continue; see `git status`"])
            continue
        rest = []
        for path in unmerged:
            if git.blob_id(saved["pre_head"], path) == git.blob_id(saved["base"], path):
                # The fork's final version equals the base release's: no customisation left in
                # this file (e.g. migrate-edits restored it), so upstream's side is right.
                _resolve_to_upstream(git, path)
                note(f"auto-resolved {path}: no fork changes left in it, took upstream's version")
            elif path == "pyproject.toml" and _resolve_pyproject(git):
                note(f"auto-resolved {path}: upstream's file with your {TABLE} table")
            else:
                rest.append(path)
        for path in _replayed_by_rerere(git, rest):
            git.run("add", "--", path)
            note(f"auto-resolved {path}: git rerere replayed your earlier resolution (check it)")
            rest.remove(path)
        if rest:
            text = conflict_guidance(git, rest, saved["base"], saved["target"], config.overrides, saved["pre_head"])
            return PullResult(ok=False, lines=text.splitlines(), conflicts=rest)
        _step(git)
    if git.rebase_in_progress():  # pragma: no cover - _MAX_STEPS commits replayed and still going
        return PullResult(ok=False, lines=["upstream pull stopped: too many rebase steps; see `git status`"])
    return _finish(git, config, saved, notes, runner, echo)


def _sync_note(spec: Spec, ident: str, new_id: str | None = None) -> str:
    """What the sync does about a removed or renamed ID (only REST-deployed kinds are synced)."""
    if resource_of(spec) is None:
        return f"{spec.kind.replace('_', ' ')}s are not deployed by the sync: delete {ident} in Panther yourself"
    return f"the sync deletes {ident} and deploys {new_id}" if new_id else "the sync deletes it from Panther"


def _finish(
    git: Git, config: UpstreamConfig, saved: dict[str, str], notes: list[str],
    runner: TestRunner | None, echo: Callable[[str], None] | None,
) -> PullResult:
    base, target, pre_head = saved["base"], saved["target"], saved["pre_head"]
    # `pull --continue` read the settings mid-rebase, before the fork's later commits were
    # replayed (a `packs` or `overrides` change among them): read the finished tree's.
    config = read_config(git.root)
    result = PullResult(ok=True, echo=echo)
    count = git.out("rev-list", "--count", f"{target}..HEAD")
    result.add(f"rebased {count} fork commit(s) from {base} onto {target}")
    result.add(*notes)
    changes = id_changes(git, base, target)
    for ident, path in sorted(changes.removed.items()):
        result.add(f"upstream {target} removed {ident} ({path}); {_sync_note(changes.specs[ident], ident)}")
    for ident, (new_id, path) in sorted(changes.renamed.items()):
        note = _sync_note(changes.specs[ident], ident, new_id)
        result.add(f"upstream {target} renamed {ident} to {new_id} ({path}); {note}")
    overrides, errors = load_overrides(git.root, config.overrides)
    customised = set(overrides) | {i for e in fork_edits(git, target) for i in e.ids}
    dropped = {i: p for i, p in pack_drops(git, base, target, config.packs, overrides).items() if i not in changes.gone()}
    result.add(*status_lines(status_drops(git, base, target), overrides, customised, target, dropped))
    result.orphans = orphans(git, overrides, "HEAD", changes, target)
    present = find_ids(git, "HEAD", overrides)
    result.add(*(f"orphaned override: {o}" for o in result.orphans))
    result.problems = [e.format() for e in errors]
    result.add(*(f"override problem: {e}" for e in result.problems))
    files = affected_spec_files(git, pre_head, "HEAD", [git.root / p for p in present.values()], config.overrides)
    result.tested = files
    if runner is None or not files:
        result.add(f"affected detections: {len(files)} (tests not run)")
    else:
        result.add(f"running the tests of {len(files)} affected detection(s)")
        result.tests_exit = runner(git.root, files)
        verdict = {0: "tests passed", 5: "no tests collected (pytest exit code 5)"}
        result.add(verdict.get(result.tests_exit, f"tests FAILED (pytest exit code {result.tests_exit})"))
    # The rebase ran with git hooks off; this commit is the one the post-commit sync hook sees,
    # so it fires only when the result is fit to deploy (the sync deploys last-synced..HEAD).
    deploy = result.exit_code == 0
    how = deployment_lines(git) if deploy else []
    write_config(git.root, {"base": target})
    git.run("add", "--", "pyproject.toml")
    message = f"Record upstream release {target} as the base release (was {base})"
    git.run("commit", "--quiet", "-m", message, "--", "pyproject.toml", hooks=deploy)
    _state_file(git).unlink(missing_ok=True)
    if deploy:
        result.add(f"recorded {target} as the base release", *how)
    else:
        result.add(f"recorded {target} as the base release with git hooks off: nothing is deployed until the problems above are fixed and committed")
    tracking = git.run("rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{upstream}", check=False).stdout.strip()
    if tracking and not git.ok("merge-base", "--is-ancestor", tracking, "HEAD"):
        remote, _, branch = tracking.partition("/")
        result.add(f"the branch was rebased: publish it with `git push --force-with-lease {remote} HEAD:{branch}`")
    return result
