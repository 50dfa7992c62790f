"""`python build.py serve` (authoring issue: not yet implemented)."""

from __future__ import annotations

from .diagnostics import UsageError


def serve(args) -> int:
    """Build, serve and rebuild on change."""
    raise UsageError("serve is not implemented yet; use make serve")
