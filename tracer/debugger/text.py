"""Terminal text helpers: display width of wide characters, padding, and ANSI styles."""

from __future__ import annotations

import os
import sys
import unicodedata


def char_width(char: str) -> int:
    """Return the terminal columns `char` takes: 2 for East Asian wide/fullwidth, 0 for combining marks."""
    if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def text_width(text: str) -> int:
    """Return the terminal columns `text` takes."""
    return sum(char_width(char) for char in text)


def truncate(text: str, width: int) -> str:
    """Cut `text` to at most `width` columns, ending in "…" when something was cut."""
    if text_width(text) <= width:
        return text
    chars, used = [], 0
    for char in text:
        size = char_width(char)
        if used + size > width - 1:
            break
        chars.append(char)
        used += size
    return "".join(chars) + "…"


def pad(text: str, width: int, align: str = "left") -> str:
    """Pad `text` with spaces to `width` columns (after truncating it to fit)."""
    text = truncate(text, width)
    gap = " " * (width - text_width(text))
    return gap + text if align == "right" else text + gap


def supports_color(stream=None) -> bool:
    """Return True when `stream` is a terminal that shows 256 colours and NO_COLOR is unset."""
    stream = stream or sys.stdout
    if os.environ.get("NO_COLOR"):
        return False
    if not getattr(stream, "isatty", lambda: False)():
        return False
    term = os.environ.get("TERM", "")
    return "256color" in term or os.environ.get("COLORTERM", "") in ("truecolor", "24bit")


class Style:
    """ANSI styling that turns into plain text when colour is off."""

    def __init__(self, color: bool = False):
        self.color = color

    def _wrap(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color else text

    def bold(self, text: str) -> str:
        return self._wrap("1", text)

    def dim(self, text: str) -> str:
        return self._wrap("2", text)

    def site(self, text: str) -> str:
        return self._wrap("36", text)  # cyan

    def error(self, text: str) -> str:
        return self._wrap("31", text)  # red

    def warn(self, text: str) -> str:
        return self._wrap("33", text)  # yellow

    def marker(self, text: str) -> str:
        return self._wrap("1;32", text)  # bold green

    def background(self, color_index: int, text: str) -> str:
        """Set a 256-colour background, for heatmap cells."""
        return self._wrap(f"48;5;{color_index}", text)

    def foreground(self, color_index: int, text: str) -> str:
        return self._wrap(f"38;5;{color_index}", text)
