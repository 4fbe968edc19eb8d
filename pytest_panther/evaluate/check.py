"""Expressions that cannot be evaluated are validation problems, not silent falses.

Issue 5: an unknown condition or a malformed match expression, inline filter or correlation
``Detection`` is reported by validation (``panther-gitops validate``, the pre-commit hook and the
``::validate`` item) at its file and line, as well as failing the detection's tests.
"""
from __future__ import annotations

from collections.abc import Callable

from pytest_panther.evaluate.correlation import compile_correlation
from pytest_panther.evaluate.inline_filters import core_filters
from pytest_panther.evaluate.simple import build_simple_module
from pytest_panther.spec.model import Spec
from pytest_panther.spec.yaml import YamlError

__all__ = ["expression_problems"]


def expression_problems(spec: Spec) -> list[YamlError]:
    """Parse ``spec``'s YAML expressions the way a run would; the first problem of each kind.

    Nothing is evaluated: simple detections and correlation rules are compiled, inline filters
    turned into panther-core's filter tree. Returns ``[]`` for specs without expressions.
    """
    problems: list[YamlError] = []
    kind = spec.kind
    checks: list[Callable[[Spec], object]] = []
    if kind == "simple_detection":
        checks.append(build_simple_module)
    elif kind == "correlation_rule":
        checks.append(compile_correlation)
    if spec.data.get("InlineFilters") and kind in ("rule", "scheduled_rule", "simple_detection", "derived"):
        checks.append(core_filters)
    for check in checks:
        try:
            check(spec)
        except YamlError as exc:
            problems.append(exc)
    return problems
