"""Upstream detection packs for forks (issue 6): overrides instead of in-place edits, pack
selection, and ``panther-gitops upstream init|status|pull|migrate-edits``.

Modules: :mod:`.overrides` (override files) with :mod:`.override_fields` (what they may set),
:mod:`.packs` (which IDs deploy, and why not), :mod:`.config` (``[tool.pytest-panther.upstream]``),
:mod:`.git` (git wrapper), :mod:`.history` (IDs, edits, Status and pack changes between
revisions), :mod:`.conflicts` (which files a pull stops on, and their case), :mod:`.status`,
:mod:`.pull` with :mod:`.guidance`, :mod:`.deployment` and :mod:`.affected`, :mod:`.migrate`,
:mod:`.remote` (``init``).
"""
