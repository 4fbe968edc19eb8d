"""Compiled detection and helper code kept between runs where Python writes no bytecode (issue 14)."""
from __future__ import annotations

import importlib.machinery
import os
import sys
from pathlib import Path

import pytest
from pantherrepo import DetectionRepo

from pytest_panther.engine.codecache import CodeCache
from pytest_panther.engine.codecache import import_file


@pytest.fixture
def no_bytecode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", True)


def test_unchanged_file_is_not_compiled_again(tmp_path: Path, no_bytecode: None, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "det.py"
    source.write_text("def rule(event):\n    return True\n")
    first = CodeCache(tmp_path / "code.marshal")
    assert import_file(str(source), "Det.One", first).rule({}) is True
    first.save()
    assert (tmp_path / "code.marshal").is_file()

    def no_compile(*args: object) -> None:
        raise AssertionError("compiled although cached")

    monkeypatch.setattr(importlib.machinery.SourceFileLoader, "source_to_code", no_compile)
    module = import_file(str(source), "Det.One", CodeCache(tmp_path / "code.marshal"))
    assert module.rule({}) is True and module.__file__ == str(source)


def test_a_changed_file_is_compiled_again(tmp_path: Path, no_bytecode: None) -> None:
    source = tmp_path / "det.py"
    source.write_text("def rule(event):\n    return True\n")
    cache = CodeCache(tmp_path / "code.marshal")
    import_file(str(source), "Det.One", cache)
    cache.save()
    source.write_text("def rule(event):\n    return False  # changed\n")
    os.utime(source, ns=(source.stat().st_atime_ns, source.stat().st_mtime_ns + 1_000_000))
    assert import_file(str(source), "Det.One", CodeCache(tmp_path / "code.marshal")).rule({}) is False


def test_inactive_where_python_writes_bytecode_or_without_a_cache_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    assert not CodeCache(tmp_path / "code.marshal").active
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    assert not CodeCache(None).active
    assert CodeCache(tmp_path / "code.marshal").active


def test_a_torn_or_foreign_cache_file_is_ignored(tmp_path: Path, no_bytecode: None) -> None:
    (tmp_path / "code.marshal").write_bytes(b"\x00garbage")
    source = tmp_path / "det.py"
    source.write_text("X = 1\n")
    assert import_file(str(source), "Det.X", CodeCache(tmp_path / "code.marshal")).X == 1


def test_runs_use_the_cache_and_see_edits(repo: DetectionRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the plugin: the second run reads the cache; an edited detection runs its new code,
    and a failure still points at the detection's own line."""
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    repo.write("global_helpers/h.py", "def bad(name):\n    return name == 'Bad'\n")
    repo.write("global_helpers/h.yml", "AnalysisType: global\nGlobalID: h\nFilename: h.py\n")
    repo.rule("uses", "from h import bad\n\ndef rule(event):\n    return bad(event.get('eventName'))\n", """
        - Name: bad alerts
          ExpectedResult: true
          Log: {eventName: Bad}
    """)
    first = repo.pytester.runpytest_subprocess("-q")
    first.assert_outcomes(passed=1)
    assert (repo.root / ".pytest_cache/d/panther/code.marshal").is_file()
    repo.pytester.runpytest_subprocess("-q").assert_outcomes(passed=1)
    repo.write("rules/uses.py", "from h import bad\n\ndef rule(event):\n    return event['missing']  # edited\n")
    edited = repo.pytester.runpytest_subprocess("-q")
    edited.assert_outcomes(failed=1)
    edited.stdout.fnmatch_lines(["*rule() raised KeyError*missing*", "*rules/uses.py*line 4, in rule*", "*# edited*"])
