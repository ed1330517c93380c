"""Exceptions with one-line messages that name the bad value and the fix."""


class MiniMindError(ValueError):
    """Base class for input errors the command line reports in one line."""


class CheckpointError(MiniMindError):
    """A checkpoint is missing, unreadable, or does not fit the model."""


class SequenceTooLongError(MiniMindError):
    """A sequence needs more positions than the RoPE tables cover."""
