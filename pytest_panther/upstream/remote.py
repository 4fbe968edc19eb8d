"""``panther-gitops upstream init``: connect a fork to its upstream repository.

Adds (or re-points) the upstream remote, turns on ``rerere`` so a conflict resolved once is
replayed on later rebases (PAT ``init`` does the same, sync-contract.md §3.4), fetches the
release tags and records url, remote and base release in ``pyproject.toml``.
"""
from __future__ import annotations

from pytest_panther.upstream.config import UpstreamConfig
from pytest_panther.upstream.config import write_config
from pytest_panther.upstream.git import RELEASE_TAG
from pytest_panther.upstream.git import Git
from pytest_panther.upstream.git import release_key

__all__ = ["detect_base", "init_upstream"]


def detect_base(git: Git) -> str | None:
    """The newest ``vX.Y.Z`` tag contained in HEAD (the release the fork is based on)."""
    for tag in reversed(git.release_tags()):
        if git.ok("merge-base", "--is-ancestor", tag, "HEAD"):
            return tag
    return None


def init_upstream(git: Git, config: UpstreamConfig, *, url: str | None, name: str | None, release: str | None, commit: bool = True) -> list[str]:
    """Set up the upstream remote and record it; returns report lines.

    :raises RuntimeError: on an invalid or unknown release, or when the base cannot be found.
    :raises GitError: when git fails (for example the remote cannot be fetched).
    """
    url = url or config.url
    name = name or config.remote
    lines: list[str] = []
    current = git.run("remote", "get-url", name, check=False)
    if current.returncode != 0:
        git.run("remote", "add", name, url)
        lines.append(f"added remote {name} -> {url}")
    elif current.stdout.strip() != url:
        git.run("remote", "set-url", name, url)
        lines.append(f"remote {name} now points to {url} (was {current.stdout.strip()})")
    else:
        lines.append(f"remote {name} -> {url}")
    git.run("config", "rerere.enabled", "true")
    lines.append("enabled git rerere (conflict resolutions are remembered)")
    git.run("fetch", "--quiet", "--tags", name)
    if release is not None:
        if not RELEASE_TAG.match(release):
            raise RuntimeError(f"--release must be a tag vX.Y.Z, not {release!r}")
        if git.rev(release) is None:
            raise RuntimeError(f"{name} has no tag {release}")
        if not git.ok("merge-base", "--is-ancestor", release, "HEAD"):
            raise RuntimeError(f"HEAD does not contain {release}; the fork must start from that release")
    else:
        release = detect_base(git)
        if release is None:
            raise RuntimeError("cannot tell which upstream release the fork is based on; pass --release vX.Y.Z")
    write_config(git.root, {"url": url, "remote": name, "base": release})
    lines.append(f"recorded base release {release} in pyproject.toml")
    newer = [t for t in git.release_tags() if release_key(t) > release_key(release)]
    if newer:
        lines.append(f"newer releases: {', '.join(newer)} (run `panther-gitops upstream pull`)")
    if commit:
        git.run("add", "--", "pyproject.toml")
        if not git.ok("diff", "--cached", "--quiet", "--", "pyproject.toml"):
            git.run("commit", "--quiet", "-m", f"Track upstream {url} from release {release}", "--", "pyproject.toml")
            lines.append("committed pyproject.toml")
    return lines
