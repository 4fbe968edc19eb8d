"""Deletes without history (issue 11 §4; audit D4, #31, #32): the deployment keeps a record of
what the repository deployed, so a clone without the synced commit still deletes what the
repository no longer defines — and nothing else."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from synchelpers import TOKEN
from synchelpers import GitRepo

from pytest_panther.cli.main import main
from pytest_panther.sync.manifest import manifest_id
from pytest_panther.sync.manifest import parse_manifest
from pytest_panther.sync.manifest import repo_identity

RECORD = manifest_id("default")


@pytest.fixture
def laptop(make_repo: Any, standin: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    """A clone with ``origin`` (a bare repository) that syncs from its hooks or by hand."""
    monkeypatch.setenv("PANTHER_API_HOST", standin.url)
    monkeypatch.setenv("PANTHER_API_TOKEN", TOKEN)
    bare = tmp_path / "remote.git"
    repo = make_repo("laptop")
    repo.git("init", "-q", "--bare", "-b", "main", str(bare))
    repo.git("remote", "add", "origin", str(bare))
    return repo


def apply(path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    capsys.readouterr()
    assert main(["sync", "apply", "-C", str(path), *args]) == 0, capsys.readouterr()
    return capsys.readouterr().out


@pytest.mark.parametrize("refs", ["not fetched", "fetched, commit missing"])
def test_a_shallow_ci_clone_deletes_what_the_repository_removed(laptop: GitRepo, standin: Any, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str], refs: str) -> None:
    laptop.add_rule("Audit.Keep", "keep")
    laptop.add_rule("Audit.New.500", "new500")
    laptop.commit("two rules")
    apply(laptop.path, capsys)
    laptop.git("push", "-q", "origin", "main", "refs/panther/*:refs/panther/*")
    standin.seed({**standin.state(server_fields=False), "rules": {
        **standin.state(server_fields=False)["rules"], "Console.Made": {"id": "Console.Made", "body": "x", "severity": "LOW"}}})
    for i in range(3):  # history the shallow clone will not have
        laptop.write(f"notes{i}.txt", f"{i}\n")
        laptop.commit(f"notes {i}")
    laptop.remove("rules/new500.yml")
    laptop.remove("rules/new500.py")
    laptop.commit("remove Audit.New.500")
    laptop.git("push", "-q", "origin", "main")
    ci = GitRepo(tmp_path / "ci")
    laptop.git("clone", "-q", "--depth", "1", f"file://{tmp_path / 'remote.git'}", str(ci.path))
    if refs != "not fetched":  # the ref came along (e.g. copied by a CI cache), its commit did not
        synced = laptop.git("rev-parse", "refs/panther/default/synced").stdout.strip()
        (ci.path / ".git/refs/panther/default").mkdir(parents=True)
        (ci.path / ".git/refs/panther/default/synced").write_text(synced + "\n")
        assert ci.git("cat-file", "-e", f"{synced}^{{commit}}", check=False).returncode != 0
    out = apply(ci.path, capsys)
    if refs != "not fetched":
        assert "which this clone lacks; comparing with the deployment" in out
    assert "  - delete rules/Audit.New.500  (deployed by this repository (its record in the deployment), now removed)" in out
    assert "  ? unmanaged rules/Console.Made" in out
    assert sorted(standin.state()["rules"]) == ["Audit.Keep", "Console.Made"]
    record = parse_manifest(standin.state()["globals"][RECORD])
    assert record is not None and record.keys == {("rules", "Audit.Keep")}
    assert record.repository == repo_identity(laptop.path) == repo_identity(ci.path)


def test_another_repository_never_takes_the_record_as_its_own(laptop: GitRepo, standin: Any, make_repo: Any,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    laptop.add_rule("Team.A.Rule", "a")
    laptop.commit()
    apply(laptop.path, capsys)
    other = make_repo("other")
    other.git("remote", "add", "origin", "git@github.com:someone/else.git")
    other.add_rule("Team.B.Rule", "b")
    other.commit()
    out = apply(other.path, capsys)
    assert "note: the deployment's record was written by " in out and "not github.com/someone/else" in out
    assert sorted(standin.state()["rules"]) == ["Team.A.Rule", "Team.B.Rule"]
    record = parse_manifest(standin.state()["globals"][RECORD])
    assert record is not None and record.keys == {("rules", "Team.A.Rule")}


def test_the_record_is_kept_up_to_date_and_is_never_drift_or_pruned(laptop: GitRepo, standin: Any,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    laptop.add_rule("R.1", "r1")
    laptop.add_rule("R.2", "r2")
    laptop.commit()
    apply(laptop.path, capsys)
    laptop.remove("rules/r2.yml")
    laptop.add_rule("R.3", "r3")
    laptop.commit()
    mark = len(standin.requests())
    apply(laptop.path, capsys)
    calls = [(r["method"], r["path"]) for r in standin.requests()[mark:]]
    assert calls == [("PUT", "/rules/R.3"), ("DELETE", "/rules/R.2"), ("GET", f"/globals/{RECORD}"), ("PUT", f"/globals/{RECORD}")]
    record = parse_manifest(standin.state()["globals"][RECORD])
    assert record is not None and record.keys == {("rules", "R.1"), ("rules", "R.3")}
    mark = len(standin.requests())
    apply(laptop.path, capsys)  # nothing changed: no call at all
    assert standin.requests()[mark:] == []
    out = apply(laptop.path, capsys, "--prune")
    assert "plan: 0 to create, 0 to update, 0 to delete, 2 unchanged" in out and RECORD not in out
    assert RECORD in standin.state()["globals"]


@pytest.mark.parametrize(("url", "identity"), [
    ("git@github.com:Org/Repo.git", "github.com/Org/Repo"),
    ("https://x-access-token:secret@GitHub.com/Org/Repo", "github.com/Org/Repo"),
    ("ssh://git@github.com/Org/Repo.git/", "github.com/Org/Repo"),
    ("file:///srv/git/repo.git", "/srv/git/repo"),
    ("/srv/git/repo.git", "/srv/git/repo"),
])
def test_repository_identity_ignores_scheme_user_and_suffix(make_repo: Any, url: str, identity: str) -> None:
    repo = make_repo()
    repo.git("remote", "add", "origin", url)
    assert repo_identity(repo.path) == identity
