from __future__ import annotations

from pathlib import Path

import pytest

from pytest_panther.spec.repository import load_repository
from pytest_panther.upstream.config import UpstreamConfig
from pytest_panther.upstream.overrides import apply_overrides
from pytest_panther.upstream.overrides import load_overrides
from pytest_panther.upstream.packs import check_packs
from pytest_panther.upstream.packs import deployable_ids

FILES = {
    "rules/a.yml": "AnalysisType: rule\nRuleID: Up.A\nEnabled: true\nLogTypes: [X.Y]\nSeverity: Low\n",
    "rules/b.yml": "AnalysisType: rule\nRuleID: Up.B\nEnabled: false\nLogTypes: [X.Y]\nSeverity: Low\n",
    "rules/c.yml": "AnalysisType: rule\nRuleID: Up.C\nEnabled: true\nLogTypes: [X.Y]\nSeverity: Low\n",
    "rules/own.yml": "AnalysisType: rule\nRuleID: Acme.Own\nEnabled: true\nLogTypes: [X.Y]\nSeverity: Low\n",
    "queries/q.yml": "AnalysisType: scheduled_query\nQueryName: Up Query\nQuery: select 1\n",
    "global_helpers/h.yml": "AnalysisType: global\nGlobalID: up_helpers\nFilename: h.py\n",
    "data_models/m.yml": "AnalysisType: datamodel\nDataModelID: Up.Model\nLogTypes: [X.Y]\nEnabled: true\n",
    "packs/one.yml": "AnalysisType: pack\nPackID: Up.One\nPackDefinition:\n  IDs: [Up.A, Up.B, up_helpers, Up.Model]\n",
    "packs/two.yml": "AnalysisType: pack\nPackID: Up.Two\nPackDefinition:\n  IDs: [Up.C, Up Query, up_helpers]\n",
}


@pytest.fixture
def repo(tmp_path: Path):
    for rel, text in FILES.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    return load_repository(tmp_path)


def test_no_selection_deploys_everything_but_packs(repo) -> None:
    assert deployable_ids(repo, UpstreamConfig()) == {
        "Acme.Own": True, "Up Query": True, "Up.A": True, "Up.B": False, "Up.C": True, "Up.Model": True, "up_helpers": True,
    }


def test_unselected_are_skipped(repo) -> None:
    assert deployable_ids(repo, UpstreamConfig(packs=["Up.One"])) == {
        "Acme.Own": True, "Up.A": True, "Up.B": False, "Up.Model": True, "up_helpers": True,
    }


def test_unselected_are_disabled(repo) -> None:
    result = deployable_ids(repo, UpstreamConfig(packs=["Up.One"], unselected="disable"))
    assert result["Up.C"] is False
    assert "Up Query" not in result  # no Enabled field: left out


def test_overrides_decide_enabled(repo, tmp_path: Path) -> None:
    (tmp_path / "overrides").mkdir()
    (tmp_path / "overrides" / "Up.A.yml").write_text("Enabled: false\n")
    overrides, errors = load_overrides(tmp_path)
    assert errors == [] and apply_overrides(repo, overrides) == []
    assert deployable_ids(repo, UpstreamConfig(packs=["Up.One"]))["Up.A"] is False


def test_unknown_pack_is_reported(repo) -> None:
    assert check_packs(repo, UpstreamConfig(packs=["Up.Onee", "Nope"])) == [
        "pyproject.toml [tool.pytest-panther.upstream] packs: no pack 'Up.Onee'; did you mean 'Up.One'?",
        "pyproject.toml [tool.pytest-panther.upstream] packs: no pack 'Nope'",
    ]


def test_upstream_detections_in_no_pack_follow_the_selection(repo) -> None:
    upstream = {"Up.A", "Up.B", "Up.C", "Up Query", "up_helpers", "Up.Model", "Up.Loose"}
    (repo.root / "rules" / "loose.yml").write_text("AnalysisType: rule\nRuleID: Up.Loose\nEnabled: true\nLogTypes: [X.Y]\nSeverity: Low\n")
    repo = load_repository(repo.root)
    assert "Up.Loose" in deployable_ids(repo, UpstreamConfig(packs=["Up.One"]))  # without upstream_ids: taken as own
    chosen = deployable_ids(repo, UpstreamConfig(packs=["Up.One"]), upstream)
    assert "Up.Loose" not in chosen and chosen["Acme.Own"] is True
    assert deployable_ids(repo, UpstreamConfig(packs=["Up.One"], unselected="disable"), upstream)["Up.Loose"] is False


def test_upstream_ids_from_the_base_release(tmp_path: Path) -> None:
    import subprocess

    from pytest_panther.upstream.packs import upstream_ids

    env_git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-C", str(tmp_path)]
    for rel, text in FILES.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    (tmp_path / "rules" / "quoted.yml").write_text("AnalysisType: rule\nRuleID: \"Up.Quoted\"  # note\nSeverity: Low\n")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run([*env_git, "add", "."], check=True)
    subprocess.run([*env_git, "commit", "-qm", "v1"], check=True)
    subprocess.run([*env_git, "tag", "v1.0.0"], check=True)
    assert upstream_ids(tmp_path, UpstreamConfig(base="v1.0.0")) == {
        "Acme.Own", "Up Query", "Up.A", "Up.B", "Up.C", "Up.Model", "Up.One", "Up.Quoted", "Up.Two", "up_helpers",
    }
    assert upstream_ids(tmp_path, UpstreamConfig(base="v9.0.0")) is None
    assert upstream_ids(tmp_path, UpstreamConfig()) is None
