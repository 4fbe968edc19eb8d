"""Hooks other plugins and ``conftest.py`` files can implement (all prefixed ``pytest_panther_``).

Implement them like any pytest hook, e.g. in ``conftest.py``::

    def pytest_panther_collect_spec(spec, config):
        return spec.data.get("Status") != "experimental" or None
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_panther.spec.model import Spec


@pytest.hookspec(firstresult=True)
def pytest_panther_collect_spec(spec: Spec, config: pytest.Config) -> bool | None:
    """Called for every detection spec before its test cases are collected.

    :param spec: the analysis spec (``spec.data`` is the YAML mapping, overrides applied).
    :param config: the pytest config.
    :return: False to leave the detection out of the run, None (or True) to collect it.
    """


@pytest.hookspec()
def pytest_panther_test_case_result(item: pytest.Item, passed: bool, failure: str | None) -> None:
    """Called after each detection test case ran.

    :param item: the test case item (``item.spec``, ``item.case``).
    :param passed: whether it passed.
    :param failure: the failure report shown to the user, or None.
    """
