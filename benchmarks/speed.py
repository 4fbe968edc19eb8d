"""Wall time and peak memory: PAT 1.11.1 vs pytest with this plugin, on the same corpus.

Usage::

    python benchmarks/speed.py CORPUS --pat /path/to/pat [--pytest /path/to/pytest] [--runs 5]

Runs, in one invocation and alternating so that machine load affects both alike:

* ``pat --skip-version-check test --ignore-table-names`` (PAT, from its own virtualenv);
* ``pytest -q rules policies correlation_rules queries`` (the detection tests; the corpus's own
  ``*_test.py`` unittest files are left out because PAT does not run them), with the parsed-spec
  cache warm (the normal case after the first run), and again with ``-p no:cacheprovider``
  (cold: every YAML file parsed), and with ``-n 2`` (pytest-xdist on this machine's cores).

Each command runs once to warm the OS file cache, then ``--runs`` times. Prints, per command,
the median wall time (s), the median peak RSS of the process tree's largest process (MiB, from
``wait4``), the ratio to PAT's median, and the exit codes seen.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

DETECTION_DIRS = ["rules", "policies", "correlation_rules", "queries"]


def _run(command: list[str], cwd: Path) -> tuple[float, float, int]:
    """One run: (wall seconds, peak RSS MiB, exit code)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss / 1024, process.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--pat", default=shutil.which("pat") or "pat", help="PAT's console script")
    parser.add_argument("--pytest", default=str(Path(sys.executable).with_name("pytest")), help="pytest with this plugin")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-xdist", action="store_true", help="leave out the -n 2 variant")
    args = parser.parse_args(argv)
    corpus = args.corpus.resolve()
    commands: dict[str, list[str]] = {
        "PAT: pat test --ignore-table-names": [args.pat, "--skip-version-check", "test", "--ignore-table-names"],
        "pytest (spec cache warm)": [args.pytest, "-q", *DETECTION_DIRS],
        "pytest -p no:cacheprovider (cold)": [args.pytest, "-q", "-p", "no:cacheprovider", *DETECTION_DIRS],
    }
    if not args.no_xdist:
        commands["pytest -n 2 (spec cache warm)"] = [args.pytest, "-q", "-n", "2", "--dist", "loadgroup", *DETECTION_DIRS]
    results: dict[str, list[tuple[float, float, int]]] = {name: [] for name in commands}
    for name, command in commands.items():  # warm-up (also fills the spec cache)
        _run(command, corpus)
    for _ in range(args.runs):
        for name, command in commands.items():
            results[name].append(_run(command, corpus))
    pat_name = next(iter(commands))
    pat_median = statistics.median(r[0] for r in results[pat_name])
    print(f"corpus: {corpus}  runs: {args.runs} each, alternating, after one warm-up run each")
    print(f"{'command':38} {'median s':>9} {'peak RSS MiB':>13} {'ratio':>6}  exit codes")
    for name, runs in results.items():
        wall = statistics.median(r[0] for r in runs)
        rss = statistics.median(r[1] for r in runs)
        codes = sorted({r[2] for r in runs})
        print(f"{name:38} {wall:9.2f} {rss:13.1f} {wall / pat_median:6.2f}  {codes}")
    for name, command in commands.items():
        print(f"  {name}: {' '.join(command)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
