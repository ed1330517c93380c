"""Exceptions with one-line messages that name the bad value and the fix.

Each error may carry a catalogue `key` and its `params`, so the command line can show the
message in the user's language; `str(error)` is always the English message.
"""

from __future__ import annotations


class MiniMindError(ValueError):
    """Base class for input errors the command line reports in one line."""

    def __init__(self, message: str, key: str | None = None, **params):
        super().__init__(message)
        self.key = key
        self.params = params


class CheckpointError(MiniMindError):
    """A checkpoint is missing, unreadable, or does not fit the model."""


class SequenceTooLongError(MiniMindError):
    """A sequence needs more positions than the RoPE tables cover."""


def catalogue_entry(key: str, **params) -> dict:
    """Return logging `extra` that names a warning's catalogue key and parameters.

    The record's message stays English; the command line's log formatter shows the
    catalogue text of the user's language instead.
    """
    return {"catalogue_key": key, "catalogue_params": params}
