"""What `upstream pull` says about deployment (issue 12): hook installed or not, the target, what
the sync deletes; and that it happens so (a real post-commit hook syncs the stand-in)."""
from __future__ import annotations

import stat
import sys
from pathlib import Path
from typing import Any

import pytest
from upstream_repos import upstream

from pytest_panther.cli.main import main

HOOK = """\
#!/bin/sh
# panther-gitops sync hook --stage post-commit (as a raw git hook)
exec "{python}" -c "import sys; from pytest_panther.cli.main import main; sys.exit(main(['sync', 'hook', '--stage', 'post-commit']))"
"""


def install_hook(fork: Path) -> None:
    hook = fork / ".git" / "hooks" / "post-commit"
    hook.write_text(HOOK.format(python=sys.executable))
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR)


def test_pull_names_target_and_deletions_and_the_hook_deploys_them(
    fork: Path, capsys: pytest.CaptureFixture[str], ran: list[list[str]], standin: Any,
) -> None:
    assert main(["sync", "apply", "-C", str(fork)]) == 0
    assert "Up.GCP.Legacy" in standin.state(server_fields=False)["rules"]
    install_hook(fork)
    code, out = upstream(fork, capsys, "pull", "--tag", "v2.0.0")
    assert code == 0, out
    lines = out.splitlines()
    start = lines.index("recorded v2.0.0 as the base release")
    assert lines[start:] == [
        "recorded v2.0.0 as the base release",
        f"the sync hook deploys the result to target default ({standin.url})",
        "  0 to create, 1 to update, 1 to delete",
        "  deletes Up.GCP.Legacy (spec removed)",
    ]
    rules = standin.state(server_fields=False)["rules"]
    assert "Up.GCP.Legacy" not in rules  # the hook did deploy it as said
    assert "event.get(\"eventName\") == \"ConsoleLogin\"" in rules["Up.AWS.RootLogin"]["body"]  # v2's code


def test_pull_says_when_the_branch_is_not_deployed(
    fork: Path, capsys: pytest.CaptureFixture[str], ran: list[list[str]], standin: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PANTHER_DEPLOY_BRANCH", "production")
    install_hook(fork)
    code, out = upstream(fork, capsys, "pull", "--tag", "v2.0.0")
    assert code == 0, out
    assert out.splitlines()[-1] == "the sync hook deploys only from production; main is not deployed (merge it there)"
    assert standin.state(server_fields=False).get("rules", {}) == {}


def test_continue_reads_the_settings_of_the_finished_tree(
    fork: Path, capsys: pytest.CaptureFixture[str], ran: list[list[str]],
) -> None:
    """`packs` set by a fork commit replayed after the stop still counts when the pull names the
    detections a release drops from the selected packs."""
    from upstream_repos import V3_DESCRIPTION
    from upstream_repos import brute_force
    from upstream_repos import commit
    from upstream_repos import git
    from upstream_repos import pack
    from upstream_repos import write

    from pytest_panther.upstream.config import write_config

    write_config(fork, {"packs": ["Up.AWS", "Up.Okta"]})
    git(fork, "commit", "-q", "-am", "Deploy the AWS and Okta packs")
    up = fork.parent / "upstream"
    commit(up, "Drop root login from the AWS pack", {"packs/aws.yml": pack("Up.AWS", ["Up.AWS.IAMKeyCreated"])})
    git(up, "tag", "v3.1.0")
    assert upstream(fork, capsys, "pull")[0] == 1  # the in-place brute force edit, before the packs commit
    write(fork, {"rules/okta/brute_force.yml": brute_force(10, V3_DESCRIPTION)})
    git(fork, "add", "rules/okta/brute_force.yml")
    code, out = upstream(fork, capsys, "pull", "--continue")
    assert (
        "upstream v3.1.0 drops Up.AWS.RootLogin from Up.AWS: the sync deletes it from Panther although you customise it"
        " (overrides/Up.AWS.RootLogin.yml); an override of Up.AWS with `PackDefinition: {IDs: {add: [Up.AWS.RootLogin]}}`"
        " keeps it deployed"
    ) in out.splitlines()


def test_excluding_a_deployed_detection_deletes_it_with_the_reason(fork: Path, capsys: pytest.CaptureFixture[str], standin: Any) -> None:
    from upstream_repos import git
    from upstream_repos import write

    assert main(["sync", "apply", "-C", str(fork)]) == 0
    assert "Up.AWS.RootLogin" in standin.state(server_fields=False)["rules"]
    write(fork, {"overrides/Up.AWS.RootLogin.yml": "Excluded: root logins are paged by another tool\n"})
    git(fork, "commit", "-q", "-am", "Exclude root login")
    capsys.readouterr()
    assert main(["sync", "apply", "-C", str(fork)]) == 0
    assert (
        "  - delete rules/Up.AWS.RootLogin  (excluded by overrides/Up.AWS.RootLogin.yml: root logins are paged by another tool)"
    ) in capsys.readouterr().out.splitlines()
    assert "Up.AWS.RootLogin" not in standin.state(server_fields=False)["rules"]
