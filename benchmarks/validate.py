"""Time loading and validating a detection repository.

Usage: ``python benchmarks/validate.py CORPUS [--runs N]`` (e.g. a panther-analysis checkout).
Prints the median of N runs (default 5) for loading every spec and for
``validate_repository`` (all per-spec and cross-file checks), plus the first validation run,
which also compiles the schema validators.
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from pytest_panther.spec.crosscheck import validate_repository
from pytest_panther.spec.repository import Repository
from pytest_panther.spec.repository import load_repository


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    load_times: list[float] = []
    repo: Repository | None = None
    for _ in range(args.runs):
        started = time.perf_counter()
        repo = load_repository(args.corpus)
        load_times.append(time.perf_counter() - started)
    assert repo is not None
    validate_times: list[float] = []
    problems = 0
    for _ in range(args.runs):
        started = time.perf_counter()
        result = validate_repository(repo)
        validate_times.append(time.perf_counter() - started)
        problems = sum(len(errors) for errors in result.values())
    print(f"specs: {len(repo.specs)}, parse errors: {len(repo.errors)}, problems: {problems}")
    print(f"load:     median {statistics.median(load_times):.3f} s over {args.runs} runs")
    print(f"validate: median {statistics.median(validate_times):.3f} s over {args.runs} runs "
          f"(first run, with schema compilation: {validate_times[0]:.3f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
