"""The debugger's one-line error, shown in the session's language while the session goes on."""

from __future__ import annotations

from minimind.errors import MiniMindError

from ..i18n import get_lang, has, t


class DebuggerError(MiniMindError):
    """A command, condition, slice or site given to the debugger is invalid."""


def error_message(error: MiniMindError) -> str:
    """Return the error's text in the current language when the catalogue has its key, else its English text."""
    if get_lang() != "en" and error.key and has(error.key, get_lang()):
        try:
            return t(error.key, **error.params)
        except (KeyError, IndexError, ValueError):
            pass
    return str(error)
