"""CPU time, wall time and peak memory: PAT 1.11.1 vs pytest with this plugin, on the same corpus.

Usage::

    python benchmarks/speed.py CORPUS --pat /path/to/pat [--pytest /path/to/pytest] [--runs 5]
        [--scenario full] [--scenario scale --sizes 1,2,4] [--scenario changed] [--pat-plain] [--xdist]

Every scenario is one alternating run (A B A B …, whole processes) so that machine load affects
both tools alike; each command runs once first to warm the OS file cache (and the spec cache).

* ``full`` (default): ``pat --skip-version-check test --ignore-table-names`` (the baseline of every
  ratio), ``pytest -q rules policies correlation_rules queries`` with the spec cache warm, and cold
  (``-p no:cacheprovider``: a fresh CI clone); ``--pat-plain`` adds plain ``pat test`` (validates SQL
  table names, ~19 s), ``--xdist`` adds ``pytest -n 2``. The corpus's own ``*_test.py`` unittest
  files are left out because PAT does not run them.
* ``scale``: warm pytest vs PAT on synthetic ×k copies (:mod:`synthetic`), ``--sizes 1,2,4``.
* ``changed``: pre-commit style, in a git clone of the corpus with one commit appending a comment
  to one rule's ``.py``: ``pytest -q --panther-changed-since HEAD~1`` at the root vs PAT's
  ``test --filter RuleID=<that rule> --ignore-table-names``.

Prints, per command: median CPU seconds (user + sys of the process and its children, from
``wait4``), median wall seconds, median peak RSS (MiB, the largest process), the CPU and wall
ratios to the scenario's PAT baseline (medians, with the min–max of the pairwise CPU ratio), the
exit codes seen, and the load average before and after the scenario (the machine is shared).
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
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import synthetic  # noqa: E402

DETECTION_DIRS = ["rules", "policies", "correlation_rules", "queries"]
CHANGED_RULE = ("rules/aws_cloudtrail_rules/aws_console_root_login.py", "AWS.Console.RootLogin")


@dataclass
class Runs:
    command: list[str]
    cwd: Path
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    rss: list[float] = field(default_factory=list)
    codes: set[int] = field(default_factory=set)


def _run(runs: Runs, record: bool = True) -> None:
    """One whole-process run of ``runs.command``, recorded unless it is the warm-up."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": os.environ.get("PYTHONDONTWRITEBYTECODE", "1")}
    start = time.perf_counter()
    process = subprocess.Popen(runs.command, cwd=runs.cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    if record:
        runs.wall.append(time.perf_counter() - start)
        runs.cpu.append(usage.ru_utime + usage.ru_stime)
        runs.rss.append(usage.ru_maxrss / 1024)
        runs.codes.add(os.waitstatus_to_exitcode(status))


def alternate(title: str, commands: dict[str, Runs], count: int) -> None:
    """Warm up, run ``commands`` alternately ``count`` times, print the table (first = baseline)."""
    load_before = os.getloadavg()[0]
    for runs in commands.values():
        _run(runs, record=False)
    for _ in range(count):
        for runs in commands.values():
            _run(runs)
    load_after = os.getloadavg()[0]
    base = next(iter(commands.values()))
    print(f"\n## {title}  (n={count} alternating, load average {load_before:.1f} → {load_after:.1f})")
    print(f"{'command':44} {'cpu s':>7} {'wall s':>7} {'peak MiB':>9} {'cpu ratio':>17} {'wall ratio':>10}  exit")
    for name, runs in commands.items():
        cpu, wall = statistics.median(runs.cpu), statistics.median(runs.wall)
        pairs = [a / b for a, b in zip(runs.cpu, base.cpu)]
        spread = f"{cpu / statistics.median(base.cpu):.2f} [{min(pairs):.2f}–{max(pairs):.2f}]"
        print(f"{name:44} {cpu:7.2f} {wall:7.2f} {statistics.median(runs.rss):9.1f} {spread:>17} "
              f"{wall / statistics.median(base.wall):10.2f}  {sorted(runs.codes)}")
    for name, runs in commands.items():
        print(f"  {name}: (cd {runs.cwd} && {' '.join(runs.command)})")


def _pat(args: argparse.Namespace, *extra: str) -> list[str]:
    return [args.pat, "--skip-version-check", "test", *extra]


def scenario_full(args: argparse.Namespace, corpus: Path) -> None:
    commands = {"PAT test --ignore-table-names": Runs(_pat(args, "--ignore-table-names"), corpus)}
    if args.pat_plain:
        commands["PAT test (plain)"] = Runs(_pat(args), corpus)
    commands["pytest -q D (spec cache warm)"] = Runs([args.pytest, "-q", *DETECTION_DIRS], corpus)
    commands["pytest -q -p no:cacheprovider D (cold)"] = Runs([args.pytest, "-q", "-p", "no:cacheprovider", *DETECTION_DIRS], corpus)
    if args.xdist:
        commands["pytest -q -n 2 D (warm)"] = Runs([args.pytest, "-q", "-n", "2", *DETECTION_DIRS], corpus)
    alternate(f"full corpus {corpus}", commands, args.runs)


def scenario_scale(args: argparse.Namespace, corpus: Path, work: Path) -> None:
    for times in (int(s) for s in args.sizes.split(",")):
        copy = synthetic.make(corpus, work / f"x{times}", times) if times > 1 else corpus
        commands = {
            "PAT test --ignore-table-names": Runs(_pat(args, "--ignore-table-names"), copy),
            "pytest -q D (spec cache warm)": Runs([args.pytest, "-q", *DETECTION_DIRS], copy),
        }
        if args.xdist:
            commands["pytest -q -n 2 D (warm)"] = Runs([args.pytest, "-q", "-n", "2", *DETECTION_DIRS], copy)
        alternate(f"corpus ×{times}", commands, args.runs)


def scenario_changed(args: argparse.Namespace, corpus: Path, work: Path) -> None:
    clone = work / "changed"
    if clone.exists():
        shutil.rmtree(clone)
    subprocess.run(["git", "clone", "-q", str(corpus), str(clone)], check=True)
    path, rule_id = CHANGED_RULE
    with open(clone / path, "a", encoding="utf-8") as handle:
        handle.write("\n# a change, for the benchmark\n")
    git = ["git", "-C", str(clone), "-c", "user.name=bench", "-c", "user.email=bench@example.com"]
    subprocess.run([*git, "commit", "-q", "-am", "benchmark change"], check=True)
    commands = {
        f"PAT test --filter RuleID={rule_id} --ignore-table-names": Runs(_pat(args, "--filter", f"RuleID={rule_id}", "--ignore-table-names"), clone),
        "pytest -q --panther-changed-since HEAD~1 (root)": Runs([args.pytest, "-q", "--panther-changed-since", "HEAD~1"], clone),
    }
    alternate(f"changed-only, one rule ({path})", commands, args.runs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--pat", default=shutil.which("pat") or "pat", help="PAT's console script")
    parser.add_argument("--pytest", default=str(Path(sys.executable).with_name("pytest")), help="pytest with this plugin")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--scenario", action="append", choices=["full", "scale", "changed"])
    parser.add_argument("--sizes", default="1,2,4", help="for scale: the multiples of the corpus")
    parser.add_argument("--pat-plain", action="store_true", help="full: also plain `pat test` (SQL table names)")
    parser.add_argument("--xdist", action="store_true", help="also `pytest -n 2` (needs pytest-xdist)")
    parser.add_argument("--workdir", type=Path, help="for the synthetic copies and the git clone (default: a temp dir)")
    args = parser.parse_args(argv)
    corpus = args.corpus.resolve()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="panther-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"cpus: {os.cpu_count()}  python: {sys.version.split()[0]}  runs: {args.runs} each after one warm-up")
    for scenario in args.scenario or ["full"]:
        {"full": lambda: scenario_full(args, corpus), "scale": lambda: scenario_scale(args, corpus, work),
         "changed": lambda: scenario_changed(args, corpus, work)}[scenario]()
    return 0


if __name__ == "__main__":
    sys.exit(main())
