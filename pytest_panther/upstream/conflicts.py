"""Which files an upstream pull stops on, and what kind of customisation each one is.

``upstream status`` predicts the stops of ``pull`` with ``git merge-tree --write-tree`` (git ≥
2.38; it writes objects only, never the work tree or the index): the fork's HEAD merged with the
release, from their merge base (the base release), without rename detection. A file it reports as conflicted is a stop,
unless ``pull`` resolves it by itself: a ``pyproject.toml`` whose only fork change is the
``[tool.pytest-panther.upstream]`` table. Files whose final fork version equals the base
release's never conflict in a merge, as ``pull`` resolves them to upstream's side. The merge
sees the fork's commits as one change; a rebase replays them one by one, so a file edited by
several fork commits may stop once per commit (the prediction names the file once), and a
resolution that ``git rerere`` replays is not predicted.

:func:`classify` names the case of a conflicted file, which :mod:`.guidance` turns into advice:

* ``deleted`` -- the fork deleted an upstream detection's file that upstream changed;
* ``upstream-deleted`` -- the fork changed a file upstream deleted or moved;
* ``helper`` -- code of a global helper; ``code`` -- a detection's Python;
* ``pack`` -- a pack spec; ``spec`` -- another spec YAML; ``file`` -- anything else.
"""
from __future__ import annotations

from dataclasses import dataclass

from pytest_panther.spec.model import Spec
from pytest_panther.spec.yaml import YamlError
from pytest_panther.spec.yaml import load
from pytest_panther.upstream.config import TABLE
from pytest_panther.upstream.git import Git
from pytest_panther.upstream.git import GitError
from pytest_panther.upstream.history import repo_of_files
from pytest_panther.upstream.history import spec_for_path

__all__ = ["FIXES", "Stop", "changed_keys", "classify", "describe", "predict_stops", "spec_data", "without_table"]

_YAML = (".yml", ".yaml")

#: What resolves each case for good (``status`` prints it; ``pull`` gives the commands).
FIXES = {
    "deleted": "`upstream migrate-edits` turns your deletion into an `Excluded` override",
    "upstream-deleted": "accept upstream's deletion; keep your change in a detection of your own",
    "helper": "move your functions into a global helper of your own",
    "code": "merge by hand, or move your change out of upstream's code (an `InlineFilters` override)",
    "pack": "`upstream migrate-edits` moves your pack change into an override of the pack",
    "spec": "`upstream migrate-edits` moves your edit into an override",
    "file": "merge by hand",
}


@dataclass
class Stop:
    """A file the pull stops on: ``case`` (module docstring), the spec it belongs to at the base
    release (None for other files) and why, in words."""

    path: str
    case: str
    spec: Spec | None
    why: str

    @property
    def label(self) -> str:
        return f"{self.path} ({self.spec.kind.replace('_', ' ')} {self.spec.id})" if self.spec is not None and self.spec.id else self.path


def spec_data(git: Git, rev: str, path: str) -> dict[str, object] | None:
    text = git.blob(rev, path)
    if text is None:
        return None
    try:
        data = load(text, path).data
    except YamlError:
        return None
    return data if isinstance(data, dict) else None


def changed_keys(old: dict[str, object] | None, new: dict[str, object] | None) -> list[str]:
    """Top-level spec fields whose values differ (in the order of ``old`` then ``new``)."""
    old, new = old or {}, new or {}
    keys = [*old, *(k for k in new if k not in old)]
    return [k for k in keys if old.get(k, ...) != new.get(k, ...)]


def describe(git: Git, old_rev: str, new_rev: str, path: str) -> str:
    """What happened to ``path`` between two revisions, in words."""
    old_exists, new_exists = git.blob_id(old_rev, path), git.blob_id(new_rev, path)
    if old_exists and not new_exists:
        return "deleted the file"
    if new_exists and not old_exists:
        return "added the file"
    if old_exists == new_exists:
        return "left it unchanged"
    if path.endswith(_YAML):
        keys = changed_keys(spec_data(git, old_rev, path), spec_data(git, new_rev, path))
        return f"changed {', '.join(keys)}" if keys else "changed only formatting or comments"
    numstat = git.out("diff", "--numstat", old_rev, new_rev, "--", path).split("\t")
    what = "the code" if path.endswith(".py") else "the file"
    return f"changed {what} (+{numstat[0]} -{numstat[1]} lines)" if len(numstat) > 2 else f"changed {what}"


def without_table(text: str | None) -> str:
    """``text`` without the ``[tool.pytest-panther.upstream]`` table."""
    out, inside = [], False
    for line in (text or "").splitlines():
        if line.strip().startswith("["):
            inside = line.strip() == TABLE
        if not inside:
            out.append(line)
    return "\n".join(out).strip()


def classify(git: Git, path: str, spec: Spec | None, base: str, fork: str, target: str) -> str:
    """The case of conflicted ``path`` (module docstring); ``fork`` is the fork's side."""
    if git.blob_id(base, path) and not git.blob_id(fork, path):
        return "deleted" if spec is not None and spec.id else "file"
    if git.blob_id(base, path) and not git.blob_id(target, path):
        return "upstream-deleted"
    if spec is None or not spec.id:
        return "file"
    if spec.kind == "pack":
        return "pack"
    if path.endswith(".py"):
        return "helper" if spec.kind == "global" else "code"
    return "spec" if path.endswith(_YAML) else "file"


def predict_stops(git: Git, base: str, target: str, head: str = "HEAD") -> list[Stop]:
    """The files ``upstream pull`` onto ``target`` will stop on (module docstring).

    :raises GitError: when git cannot merge the trees (for example git older than 2.38)."""
    # Without rename detection: the fork's commits, replayed one by one, rarely delete an
    # upstream file and add a similar one of their own in one commit, the squashed merge would.
    proc = git.run("-c", "merge.renames=false", "merge-tree", "--write-tree", "--name-only", "--no-messages", "-z", head, target, check=False)
    if proc.returncode not in (0, 1):
        raise GitError(["merge-tree", "--write-tree", head, target], proc.returncode, proc.stderr)
    paths: list[str] = []
    for part in proc.stdout.split("\0")[1:]:
        if not part:
            break
        if part not in paths:
            paths.append(part)
    if "pyproject.toml" in paths and without_table(git.blob(base, "pyproject.toml")) == without_table(git.blob(head, "pyproject.toml")):
        paths.remove("pyproject.toml")  # pull resolves it: upstream's file plus the fork's table
    base_repo = repo_of_files(git, base, paths)
    stops = []
    for path in paths:
        spec = spec_for_path(base_repo, git.root, path)
        case = classify(git, path, spec, base, head, target)
        why = f"upstream {target} {describe(git, base, target, path)}; you {describe(git, base, head, path)} ({FIXES[case]})"
        stops.append(Stop(path, case, spec, why))
    return stops
