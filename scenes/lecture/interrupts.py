"""Hold off Ctrl-C while a few files move into place, so an interrupt never splits a clip's update."""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def deferred_interrupts():
    """Delay SIGINT and SIGTERM until the block ends, then raise KeyboardInterrupt if one arrived.

    Outside the main thread signal handlers cannot be changed, and the block runs unprotected.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    received = []
    previous = {signum: signal.signal(signum, lambda number, frame: received.append(number)) for signum in _STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if received:
        raise KeyboardInterrupt


@contextmanager
def terminate_as_interrupt():
    """Treat SIGTERM like Ctrl-C for the duration of the block, so `kill` also cleans up."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
