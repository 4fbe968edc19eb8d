from __future__ import annotations

from pathlib import Path

import pytest

from pytest_panther.spec.repository import load_repository
from pytest_panther.upstream.overrides import apply_overrides
from pytest_panther.upstream.overrides import load_overrides

RULE = """\
AnalysisType: rule
Filename: brute.py
RuleID: Acme.Login.Brute
DisplayName: Many failed logins
Enabled: true
Severity: Medium
LogTypes: [Okta.SystemLog]
Tags: [Identity, Deprecated]
Tests:
  - Name: one failure
    ExpectedResult: false
    Log: {outcome: FAILURE}
"""

POLICY = """\
AnalysisType: policy
Filename: bucket.py
PolicyID: Acme.Bucket.Public
Enabled: true
Severity: High
ResourceTypes: [AWS.S3.Bucket]
"""


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


@pytest.fixture
def repo_root(tmp_path: Path) -> Path:
    write(tmp_path, {"rules/brute.yml": RULE, "policies/bucket.yml": POLICY})
    return tmp_path


def apply(root: Path) -> tuple[object, list[str]]:
    overrides, errors = load_overrides(root)
    repo = load_repository(root)
    errors += apply_overrides(repo, overrides)
    return repo, [e.format().replace(str(root) + "/", "") for e in errors]


def test_file_name_selects_the_detection_and_fields_are_set(repo_root: Path) -> None:
    write(repo_root, {"overrides/Acme.Login.Brute.yml": "Enabled: false\nSeverity: Low\nOutputIds: [slack-secops]\nDedupPeriodMinutes: 30\n"})
    repo, errors = apply(repo_root)
    assert errors == []
    spec = repo.by_id()["Acme.Login.Brute"]
    assert spec.data["Enabled"] is False
    assert spec.data["Severity"] == "Low"
    assert spec.data["OutputIds"] == ["slack-secops"]
    assert spec.data["DedupPeriodMinutes"] == 30
    # the document stays as upstream wrote it
    assert spec.document.data["Enabled"] is True
    assert "OutputIds" not in spec.document.data
    assert spec.enabled is False and spec.severity == "Low"


def test_id_key_selects_the_detection_whatever_the_file_name(repo_root: Path) -> None:
    write(repo_root, {"overrides/team-a/bucket.yaml": "PolicyID: Acme.Bucket.Public\nSeverity: Critical\n"})
    repo, errors = apply(repo_root)
    assert errors == []
    assert repo.by_id()["Acme.Bucket.Public"].data["Severity"] == "Critical"


def test_list_patch_and_tests_add_remove(repo_root: Path) -> None:
    write(repo_root, {"overrides/x.yml": """\
DetectionID: Acme.Login.Brute
Tags:
  add: [ACME.Reviewed, Identity]
  remove: [Deprecated, NotThere]
Tests:
  remove: [one failure]
  add:
    - Name: office login
      ExpectedResult: false
      Log: {outcome: SUCCESS}
"""})
    repo, errors = apply(repo_root)
    assert errors == []
    spec = repo.by_id()["Acme.Login.Brute"]
    assert spec.data["Tags"] == ["Identity", "ACME.Reviewed"]
    assert [t.name for t in spec.tests()] == ["office login"]
    overrides, _ = load_overrides(repo_root)
    assert overrides["Acme.Login.Brute"].added_tests() == [("office login", 8)]


def test_tests_are_appended_after_the_detections_own(repo_root: Path) -> None:
    write(repo_root, {"overrides/Acme.Login.Brute.yml": "Tests:\n  add:\n    - {Name: extra, ExpectedResult: true, Log: {}}\n"})
    repo, errors = apply(repo_root)
    assert errors == []
    assert [t.name for t in repo.by_id()["Acme.Login.Brute"].tests()] == ["one failure", "extra"]


