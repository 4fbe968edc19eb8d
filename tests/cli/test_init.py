"""``panther-gitops init``: lays the template out, never overwrites, initialises git."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pytest_panther.cli import init as init_command
from pytest_panther.cli.main import main
from pytest_panther.config import read_settings
from pytest_panther.scaffold.layout import is_example_content
from pytest_panther.scaffold.layout import iter_skeleton
from pytest_panther.scaffold.layout import skeleton_root

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template"


def _template_files() -> list[str]:
    return sorted(
        p.relative_to(TEMPLATE).as_posix()
        for p in TEMPLATE.rglob("*")
        if p.is_file() and not {"__pycache__", ".pytest_cache", ".ruff_cache"} & set(p.parts) and p.suffix != ".pyc"
    )


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()


def test_skeleton_is_the_template_folder() -> None:
    # The package data (pytest_panther/scaffold/skeleton) must be exactly template/.
    root = skeleton_root()
    files = list(iter_skeleton(root))
    assert files == _template_files()
    for rel in files:
        assert (root / rel).read_bytes() == (TEMPLATE / rel).read_bytes(), rel


def test_skeleton_has_what_a_team_needs() -> None:
    files = set(iter_skeleton())
    for required in (
        "pyproject.toml",
        "README.md",
        ".pre-commit-config.yaml",
        ".gitignore",
        ".github/workflows/test.yml",
        "rules/README.md",
        "policies/README.md",
        "global_helpers/README.md",
        "data_models/README.md",
        "overrides/README.md",
    ):
        assert required in files


def test_init_into_an_empty_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "detections"
    assert main(["init", str(target)]) == 0
    out = capsys.readouterr().out
    files = _template_files()
    for rel in files:
        assert (target / rel).read_bytes() == (TEMPLATE / rel).read_bytes()
        assert f"  created  {rel}\n" in out
    assert out.startswith(f"Laying out the detections template in {target.resolve()}\n")
    assert "  git init (branch main)\n" in out
    assert f"{len(files)} files created, 0 skipped, new git repository\n" in out
    assert "  pip install -e .        # pytest-panther, pre-commit\n" in out
    assert _git(target, "symbolic-ref", "HEAD") == "refs/heads/main"


def test_init_keeps_existing_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "README.md").write_text("our own readme\n")
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "README.md").write_text("our rules\n")
    _git(tmp_path, "init", "-q")
    assert main(["init", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert (tmp_path / "README.md").read_text() == "our own readme\n"
    assert (tmp_path / "rules" / "README.md").read_text() == "our rules\n"
    assert "  skipped  README.md  (exists, kept as is)\n" in out
    assert "  skipped  rules/README.md  (exists, kept as is)\n" in out
    assert "  created  pyproject.toml\n" in out
    assert "git init" not in out
    total = len(_template_files())
    assert f"{total - 2} files created, 2 skipped\n" in out


def test_init_twice_skips_everything(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["init", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "created" not in out.replace("files created", "")
    assert f"0 files created, {len(_template_files())} skipped\n" in out


def test_init_into_a_file_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "a-file"
    target.write_text("x")
    assert main(["init", str(target)]) == 1
    assert capsys.readouterr().err == f"error: {target}: exists and is not a folder\n"


def test_init_defaults_to_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["init"]) == 0
    assert (tmp_path / "pyproject.toml").is_file()
    assert "\n  python -m venv .venv && . .venv/bin/activate\n" in capsys.readouterr().out


def test_init_upstream_without_upstream_command_prints_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real_find_spec = init_command.importlib.util.find_spec

    def find_spec(name: str, *args: object) -> object:
        return None if name == "pytest_panther.cli.upstream" else real_find_spec(name, *args)

    monkeypatch.setattr(init_command.importlib.util, "find_spec", find_spec)
    url = "https://example.invalid/panther-analysis.git"
    assert main(["init", str(tmp_path), "--upstream", url]) == 0
    out = capsys.readouterr().out
    assert f"  panther-gitops upstream init --url {url} --no-commit\n" in out


def test_init_upstream_runs_the_upstream_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if init_command.importlib.util.find_spec("pytest_panther.cli.upstream") is None:
        pytest.xfail("panther-gitops upstream (issue 6) is not in this checkout yet")
    upstream = tmp_path / "upstream"
    upstream.mkdir()
    _git(upstream, "init", "-q")
    _git(upstream, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "--allow-empty", "-m", "v1")
    _git(upstream, "tag", "v1.0.0")
    # A fork of the upstream repository, into which the template is laid out.
    fork = tmp_path / "fork"
    subprocess.run(["git", "clone", "-q", str(upstream), str(fork)], check=True)
    status = main(["init", str(fork), "--upstream", str(upstream)])
    out = capsys.readouterr().out
    assert f"Upstream: panther-gitops upstream init --url {upstream} --no-commit\n" in out
    assert status == 0
    assert _git(fork, "remote", "get-url", "upstream") == str(upstream)


def test_init_upstream_failure_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if init_command.importlib.util.find_spec("pytest_panther.cli.upstream") is None:
        pytest.xfail("panther-gitops upstream (issue 6) is not in this checkout yet")
    missing = tmp_path / "no-such-upstream"
    assert main(["init", str(tmp_path / "fork"), "--upstream", str(missing)]) == 1
    err = capsys.readouterr().err
    assert err.endswith(
        f"error: upstream set-up failed (exit 1); fix it and rerun: panther-gitops upstream init --url {missing} --no-commit\n"
    )


def test_init_notes_what_to_merge_into_kept_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "ours"\n')
    (tmp_path / ".pre-commit-config.yaml").write_text("repos: []\n")
    assert main(["init", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    root = skeleton_root()
    assert (
        "  note: your .pre-commit-config.yaml was kept; add the panther-* hooks and default_install_hook_types "
        f"(see {root / '.pre-commit-config.yaml'})\n"
    ) in out
    assert (
        "  note: your pyproject.toml was kept; add pytest-panther and pre-commit to its dependencies, and the "
        f"[tool.pytest-panther] table (minimum_tests) (see {root / 'pyproject.toml'})\n"
    ) in out
    assert (tmp_path / "pyproject.toml").read_text() == '[project]\nname = "ours"\n'


def test_init_upstream_in_a_fork_adds_the_minimum_tests_setting_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    upstream, fork = _upstream_and_fork(tmp_path, {})
    assert main(["init", str(fork), "--upstream", str(upstream)]) == 0
    assert "  added [tool.pytest-panther] minimum_tests = 2 to pyproject.toml" in capsys.readouterr().out
    text = (fork / "pyproject.toml").read_text()
    assert text.startswith("[tool.black]\nline-length = 100\n")
    assert read_settings(fork).minimum_tests == 2
    assert main(["init", str(fork), "--upstream", str(upstream)]) == 0
    assert "added [tool.pytest-panther]" not in capsys.readouterr().out
    assert (fork / "pyproject.toml").read_text() == text


def test_init_upstream_in_a_fork_leaves_the_example_detections_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Newcomer trial P6: in a panther-analysis fork, `init --upstream` laid out the template's
    # example rule, policy and helper, which the next sync deployed with upstream's detections,
    # and its "Next:" said `pip install -e .`, which fails on the fork's flat layout.
    upstream, fork = _upstream_and_fork(tmp_path, {"rules/README.md": "upstream's rules\n"})
    assert main(["init", str(fork), "--upstream", str(upstream)]) == 0
    out = capsys.readouterr().out
    examples = [rel for rel in _template_files() if is_example_content(rel)]
    assert sorted(examples) == [
        "global_helpers/team_context.py",
        "global_helpers/team_context.yml",
        "policies/example_s3_bucket_versioning.py",
        "policies/example_s3_bucket_versioning.yml",
        "rules/example_access_key_for_other_user.py",
        "rules/example_access_key_for_other_user.yml",
    ]
    for rel in examples:
        assert not (fork / rel).exists(), rel
        assert f"  left out  {rel}  (template example: a fork would deploy it with upstream's detections)\n" in out
    for rel in (".pre-commit-config.yaml", ".github/workflows/panther-sync.yml", "overrides/README.md"):
        assert (fork / rel).is_file(), rel
    assert "  skipped   rules/README.md  (exists, kept as is)\n" in out
    total = len(_template_files())
    assert f"{total - 2 - len(examples)} files created, 2 skipped, {len(examples)} left out\n" in out
    assert "  pip install pytest-panther pre-commit   # plus the libraries your detections import\n" in out
    assert "pip install -e ." not in out


def test_init_without_upstream_lays_the_examples_out(tmp_path: Path) -> None:
    assert main(["init", str(tmp_path)]) == 0
    assert (tmp_path / "rules" / "example_access_key_for_other_user.yml").is_file()
    assert (tmp_path / "global_helpers" / "team_context.py").is_file()


def _upstream_and_fork(tmp_path: Path, files: dict[str, str]) -> tuple[Path, Path]:
    """An upstream repository tagged v1.0.0 with ``files`` and panther-analysis's kind of
    ``pyproject.toml``, and a clone of it (the fork)."""
    upstream = tmp_path / "upstream"
    for rel, text in {**files, "pyproject.toml": "[tool.black]\nline-length = 100\n"}.items():
        (upstream / rel).parent.mkdir(parents=True, exist_ok=True)
        (upstream / rel).write_text(text)
    _git(upstream, "init", "-q")
    _git(upstream, "add", "-A")
    _git(upstream, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "v1")
    _git(upstream, "tag", "v1.0.0")
    fork = tmp_path / "fork"
    subprocess.run(["git", "clone", "-q", str(upstream), str(fork)], check=True)
    return upstream, fork
