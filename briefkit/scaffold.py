"""`python build.py new SLUG` (authoring issue: not yet implemented)."""

from __future__ import annotations

from .diagnostics import UsageError


def new_briefing(args) -> int:
    """Create a briefing folder pre-filled from its article."""
    raise UsageError("new is not implemented yet")
