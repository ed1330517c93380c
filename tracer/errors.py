"""The tracer's one-line input error."""

from __future__ import annotations

from minimind.errors import MiniMindError


class TraceError(MiniMindError):
    """A trace, trace file or site name is invalid; the message names the value and the fix."""
