"""Guidance fitted to the case (issue 12): a deleted upstream rule, a global helper, a pack
(the detection's Python is in test_pull.py). Each test follows the printed commands and checks
that the pull then finishes and the next one does not stop there again."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from upstream_repos import HELPER_V1
from upstream_repos import effective
from upstream_repos import git
from upstream_repos import pack
from upstream_repos import upstream
from upstream_repos import write

ABORT_AND_TAIL = [
    "  then: panther-gitops upstream pull --continue",
    "  or go back to where you were: git rebase --abort",
]


def block(out: str) -> list[str]:
    """The lines from the first CONFLICT to the `--continue` line."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("CONFLICT "))
    end = next(i for i, line in enumerate(lines) if line.startswith("  or go back"))
    return lines[start : end + 1]


def run(fork: Path, command: str) -> None:
    subprocess.run(command, shell=True, cwd=fork, check=True, capture_output=True)


def test_deleted_upstream_rule(fork: Path, capsys: pytest.CaptureFixture[str], ran: list[list[str]]) -> None:
    git(fork, "rm", "-q", "rules/aws/root_login.yml", "rules/aws/root_login.py", "overrides/Up.AWS.RootLogin.yml")
    git(fork, "commit", "-q", "-m", "No root logins here")
    assert "  rules/aws/root_login.py (rule Up.AWS.RootLogin): upstream v2.0.0 changed the code (+2 -1 lines); you deleted the file" \
        " (`upstream migrate-edits` turns your deletion into an `Excluded` override)" in upstream(fork, capsys, "status", "--tag", "v2.0.0")[1].splitlines()
    code, out = upstream(fork, capsys, "pull", "--tag", "v2.0.0")
    assert code == 1
    assert block(out) == [
        "CONFLICT rules/aws/root_login.py (rule Up.AWS.RootLogin)",
        "  upstream v1.0.0 -> v2.0.0: changed the code (+2 -1 lines)",
        "  your commit:          deleted the file",
        "  you deleted this upstream detection and upstream changed it: a deletion conflicts on every",
        "  release that touches it. Keep upstream's files and exclude it with an override (overrides/Up.AWS.RootLogin.yml):",
        "    RuleID: Up.AWS.RootLogin",
        "    Excluded: <why you do not run it>",
        "",
        "What to do next (during a rebase \"ours\" is upstream's side):",
        "  git checkout HEAD -- rules/aws/root_login.yml rules/aws/root_login.py && (write overrides/Up.AWS.RootLogin.yml as above)"
        " && git add rules/aws/root_login.yml rules/aws/root_login.py overrides/Up.AWS.RootLogin.yml",
        "  or keep it deleted (stops again next time): git rm --quiet rules/aws/root_login.yml rules/aws/root_login.py",
        *ABORT_AND_TAIL,
    ]
    run(fork, "git checkout HEAD -- rules/aws/root_login.yml rules/aws/root_login.py")
    write(fork, {"overrides/Up.AWS.RootLogin.yml": "RuleID: Up.AWS.RootLogin\nExcluded: No root logins here\n"})
    run(fork, "git add rules/aws/root_login.yml rules/aws/root_login.py overrides/Up.AWS.RootLogin.yml")
    code, out = upstream(fork, capsys, "pull", "--continue")
    assert out.splitlines()[0] == "rebased 5 fork commit(s) from v1.0.0 onto v2.0.0"
    assert git(fork, "diff", "--stat", "v2.0.0", "HEAD", "--", "rules/aws") == ""  # upstream's files, untouched
    specs, _ = effective(fork)
    assert "Up.AWS.RootLogin" in specs
    # v3 changes nothing of that rule; whatever upstream does to it later cannot conflict now.
    assert "rules/aws/root_login" not in upstream(fork, capsys, "status")[1]


def test_global_helper(fork: Path, capsys: pytest.CaptureFixture[str], ran: list[list[str]]) -> None:
    assert upstream(fork, capsys, "migrate-edits")[0] == 0  # the fixture's in-place YAML edit
    ours = HELPER_V1 + '\n\ndef is_acme(event):\n    return event.get("org") == "acme"\n'
    write(fork, {"global_helpers/up_helpers.py": ours})
    git(fork, "commit", "-q", "-am", "Our helper function")
    code, out = upstream(fork, capsys, "pull")
    assert code == 1
    lines = block(out)
    assert lines[: lines.index("")] == [
        "CONFLICT global_helpers/up_helpers.py (global up_helpers)",
        "  upstream v1.0.0 -> v3.0.0: changed the code (+1 -1 lines)",
        "  your commit:          changed the code (+4 -0 lines)",
        "  a global helper you changed: move your functions into a helper module of your own",
        "  (global_helpers/<yours>.py with its .yml) and import it where you use it, so upstream's",
        "  file stays untouched and later pulls do not stop here",
    ]
    assert "  take upstream's helper: git checkout --ours -- global_helpers/up_helpers.py && (add your helper module)" \
        " && git add -A global_helpers" in lines
    assert "  or merge by hand: edit global_helpers/up_helpers.py (conflict markers) && git add global_helpers/up_helpers.py" in lines
    run(fork, "git checkout --ours -- global_helpers/up_helpers.py")
    write(fork, {
        "global_helpers/acme_helpers.py": 'def is_acme(event):\n    return event.get("org") == "acme"\n',
        "global_helpers/acme_helpers.yml": "AnalysisType: global\nGlobalID: acme_helpers\nFilename: acme_helpers.py\n",
    })
    run(fork, "git add -A global_helpers")
    code, out = upstream(fork, capsys, "pull", "--continue")
    assert out.splitlines()[0] == "rebased 5 fork commit(s) from v1.0.0 onto v3.0.0"
    assert (fork / "global_helpers/up_helpers.py").read_text() == git(fork, "show", "v3.0.0:global_helpers/up_helpers.py")
    assert "in-place edits of upstream detections: 0" in upstream(fork, capsys, "status", "--no-fetch")[1]


