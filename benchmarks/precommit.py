"""Time the pre-commit hooks on a real detection repository (issue 3: <= 1.5 s median each).

Usage: ``python benchmarks/precommit.py CORPUS [--rule-id ID] [--runs N] [--pat PATH] [--pat-runs N]``

CORPUS (e.g. a panther-analysis checkout) is copied to a temporary folder (never modified), made a
git repository if it is not one, and given a ``.pre-commit-config.yaml`` whose ``repo: local``
hooks call this interpreter's ``panther-gitops`` (``language: system``, offline). One rule's
``.py`` gets a comment appended and is staged; then ``pre-commit run panther-test`` and
``pre-commit run panther-validate`` each run once to warm the file cache and N times (default 5)
timed, wall clock, whole process. With ``--pat`` (default: ``/work/scratch/venv-pat/bin/pat`` when
it exists), ``pat test --filter RuleID=ID --ignore-table-names`` is timed ``--pat-runs`` times on
the same copy for comparison (shared/reference/semantics.md §7: PAT needs ~20 s for one rule).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pytest_panther.select import SpecIndex
from pytest_panther.spec.repository import DEFAULT_PATHS

DEFAULT_RULE = "AWS.Console.RootLogin"
DEFAULT_PAT = Path("/work/scratch/venv-pat/bin/pat")
GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
}
CONFIG = """\
repos:
  - repo: local
    hooks:
      - id: panther-validate
        name: validate Panther specs
        entry: {script} hook validate
        language: system
        files: \\.(ya?ml|py)$
      - id: panther-test
        name: test the detections a change touches
        entry: {script} hook test
        language: system
        files: \\.(ya?ml|py)$
        require_serial: true
"""


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    return time.perf_counter() - started, proc


def prepare(corpus: Path, work: Path, rule_id: str, env: dict[str, str]) -> tuple[Path, Path]:
    """Copy ``corpus`` to ``work/repo``, commit the hook config, stage a change to ``rule_id``'s
    ``.py``; return (repo, changed .py)."""
    repo = work / "repo"
    shutil.copytree(corpus, repo, symlinks=True, ignore=shutil.ignore_patterns(".pytest_cache", "__pycache__"))
    if not (repo / ".git").exists():
        subprocess.run(["git", "init", "-q"], cwd=repo, env=env, check=True)
    script = Path(sys.executable).parent / "panther-gitops"
    (repo / ".pre-commit-config.yaml").write_text(CONFIG.format(script=script))
    subprocess.run(["git", "add", "-A"], cwd=repo, env=env, check=True)
    subprocess.run(["git", "commit", "-q", "--no-verify", "-m", "benchmark setup"], cwd=repo, env=env, check=True)
    specs = [s for s in SpecIndex(repo, DEFAULT_PATHS).where([rule_id]) if s.id == rule_id and s.python_path]
    if not specs or specs[0].python_path is None:
        raise SystemExit(f"no rule with RuleID {rule_id!r} and a Filename in {corpus}")
    py = specs[0].python_path
    with py.open("a", encoding="utf-8") as handle:
        handle.write("\n# benchmark: a staged change\n")
    subprocess.run(["git", "add", str(py)], cwd=repo, env=env, check=True)
    return repo, py


def time_hook(repo: Path, env: dict[str, str], hook: str, runs: int) -> list[float]:
    cmd = [sys.executable, "-m", "pre_commit", "run", hook, "--verbose"]
    warm, proc = run(cmd, repo, env)
    last_lines = [line for line in proc.stdout.splitlines() if line.strip()][-3:]
    print(f"{hook}: warm-up {warm:.2f} s, exit {proc.returncode}; output ends: {' | '.join(last_lines)}")
    if proc.returncode != 0:
        print(proc.stdout[-3000:] + proc.stderr[-2000:], file=sys.stderr)
    times = []
    for _ in range(runs):
        elapsed, proc = run(cmd, repo, env)
        times.append(elapsed)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--rule-id", default=DEFAULT_RULE, help=f"rule whose .py is changed (default {DEFAULT_RULE})")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pat", type=Path, default=DEFAULT_PAT if DEFAULT_PAT.exists() else None)
    parser.add_argument("--pat-runs", type=int, default=1)
    args = parser.parse_args()
    env = {**os.environ, **GIT_ENV}
    with tempfile.TemporaryDirectory(prefix="precommit-bench-") as tmp:
        env["PRE_COMMIT_HOME"] = str(Path(tmp) / "pre-commit-home")
        repo, py = prepare(args.corpus.resolve(), Path(tmp), args.rule_id, env)
        print(f"corpus copy: {repo}; staged change: {py.relative_to(repo)} ({args.rule_id})")
        results = {hook: time_hook(repo, env, hook, args.runs) for hook in ("panther-test", "panther-validate")}
        for hook, times in results.items():
            print(f"pre-commit run {hook}: median {statistics.median(times):.2f} s over {args.runs} runs "
                  f"(min {min(times):.2f}, max {max(times):.2f})")
        if args.pat is not None:
            cmd = [str(args.pat), "--skip-version-check", "test", "--filter", f"RuleID={args.rule_id}", "--ignore-table-names"]
            pat_times = []
            for _ in range(args.pat_runs):
                elapsed, proc = run(cmd, repo, env)
                pat_times.append(elapsed)
            print(f"pat test --filter RuleID={args.rule_id}: median {statistics.median(pat_times):.2f} s over "
                  f"{args.pat_runs} run(s), exit {proc.returncode}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
