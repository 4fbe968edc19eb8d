"""``panther-gitops`` itself: the options before any command."""
from __future__ import annotations

from importlib.metadata import version

import pytest

from pytest_panther.cli.main import main


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    # Newcomer trial P14: `panther-gitops --version` was "unrecognized arguments" (exit 2).
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"panther-gitops {version('pytest-panther')}\n"
