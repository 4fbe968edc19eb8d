"""pytest hooks of pytest-panther (hooks only; the work is in the other modules)."""
from __future__ import annotations
