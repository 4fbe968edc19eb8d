"""``panther-gitops new``: every kind scaffolds files whose tests pass, nothing is overwritten."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from panther_core.enriched_event import PantherEvent

from pytest_panther.cli.main import main
from pytest_panther.scaffold.naming import InvalidName
from pytest_panther.scaffold.naming import derive_names
from pytest_panther.spec.yaml import load_file

#: kind → (arguments after NAME, files written relative to the repository, ID)
CASES: dict[str, tuple[list[str], list[str], str]] = {
    "rule": (["--log-type", "AWS.CloudTrail"], ["rules/custom_new_thing.yml", "rules/custom_new_thing.py"], "Custom.NewThing"),
    "policy": (
        ["--resource-type", "AWS.S3.Bucket"],
        ["policies/custom_new_thing.yml", "policies/custom_new_thing.py"],
        "Custom.NewThing",
    ),
    "scheduled-rule": (
        ["--log-type", "Okta.SystemLog"],
        ["rules/custom_new_thing.yml", "rules/custom_new_thing.py", "queries/custom_new_thing_query.yml"],
        "Custom.NewThing",
    ),
    "simple": (["--log-type", "GitHub.Audit"], ["rules/custom_new_thing.yml"], "Custom.NewThing"),
    "correlation-rule": (
        ["--member", "Example.IAM.AccessKeyForOtherUser", "--member", "Custom.Other"],
        ["correlation_rules/custom_new_thing.yml"],
        "Custom.NewThing",
    ),
}


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Path:
    """An initialised template repository as the current directory."""
    assert main(["init", str(tmp_path)]) == 0
    capsys.readouterr()
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("MyRule", ("Custom.MyRule", "custom_my_rule", "My Rule")),
        ("my_rule", ("Custom.MyRule", "custom_my_rule", "My Rule")),
        ("new-admin-user", ("Custom.NewAdminUser", "custom_new_admin_user", "New Admin User")),
        ("AWS.IAM.NewAdmin", ("AWS.IAM.NewAdmin", "aws_iam_new_admin", "New Admin")),
        ("Okta.HTTPLogin", ("Okta.HTTPLogin", "okta_http_login", "HTTP Login")),
    ],
)
def test_names(name: str, expected: tuple[str, str, str]) -> None:
    names = derive_names(name)
    assert (names.id, names.stem, names.display) == expected


@pytest.mark.parametrize("name", ["", "1Rule", "my rule", "a..b", "rule_", "x<y", "Über"])
def test_invalid_names(name: str) -> None:
    with pytest.raises(InvalidName, match="^invalid detection name"):
        derive_names(name)


@pytest.mark.parametrize("kind", list(CASES))
def test_new_writes_the_files(kind: str, repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args, files, detection_id = CASES[kind]
    assert main(["new", kind, "NewThing", *args, "--severity", "high"]) == 0
    out = capsys.readouterr().out
    listed = "".join(f"  created  {rel}\n" for rel in files)
    if kind == "correlation-rule":  # Custom.Other is not in the repository
        listed += (
            "  note: Custom.Other is not a rule of this repository; fine if Panther has it already "
            "(for example a Panther-managed rule), otherwise its alerts never come\n"
        )
    assert out == f"New {kind} {detection_id}:\n{listed}Next: edit the TODOs, then run its tests: pytest -k {detection_id}\n"
    spec = load_file(repo / files[0]).data
    assert spec["Severity"] == "High"
    assert spec.get("RuleID", spec.get("PolicyID")) == detection_id
    results = [case["ExpectedResult"] for case in spec["Tests"]]
    assert True in results and False in results


def _module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"scaffolded_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("kind", ["rule", "scheduled-rule", "policy"])
def test_python_detections_meet_their_tests(kind: str, repo: Path) -> None:
    """Run the scaffolded functions on their own test cases as Panther would (semantics.md §4.3),
    without the plugin: rules get a PantherEvent, policies the plain dict."""
    args, files, _ = CASES[kind]
    assert main(["new", kind, "NewThing", *args]) == 0
    spec = load_file(repo / files[0]).data
    module = _module(repo / files[1])
    for case in spec["Tests"]:
        if kind == "policy":
            subject: Any = case["Resource"]
            alerts = not module.policy(subject)
        else:
            subject = PantherEvent(case["Log"], None)
            alerts = module.rule(subject)
        assert alerts is (case["ExpectedResult"] if kind != "policy" else not case["ExpectedResult"]), case["Name"]
        if alerts:
            assert isinstance(module.title(subject), str)
            json.dumps(module.alert_context(subject))
            if kind != "policy":
                assert isinstance(module.dedup(subject), str)


def test_every_kind_passes_under_the_plugin(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """All kinds side by side (the correlation rule joins two scaffolded rules) plus the template's
    examples: every test case passes under pytest with the plugin, none is skipped."""
    assert main(["new", "rule", "First", "--log-type", "AWS.CloudTrail"]) == 0
    assert main(["new", "rule", "Second", "--log-type", "Okta.SystemLog"]) == 0
    assert main(["new", "policy", "Tagged", "--resource-type", "AWS.EC2.Instance"]) == 0
    assert main(["new", "scheduled-rule", "Busy", "--log-type", "AWS.CloudTrail"]) == 0
    assert main(["new", "simple", "Plain", "--log-type", "Okta.SystemLog"]) == 0
    assert main(["new", "correlation-rule", "Chain", "--member", "Custom.First", "--member", "Custom.Second"]) == 0
    capsys.readouterr()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs", "--panther-minimum-tests", "2"],
        cwd=repo, capture_output=True, text=True, timeout=300, check=False,
    )
    # 6 template example cases + 2 per rule/policy/scheduled/simple + 3 correlation cases.
    assert "19 passed" in result.stdout.splitlines()[-1], result.stdout + result.stderr
    assert "skipped" not in result.stdout.splitlines()[-1]
    assert result.returncode == 0


def test_refuses_to_overwrite_a_file(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "rules" / "custom_new_thing.py").write_text("# mine\n")
    assert main(["new", "rule", "NewThing", "--log-type", "AWS.CloudTrail"]) == 1
    assert capsys.readouterr().err == (
        "error: refusing to overwrite rules/custom_new_thing.py (choose another NAME or remove the file)\n"
    )
    assert (repo / "rules" / "custom_new_thing.py").read_text() == "# mine\n"
    assert not (repo / "rules" / "custom_new_thing.yml").exists()


def test_refuses_an_id_in_use(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["new", "rule", "Example.IAM.AccessKeyForOtherUser", "--log-type", "AWS.CloudTrail", "--dir", "more"]) == 1
    assert capsys.readouterr().err == (
        "error: the ID Example.IAM.AccessKeyForOtherUser is already used by "
        "rules/example_access_key_for_other_user.yml; choose another NAME\n"
    )
    assert not (repo / "more").exists()


def test_dir_option(repo: Path) -> None:
    assert main(["new", "rule", "Placed", "--log-type", "AWS.CloudTrail", "--dir", "rules/aws"]) == 0
    assert (repo / "rules" / "aws" / "custom_placed.yml").is_file()
    assert (repo / "rules" / "aws" / "custom_placed.py").is_file()


@pytest.mark.parametrize("folder", ["../outside", "ABSOLUTE", "rules/../.."])
def test_dir_outside_the_repository_is_a_usage_error(
    folder: str, repo: Path, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    # `new rule D1 --log-type AWS.CloudTrail --dir ../outside` wrote ../outside/custom_d1.* and
    # said "run its tests: pytest -k Custom.D1", which finds nothing there.
    absolute = tmp_path_factory.mktemp("absolute")
    folder = str(absolute) if folder == "ABSOLUTE" else folder
    assert main(["new", "rule", "D1", "--log-type", "AWS.CloudTrail", "--dir", folder]) == 2
    assert capsys.readouterr().err.startswith(
        f"panther-gitops new: error: --dir {folder} is outside the repository root {repo.resolve()}: "
        "give a folder relative to it, for example rules/aws")
    assert not (repo.parent / "outside").exists()
    assert not (repo.parent / "custom_d1.yml").exists()
    assert list(absolute.iterdir()) == []


def test_dir_outside_the_spec_folders_gets_a_note(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["new", "rule", "D3", "--log-type", "AWS.CloudTrail", "--dir", "templates"]) == 0
    assert "  note: templates is not under a default spec folder (rules, " in capsys.readouterr().out
    assert main(["new", "rule", "D4", "--log-type", "AWS.CloudTrail", "--dir", "rules/aws"]) == 0
    assert "note:" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["rule", "bad name", "--log-type", "AWS.CloudTrail"], "invalid detection name 'bad name'"),
        (["rule", "Ok", "--log-type", "CloudTrail"], "invalid log type 'CloudTrail'"),
        (["rule", "Ok", "--log-type", "Okta.SystemLogs"], "unknown log type 'Okta.SystemLogs': did you mean 'Okta.SystemLog'?"),
        (["rule", "Ok", "--log-type", "AWS.CloudTrial"], "unknown log type 'AWS.CloudTrial': did you mean 'AWS.CloudTrail'?"),
        (["rule", "Ok", "--log-type", "okta.systemlog"], "unknown log type 'okta.systemlog': did you mean 'Okta.SystemLog'?"),
        (["rule", "Ok"], "a rule needs at least one --log-type (for example AWS.CloudTrail)"),
        (["simple", "Ok"], "a simple needs at least one --log-type (for example AWS.CloudTrail)"),
        (["scheduled-rule", "Ok"], "a scheduled-rule needs a --log-type: its query reads that log type's table"),
        (["policy", "Ok"], "a policy needs at least one --resource-type (for example AWS.S3.Bucket)"),
        (["policy", "Ok", "--log-type", "AWS.CloudTrail"], "a policy checks resources: use --resource-type, not --log-type"),
        (["policy", "Ok", "--resource-type", "S3.Bucket"], "invalid resource type 'S3.Bucket'"),
        (["rule", "Ok", "--resource-type", "AWS.S3.Bucket"], "--resource-type is for policies; a rule reads logs (--log-type)"),
        (["correlation-rule", "Ok", "--member", "A.B"], "a correlation-rule joins the alerts of two or more rules"),
        (["correlation-rule", "Ok", "--log-type", "AWS.CloudTrail"], "a correlation rule has no log types"),
        (["rule", "Ok", "--log-type", "AWS.CloudTrail", "--member", "A.B"], "--member is for correlation rules"),
    ],
)
def test_usage_errors(argv: list[str], message: str, repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = sorted(p for p in repo.rglob("*") if ".git" not in p.parts)
    assert main(["new", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"panther-gitops new: error: {message}")
    assert sorted(p for p in repo.rglob("*") if ".git" not in p.parts) == before


def test_bad_severity_is_a_usage_error(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["new", "rule", "Ok", "--log-type", "AWS.CloudTrail", "--severity", "urgent"])
    assert exc.value.code == 2
    assert "invalid severity 'urgent' (choose from Info, Low, Medium, High, Critical)" in capsys.readouterr().err


def test_new_from_a_subfolder_writes_under_the_repository_root(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "rules" / "aws").mkdir()
    monkeypatch.chdir(repo / "rules" / "aws")
    assert main(["new", "rule", "FromBelow", "--log-type", "AWS.CloudTrail"]) == 0
    assert "  created  rules/custom_from_below.yml\n" in capsys.readouterr().out
    assert (repo / "rules" / "custom_from_below.yml").is_file()


def test_correlation_rule_notes_members_the_repository_lacks(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["new", "correlation-rule", "Chain", "--member", "Example.IAM.AccessKeyForOtherUser", "--member", "No.Such"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "  note: No.Such is not a rule of this repository;" in out
    assert "Example.IAM.AccessKeyForOtherUser is not" not in out
