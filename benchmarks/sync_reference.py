"""``pat upload`` vs ``panther-gitops sync apply`` on panther-analysis: same deployment, and cost.

Usage::

    python benchmarks/sync_reference.py [--corpus /work/corpus-src] [--pat /work/pat-venv/bin/pat]
                                        [--changes 500] [--out result.json]

Clones the corpus (a panther-analysis checkout, e.g. daa10c88) into a scratch directory and
starts two stand-ins (``panther-gitops standin``, each its own process) on loopback: PAT
uploads to one, the sync applies to the other. After each step the two deployments
(``GET /__standin__/deployment``: every object, every field, whichever route wrote it) must be
equal. Steps:

1. first deployment: ``pat upload --skip-tests`` vs ``sync apply`` (first sync);
2. ``--changes`` specs changed (Severity of rules and policies) in one commit: incremental sync;
3. a commit that changes, renames and deletes a rule, a correlation rule, a lookup table, a
   saved query and a pack; PAT's side runs ``pat upload`` then ``pat delete`` for the removed
   detections and queries (PAT has no delete for lookup tables and packs; the sync names them).

Prints, per step and side, wall time, requests (the stand-in's journal) and peak memory
(``/usr/bin/time``'s maximum RSS of the command), and the number of differing objects.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from pytest_panther.sync.manifest import MANIFEST_PREFIX

GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}
PANTHER_GITOPS = str(Path(sys.executable).parent / "panther-gitops")
TIME = shutil.which("time") or "/usr/bin/time"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env={**os.environ, **GIT_ENV}
    ).stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_standin(token: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "PANTHER_API_TOKEN": token}
    proc = subprocess.Popen([PANTHER_GITOPS, "standin", "--port", str(port)], env=env, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(f"{url}/__standin__/state", timeout=1).read()
            return proc, url
        except OSError:
            time.sleep(0.05)
    raise SystemExit("the stand-in did not start")


def admin(url: str, route: str) -> Any:
    with urllib.request.urlopen(f"{url}/__standin__/{route}", timeout=120) as reply:
        return json.load(reply)


def requests_made(url: str) -> int:
    data = admin(url, "requests")
    return len(data["requests"] if isinstance(data, dict) else data)


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int, str]:
    """Run ``cmd``; (wall seconds, peak RSS in MB, output tail). Exits on failure."""
    started = time.perf_counter()
    proc = subprocess.run([TIME, "-f", "peak-rss-kb %M", *cmd], cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    found = re.findall(r"peak-rss-kb (\d+)", proc.stderr)
    rss = int(found[-1]) // 1024 if found else -1
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:3])} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return wall, rss, proc.stdout


def compare(theirs: str, ours: str) -> dict[str, Any]:
    a = admin(theirs, "deployment")
    # The sync's record of what it deployed (pytest_panther.sync.manifest) has no PAT counterpart.
    b = {k: v for k, v in admin(ours, "deployment").items() if not k.startswith(f"globals/{MANIFEST_PREFIX}")}
    kinds: dict[str, int] = {}
    for key in b:
        kinds[key.split("/", 1)[0]] = kinds.get(key.split("/", 1)[0], 0) + 1
    differing = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    return {"objects_pat": len(a), "objects_sync": len(b), "differing": len(differing),
            "differing_first": differing[:10], "by_kind": dict(sorted(kinds.items()))}


_NOT_DEPLOYED = re.compile(r"^Status:\s*['\"]?(experimental|deprecated)", re.MULTILINE | re.IGNORECASE)


def change_severities(repo: Path, count: int) -> int:
    """Change ``Severity`` of up to ``count`` rule and policy specs (one line each)."""
    changed = 0
    swap = {"Info": "Low", "Low": "Medium", "Medium": "High", "High": "Critical", "Critical": "High"}
    for path in sorted(repo.glob("rules/**/*.yml")) + sorted(repo.glob("policies/**/*.yml")):
        if changed >= count:
            break
        text = path.read_text()
        match = re.search(r"^Severity:\s*(\w+)\s*$", text, re.MULTILINE)
        if not match or match.group(1) not in swap or _NOT_DEPLOYED.search(text):
            continue
        path.write_text(text[: match.start(1)] + swap[match.group(1)] + text[match.end(1):])
        changed += 1
    return changed


def first_id(path: Path, key: str) -> str:
    match = re.search(rf"^{key}:\s*['\"]?([^'\"\n]+?)['\"]?\s*$", path.read_text(), re.MULTILINE)
    assert match, f"{path}: no {key}"
    return match.group(1)


def rename_id(path: Path, key: str, new: str) -> str:
    old = first_id(path, key)
    path.write_text(re.sub(rf"^{key}:.*$", f"{key}: {new}", path.read_text(), count=1, flags=re.MULTILINE))
    return old


def mixed_commit(repo: Path) -> tuple[list[str], list[str]]:
    """Change, rename and delete a rule, a correlation rule, a lookup table, a saved query and a
    pack. Returns (detection IDs, query names) PAT must delete."""
    ids, queries = [], []
    rules = [p for p in sorted(repo.glob("rules/aws_cloudtrail_rules/*.yml")) if "Status:" not in p.read_text()][:3]
    change_severities_in = rules[0]
    text = change_severities_in.read_text()
    change_severities_in.write_text(re.sub(r"^Severity:.*$", "Severity: Info", text, count=1, flags=re.MULTILINE))
    ids.append(rename_id(rules[1], "RuleID", first_id(rules[1], "RuleID") + ".Renamed"))
    ids.append(first_id(rules[2], "RuleID"))
    rules[2].unlink()
    corr = [p for p in sorted(repo.glob("correlation_rules/*.yml")) if "Status:" not in p.read_text()][:3]
    corr[0].write_text(corr[0].read_text().replace("Severity: High", "Severity: Medium", 1))
    ids.append(rename_id(corr[1], "RuleID", first_id(corr[1], "RuleID") + ".Renamed"))
    ids.append(first_id(corr[2], "RuleID"))
    corr[2].unlink()
    luts = sorted(repo.glob("lookup_tables/*/*.yml"))[:3]
    luts[0].write_text(re.sub(r"^Description:.*$", "Description: changed by the benchmark", luts[0].read_text(), count=1, flags=re.MULTILINE))
    rename_id(luts[1], "LookupName", first_id(luts[1], "LookupName") + "_renamed")
    luts[2].unlink()
    saved = [p for p in sorted(repo.glob("queries/**/*.yml")) if "AnalysisType: saved_query" in p.read_text() and "Status:" not in p.read_text()][:3]
    saved[0].write_text(re.sub(r"^Description:.*$", "Description: changed by the benchmark", saved[0].read_text(), count=1, flags=re.MULTILINE))
    queries.append(rename_id(saved[1], "QueryName", first_id(saved[1], "QueryName") + " renamed"))
    queries.append(first_id(saved[2], "QueryName"))
    saved[2].unlink()
    packs = sorted(repo.glob("packs/*.yml"))[:3]
    packs[0].write_text(re.sub(r"^Description:.*$", "Description: changed by the benchmark", packs[0].read_text(), count=1, flags=re.MULTILINE))
    rename_id(packs[1], "PackID", first_id(packs[1], "PackID") + ".Renamed")
    packs[2].unlink()
    return ids, queries


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default="/work/corpus-src")
    parser.add_argument("--pat", default=os.environ.get("PAT", "/work/pat-venv/bin/pat"))
    parser.add_argument("--changes", type=int, default=500)
    parser.add_argument("--out")
    parser.add_argument("--no-standin-tests", action="store_true",
                        help="stand-ins save without running the uploaded unit tests (measures the clients only)")
    args = parser.parse_args()
    if not Path(args.corpus, ".git").exists() or not Path(args.pat).exists():
        print(f"skipped: needs a panther-analysis git checkout ({args.corpus}) and PAT ({args.pat})")
        return 0
    token = secrets.token_hex(16)
    result: dict[str, Any] = {"corpus": args.corpus, "steps": []}
    with tempfile.TemporaryDirectory(prefix="sync-reference-") as scratch:
        repo = Path(scratch) / "repo"
        subprocess.run(["git", "clone", "-q", args.corpus, str(repo)], check=True)
        result["commit"] = git(repo, "rev-parse", "HEAD").strip()
        (pat_proc, theirs), (sync_proc, ours) = start_standin(token), start_standin(token)
        if args.no_standin_tests:
            for url in (theirs, ours):
                request = urllib.request.Request(f"{url}/__standin__/config", data=b'{"run_tests": false}', method="POST",
                                                 headers={"Content-Type": "application/json"})
                urllib.request.urlopen(request, timeout=30).read()
        result["standin_runs_tests"] = not args.no_standin_tests
        env = {**os.environ, "PANTHER_API_HOST": ours, "PANTHER_API_TOKEN": token}
        pat_args = ["--api-host", theirs + "/public/graphql", "--api-token", token]
        try:

            def step(name: str, pat_cmds: list[list[str]]) -> None:
                before_pat, before_sync = requests_made(theirs), requests_made(ours)
                pat_wall, pat_rss = 0.0, 0
                for cmd in pat_cmds:
                    wall, rss, _ = timed([args.pat, *cmd, *pat_args], repo, dict(os.environ))
                    pat_wall, pat_rss = pat_wall + wall, max(pat_rss, rss)
                wall, rss, out = timed([PANTHER_GITOPS, "sync", "apply", "--any-branch"], repo, env)
                summary = next((line for line in out.splitlines() if line.startswith("summary:")), "")
                row = {
                    "step": name,
                    "pat": {"seconds": round(pat_wall, 2), "requests": requests_made(theirs) - before_pat, "peak_rss_mb": pat_rss},
                    "sync": {"seconds": round(wall, 2), "requests": requests_made(ours) - before_sync, "peak_rss_mb": rss, "summary": summary},
                    "compare": compare(theirs, ours),
                }
                result["steps"].append(row)
                print(json.dumps(row))

            step("first deployment", [["upload", "--path", ".", "--skip-tests"]])
            changed = change_severities(repo, args.changes)
            git(repo, "commit", "-qam", f"{changed} severity changes")
            step(f"{changed} changed specs", [["upload", "--path", ".", "--skip-tests"]])
            ids, queries = mixed_commit(repo)
            git(repo, "add", "-A")
            git(repo, "commit", "-qm", "change, rename and delete every kind")
            delete = ["delete", "--no-confirm", *sum((["--analysis-id", i] for i in ids), []), *sum((["--query-id", q] for q in queries), [])]
            step("change/rename/delete every kind", [["upload", "--path", ".", "--skip-tests"], delete])
        finally:
            for proc in (pat_proc, sync_proc):
                proc.terminate()
                proc.wait(timeout=30)
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2))
    return 0 if all(s["compare"]["differing"] == 0 for s in result["steps"]) else 1


if __name__ == "__main__":
    sys.exit(main())
