"""JSONPath parsing for data model ``Path`` mappings, with the parser panther-core uses.

``jsonpath_ng.ext.parse`` is what panther-core's ``DataModel`` calls
(``panther_core/data_model.py``); each call costs ~1-2 ms, and both validation and the data
models of a run parse the same ~200 paths of panther-analysis, so results are memoised.
``JSONPath`` objects are not mutated by ``find``, so sharing them is safe.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

__all__ = ["parse_jsonpath"]


@lru_cache(maxsize=4096)
def parse_jsonpath(path: str) -> Any:
    """The parsed ``jsonpath_ng`` expression for ``path``.

    :raises Exception: whatever ``jsonpath_ng`` raises for a malformed path (several unrelated
        exception types; callers turn them into located errors).
    """
    # Lazily: importing the parser module costs ~25 ms (jsonpath_ng.ext re-exports this parse).
    from jsonpath_ng.ext.parser import parse

    return parse(path)