def test_applying_twice_gives_the_same_result(repo_root: Path) -> None:
    write(repo_root, {"overrides/Acme.Login.Brute.yml": "Tags: {add: [X]}\n"})
    overrides, _ = load_overrides(repo_root)
    repo = load_repository(repo_root)
    apply_overrides(repo, overrides)
    apply_overrides(repo, overrides)
    assert repo.by_id()["Acme.Login.Brute"].data["Tags"] == ["Identity", "Deprecated", "X"]


def test_unknown_id_suggests_a_close_one(repo_root: Path) -> None:
    write(repo_root, {"overrides/a.yml": "# renamed upstream\nRuleID: Acme.Login.Brutal\nEnabled: false\n"})
    _, errors = apply(repo_root)
    assert errors == [
        "overrides/a.yml:2:9: override for unknown detection ID 'Acme.Login.Brutal': upstream removed or renamed it"
        " (did you mean 'Acme.Login.Brute'?)"
    ]


def test_unknown_id_from_file_name_points_at_the_file(repo_root: Path) -> None:
    write(repo_root, {"overrides/Zzz.Gone.yml": "Enabled: false\n"})
    _, errors = apply(repo_root)
    assert errors == [
        "overrides/Zzz.Gone.yml:1:1: override for unknown detection ID 'Zzz.Gone': upstream removed or renamed it"
        " (delete the override if the detection is gone for good)"
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Filename: other.py\n", "overrides/Acme.Login.Brute.yml:1:1: Filename cannot be overridden (the Python file belongs to upstream; write a new detection to change code)"),
        ("Enabled: false\nAnalysisType: policy\n", "overrides/Acme.Login.Brute.yml:2:1: AnalysisType cannot be overridden (it decides what kind of spec this is)"),
        ("RuleID: Acme.Login.Brute\nPolicyID: Acme.Bucket.Public\n", "overrides/Acme.Login.Brute.yml:2:1: PolicyID cannot be overridden (one ID key selects the detection; remove the others)"),
        ("Severty: Low\n", "overrides/Acme.Login.Brute.yml:1:1: unknown override field 'Severty' (did you mean 'Severity'?)"),
        ("Enabled: 'no'\n", "overrides/Acme.Login.Brute.yml:1:10: Enabled must be true or false, not a string ('no')"),
        ("Severity: Urgent\n", "overrides/Acme.Login.Brute.yml:1:11: Severity must be one of Info, Low, Medium, High, Critical, not 'Urgent'"),
        ("DedupPeriodMinutes: true\n", "overrides/Acme.Login.Brute.yml:1:21: DedupPeriodMinutes must be an integer (minutes), not a boolean (True)"),
        ("Tags: [a, 3]\n", "overrides/Acme.Login.Brute.yml:1:11: Tags[1] must be a string, not an integer (3)"),
        ("Tags: {append: [a]}\n", "overrides/Acme.Login.Brute.yml:1:8: Tags: unknown patch key 'append' (use add: [...] and/or remove: [...])"),
        ("Tags:\n  add: x\n", "overrides/Acme.Login.Brute.yml:2:8: Tags.add must be a list, not a string ('x')"),
        ("Tags: x\n", "overrides/Acme.Login.Brute.yml:1:7: Tags must be a list (replaces) or a mapping with add/remove (patches), not a string ('x')"),
        ("Tests: []\n", "overrides/Acme.Login.Brute.yml:1:8: Tests must be a mapping with add and/or remove (an override cannot replace upstream's tests; use Tests: {add: [...]})"),
        ("Tests:\n  add:\n    - ExpectedResult: true\n", "overrides/Acme.Login.Brute.yml:3:7: Tests.add[0] needs a Name"),
        ("Tests:\n  add:\n    - {Name: one failure, ExpectedResult: true, Log: {}}\n", "overrides/Acme.Login.Brute.yml:3:7: Tests.add[0]: Acme.Login.Brute already has a test named 'one failure' (add it to Tests.remove to replace it)"),
        ("- Enabled\n", "overrides/Acme.Login.Brute.yml:1:1: an override must be a mapping of spec fields (see pytest_panther.upstream.overrides)"),
        ("Enabled: [\n", "overrides/Acme.Login.Brute.yml:2:1: did not find expected node content"),
        ("Excluded: ''\n", "overrides/Acme.Login.Brute.yml:1:11: Excluded needs the reason (shown when tests skip the detection)"),
        ("Excluded: true\n", "overrides/Acme.Login.Brute.yml:1:11: Excluded must be the reason the fork does not run this detection, not a boolean (True)"),
        ("Status: 2\n", "overrides/Acme.Login.Brute.yml:1:9: Status must be a string such as Stable (Experimental and Deprecated are not deployed), not an integer (2)"),
        ("PackDefinition: {IDs: [a]}\n", "overrides/Acme.Login.Brute.yml:1:17: PackDefinition: Acme.Login.Brute is a rule, not a pack"),
        ("PackDefinition: [a]\n", "overrides/Acme.Login.Brute.yml:1:17: PackDefinition must be a mapping with IDs only (PackDefinition: {IDs: {add: [...], remove: [...]}})"),
        ("PackDefinition:\n  IDs: {add: [1]}\n", "overrides/Acme.Login.Brute.yml:2:15: IDs.add[0] must be a string, not an integer (1)"),
    ],
)
def test_errors_are_located(repo_root: Path, text: str, message: str) -> None:
    write(repo_root, {"overrides/Acme.Login.Brute.yml": text})
    repo, errors = apply(repo_root)
    assert len(errors) == 1
    assert errors[0].startswith(message), errors[0]
    # a file with an error is not applied at all
    assert repo.by_id()["Acme.Login.Brute"].data is repo.by_id()["Acme.Login.Brute"].document.data


