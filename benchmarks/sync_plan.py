"""Time ``panther-gitops sync plan`` over a corpus with nothing changed.

Usage: ``python benchmarks/sync_plan.py CORPUS [--runs N]`` (e.g. a panther-analysis checkout).
The corpus's files are copied into a scratch git repository in a temp dir (one commit), the
target ``default``'s synced ref is set to HEAD, and then, N times each (median printed):

* ``cli``       — the whole command in a subprocess (Python start-up included);
* ``sync parser only`` — the same in a subprocess that builds only the ``sync`` sub-parser
  (``cli/main.py`` imports every command module, whose imports cost several tenths of a second);
* ``in-process``— :func:`pytest_panther.sync.plan.make_plan` alone;
* ``docs-only`` — in process, after one more commit that touches only a README, so the synced
  commit differs from HEAD but no spec does (the usual state after an upstream pull).

Also prints the time of a cold full parse (``desired_state`` of every spec), what a plan would
cost if it parsed everything. Target (issue 4): nothing changed <= 1 s median.
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

from pytest_panther.sync.desired import desired_state
from pytest_panther.sync.desired import snapshot
from pytest_panther.sync.plan import make_plan
from pytest_panther.sync.state import write_synced
from pytest_panther.sync.targets import Target

# The same command with only the sync sub-parser built: what `panther-gitops sync plan` costs
# when cli/main.py imports just the chosen command's module.
_ONLY_SYNC = """
import argparse, sys
from pytest_panther.cli import sync
parser = argparse.ArgumentParser()
sync.register(parser.add_subparsers())
args = parser.parse_args(["sync", "plan", "-C", sys.argv[1]])
raise SystemExit(args.func(args))
"""

GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env).stdout.strip()


def make_corpus_repo(corpus: Path, dest: Path) -> None:
    shutil.copytree(corpus, dest, ignore=shutil.ignore_patterns(".git"))
    git(dest, "init", "-q", "-b", "main")
    git(dest, "add", "-A", "-f")  # -f: panther-analysis ignores *.txt but tracks deprecated.txt
    git(dest, "commit", "-q", "-m", "corpus")


def timed(func: object, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        func()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sync-plan-bench-") as tmp:
        repo = Path(tmp) / "corpus"
        make_corpus_repo(args.corpus, repo)
        head = git(repo, "rev-parse", "HEAD")
        write_synced(repo, "default", head, None)
        target = Target(name="default", host="http://127.0.0.1:9")
        env = {**os.environ, "PANTHER_API_HOST": "http://127.0.0.1:9"}
        env.pop("PANTHER_API_TOKEN", None)
        cli = [str(Path(sys.executable).parent / "panther-gitops"), "sync", "plan", "-C", str(repo)]

        def run_cli() -> None:
            proc = subprocess.run(cli, capture_output=True, text=True, env=env)
            assert proc.returncode == 0 and "plan: 0 to create, 0 to update, 0 to delete" in proc.stdout, proc.stdout + proc.stderr

        only_sync = [sys.executable, "-c", _ONLY_SYNC, str(repo)]

        def run_only_sync() -> None:
            proc = subprocess.run(only_sync, capture_output=True, text=True, env=env)
            assert proc.returncode == 0, proc.stdout + proc.stderr

        plan = make_plan(repo, target)
        assert not plan.changes, plan.render()
        units = len(snapshot(repo, head).units)
        cli_times = timed(run_cli, args.runs)
        only_sync_times = timed(run_only_sync, args.runs)
        inproc_times = timed(lambda: make_plan(repo, target), args.runs)
        (repo / "README.md").write_text("docs only\n")
        git(repo, "commit", "-q", "-am", "docs")
        docs_times = timed(lambda: make_plan(repo, target), args.runs)
        started = time.perf_counter()
        state = desired_state(snapshot(repo, head))
        full = time.perf_counter() - started
    print(f"specs: {units}, deployable items: {len(state.items)}, unchanged per plan: {plan.unchanged}")
    print(f"sync plan (cli, nothing changed):   median {statistics.median(cli_times):.3f} s over {args.runs} runs")
    print(f"sync plan (subprocess, sync parser only): median {statistics.median(only_sync_times):.3f} s")
    print(f"make_plan (in-process):             median {statistics.median(inproc_times):.3f} s")
    print(f"make_plan (docs-only commit ahead): median {statistics.median(docs_times):.3f} s")
    print(f"full parse of every spec (cold):    {full:.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
