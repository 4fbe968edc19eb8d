"""Fixtures shared by the whole suite."""
from __future__ import annotations

import pytest
from pantherrepo import DetectionRepo


@pytest.fixture
def repo(pytester: pytest.Pytester) -> DetectionRepo:
    """An empty detection repository (a pytester directory with a pytest.ini)."""
    pytester.makeini("[pytest]\n")
    return DetectionRepo(pytester)
