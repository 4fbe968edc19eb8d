"""Which detections a change touches (pytest_panther.select), on small git repositories."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from gitrepo import git
from gitrepo import make_repo
from gitrepo import write

from pytest_panther.select import GitError
from pytest_panther.select import affected_spec_files
from pytest_panther.select import affected_specs
from pytest_panther.select import changed_files
from pytest_panther.select import imported_modules
from pytest_panther.select import spec_files_for
from pytest_panther.spec.repository import Repository
from pytest_panther.spec.repository import load_repository


def rule(rule_id: str, filename: str | None, log_types: list[str], extra: str = "") -> str:
    lines = ["AnalysisType: rule", f"RuleID: {rule_id}", "Enabled: true", "Severity: Low",
             f"LogTypes: [{', '.join(log_types)}]"]
    if filename:
        lines.append(f"Filename: {filename}")
    return "\n".join(lines) + "\n" + extra


def helper(global_id: str) -> str:
    return f"AnalysisType: global\nGlobalID: {global_id}\nFilename: {global_id}.py\n"


def model(model_id: str, filename: str | None, log_types: list[str], enabled: bool = True) -> str:
    text = f"AnalysisType: datamodel\nDataModelID: {model_id}\nEnabled: {str(enabled).lower()}\n"
    text += f"LogTypes: [{', '.join(log_types)}]\nMappings:\n  - Name: actor_user\n    Path: $.actor\n"
    return text + (f"Filename: {filename}\n" if filename else "")


FILES = {
    "global_helpers/base_helpers.yml": helper("base_helpers"),
    "global_helpers/base_helpers.py": "def deep_get(event, *keys):\n    return None\n",
    # okta_helpers imports base_helpers: its importers are affected by a base_helpers change.
    "global_helpers/okta_helpers.yml": helper("okta_helpers"),
    "global_helpers/okta_helpers.py": "from base_helpers import deep_get\n\n\ndef actor(event):\n    return deep_get(event)\n",
    "global_helpers/lonely_helpers.yml": helper("lonely_helpers"),
    "global_helpers/lonely_helpers.py": "X = 1\n",
    "rules/okta/okta_login.yml": rule("Okta.Login", "okta_login.py", ["Okta.SystemLog"]),
    "rules/okta/okta_login.py": "import okta_helpers\n\n\ndef rule(event):\n    return bool(okta_helpers.actor(event))\n",
    # imports base_helpers inside a function, as `import X.sub`
    "rules/aws/root_login.yml": rule("AWS.RootLogin", "root_login.py", ["AWS.CloudTrail"]),
    "rules/aws/root_login.py": "def rule(event):\n    import base_helpers.sub\n    return True\n",
    # mentions a helper's name in text only: not an import
    "rules/aws/s3_public.yml": rule("AWS.S3.Public", "s3_public.py", ["AWS.CloudTrail", "AWS.S3ServerAccess"]),
    "rules/aws/s3_public.py": "# see okta_helpers and base_helpers\ndef rule(event):\n    return 'base_helpers' in event\n",
    "rules/gsuite/admin.yml": rule("GSuite.Admin", "admin.py", ["GSuite.Reports"]),
    "rules/gsuite/admin.py": "def rule(event):\n    return event.udm('actor_user') == 'x'\n",
    "rules/gsuite/admin_derived.yml": "AnalysisType: rule\nRuleID: GSuite.Admin.Strict\nBaseDetection: GSuite.Admin\n",
    "rules/simple.yml": "AnalysisType: rule\nRuleID: Simple.One\nLogTypes: [AWS.CloudTrail]\nDetection:\n  - Key: x\n    Condition: Exists\n",
    "policies/s3_versioning.yml": (
        "AnalysisType: policy\nPolicyID: AWS.S3.Versioning\nFilename: s3_versioning.py\nResourceTypes: [AWS.S3.Bucket]\n"
    ),
    "policies/s3_versioning.py": "from lonely_helpers import X\n\n\ndef policy(resource):\n    return True\n",
    "data_models/okta.yml": model("Standard.Okta", "okta.py", ["Okta.SystemLog"]),
    "data_models/okta.py": "import okta_helpers\n\n\ndef get_actor(event):\n    return None\n",
    "data_models/gsuite.yml": model("Standard.GSuite", None, ["GSuite.Reports"], enabled=False),
    "queries/q.yml": "AnalysisType: saved_query\nQueryName: Q\nQuery: select 1\n",
    "README.md": "hello\n",
    "templates/rule.yml": rule("Template.Rule", "x.py", ["Okta.SystemLog"]),
}

Select = Callable[[Path, list[str]], set[str]]


@pytest.fixture
def repo_root(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo", FILES)


def _rel(root: Path, paths: set[Path]) -> set[str]:
    real = root.resolve()
    return {p.resolve().relative_to(real).as_posix() for p in paths}


def _with_repository(root: Path, changed: list[str]) -> set[str]:
    return _rel(root, affected_specs(load_repository(root), [Path(c) for c in changed]))


def _from_disk(root: Path, changed: list[str]) -> set[str]:
    return _rel(root, affected_spec_files(root, [Path(c) for c in changed]))


@pytest.fixture(params=[_with_repository, _from_disk], ids=["repository", "disk"])
def select(request: pytest.FixtureRequest) -> Select:
    return request.param  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("changed", "expected"),
    [
        pytest.param(["rules/okta/okta_login.yml"], {"rules/okta/okta_login.yml"}, id="changed-spec"),
        pytest.param(["rules/okta/okta_login.py"], {"rules/okta/okta_login.yml"}, id="changed-py"),
        pytest.param(["rules/simple.yml"], {"rules/simple.yml"}, id="simple-detection"),
        pytest.param(["policies/s3_versioning.py"], {"policies/s3_versioning.yml"}, id="policy-py"),
        # base_helpers -> okta_helpers (helper importing helper) -> okta_login, and the Okta data
        # model imports okta_helpers -> every rule of Okta.SystemLog; root_login imports it directly.
        pytest.param(["global_helpers/base_helpers.py"],
                     {"rules/aws/root_login.yml", "rules/okta/okta_login.yml"}, id="helper-transitive"),
        pytest.param(["global_helpers/okta_helpers.yml"], {"rules/okta/okta_login.yml"}, id="helper-spec"),
        pytest.param(["global_helpers/lonely_helpers.py"], {"policies/s3_versioning.yml"}, id="helper-from-import"),
        pytest.param(["data_models/okta.py"], {"rules/okta/okta_login.yml"}, id="data-model-py"),
        # a disabled model counts too (the change may have disabled it); the derived detection follows its base
        pytest.param(["data_models/gsuite.yml"],
                     {"rules/gsuite/admin.yml", "rules/gsuite/admin_derived.yml"}, id="data-model-yml-derived"),
        pytest.param(["overrides/AWS.RootLogin.yml"], {"rules/aws/root_login.yml"}, id="override-by-name"),
        pytest.param(["README.md", "queries/q.yml", "templates/rule.yml", "rules/aws/notes.txt"], set(),
                     id="nothing-relevant"),
        pytest.param([], set(), id="no-change"),
    ],
)
def test_affected(repo_root: Path, select: Select, changed: list[str], expected: set[str]) -> None:
    assert select(repo_root, changed) == expected


def test_absolute_paths_and_result_shape(repo_root: Path, select: Select) -> None:
    changed = [str(repo_root / "rules/okta/okta_login.py")]
    assert select(repo_root, changed) == {"rules/okta/okta_login.yml"}
    found = affected_spec_files(repo_root, [Path(changed[0])])
    assert all(p.is_absolute() for p in found)


def test_override_naming_its_detection_by_key(repo_root: Path, select: Select) -> None:
    write(repo_root, {"overrides/team/quiet.yml": "RuleID: GSuite.Admin\nEnabled: false\n"})
    assert select(repo_root, ["overrides/team/quiet.yml"]) == {"rules/gsuite/admin.yml", "rules/gsuite/admin_derived.yml"}


def test_deleted_helper_selects_its_importers(repo_root: Path, select: Select) -> None:
    git(repo_root, "rm", "-q", "global_helpers/lonely_helpers.py", "global_helpers/lonely_helpers.yml")
    changed = [str(p) for p in changed_files(repo_root, staged=True)]
    assert select(repo_root, changed) == {"policies/s3_versioning.yml"}


def test_deleted_detection_py_selects_its_spec(repo_root: Path, select: Select) -> None:
    (repo_root / "rules/gsuite/admin.py").unlink()
    assert select(repo_root, ["rules/gsuite/admin.py"]) == {"rules/gsuite/admin.yml", "rules/gsuite/admin_derived.yml"}


def test_renamed_spec_selects_the_new_path(repo_root: Path, select: Select) -> None:
    git(repo_root, "mv", "rules/okta/okta_login.yml", "rules/okta/okta_signin.yml")
    changed = [str(p) for p in changed_files(repo_root, staged=True)]
    assert sorted(Path(c).name for c in changed) == ["okta_login.yml", "okta_signin.yml"]
    assert select(repo_root, changed) == {"rules/okta/okta_signin.yml"}


def test_unparsable_detection_py_counts_when_it_names_the_helper(repo_root: Path, select: Select) -> None:
    write(repo_root, {"rules/okta/okta_login.py": "import okta_helpers\ndef rule(event:\n"})
    assert select(repo_root, ["global_helpers/okta_helpers.py"]) == {"rules/okta/okta_login.yml"}


def test_broken_yaml_elsewhere_does_not_stop_selection(repo_root: Path, select: Select) -> None:
    write(repo_root, {"rules/broken.yml": "AnalysisType: rule\nRuleID: [\n"})
    assert select(repo_root, ["rules/broken.yml", "rules/gsuite/admin.py"]) == {
        "rules/gsuite/admin.yml", "rules/gsuite/admin_derived.yml"}


def test_symlinked_root(repo_root: Path, tmp_path: Path, select: Select) -> None:
    link = tmp_path / "link"
    link.symlink_to(repo_root)
    assert select(link, [str(repo_root / "rules/okta/okta_login.py")]) == {"rules/okta/okta_login.yml"}


def test_custom_spec_folders(repo_root: Path) -> None:
    found = affected_spec_files(repo_root, [Path("templates/rule.yml")], paths=("templates",))
    assert _rel(repo_root, found) == {"templates/rule.yml"}


def test_spec_files_for(repo_root: Path) -> None:
    found = spec_files_for(repo_root, [Path("rules/okta/okta_login.py"), Path("queries/q.yml"),
                                       Path("global_helpers/base_helpers.py"), Path("README.md"),
                                       Path("templates/rule.yml"), Path("rules/gone.yml")])
    assert _rel(repo_root, found) == {"rules/okta/okta_login.yml", "queries/q.yml", "global_helpers/base_helpers.yml"}


def test_imported_modules(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text("import a.b, c as d\nfrom e.f import g\nfrom . import h\nfrom .i import j\n"
                    "def k():\n    import l\n")
    assert imported_modules(path) == frozenset({"a", "c", "e", "l"})
    path.write_text("def broken(:\n")
    assert imported_modules(path) is None
    assert imported_modules(tmp_path / "missing.py") is None


# --------------------------------------------------------------------------- changed_files


def _names(root: Path, paths: list[Path]) -> list[str]:
    return [p.relative_to(root.resolve()).as_posix() for p in paths]


def test_changed_files_staged_and_worktree(repo_root: Path) -> None:
    write(repo_root, {"rules/okta/okta_login.py": "# staged\n", "rules/aws/root_login.py": "# unstaged\n",
                      "rules/new.yml": "untracked: true\n"})
    git(repo_root, "add", "rules/okta/okta_login.py")
    git(repo_root, "rm", "-q", "README.md")
    assert _names(repo_root, changed_files(repo_root, staged=True)) == ["README.md", "rules/okta/okta_login.py"]
    assert _names(repo_root, changed_files(repo_root)) == [
        "README.md", "rules/aws/root_login.py", "rules/new.yml", "rules/okta/okta_login.py"]
    assert all(p.is_absolute() for p in changed_files(repo_root))


def test_changed_files_since_ref_uses_the_merge_base(repo_root: Path) -> None:
    git(repo_root, "checkout", "-q", "-b", "feature")
    write(repo_root, {"rules/okta/okta_login.py": "# feature\n"})
    git(repo_root, "commit", "-q", "-am", "feature")
    git(repo_root, "checkout", "-q", "main")
    write(repo_root, {"rules/gsuite/admin.py": "# main moved on\n"})
    git(repo_root, "commit", "-q", "-am", "main")
    git(repo_root, "checkout", "-q", "feature")
    write(repo_root, {"rules/aws/root_login.py": "# not committed yet\n"})
    assert _names(repo_root, changed_files(repo_root, since="main")) == [
        "rules/aws/root_login.py", "rules/okta/okta_login.py"]


def test_changed_files_from_a_subfolder_are_relative_to_the_top(repo_root: Path) -> None:
    write(repo_root, {"README.md": "changed\n"})
    assert _names(repo_root, changed_files(repo_root / "rules")) == ["README.md"]


def test_changed_files_without_commits(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    write(tmp_path, {"a.yml": "x: 1\n", "b.yml": "y: 1\n"})
    git(tmp_path, "add", "a.yml")
    assert _names(tmp_path, changed_files(tmp_path, staged=True)) == ["a.yml"]
    assert _names(tmp_path, changed_files(tmp_path)) == ["a.yml", "b.yml"]


def test_changed_files_errors(repo_root: Path, tmp_path: Path) -> None:
    with pytest.raises(GitError, match=r"^unknown git revision 'no-such-ref' in .*repo \(a branch, tag or commit; "):
        changed_files(repo_root, since="no-such-ref")
    outside = tmp_path / "plain"
    outside.mkdir()
    with pytest.raises(GitError, match=r"^git rev-parse --show-toplevel failed in .*: fatal: not a git repository"):
        changed_files(outside)


def test_many_python_lookups_use_the_filename_map(repo_root: Path) -> None:
    """Past a few look-ups SpecIndex switches from text scans to a map of Filename lines: same answers."""
    from pytest_panther.select import SpecIndex

    repo = load_repository(repo_root)
    expected = {str(spec.python_path): {spec.path} for spec in repo.specs if spec.python_path is not None}
    index = SpecIndex(repo_root, ("rules", "policies", "data_models", "global_helpers"))
    pythons = sorted(expected) * 2
    assert len(pythons) > 16
    for py in pythons:
        assert {s.path for s in index.specs_for_python(Path(py))} == expected[py]
    assert index.specs_for_python(repo_root.resolve() / "rules/nowhere.py") == []


def test_repository_for_loads_only_what_cross_checks_and_tests_need(repo_root: Path) -> None:
    from pytest_panther.select import SpecIndex

    real = repo_root.resolve()
    write(repo_root, {"packs/p.yml": "AnalysisType: pack\nPackID: P\nPackDefinition:\n  IDs: [GSuite.Admin, Nope]\n",
                      "rules/dup.yml": rule("Okta.Login", None, ["Okta.SystemLog"]),
                      "rules/bad.yml": "AnalysisType: rule\nRuleID: [\n"})
    index = SpecIndex(repo_root, ("rules", "policies", "data_models", "global_helpers", "queries", "packs"))

    def rel(repo: Repository) -> set[str]:
        return {s.path.relative_to(real).as_posix() for s in repo.specs}

    repo = index.repository_for([real / "rules/okta/okta_login.yml", real / "packs/p.yml", real / "rules/bad.yml"])
    assert rel(repo) == {"rules/okta/okta_login.yml", "rules/dup.yml", "packs/p.yml", "rules/gsuite/admin.yml"}
    assert [Path(e.path).name for e in repo.errors] == ["bad.yml"]
    with_models = index.repository_for([real / "data_models/gsuite.yml"])
    assert rel(with_models) == {"data_models/gsuite.yml", "data_models/okta.yml"}
    runtime = index.repository_for([real / "rules/gsuite/admin.yml"], runtime=True)
    assert rel(runtime) == {"rules/gsuite/admin.yml", "data_models/gsuite.yml", "data_models/okta.yml",
                            "global_helpers/base_helpers.yml", "global_helpers/okta_helpers.yml",
                            "global_helpers/lonely_helpers.yml"}
