"""Issue 12, end to end over real git repositories: the trial of a fork with eight kinds of
customisation pulled through three upstream releases (``scenario_repos.py``). The pull stops
only for the two real code conflicts (a rule's Python, a global helper), once each; ``status``
predicts exactly those stops; the stand-in Panther ends with every customisation and every
upstream change."""
from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from scenario_repos import F_RESOLVED_V2
from scenario_repos import HELPER_V3
from scenario_repos import OUR_HELPER
from scenario_repos import customise
from scenario_repos import make_scenario_upstream
from upstream_repos import git
from upstream_repos import upstream
from upstream_repos import write

from pytest_panther.cli.main import main
from pytest_panther.upstream.config import write_config


def sync(fork: Path, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    capsys.readouterr()
    code = main(["sync", *(args or ("apply",)), "-C", str(fork)])
    out = capsys.readouterr()
    assert code == 0, out
    return out.out + out.err


def stops_predicted(fork: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    out = upstream(fork, capsys, "status")[1].splitlines()
    start = next(i for i, line in enumerate(out) if line.startswith("pull to "))
    return out[start:]


def test_eight_customisations_through_three_releases(
    make_repo: Callable[[str], Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], ran: list[list[str]], standin: Any,
) -> None:
    up = make_repo("upstream")
    make_scenario_upstream(up, 1)
    fork = tmp_path / "fork"
    git(tmp_path, "clone", "-q", str(up), "fork")
    assert upstream(fork, capsys, "init", "--url", str(up), "--release", "v1.0.0")[0] == 0
    write_config(fork, {"packs": ["Up.Core"]})
    git(fork, "commit", "-q", "-am", "Deploy the core pack")
    customise(fork)

    # migrate-edits: the YAML edits, the deletion and the pack change become overrides; the two
    # code edits stay as commits (exit 0: done).
    code, out = upstream(fork, capsys, "migrate-edits")
    assert code == 0, out
    assert [line.split(":", 1)[0] for line in out.splitlines() if line.startswith("migrated ")] == [
        "migrated Up.Core", "migrated Up.Gone.G", "migrated Up.Noisy.E", "migrated Up.Sev.A", "migrated Up.Sev.B",
        "migrated Up.Sev.C", "migrated Up.Test.D",
    ]
    assert [line.split(" (")[0] for line in out.splitlines() if line.startswith("not migrated")] == [
        "not migrated: global_helpers/up_helpers.py", "not migrated: rules/up/up_lambda_f.py",
    ]
    sync(fork, capsys)
    assert "Up.Gone.G" not in rules(standin) and "Up.Core.Drop" not in rules(standin)  # never deployed

    stops: list[list[str]] = []
    expected = {2: "rules/up/up_lambda_f.py", 3: "global_helpers/up_helpers.py", 4: None}
    resolutions = {2: F_RESOLVED_V2, 3: HELPER_V3 + OUR_HELPER}
    for number, path in expected.items():
        make_scenario_upstream(up, number)
        predicted = stops_predicted(fork, capsys)
        code, out = upstream(fork, capsys, "pull")
        if path is None:
            assert predicted == [f"pull to v{number}.0.0 stops on: nothing"]
            assert code == 0, out
            continue
        assert predicted[0] == f"pull to v{number}.0.0 stops on: 1" and predicted[1].startswith(f"  {path} (")
        assert code == 1 and out.startswith("upstream pull stopped: conflict"), out
        stops.append([line.split()[1] for line in out.splitlines() if line.startswith("CONFLICT ")])
        write(fork, {path: resolutions[number]})
        git(fork, "add", path)
        code, out = upstream(fork, capsys, "pull", "--continue")
        assert code == 0, out
    assert stops == [["rules/up/up_lambda_f.py"], ["global_helpers/up_helpers.py"]]  # once each, nothing else

    # v4 made the customised Lambda rule Experimental and dropped it from the pack: the pull and
    # the plan say so by name, and which overrides keep it.
    assert (
        "upstream v4.0.0 marks Up.Lambda.F Status: Experimental (rules/up/up_lambda_f.yml) and drops Up.Lambda.F from"
        " Up.Core: the sync deletes it from Panther although you customise it (in place); `Status: Stable` in its"
        " override and an override of Up.Core with `PackDefinition: {IDs: {add: [Up.Lambda.F]}}` keep it deployed"
    ) in out.splitlines()
    assert (
        "  - delete rules/Up.Lambda.F  (Status: Experimental is not deployed (an override with `Status: Stable`"
        " keeps it deployed))"
    ) in sync(fork, capsys, "plan").splitlines()
    write(fork, {
        "overrides/Up.Lambda.F.yml": "Status: Stable  # our allow-list version runs in production\n",
        "overrides/Up.Core.yml": (fork / "overrides/Up.Core.yml").read_text() + "    - Up.Lambda.F\n",
    })
    git(fork, "add", "overrides")
    git(fork, "commit", "-q", "-m", "Keep our Lambda rule in production")
    sync(fork, capsys)

    deployed = rules(standin)
    assert sorted(deployed) == [
        "Acme.Own.1", "Acme.Own.2", "Acme.Own.3", "Up.Extra.X", "Up.Lambda.F", "Up.New.H", "Up.New.I", "Up.New.K",
        "Up.Noisy.E", "Up.Sev.A", "Up.Sev.B", "Up.Sev.C", "Up.Test.D",
    ]  # not Up.Gone.G (excluded) nor Up.Core.Drop (dropped from the pack)
    assert [deployed[i]["severity"] for i in ("Up.Sev.A", "Up.Sev.B", "Up.Sev.C")] == ["CRITICAL", "CRITICAL", "HIGH"]
    assert deployed["Up.Sev.A"]["description"] == "CloudTrail logging stopped (v2)."  # upstream's v2 change
    assert [t["name"] for t in deployed["Up.Test.D"]["tests"]][-1] == "our automation user"
    assert deployed["Up.Noisy.E"]["enabled"] is False and deployed["Up.Noisy.E"]["description"] == "Console logins (v4)."
    lambda_body = deployed["Up.Lambda.F"]["body"]
    assert "ALLOWED_DEPLOYERS" in lambda_body and "readOnly" in lambda_body and "UpdateFunctionCode20150331v2" in lambda_body
    helper = standin.state(server_fields=False)["globals"]["up_helpers"]["body"]
    assert "def is_acme_user" in helper and "def is_root" in helper and ".upper()" in helper

    # The fork's tests pass as a user runs them; the excluded rule is skipped with its reason.
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:randomly", "-p", "no:cacheprovider"],
                          cwd=fork, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout
    assert "SKIPPED [2] rules/up/up_gone_g.yml: excluded by overrides/Up.Gone.G.yml: We do not run the GetObject rule" in proc.stdout


def rules(server: Any) -> dict[str, dict[str, Any]]:
    return dict(server.state(server_fields=False).get("rules", {}))
