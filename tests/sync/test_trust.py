"""The token goes only where the environment says (issue 11 §3; audit D1 and D7).

The audit's repro: a commit on the deploy branch adds ``[tool.pytest-panther.targets.default]``
with another ``host`` (and ``token_env = "GITHUB_TOKEN"``); the next ``git pull``'s hook sent
``PANTHER_API_TOKEN`` (or the GitHub token) there. Two stand-ins play the victim's Panther and
the other host; the other must never receive a request.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from synchelpers import TOKEN
from synchelpers import is_record

from pytest_panther.cli.main import main
from pytest_panther.sync.hooks import run_hook
from pytest_panther.sync.standin import StandinServer
from pytest_panther.sync.state import read_synced
from pytest_panther.sync.targets import TargetError
from pytest_panther.sync.targets import load_targets

GITHUB_TOKEN = "ghp_victim0000000000000000000000000000"


@pytest.fixture
def other() -> Any:
    with StandinServer(token=TOKEN) as server:
        yield server


@pytest.fixture
def env(standin: Any, monkeypatch: pytest.MonkeyPatch, git_env: dict[str, str]) -> dict[str, str]:
    values = {"PANTHER_API_HOST": standin.url, "PANTHER_API_TOKEN": TOKEN, "GITHUB_TOKEN": GITHUB_TOKEN,
              "PANTHER_SYNC_RETRIES": "0"}
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return {**git_env, **values}


def committed_redirect(repo: Any, host: str, token_env: str | None = "GITHUB_TOKEN") -> None:
    table = f'[tool.pytest-panther.targets.default]\nhost = "{host}"\n'
    if token_env:
        table += f'token_env = "{token_env}"\n'
    repo.write("pyproject.toml", table)


def test_a_committed_host_and_github_token_are_refused_by_the_hook(make_repo: Any, standin: Any, other: Any,
                                                                 env: dict[str, str]) -> None:
    repo = make_repo()
    repo.add_rule("R.1", "r")
    committed_redirect(repo, other.url)
    repo.commit()
    err = _hook(repo.path, env)
    assert "token_env = 'GITHUB_TOKEN' refused: a committed file may only name variables with PANTHER" in err
    assert other.requests() == [] and standin.requests() == []
    assert read_synced(repo.path, "default") is None


def test_a_committed_host_alone_is_refused_with_what_to_set(make_repo: Any, standin: Any, other: Any,
                                                             env: dict[str, str], capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    repo = make_repo()
    repo.add_rule("R.1", "r")
    committed_redirect(repo, other.url, token_env=None)
    repo.commit()
    monkeypatch.chdir(repo.path)
    assert main(["sync", "apply"]) == 1
    err = capsys.readouterr().err
    assert err == (
        f"panther-gitops sync: pyproject.toml [tool.pytest-panther.targets.default]: host '{other.url}' is named only "
        "by a committed file, so the token is not sent there (to deploy to it, set PANTHER_API_HOST to that host or "
        "name it in [targets.default] of your own target config, e.g. ~/.config/pytest-panther/targets.toml)\n"
    )
    assert other.requests() == [] and standin.requests() == []
    # The same table is fine once the environment names that host too.
    monkeypatch.setenv("PANTHER_API_HOST", other.url + "/")
    assert main(["sync", "apply"]) == 0
    assert [r["path"] for r in other.requests() if r["method"] == "PUT" and not is_record(r["path"])] == ["/rules/R.1"]


def test_the_user_config_outside_the_repository_may_name_host_and_any_token_variable(
        make_repo: Any, other: Any, env: dict[str, str], tmp_path: Path) -> None:
    config = tmp_path / "targets.toml"
    config.write_text(f'[targets.staging]\nhost = "{other.url}"\ntoken_env = "STAGING_TOKEN"\n')
    repo = make_repo()
    repo.add_rule("R.1", "r")
    repo.write("pyproject.toml", '[tool.pytest-panther.targets.staging]\ndeploy_branch = "main"\noutput_ids = ["muted"]\n')
    repo.commit()
    env = {**env, "PANTHER_GITOPS_CONFIG": str(config), "STAGING_TOKEN": TOKEN}
    err = _hook(repo.path, env, "staging")
    assert "target staging: summary: 1 created" in err
    (put,) = [r for r in other.requests() if r["method"] == "PUT" and not is_record(r["path"])]
    assert put["body"]["outputIDs"] == ["muted"]


def test_load_targets_rules() -> None:
    env = {"PANTHER_API_HOST": "https://api.acme.runpanther.net", "DEV_PANTHER_HOST": "https://api.dev.acme.io",
           "GITHUB_SERVER_URL": "https://github.com"}
    ok = load_targets('[tool.pytest-panther.targets.dev]\nhost = "api.dev.acme.io"\ntoken_env = "DEV_PANTHER_TOKEN"\n', env)
    assert (ok["dev"].host, ok["dev"].token_env) == ("api.dev.acme.io", "DEV_PANTHER_TOKEN")
    assert load_targets('[tool.pytest-panther.targets.dev]\nhost_env = "DEV_PANTHER_HOST"\n', env)["dev"].host == "https://api.dev.acme.io"
    with pytest.raises(TargetError, match=r"host_env = 'GITHUB_SERVER_URL' refused"):
        load_targets('[tool.pytest-panther.targets.dev]\nhost_env = "GITHUB_SERVER_URL"\n', env)
    for evil in ("https://api.evil.example", "https://api.acme.runpanther.net@api.evil.example",
                 "https://api.acme.runpanther.net.evil.example", "http://api.acme.runpanther.net"):
        with pytest.raises(TargetError, match=f"host '{re.escape(evil)}' is named only by a committed file"):
            load_targets(f'[tool.pytest-panther.targets.default]\nhost = "{evil}"\n', env)
    user = '[targets.default]\nhost = "https://api.acme.runpanther.net"\ntoken_env = "MY_TOKEN"\n'
    with pytest.raises(TargetError, match=r"token_env = 'OTHER_PANTHER_TOKEN' differs from 'MY_TOKEN' in your own target config"):
        load_targets('[tool.pytest-panther.targets.default]\ntoken_env = "OTHER_PANTHER_TOKEN"\n', env, user)
    # A committed table without host keeps the environment's host (deploy branch and overrides from the commit).
    default = load_targets('[tool.pytest-panther.targets.default]\ndeploy_branch = "release"\n', env)["default"]
    # The user config names where targets go, not which targets a repository has.
    assert sorted(load_targets(None, env, '[targets.staging]\nhost = "https://api.staging.acme.io"\n')) == ["default"]
    assert (default.host, default.token_env, default.deploy_branch) == ("https://api.acme.runpanther.net", "PANTHER_API_TOKEN", "release")


def test_a_new_host_gets_a_full_first_sync(make_repo: Any, standin: Any, other: Any, env: dict[str, str],
                                           monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Audit D7: the synced ref was keyed by target name only, so a new host got "0 changed"."""
    repo = make_repo()
    for i in range(3):
        repo.add_rule(f"R.{i}", f"r{i}")
    repo.commit()
    monkeypatch.chdir(repo.path)
    assert main(["sync", "apply"]) == 0
    monkeypatch.setenv("PANTHER_API_HOST", other.url)
    capsys.readouterr()
    assert main(["sync", "status"]) == 0
    assert f"default: {other.url} branch main, token $PANTHER_API_TOKEN set: synced to {standin.url}, not this host" in capsys.readouterr().out
    assert main(["sync", "apply"]) == 0
    out = capsys.readouterr().out
    assert f"note: refs/panther/default/synced was synced to {standin.url}, not {other.url}: comparing with the deployment (a full first sync)" in out
    assert sorted(other.state()["rules"]) == ["R.0", "R.1", "R.2"]


def _hook(path: Path, env: dict[str, str], target: str | None = None) -> str:
    import io

    err = io.StringIO()
    assert run_hook(path, "post-merge", ["0"], target_name=target, env=env, err=err) == 0
    return err.getvalue()
