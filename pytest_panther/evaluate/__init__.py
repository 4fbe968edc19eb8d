"""Local evaluation of what PAT can only run with a Panther backend (issue 5).

- :mod:`.simple`: ``build_simple_module(spec)`` — a simple detection (``Detection:``) as a module
  of plain functions (rule, title, alert_context, dedup, severity) for panther_core's ``Rule``.
- :mod:`.inline_filters`: ``core_filters(spec)`` — ``InlineFilters`` as panther_core's
  ``Rule(config)["filters"]`` tree, so panther_core itself gates ``rule()``.
- :mod:`.correlation`: ``compile_correlation(spec).run_test(case)`` — correlation rules
  (Group / Sequence) against their ``RuleOutputs`` tests.

Supporting modules: :mod:`.conditions` (the condition predicates and :class:`MatchOptions`),
:mod:`.keys` (Key / DeepKey / KeyPath / Enrichment resolvers), :mod:`.expressions` (match
expression compiler), :mod:`.correlation_spec` and :mod:`.correlation_case` (parsing).
Semantics: shared/reference/local-evaluation.md; results are "evaluated locally".
"""
from __future__ import annotations
