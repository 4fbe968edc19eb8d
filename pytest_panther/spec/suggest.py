"""Did-you-mean suggestions for misspelled keys, enum values and IDs (difflib)."""
from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["closest", "did_you_mean"]


def closest(word: str, candidates: Iterable[str], cutoff: float = 0.75) -> str | None:
    """The candidate ``word`` most likely misspells, or None.

    A case-insensitive exact match wins (``low`` → ``Low``); otherwise the best
    :func:`difflib.get_close_matches` hit with ``cutoff`` (0..1, higher is stricter).
    """
    options = [c for c in candidates if c != word]
    folded = word.casefold()
    for candidate in options:
        if candidate.casefold() == folded:
            return candidate
    matches = difflib.get_close_matches(word, options, n=1, cutoff=cutoff)
    if matches:
        return matches[0]
    lowered = {c.casefold(): c for c in options}
    matches = difflib.get_close_matches(folded, list(lowered), n=1, cutoff=cutoff)
    return lowered[matches[0]] if matches else None


def did_you_mean(word: object, candidates: Iterable[str]) -> str:
    """``"did you mean 'X'?"`` for a string ``word`` close to one of ``candidates``, else ``""``."""
    if not isinstance(word, str):
        return ""
    match = closest(word, candidates)
    return f"did you mean {match!r}?" if match is not None else ""
