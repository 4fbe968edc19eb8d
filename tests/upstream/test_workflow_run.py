"""Runs the shell steps of template/.github/workflows/panther-upstream.yml against real git
repositories, with a stub `gh` on PATH: a new release opens a pull request; a conflict fails
the job with the guidance in the job summary."""
from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from upstream_repos import git
from upstream_repos import make_fork
from upstream_repos import make_upstream

from pytest_panther.spec.yaml import load_file

WORKFLOW = Path(__file__).parents[2] / "template" / ".github" / "workflows" / "panther-upstream.yml"


@pytest.fixture
def ci(make_repo: Callable[[str], Path], tmp_path: Path) -> dict[str, Path]:
    upstream = make_repo("upstream")
    make_upstream(upstream, 1)
    fork = tmp_path / "fork"
    make_fork(upstream, fork)
    make_upstream(upstream, 3)
    git(tmp_path, "clone", "-q", "--bare", str(fork), "github.git")  # the fork on GitHub (tags v1 only)
    git(tmp_path, "clone", "-q", str(tmp_path / "github.git"), "checkout")  # actions/checkout, fetch-depth 0
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "gh").write_text(f'#!/bin/sh\necho "gh $*" >> "{tmp_path}/gh.log"\n')
    (bin_dir / "gh").chmod(0o755)
    return {"root": tmp_path, "checkout": tmp_path / "checkout", "bin": bin_dir}


def run_job(ci: dict[str, Path], tag: str = "") -> tuple[int, str, str]:
    """Run the job's `run:` steps in order, as Actions would; return (exit, log, summary)."""
    (job,) = load_file(WORKFLOW).data["jobs"].values()
    root = ci["root"]
    outputs = root / "outputs.env"
    summary = root / "summary.md"
    outputs.write_text("")
    summary.write_text("")
    env = dict(os.environ)
    env.update({
        "PATH": f"{ci['bin']}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{env['PATH']}",
        "GITHUB_OUTPUT": str(outputs), "GITHUB_STEP_SUMMARY": str(summary),
        "DEPLOY_BRANCH": "main", "GH_TOKEN": "x", "HAS_UPSTREAM_TOKEN": "true",
    })
    log = []
    for step in job["steps"]:
        if "run" not in step or step["name"] == "Install":
            continue
        values = dict(line.split("=", 1) for line in outputs.read_text().splitlines() if "=" in line)
        condition = step.get("if", "")
        if "steps.check.outputs.tag != ''" in condition and not values.get("tag"):
            continue
        if "steps.existing.outputs.open != 'true'" in condition and values.get("open") == "true":
            continue
        step_env = dict(env)
        step_env.update({"REQUESTED_TAG": tag, "TAG": values.get("tag", "")})
        proc = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=ci["checkout"], env=step_env,
                              capture_output=True, text=True, check=False)
        log.append(f"## {step['name']}\n{proc.stdout}{proc.stderr}")
        if proc.returncode != 0:
            return proc.returncode, "\n".join(log), summary.read_text()
    return 0, "\n".join(log), summary.read_text()


def test_new_release_opens_a_pull_request(ci: dict[str, Path]) -> None:
    code, log, summary = run_job(ci, tag="v2.0.0")
    assert code == 0, log
    assert "rebased 4 fork commit(s) from v1.0.0 onto v2.0.0" in summary
    assert git(ci["root"] / "github.git", "branch", "--list", "upstream/v2.0.0").strip() == "upstream/v2.0.0"
    gh = (ci["root"] / "gh.log").read_text()
    assert "gh pr create --base main --head upstream/v2.0.0 --title Upstream detections v2.0.0 --body-file pr-body.md" in gh
    body = (ci["checkout"] / "pr-body.md").read_text()
    assert "git push --force-with-lease=main:" in body and "origin/upstream/v2.0.0:main" in body


def test_conflict_fails_the_job_with_the_guidance(ci: dict[str, Path]) -> None:
    code, log, summary = run_job(ci)  # newest: v3.0.0 conflicts with the in-place edit
    assert code == 1
    assert "CONFLICT rules/okta/brute_force.yml (rule Up.Okta.BruteForce)" in summary
    assert "::error title=Upstream v3.0.0 conflicts with a customisation::" in log
    assert "pr create" not in (ci["root"] / "gh.log").read_text()
    assert git(ci["root"] / "github.git", "branch", "--list", "upstream/*") == ""


def test_nothing_to_do_on_the_newest_release(ci: dict[str, Path]) -> None:
    git(ci["checkout"], "remote", "add", "upstream", str(ci["root"] / "upstream"))
    git(ci["checkout"], "fetch", "-q", "--tags", "upstream")
    # pretend the fork already is on v3: record it (status then lists no newer release)
    from pytest_panther.upstream.config import write_config

    write_config(ci["checkout"], {"base": "v3.0.0"})
    code, log, summary = run_job(ci)
    assert code == 0, log
    assert summary == "Already on the newest upstream release (v3.0.0).\n"
