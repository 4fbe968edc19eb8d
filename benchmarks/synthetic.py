"""Make a synthetic ×k copy of a detection repository, to measure how run time and memory grow.

Usage::

    python benchmarks/synthetic.py CORPUS DEST --times 4

``DEST`` becomes a copy of ``CORPUS`` plus ``k - 1`` copies of its ``rules/`` and ``policies/``
under ``rules/zz_copyN/`` and ``policies/zz_copyN/``, where every ``RuleID``, ``PolicyID`` and
``BaseDetection`` gets the suffix ``.cN`` (so IDs stay unique and derived detections find their
copied base). On panther-analysis daa10c88 that gives 3,595 / 7,047 / 13,951 test cases for ×1 /
×2 / ×4. The ``.git`` folder is not copied.
"""
from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path

COPIED = ("rules", "policies")
_ID_LINE = re.compile(r"^(RuleID|PolicyID|BaseDetection):(\s*)(['\"]?)([^'\"\n]+?)(['\"]?)\s*$", re.MULTILINE)


def _suffix_ids(text: str, suffix: str) -> str:
    return _ID_LINE.sub(lambda m: f"{m[1]}:{m[2]}{m[3]}{m[4]}{suffix}{m[5]}", text)


def make(corpus: Path, dest: Path, times: int) -> Path:
    """Write the ×``times`` copy of ``corpus`` to ``dest`` (replaced if it exists); return ``dest``."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(corpus, dest, ignore=shutil.ignore_patterns(".git", "__pycache__", ".pytest_cache"))
    for n in range(1, times):
        for folder in COPIED:
            source = corpus / folder
            target = dest / folder / f"zz_copy{n}"
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
            for spec in (*target.rglob("*.yml"), *target.rglob("*.yaml")):
                spec.write_text(_suffix_ids(spec.read_text(encoding="utf-8"), f".c{n}"), encoding="utf-8")
    return dest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("dest", type=Path)
    parser.add_argument("--times", type=int, default=2, help="k: the size as a multiple of the corpus")
    args = parser.parse_args(argv)
    make(args.corpus.resolve(), args.dest.resolve(), args.times)
    print(args.dest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
