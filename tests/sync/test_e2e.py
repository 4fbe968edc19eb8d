"""End to end: real git repositories (an upstream and a fork with real git hooks calling
``panther-gitops sync hook``), the real stand-in Panther on loopback, no mocks of git or HTTP.

After every scenario the stand-in holds exactly the fork's desired state at HEAD (unless the
scenario says otherwise) and the token appears in no file under the test directory and in no
captured output (issue 4, "What it must show"; sync-contract.md §5.7).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from synchelpers import TOKEN
from synchelpers import GitRepo
from synchelpers import deployed
from synchelpers import desired
from synchelpers import is_record

from pytest_panther.sync.state import read_pending
from pytest_panther.sync.state import read_synced

PANTHER_GITOPS = str(Path(sys.executable).parent / "panther-gitops")
STAGES = ("post-merge", "post-rewrite", "post-commit", "post-checkout")


class Scenario:
    def __init__(self, tmp_path: Path, up: GitRepo, fork: GitRepo, server: Any) -> None:
        self.tmp_path, self.up, self.fork, self.server = tmp_path, up, fork, server
        self.outputs: list[str] = []

    def run(self, *args: str, check: bool = True, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """A git command in the fork (its hooks fire); output kept for the token check."""
        proc = self.fork.git(*args, check=check, env=env)
        self.outputs += [proc.stdout, proc.stderr]
        return proc

    def cli(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [PANTHER_GITOPS, *args], cwd=self.fork.path, capture_output=True, text=True, timeout=120,
            env=env or dict(os.environ),
        )
        self.outputs += [proc.stdout, proc.stderr]
        return proc

    def mark(self) -> int:
        return len(self.server.requests())

    def writes(self, since: int = 0) -> list[str]:
        return [
            f"{r['method']} {r['path']} {r['status']}"
            for r in self.server.requests()[since:]
            if r["method"] in ("PUT", "POST", "DELETE") and not is_record(r["path"])
        ]

    def check(self, *, synced: bool = True, secrets: tuple[str, ...] = (TOKEN,)) -> None:
        """Deployment == desired state at HEAD; ref at HEAD; no secret anywhere."""
        assert deployed(self.server) == desired(self.fork.path)
        if synced:
            assert read_synced(self.fork.path, "default") == self.fork.head()
        for secret in secrets:
            needle = secret.encode()
            for path in self.tmp_path.rglob("*"):
                if path.is_file() and not path.is_symlink():
                    assert needle not in path.read_bytes(), f"token found in {path}"
            assert all(secret not in text for text in self.outputs)
            assert all(secret not in str(r) for r in self.server.requests())


def install_hooks(repo: GitRepo) -> None:
    hooks = repo.path / ".git" / "hooks"
    for stage in STAGES:
        script = hooks / stage
        script.write_text(f'#!/bin/sh\nexec "{PANTHER_GITOPS}" sync hook --stage {stage} -- "$@"\n')
        script.chmod(0o755)


@pytest.fixture
def scenario(tmp_path: Path, make_repo: Any, standin: Any, monkeypatch: pytest.MonkeyPatch) -> Scenario:
    monkeypatch.setenv("PANTHER_API_HOST", standin.url)
    monkeypatch.setenv("PANTHER_API_TOKEN", TOKEN)
    monkeypatch.setenv("PANTHER_SYNC_RETRIES", "3")
    monkeypatch.setenv("PANTHER_SYNC_BACKOFF", "0.01")
    monkeypatch.setenv("PANTHER_SYNC_MAX_BACKOFF", "2")
    monkeypatch.setenv("PANTHER_SYNC_TIMEOUT", "5")
    up = make_repo("upstream")
    up.write("global_helpers/helper.py", "def helper():\n    return 1\n")
    up.write("global_helpers/helper.yml", "AnalysisType: global\nGlobalID: helper\nFilename: helper.py\n")
    for name in ("A.Rule", "B.Rule", "C.Rule"):
        up.add_rule(name)
    up.commit("upstream v1")
    subprocess.run(["git", "clone", "-q", str(up.path), str(tmp_path / "fork")], check=True, capture_output=True)
    fork = GitRepo(tmp_path / "fork")
    fork.git("config", "pull.rebase", "false")
    install_hooks(fork)
    sc = Scenario(tmp_path, up, fork, standin)
    first = sc.cli("sync", "apply")
    assert first.returncode == 0, first.stderr
    assert "summary: 4 created, 0 updated, 0 deleted, 0 unchanged, 0 failed" in first.stdout
    sc.check()
    return sc


def test_fast_forward_pull_sends_exactly_the_change(scenario: Scenario) -> None:
    scenario.up.add_rule("B.Rule", body="def rule(event):\n    return bool(event.get('x'))\n")
    scenario.up.commit("upstream: tune B")
    mark = scenario.mark()
    proc = scenario.run("pull", "-q")
    assert scenario.writes(mark) == ["PUT /rules/B.Rule 200"]
    assert scenario.server.state()["rules"]["B.Rule"]["body"] == "def rule(event):\n    return bool(event.get('x'))\n"
    assert "panther-sync: target default: summary: 0 created, 1 updated, 0 deleted, 3 unchanged, 0 failed" in proc.stderr
    scenario.check()


def test_pull_rebase_deploys_the_customised_version_and_nothing_mid_rebase(scenario: Scenario) -> None:
    fork, up = scenario.fork, scenario.up
    fork.add_rule("A.Rule", severity="High")  # our customisation, on the deploy branch
    scenario.run("commit", "-qam", "ours: A is High")
    scenario.check()
    up.add_rule("A.Rule", body="def rule(event):\n    return event.get('x') == 1 or event.get('y')\n")  # upstream edits the .py only
    up.add_rule("C.Rule", severity="Medium")
    up.commit("upstream v2")
    mark = scenario.mark()
    proc = scenario.run("pull", "--rebase", "-q")
    assert "post-checkout: a rebase is in progress: the sync runs when it finishes" in proc.stderr
    assert "post-commit: a rebase is in progress" in proc.stderr
    assert scenario.writes(mark) == ["PUT /rules/A.Rule 200", "PUT /rules/C.Rule 200"]
    stored = scenario.server.state()["rules"]["A.Rule"]
    assert (stored["severity"], stored["body"]) == ("HIGH", "def rule(event):\n    return event.get('x') == 1 or event.get('y')\n")
    scenario.check()


def test_rename_and_deletion(scenario: Scenario) -> None:
    up = scenario.up
    up.write("rules/b_rule.yml", (up.path / "rules/b_rule.yml").read_text().replace("RuleID: B.Rule", "RuleID: B.Renamed"))
    up.remove("rules/c_rule.yml")
    up.remove("rules/c_rule.py")
    up.commit("upstream: rename B, drop C")
    mark = scenario.mark()
    scenario.run("pull", "-q")
    assert scenario.writes(mark) == ["PUT /rules/B.Renamed 201", "DELETE /rules/B.Rule 204", "DELETE /rules/C.Rule 204"]
    scenario.check()


def test_deprecated_entry_deletes(scenario: Scenario) -> None:
    up = scenario.up
    up.remove("rules/a_rule.yml")
    up.remove("rules/a_rule.py")
    up.write("deprecated.txt", "A.Rule\nNever.Deployed\n")
    up.commit("upstream: deprecate A")
    mark = scenario.mark()
    scenario.run("pull", "-q")
    writes = scenario.writes(mark)
    assert writes[0] == "DELETE /rules/A.Rule 204"
    # After REST's 404 on /rules, PAT's deleteDetections looks for a detection REST cannot see
    # (a derived detection); then the other REST collections.
    assert writes[1:] == [
        "DELETE /rules/Never.Deployed 404", "POST /public/graphql 200",
        *(f"DELETE /{res}/Never.Deployed 404" for res in ("simple-rules", "scheduled-rules", "policies")),
    ]
    scenario.check()


def test_squash_merge_syncs_on_its_commit(scenario: Scenario) -> None:
    scenario.up.add_rule("New.Rule")
    scenario.up.commit("upstream: new rule")
    scenario.run("fetch", "-q")
    mark = scenario.mark()
    proc = scenario.run("merge", "--squash", "origin/main")
    assert "post-merge: squash merge: nothing is committed yet; the sync runs after its commit" in proc.stderr
    assert scenario.writes(mark) == []
    scenario.run("commit", "-qm", "squash upstream")
    assert scenario.writes(mark) == ["PUT /rules/New.Rule 201"]
    scenario.check()


def _conflict(scenario: Scenario) -> None:
    scenario.fork.add_rule("A.Rule", severity="High")
    scenario.run("commit", "-qam", "ours: A is High")
    scenario.up.add_rule("A.Rule", severity="Critical")
    scenario.up.add_rule("B.Rule", severity="Medium")
    scenario.up.commit("upstream: A is Critical, B Medium")


def test_rebase_stopped_on_a_conflict_then_continued(scenario: Scenario) -> None:
    _conflict(scenario)
    mark = scenario.mark()
    stopped = scenario.run("pull", "--rebase", "-q", check=False)
    assert stopped.returncode != 0 and "CONFLICT" in stopped.stdout + stopped.stderr
    assert scenario.writes(mark) == []
    scenario.fork.add_rule("A.Rule", severity="High")  # resolve: keep ours
    scenario.run("add", "rules/a_rule.yml")
    proc = scenario.run("rebase", "--continue", env={**os.environ, "GIT_EDITOR": "true"})
    assert "summary: 0 created, 1 updated" in proc.stderr
    assert scenario.writes(mark) == ["PUT /rules/B.Rule 200"]
    assert scenario.server.state()["rules"]["A.Rule"]["severity"] == "HIGH"
    scenario.check()


def test_rebase_aborted_sends_nothing(scenario: Scenario) -> None:
    _conflict(scenario)
    before = scenario.fork.head()
    mark = scenario.mark()
    scenario.run("pull", "--rebase", "-q", check=False)
    scenario.run("rebase", "--abort")
    assert scenario.fork.head() == before
    assert scenario.writes(mark) == []
    scenario.check()


def _upstream_change(scenario: Scenario, rule: str = "B.Rule") -> None:
    scenario.up.add_rule(rule, severity="Critical")
    scenario.up.commit(f"upstream: {rule} critical")


def test_503_twice_then_success(scenario: Scenario) -> None:
    _upstream_change(scenario)
    scenario.server.inject(method="PUT", path_regex="^/rules/", status=503, times=2, retry_after=0)
    mark = scenario.mark()
    proc = scenario.run("pull", "-q")
    assert scenario.writes(mark) == ["PUT /rules/B.Rule 503", "PUT /rules/B.Rule 503", "PUT /rules/B.Rule 200"]
    assert "panther-sync: [1/1] updated rules/B.Rule (after 2 retries: 503, 503)" in proc.stderr  # never silent
    scenario.check()


def test_429_honours_retry_after(scenario: Scenario) -> None:
    _upstream_change(scenario)
    scenario.server.inject(method="PUT", path_regex="^/rules/", status=429, times=1, retry_after=1)
    mark = scenario.mark()
    started = time.monotonic()
    scenario.run("pull", "-q")
    assert time.monotonic() - started >= 1.0
    assert scenario.writes(mark) == ["PUT /rules/B.Rule 429", "PUT /rules/B.Rule 200"]
    scenario.check()


def test_timeout_is_retried(scenario: Scenario, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PANTHER_SYNC_TIMEOUT", "1")
    _upstream_change(scenario)
    scenario.server.inject(method="PUT", path_regex="^/rules/", delay_ms=2500, times=1)
    mark = scenario.mark()
    proc = scenario.run("pull", "-q")
    assert "0 failed" in proc.stderr
    # The client gave up on the first (it still completes on the server: an idempotent PUT)
    # and sent it again.
    deadline = time.monotonic() + 10
    while len(scenario.writes(mark)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert scenario.writes(mark) == ["PUT /rules/B.Rule 200", "PUT /rules/B.Rule 200"]
    scenario.check()


def test_dropped_connection_is_retried(scenario: Scenario) -> None:
    _upstream_change(scenario)
    scenario.server.inject(method="PUT", path_regex="^/rules/", drop_connection=True, times=1)
    mark = scenario.mark()
    proc = scenario.run("pull", "-q")
    assert scenario.writes(mark) == ["PUT /rules/B.Rule None", "PUT /rules/B.Rule 200"]
    assert "0 failed" in proc.stderr
    scenario.check()


def test_400_on_the_5th_of_10_keeps_the_ref_and_the_rerun_finishes(scenario: Scenario) -> None:
    before = scenario.fork.head()
    for index in range(10):
        scenario.up.add_rule(f"Batch.{index:02d}")
    scenario.up.commit("upstream: ten rules")
    scenario.server.inject(method="PUT", path_regex="^/rules/", status=400, times=1, skip=4, body={"message": "test failed"})
    mark = scenario.mark()
    proc = scenario.run("pull", "-q")
    assert proc.returncode == 0
    assert "panther-sync:   rules/Batch.04: PUT /rules/Batch.04: 400 test failed" in proc.stderr
    assert "sync FAILED; refs/panther/default/synced was not moved" in proc.stderr
    assert read_synced(scenario.fork.path, "default") == before
    rerun = scenario.cli("sync", "apply")
    assert rerun.returncode == 0, rerun.stderr
    created = [w for w in scenario.writes(mark) if w.endswith(" 201")]
    assert len(created) == len(set(created)) == 10
    scenario.check()


def test_wrong_token_fails_loudly_and_keeps_the_ref(scenario: Scenario) -> None:
    before = scenario.fork.head()
    _upstream_change(scenario)
    wrong = "wrong-tok-0d9e8f7a"
    proc = scenario.run("pull", "-q", env={**os.environ, "PANTHER_API_TOKEN": wrong})
    assert proc.returncode == 0
    assert "PUT /rules/B.Rule: 401" in proc.stderr and "the token was refused" in proc.stderr
    assert read_synced(scenario.fork.path, "default") == before
    assert scenario.cli("sync", "apply").returncode == 0
    scenario.check(secrets=(TOKEN, wrong))


def test_two_hooks_racing_sync_once(scenario: Scenario) -> None:
    _upstream_change(scenario)
    scenario.run("-c", "core.hooksPath=/dev/null", "pull", "-q")  # hooks off: the race is below
    scenario.server.inject(method="PUT", path_regex="^/rules/", delay_ms=600, times=1)
    mark = scenario.mark()
    procs = [
        subprocess.Popen([PANTHER_GITOPS, "sync", "hook", "--stage", "post-merge", "--", "0"], cwd=scenario.fork.path,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = [p.communicate(timeout=60) for p in procs]
    scenario.outputs += [text for pair in results for text in pair]
    assert [p.returncode for p in procs] == [0, 0]
    assert scenario.writes(mark) == ["PUT /rules/B.Rule 200"]
    assert sorted("1 updated" in err for _, err in results) == [False, True]
    scenario.check()


def test_kill_9_in_the_middle_of_apply_then_rerun(scenario: Scenario) -> None:
    before = scenario.fork.head()
    for index in range(10):
        scenario.up.add_rule(f"Batch.{index:02d}")
    scenario.up.commit("upstream: ten rules")
    scenario.run("-c", "core.hooksPath=/dev/null", "pull", "-q")
    scenario.server.inject(method="PUT", path_regex="^/rules/", delay_ms=1500, times=1, skip=4)
    mark = scenario.mark()
    proc = subprocess.Popen([PANTHER_GITOPS, "sync", "apply"], cwd=scenario.fork.path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while len(scenario.writes(mark)) < 4 and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    out, err = proc.communicate(timeout=30)
    scenario.outputs += [out, err]
    assert proc.returncode == -signal.SIGKILL
    assert read_synced(scenario.fork.path, "default") == before
    assert len(read_pending(scenario.fork.path, "default")) == 10  # recorded before the first call
    time.sleep(1.6)  # the in-flight request completes on the server
    rerun = scenario.cli("sync", "apply")
    assert rerun.returncode == 0, rerun.stderr
    created = [w for w in scenario.writes(mark) if w.endswith(" 201")]
    assert len(created) == len(set(created)) == 10
    assert read_pending(scenario.fork.path, "default") == set()
    scenario.check()


def test_feature_branch_and_missing_target_never_sync(scenario: Scenario, monkeypatch: pytest.MonkeyPatch) -> None:
    mark = scenario.mark()
    proc = scenario.run("checkout", "-q", "-b", "feature")
    assert "panther-sync: HEAD is on feature, not a deploy branch (main); nothing synced" in proc.stderr
    scenario.fork.add_rule("Feature.Rule")
    scenario.run("add", "-A")
    scenario.run("commit", "-qm", "wip")
    assert scenario.writes(mark) == []
    scenario.run("checkout", "-q", "main")
    monkeypatch.delenv("PANTHER_API_HOST")
    proc = scenario.run("merge", "-q", "feature")
    assert proc.stderr.splitlines() == [
        "panther-sync: no target configured (set PANTHER_API_HOST and PANTHER_API_TOKEN, or "
        "[tool.pytest-panther.targets.<name>] in pyproject.toml); nothing synced"
    ]
    assert scenario.writes(mark) == []
    monkeypatch.setenv("PANTHER_API_HOST", scenario.server.url)
    assert scenario.cli("sync", "apply").returncode == 0
    scenario.check()


def test_the_published_pre_commit_hooks_sync_pulls_squashes_and_rebases(scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The four sync hooks of .pre-commit-hooks.yaml, installed by pre-commit itself (as a
    ``repo: local`` copy with ``language: unsupported``, since a ``language: python`` install
    would need the network), drive the same scenarios: pre-commit passes no arguments and
    announces a squash merge only through ``PRE_COMMIT_IS_SQUASH_MERGE``."""
    from pytest_panther.spec.yaml import dump
    from pytest_panther.spec.yaml import load_file

    published = Path(__file__).resolve().parents[2] / ".pre-commit-hooks.yaml"
    if not published.exists():
        pytest.skip(".pre-commit-hooks.yaml is not published yet")
    hooks = [h for h in load_file(published).data if str(h["id"]).startswith("panther-sync-")]
    assert sorted(h["id"] for h in hooks) == [f"panther-sync-{stage}" for stage in sorted(STAGES)]
    for item in hooks:
        assert item["entry"] == f"panther-gitops sync hook --stage {item['stages'][0]}"
        assert (item["always_run"], item["pass_filenames"], item["language"]) == (True, False, "python")
        item["entry"] = PANTHER_GITOPS + item["entry"].removeprefix("panther-gitops")
        item["language"] = "unsupported"
    monkeypatch.setenv("PRE_COMMIT_HOME", str(tmp_path / "pre-commit-home"))
    fork = scenario.fork
    for stage in STAGES:
        (fork.path / ".git" / "hooks" / stage).unlink()
    fork.write(".pre-commit-config.yaml", dump({
        "default_install_hook_types": ["pre-commit", *STAGES],
        "repos": [{"repo": "local", "hooks": hooks}],
    }))
    pre_commit = str(Path(sys.executable).parent / "pre-commit")
    subprocess.run([pre_commit, "install"], cwd=fork.path, check=True, capture_output=True)
    scenario.run("add", ".pre-commit-config.yaml")
    scenario.run("commit", "-qm", "use the sync hooks")
    # Fast-forward pull.
    _upstream_change(scenario, "B.Rule")
    mark = scenario.mark()
    proc = scenario.run("pull", "-q", "--no-rebase")
    assert scenario.writes(mark) == ["PUT /rules/B.Rule 200"], proc.stdout + proc.stderr
    scenario.check()
    # Squash merge: nothing until its commit.
    scenario.up.add_rule("New.Rule")
    scenario.up.commit("upstream: new rule")
    scenario.run("fetch", "-q")
    mark = scenario.mark()
    scenario.run("merge", "--squash", "origin/main")
    assert scenario.writes(mark) == []
    scenario.run("commit", "-qm", "squash upstream")
    assert scenario.writes(mark) == ["PUT /rules/New.Rule 201"]
    scenario.check()
    # Rebase pull with a local customisation on top.
    fork.add_rule("A.Rule", severity="High")
    scenario.run("commit", "-qam", "ours: A is High")
    scenario.up.add_rule("C.Rule", severity="Medium")
    scenario.up.commit("upstream: C Medium")
    mark = scenario.mark()
    scenario.run("pull", "-q", "--rebase")
    assert scenario.writes(mark) == ["PUT /rules/C.Rule 200"]
    assert scenario.server.state()["rules"]["A.Rule"]["severity"] == "HIGH"
    scenario.check()


