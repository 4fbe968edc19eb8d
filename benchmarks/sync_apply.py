"""Time ``panther-gitops sync apply`` of 1,000 changed detections against the stand-in.

Usage: ``python benchmarks/sync_apply.py [--count N]``. Starts ``panther-gitops standin`` on a free
loopback port in a subprocess (so server and client do not share a GIL), builds a scratch git
repository with N generated rules, deploys them once (N creates, timed too), changes every
rule's severity, commits, and times the incremental ``sync apply`` (N updates). Prints wall
time and requests per second (requests counted in the stand-in's journal).
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}
PANTHER_GITOPS = str(Path(sys.executable).parent / "panther-gitops")


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env={**os.environ, **GIT_ENV})


def write_rules(repo: Path, count: int, severity: str) -> None:
    folder = repo / "rules"
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        name = f"bench_rule_{index:04d}"
        (folder / f"{name}.py").write_text(f"def rule(event):\n    return event.get('n') == {index}\n")
        (folder / f"{name}.yml").write_text(
            f"AnalysisType: rule\nRuleID: Bench.Rule.{index:04d}\nFilename: {name}.py\nEnabled: true\n"
            f"Severity: {severity}\nLogTypes:\n  - AWS.CloudTrail\nTests:\n  - Name: hit\n"
            f"    ExpectedResult: true\n    Log:\n      n: {index}\n"
        )


def journal_size(url: str) -> int:
    with urllib.request.urlopen(f"{url}/__standin__/requests", timeout=30) as reply:
        data = json.load(reply)
    return len(data["requests"] if isinstance(data, dict) else data)


def apply(repo: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    proc = subprocess.run([PANTHER_GITOPS, "sync", "apply", "-C", str(repo)], capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"sync apply failed:\n{proc.stdout}\n{proc.stderr[-2000:]}")
    print("  " + proc.stdout.strip().splitlines()[-2])
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    args = parser.parse_args()
    token = secrets.token_hex(16)
    env = {**os.environ, "PANTHER_API_TOKEN": token}
    server = subprocess.Popen([PANTHER_GITOPS, "standin", "--port", "0"], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        url = line.split()[1]
        env["PANTHER_API_HOST"] = url
        with tempfile.TemporaryDirectory(prefix="sync-apply-bench-") as tmp:
            repo = Path(tmp) / "repo"
            repo.mkdir()
            git(repo, "init", "-q", "-b", "main")
            write_rules(repo, args.count, "Low")
            git(repo, "add", "-A")
            git(repo, "commit", "-q", "-m", "rules")
            print(f"first deploy ({args.count} creates, refresh mode: lists the deployment first):")
            before = journal_size(url)
            created = apply(repo, env)
            requests = journal_size(url) - before
            print(f"  {created:.2f} s, {requests} requests, {requests / created:.0f} requests/s")
            write_rules(repo, args.count, "High")
            git(repo, "commit", "-q", "-am", "every rule High")
            print(f"incremental apply ({args.count} changed detections):")
            before = journal_size(url)
            updated = apply(repo, env)
            requests = journal_size(url) - before
            print(f"  {updated:.2f} s, {requests} requests, {requests / updated:.0f} requests/s")
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