def test_two_overrides_for_one_id(repo_root: Path) -> None:
    write(repo_root, {"overrides/Acme.Login.Brute.yml": "Severity: Low\n", "overrides/z.yml": "RuleID: Acme.Login.Brute\nSeverity: High\n"})
    repo, errors = apply(repo_root)
    assert errors == [
        "overrides/z.yml:1:9: second override for 'Acme.Login.Brute' (first one is overrides/Acme.Login.Brute.yml; merge them)"
    ]
    assert repo.by_id()["Acme.Login.Brute"].data["Severity"] == "Low"


def test_one_bad_file_does_not_stop_the_others(repo_root: Path) -> None:
    write(repo_root, {"overrides/Acme.Login.Brute.yml": "Severity: [\n", "overrides/Acme.Bucket.Public.yml": "Enabled: false\n"})
    repo, errors = apply(repo_root)
    assert len(errors) == 1
    assert repo.by_id()["Acme.Bucket.Public"].data["Enabled"] is False


def test_missing_folder_is_no_overrides(tmp_path: Path) -> None:
    assert load_overrides(tmp_path) == ({}, [])


def test_from_texts_as_the_sync_reads_a_commit(tmp_path: Path) -> None:
    from pytest_panther.spec.repository import load_repository_from_texts
    from pytest_panther.upstream.overrides import load_overrides_from_texts

    texts = {
        "rules/brute.yml": RULE,
        "overrides/Acme.Login.Brute.yml": "Severity: Low\n",
        "overrides/.hidden.yml": "Severity: High\n",
        "rules/not-an-override.yml": "Severity: High\n",
        "overrides/bad.yml": "RuleID: Acme.Login.Brute\nSeverty: Low\n",
    }
    overrides, errors = load_overrides_from_texts(tmp_path, texts)
    assert [e.format() for e in errors] == [f"{tmp_path}/overrides/bad.yml:2:1: unknown override field 'Severty' (did you mean 'Severity'?)"]
    repo = load_repository_from_texts(tmp_path, texts)
    assert apply_overrides(repo, overrides) == []
    assert repo.by_id()["Acme.Login.Brute"].severity == "Low"


def test_override_paths_are_the_files_load_overrides_reads(tmp_path: Path) -> None:
    from pytest_panther.upstream.overrides import override_paths

    write(tmp_path, {"custom/b.yaml": "Enabled: false\n", "custom/sub/a.yml": "Enabled: false\n",
                     "custom/.hidden.yml": "x: 1\n", "custom/notes.txt": "", "custom/.git/c.yml": "x: 1\n"})
    assert override_paths(tmp_path, "custom") == [tmp_path / "custom/b.yaml", tmp_path / "custom/sub/a.yml"]
    assert override_paths(tmp_path) == []


