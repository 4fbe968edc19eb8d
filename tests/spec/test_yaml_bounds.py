"""Safe YAML everywhere (issue 11 §6): one loader bounds file size, nesting and alias expansion.

The alias bomb is the audit's input (shared/reference/measured/sync-audit-2026-12.md D9): a rule
whose ``Tests[0].Log`` nests anchors 8 deep, each aliasing the previous one 10 times — under 600
bytes that stand for 10^8 values; ``sync plan`` grew to 3 GB on it and died. pytest, ``validate``
and the sync all read specs through :func:`pytest_panther.spec.yaml.load`, so each must now answer
with a ``path:line:col`` error, and the other specs still run.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from badyaml import alias_bomb

from pytest_panther.cli.main import main
from pytest_panther.spec import yaml as spec_yaml
from pytest_panther.spec.yaml import YamlError
from pytest_panther.spec.yaml import load
from pytest_panther.spec.yaml import load_file

pytest_plugins = ["pytester"]


BOMB_ERROR = "rules/bomb.yml:15:42: aliases expand to more than 100,000 nodes (an alias bomb?) (write the values out instead of nesting aliases)"
GOOD = ("AnalysisType: rule\nRuleID: Good.Rule\nFilename: good.py\nEnabled: true\nSeverity: Low\n"
        "LogTypes: [AWS.CloudTrail]\nTests:\n  - Name: hit\n    ExpectedResult: true\n    Log: {x: 1}\n")
PY = "def rule(event):\n    return event.get('x') == 1\n"


def test_the_alias_bomb_is_a_located_error() -> None:
    text = alias_bomb()
    assert len(text.encode()) < 600
    with pytest.raises(YamlError) as info:
        load(text, "rules/bomb.yml")
    assert str(info.value) == BOMB_ERROR


def test_aliases_within_the_bound_still_load() -> None:
    doc = load("a: &a {x: 1}\nb: [*a, *a]\nc: &c [1, 2]\nd: *c\n", "ok.yml")
    assert doc.data == {"a": {"x": 1}, "b": [{"x": 1}, {"x": 1}], "c": [1, 2], "d": [1, 2]}


def test_a_recursive_alias_is_an_error() -> None:
    with pytest.raises(YamlError) as info:
        load("a: &a [1, *a]\n", "r.yml")
    assert str(info.value) == "r.yml:1:11: alias *a refers to a node that contains it (a recursive structure) (write the value out)"


@pytest.mark.parametrize(("text", "where"), [
    ("[" * 30_000 + "]" * 30_000 + "\n", "1:101"),  # crashed the interpreter (C stack) before
    ("- " * 30_000 + "x\n", "1:201"),
    ("a:\n" + "".join(" " * i + "b:\n" for i in range(1, 150)), "101:101"),
])
def test_deep_nesting_is_an_error_not_a_crash(text: str, where: str) -> None:
    with pytest.raises(YamlError) as info:
        load(text, "deep.yml")
    assert str(info.value) == f"deep.yml:{where}: collections are nested more than 100 levels deep (flatten the data)"


def test_nesting_up_to_the_bound_loads() -> None:
    assert load("[" * 99 + "]" * 99 + "\n").data is not None


def test_an_oversized_file_is_refused_before_it_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spec_yaml, "MAX_BYTES", 1000)
    path = tmp_path / "big.yml"
    path.write_text("a: " + "x" * 1000 + "\n")
    with pytest.raises(YamlError) as info:
        load_file(path)
    assert str(info.value) == f"{path}:1:1: the file has 1,004 bytes, more than the 1,000 a YAML file may have (split it, or keep large data outside YAML)"
    with pytest.raises(YamlError, match="1,004 characters, more than the 1,000"):
        load(path.read_text(), path)


CORPUS = Path(os.environ.get("PANTHER_ANALYSIS_DIR", "/work/corpus-src"))


@pytest.mark.skipif(not (CORPUS / "rules").is_dir(), reason="panther-analysis checkout not available (PANTHER_ANALYSIS_DIR)")
def test_panther_analysis_specs_stay_within_the_bounds() -> None:
    corpus = CORPUS
    files = [p for p in corpus.rglob("*.yml") if ".git" not in p.parts]
    assert len(files) > 1000
    for path in files:
        spec_yaml._check_bounds(path.read_text(encoding="utf-8"), path)


def test_validate_names_the_bomb_and_checks_the_rest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    for rel, text in {"rules/bomb.yml": alias_bomb(), "rules/bomb.py": PY,
                      "rules/other.yml": GOOD.replace("Log: {x: 1}", "Log: {x: [1"), "rules/good.py": PY}.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    monkeypatch.chdir(tmp_path)
    code = main(["validate"])
    out = capsys.readouterr().out.splitlines()
    assert code == 1
    assert BOMB_ERROR in out
    assert out == [BOMB_ERROR, "rules/other.yml:11:1: did not find expected ',' or ']' (while parsing a flow sequence at line 10, column 14)"]


def test_pytest_reports_the_bomb_as_a_collection_error_and_runs_the_rest(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yml", **{"rules/bomb": alias_bomb(), "rules/good": GOOD})
    pytester.makepyfile(**{"rules/bomb": PY, "rules/good": PY})
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*" + BOMB_ERROR + "*"])
    result.assert_outcomes(passed=1, failed=1)  # the spec's validate item
    assert "Traceback" not in result.stdout.str()
