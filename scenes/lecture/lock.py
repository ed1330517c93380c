"""An exclusive lock on a lecture folder, so that two builds never write into one folder."""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path

from minimind.errors import MiniMindError


@contextmanager
def folder_lock(folder: Path):
    """Hold an exclusive flock on the folder itself for the block; it is released when the process ends."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise MiniMindError(
                f"another mmtrace lecture is writing to {folder}: wait for it to finish or pass another -o",
                key="lecture.error.busy",
                folder=str(folder),
            ) from None
        yield
    finally:
        os.close(descriptor)
