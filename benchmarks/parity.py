"""Per-test-case parity of pytest-panther with PAT 1.11.1 on panther-analysis.

Usage::

    python benchmarks/parity.py CORPUS GROUND_TRUTH [-- extra pytest args]

Runs ``pytest`` with this plugin in CORPUS (in-process, recording every detection test case's
outcome) and compares each test case with PAT's verdict in GROUND_TRUTH
(``shared/data/pat_ground_truth.json``, structure in shared/reference/semantics.md §8). Prints
the counts and every mismatch; exits 1 if there is any.

* PAT ``pass`` → we must pass.
* PAT ``fail`` → we must fail.
* PAT ``not_run`` (correlation rules and the simple detection offline) → we either skip them with
  a reason or run them locally (pytest_panther.evaluate); both are counted and listed apart.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from pathlib import Path

import pytest


class _Recorder:
    """Collects ``(spec file, detection ID, test name) -> outcome`` from test reports."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.outcomes: dict[tuple[str, str, str], str] = {}
        self.collected: set[tuple[str, str, str]] = set()
        self.errors: list[str] = []

    def _key(self, nodeid: str) -> tuple[str, str, str] | None:
        parts = nodeid.split("::")
        if len(parts) < 3 or not parts[0].endswith((".yml", ".yaml")):
            return None
        return parts[0], parts[1], "::".join(parts[2:])

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            key = self._key(item.nodeid)
            if key is not None:
                self.collected.add(key)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.errors.append(f"collection error: {report.nodeid}")

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        key = self._key(report.nodeid)
        if key is None:
            return
        if report.when == "call" or (report.when == "setup" and not report.passed):
            self.outcomes[key] = report.outcome
            if report.when == "setup" and report.failed:
                self.errors.append(f"error in setup: {report.nodeid}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("ground_truth", type=Path)
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args(argv)
    truth = json.loads(args.ground_truth.read_text(encoding="utf-8"))
    corpus = args.corpus.resolve()
    recorder = _Recorder(corpus)
    os.chdir(corpus)  # a script, not library code: pytest's rootdir is the corpus
    code = pytest.main(["-q", "-p", "no:cacheprovider", "--no-header", "-o", "console_output_style=classic",
                        *args.pytest_args], plugins=[recorder])
    expected: dict[tuple[str, str, str], str] = {}
    for detection in truth["detections"]:
        for test in detection["tests"]:
            expected[(detection["file"], detection["id"], test["name"])] = test["result"]
    counts: Counter[str] = Counter()
    mismatches: list[str] = []
    not_run_ours: Counter[str] = Counter()
    for key, pat in sorted(expected.items()):
        ours = recorder.outcomes.get(key)
        if ours is None:
            mismatches.append(f"missing: {key[0]}::{key[1]}::{key[2]} (PAT: {pat})")
            continue
        if pat == "not_run":
            not_run_ours[ours] += 1
            if ours == "failed":
                mismatches.append(f"failed (PAT did not run it): {'::'.join(key)}")
            continue
        counts[f"{pat}/{ours}"] += 1
        if (pat == "pass") != (ours == "passed"):
            mismatches.append(f"PAT {pat}, ours {ours}: {'::'.join(key)}")
    extra = sorted(set(recorder.outcomes) - set(expected))
    for key in extra:
        mismatches.append(f"extra test case (not in ground truth): {'::'.join(key)}")
    print()
    print(f"ground truth test cases: {len(expected)}; collected by pytest-panther: {len(recorder.collected)}")
    print(f"PAT ran: {sum(counts.values())} -> " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
    print("PAT did not run: " + ", ".join(f"ours {k}: {v}" for k, v in sorted(not_run_ours.items())))
    print(f"collection/setup errors: {len(recorder.errors)}")
    for error in recorder.errors:
        print("  " + error)
    print(f"mismatches: {len(mismatches)}")
    for line in mismatches:
        print("  " + line)
    print(f"pytest exit code: {int(code)}")
    return 1 if mismatches or recorder.errors else 0


if __name__ == "__main__":
    sys.exit(main())
