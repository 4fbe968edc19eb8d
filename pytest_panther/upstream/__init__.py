"""Upstream detection packs for forks (issue 6): overrides instead of in-place edits, pack
selection, and ``panther-gitops upstream init|status|pull|migrate-edits``.

Modules: :mod:`.overrides` (override files), :mod:`.packs` (which IDs deploy), :mod:`.config`
(``[tool.pytest-panther.upstream]``), :mod:`.git` (git wrapper), :mod:`.history` (IDs and edits
between revisions), :mod:`.status`, :mod:`.pull` with :mod:`.guidance` and :mod:`.affected`,
:mod:`.migrate`, :mod:`.remote` (``init``).
"""