def test_amend_and_fast_forward_rebase(scenario: Scenario) -> None:
    # An amend on the deploy branch: post-commit syncs, post-rewrite finds nothing left.
    scenario.fork.add_rule("A.Rule", severity="High")
    scenario.run("commit", "-qam", "ours")
    scenario.fork.add_rule("A.Rule", severity="Medium")
    mark = scenario.mark()
    proc = scenario.run("commit", "-qa", "--amend", "-m", "ours, amended")
    assert scenario.writes(mark) == ["PUT /rules/A.Rule 200"]
    assert proc.stderr.count("summary: 0 created, 1 updated") == 1
    scenario.check()
    # A fast-forward `git rebase` fires only post-checkout, mid-rebase (sync-contract.md §4.1):
    # nothing is sent then, and the next hook on the deploy branch catches up (state based).
    scenario.run("-c", "core.hooksPath=/dev/null", "reset", "-q", "--hard", "origin/main")
    scenario.cli("sync", "apply")
    _upstream_change(scenario, "C.Rule")
    scenario.run("fetch", "-q")
    mark = scenario.mark()
    proc = scenario.run("rebase", "-q", "origin/main")
    assert proc.stderr == "panther-sync: post-checkout: a rebase is in progress: the sync runs when it finishes\n"
    assert scenario.writes(mark) == []
    assert scenario.cli("sync", "status").stdout.endswith("HEAD is 1 commit(s) ahead\n")
    scenario.run("checkout", "-q", "main")
    assert scenario.writes(mark) == ["PUT /rules/C.Rule 200"]
    scenario.check()


def test_a_pulled_commit_cannot_redirect_the_token(scenario: Scenario, monkeypatch: pytest.MonkeyPatch) -> None:
    """Audit D1, end to end: upstream commits a targets.default table with another host and
    token_env = "GITHUB_TOKEN"; the post-merge hook of the next `git pull` must send nothing there."""
    from pytest_panther.sync.standin import StandinServer

    github_token = "ghp_e2e0000000000000000000000000000000"
    monkeypatch.setenv("GITHUB_TOKEN", github_token)
    with StandinServer(token=TOKEN) as other:
        scenario.up.write("pyproject.toml", f'[tool.pytest-panther.targets.default]\nhost = "{other.url}"\ntoken_env = "GITHUB_TOKEN"\n')
        scenario.up.add_rule("D.Rule")
        scenario.up.commit("redirect")
        mark = scenario.mark()
        proc = scenario.run("pull", "-q")
        assert "token_env = 'GITHUB_TOKEN' refused" in proc.stderr
        assert other.requests() == [] and scenario.writes(mark) == []
    assert "D.Rule" not in scenario.server.state()["rules"]  # nothing deployed until the table is fixed
    assert all(secret not in text for text in scenario.outputs for secret in (TOKEN, github_token))