def test_pack(fork: Path, capsys: pytest.CaptureFixture[str], ran: list[list[str]]) -> None:
    assert upstream(fork, capsys, "migrate-edits")[0] == 0  # the fixture's in-place YAML edit
    write(fork, {"packs/okta.yml": pack("Up.Okta", ["Up.Okta.BruteForce", "up_helpers", "Acme.Own.Heartbeat"])})
    git(fork, "commit", "-q", "-am", "Our Okta pack")
    status = upstream(fork, capsys, "status")[1].splitlines()
    assert "  packs/okta.yml (pack Up.Okta): upstream v3.0.0 changed PackDefinition; you changed PackDefinition" \
        " (`upstream migrate-edits` moves your pack change into an override of the pack)" in status
    code, out = upstream(fork, capsys, "pull")
    assert code == 1
    lines = block(out)
    assert lines[: lines.index("")] == [
        "CONFLICT packs/okta.yml (pack Up.Okta)",
        "  upstream v1.0.0 -> v3.0.0: changed PackDefinition",
        "  your commit:          changed PackDefinition",
        "  your change as an override (overrides/Up.Okta.yml):",
        "    PackID: Up.Okta",
        "    PackDefinition:",
        "      IDs:",
        "        remove:",
        "        - Up.Okta.AdminRoleAssigned",
        "        add:",
        "        - Acme.Own.Heartbeat",
    ]
    assert "  or keep upstream's version and move your edit into an override: git checkout --ours -- packs/okta.yml" \
        " && (write overrides/Up.Okta.yml as above) && git add packs/okta.yml overrides/Up.Okta.yml" in lines
    run(fork, "git checkout --ours -- packs/okta.yml")
    write(fork, {"overrides/Up.Okta.yml": "PackID: Up.Okta\nPackDefinition:\n  IDs:\n    remove: [Up.Okta.AdminRoleAssigned]\n    add: [Acme.Own.Heartbeat]\n"})
    run(fork, "git add packs/okta.yml overrides/Up.Okta.yml")
    code, out = upstream(fork, capsys, "pull", "--continue")
    assert out.splitlines()[0] == "rebased 5 fork commit(s) from v1.0.0 onto v3.0.0"
    specs, _ = effective(fork)
    # upstream's new member and ours, without the one we dropped
    assert specs["Up.Okta"]["PackDefinition"]["IDs"] == ["Up.Okta.BruteForce", "Up.Okta.MFAReset", "up_helpers", "Acme.Own.Heartbeat"]


def test_allow_list_as_an_inline_filters_override_never_stops_a_pull(fork: Path, capsys: pytest.CaptureFixture[str], ran: list[list[str]]) -> None:
    """The pattern the guidance gives for a rule's Python: the allow-list as an `InlineFilters`
    override. Upstream v2 rewrites that rule's code; the pull does not stop, the filter applies."""
    import sys

    write(fork, {"overrides/Up.AWS.RootLogin.yml": (fork / "overrides/Up.AWS.RootLogin.yml").read_text() + """\
    - Name: our break-glass role is allow-listed
      ExpectedResult: false
      Log:
        eventName: ConsoleLogin
        userIdentity:
          type: Root
          arn: arn:aws:iam::123456789012:role/break-glass
InlineFilters:
  add:
    - KeyPath: userIdentity.arn
      Condition: DoesNotEqual
      Value: arn:aws:iam::123456789012:role/break-glass
"""})
    git(fork, "commit", "-q", "-am", "Allow-list our break-glass role without touching upstream's code")
    code, out = upstream(fork, capsys, "pull", "--tag", "v2.0.0")
    assert code == 0 and "stopped" not in out, out
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider", "rules/aws/root_login.yml"],
                          cwd=fork, capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and "4 passed" in proc.stdout, proc.stdout
