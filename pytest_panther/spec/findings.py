"""Two classes of validation finding (issue 10, item 3; docs/validation-findings.md).

Every finding is a :class:`~pytest_panther.spec.yaml.YamlError` (``path:line:col: message
(hint)``). Those Panther (or PAT, for the backend) rejects fail the run. Those Panther accepts but
that are probably a mistake are a :class:`SpecWarning`: a pytest warning in the warnings summary,
and a failure only with ``--panther-strict`` (ini ``panther_strict``).
"""
from __future__ import annotations

from collections.abc import Iterable

from pytest_panther.spec.yaml import YamlError

__all__ = ["STRICT_NOTE", "PantherSpecWarning", "SpecWarning", "split"]

#: Appended to every warning shown: why it does not fail, and how to make it fail.
STRICT_NOTE = "(Panther accepts this; strict mode fails it: --panther-strict, ini panther_strict)"


class SpecWarning(YamlError):
    """A finding Panther accepts (it deploys and runs the spec) that is still suspicious."""

    @classmethod
    def of(cls, error: YamlError) -> SpecWarning:
        return cls(error.path, error.line, error.col, error.message, error.hint)


class PantherSpecWarning(UserWarning):
    """The pytest warning category of a :class:`SpecWarning` (``-W error::...`` fails on them too)."""


def split(findings: Iterable[YamlError]) -> tuple[list[YamlError], list[YamlError]]:
    """``(errors, warnings)`` of ``findings``, each in the given order."""
    errors: list[YamlError] = []
    warnings: list[YamlError] = []
    for finding in findings:
        (warnings if isinstance(finding, SpecWarning) else errors).append(finding)
    return errors, warnings
