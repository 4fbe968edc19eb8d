"""Benchmark: cost of evaluating YAML detections locally (issue 5).

Usage: ``python benchmarks/local_evaluation.py CORPUS`` (a panther-analysis checkout).

Times, after loading the repository once (not timed): building every simple-detection module,
every InlineFilters tree and every correlation rule, then evaluating all their tests —
simple-detection functions on each ``Log``, panther_core ``Filter``s on each test ``Log`` of a
rule with InlineFilters, ``CorrelationRule.run_test`` on each correlation test. Prints the median
of 5 runs in milliseconds, then the median wall time of 5 full runs of
``pytest -q rules policies correlation_rules queries`` in CORPUS (the same Python's pytest) and the
share of that run the local evaluation accounts for (issue 5 allows +10 %).
"""
from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

from panther_core import PantherEvent
from panther_core.filter import Filter

from pytest_panther.evaluate.correlation import compile_correlation
from pytest_panther.evaluate.inline_filters import core_filters
from pytest_panther.evaluate.simple import build_simple_module
from pytest_panther.spec.model import Spec
from pytest_panther.spec.repository import load_repository

AUX = ("title", "alert_context", "dedup", "severity")


def evaluate(specs: list[Spec]) -> dict[str, int]:
    """Build and run everything once; returns how many tests of each kind ran."""
    counts = {"simple": 0, "filters": 0, "correlation": 0}
    for spec in specs:
        kind = spec.kind
        if kind == "correlation_rule":
            rule = compile_correlation(spec)
            for case in spec.tests():
                rule.run_test(case.data)
                counts["correlation"] += 1
            continue
        module = build_simple_module(spec) if kind == "simple_detection" else None
        tree = core_filters(spec) if kind in ("rule", "scheduled_rule", "simple_detection") else None
        filters = [Filter(f["statement"]) for f in tree] if tree else []
        for case in spec.tests():
            log = case.data.get("Log") if isinstance(case.data, dict) else None
            if not isinstance(log, dict):
                continue
            event = PantherEvent(log, None)
            if filters and spec.analysis_type == "rule":
                all(f.filter(event) for f in filters)
                counts["filters"] += 1
            if module is not None:
                module.rule(event)
                for name in AUX:
                    function = getattr(module, name, None)
                    if function is not None:
                        function(event)
                counts["simple"] += 1
    return counts


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    repo = load_repository(Path(argv[1]))
    specs = [s for s in repo.specs if s.kind in ("correlation_rule", "simple_detection") or "InlineFilters" in s.data]
    runs = []
    counts: dict[str, int] = {}
    for _ in range(5):
        start = time.perf_counter()
        counts = evaluate(specs)
        runs.append((time.perf_counter() - start) * 1000)
    evaluation = statistics.median(runs)
    print(
        f"local evaluation: {evaluation:.1f} ms median of 5 "
        f"(min {min(runs):.1f} ms; {len(specs)} specs; tests: {counts['simple']} simple-detection, "
        f"{counts['filters']} inline-filter, {counts['correlation']} correlation)"
    )
    command = [sys.executable, "-m", "pytest", "-q", "rules", "policies", "correlation_rules", "queries"]
    full = []
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run(command, cwd=argv[1], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        full.append((time.perf_counter() - start) * 1000)
    whole = statistics.median(full)
    print(f"full run ({' '.join(command[2:])}): {whole:.0f} ms median of 5")
    print(f"local evaluation is {100 * evaluation / whole:.2f} % of the full run (limit: 10 %)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