def test_spec_ids_in_reads_the_first_top_level_id_line() -> None:
    from pytest_panther.upstream.history import spec_ids_in

    texts = ["AnalysisType: rule\nRuleID: 'A.B'  # c\n", 'PolicyID: "P"\n', "  RuleID: nested\n", "PackID: \n", "x: 1\n"]
    assert spec_ids_in(texts) == {"A.B", "P"}


PACK = "AnalysisType: pack\nPackID: Acme.Pack\nPackDefinition:\n  IDs:\n    - Acme.Login.Brute\n    - Acme.Bucket.Public\n"


def test_excluded_skips_and_is_never_deployed(repo_root: Path) -> None:
    from pytest_panther.upstream.config import UpstreamConfig
    from pytest_panther.upstream.packs import deployable_ids
    from pytest_panther.upstream.packs import not_deployed_reason

    write(repo_root, {"overrides/Acme.Login.Brute.yml": "Excluded: we have no Okta\n", "packs/p.yml": PACK})
    repo, errors = apply(repo_root)
    spec = repo.by_id()["Acme.Login.Brute"]
    assert errors == [] and "Excluded" not in spec.data  # not a spec field: validation never sees it
    assert spec.excluded == not_deployed_reason(spec) == "excluded by overrides/Acme.Login.Brute.yml: we have no Okta"
    assert "Acme.Login.Brute" not in deployable_ids(repo, UpstreamConfig())
    assert "Acme.Login.Brute" not in deployable_ids(repo, UpstreamConfig(packs=["Acme.Pack"]))


def test_status_override_pins_what_upstream_marks_experimental(repo_root: Path) -> None:
    from pytest_panther.upstream.packs import not_deployed_reason

    write(repo_root, {"rules/brute.yml": RULE.replace("Severity: Medium", "Severity: Medium\nStatus: Experimental")})
    repo, _ = apply(repo_root)
    reason = not_deployed_reason(repo.by_id()["Acme.Login.Brute"])
    assert reason == "Status: Experimental is not deployed (an override with `Status: Stable` keeps it deployed)"
    write(repo_root, {"overrides/Acme.Login.Brute.yml": "Status: Stable\n"})
    repo, errors = apply(repo_root)
    assert errors == [] and not_deployed_reason(repo.by_id()["Acme.Login.Brute"]) == ""


def test_pack_override_adds_and_drops_ids(repo_root: Path) -> None:
    from pytest_panther.upstream.config import UpstreamConfig
    from pytest_panther.upstream.packs import deployable_ids

    write(repo_root, {"packs/p.yml": PACK, "overrides/pack.yml": "PackID: Acme.Pack\nPackDefinition:\n  IDs:\n    remove: [Acme.Bucket.Public]\n"})
    repo, errors = apply(repo_root)
    assert errors == []
    assert repo.by_id()["Acme.Pack"].data["PackDefinition"] == {"IDs": ["Acme.Login.Brute"]}
    chosen = deployable_ids(repo, UpstreamConfig(packs=["Acme.Pack"]), upstream_ids={"Acme.Login.Brute", "Acme.Bucket.Public"})
    assert "Acme.Login.Brute" in chosen and "Acme.Bucket.Public" not in chosen


def test_plugin_skips_an_excluded_detection_with_the_reason(pytester: pytest.Pytester) -> None:
    write(pytester.path, {
        "rules/brute.yml": RULE, "rules/brute.py": "def rule(event):\n    return False\n",
        "overrides/Acme.Login.Brute.yml": "Excluded: we have no Okta\n",
    })
    result = pytester.runpytest("-rs", "-p", "no:randomly")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED [[]1[]] rules/brute.yml: excluded by overrides/Acme.Login.Brute.yml: we have no Okta"])
