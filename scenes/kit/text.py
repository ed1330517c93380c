"""Text in the scenes' font, wrapped to a width, in the caption and title styles."""

from __future__ import annotations

import unicodedata

import numpy as np

from manim import DOWN, LEFT, Text, VGroup, config

from .style import CAPTION_HEIGHT, CAPTION_Y, FONT, MARGIN, MUTED, SIZE_CAPTION, SIZE_LABEL, SIZE_TITLE, TEXT, TITLE_Y

# Chinese typesetting keeps these at the end of a line, never at the start of the next,
# and opening brackets at the start, never at the end.
_NO_LINE_START = set("，。、；：！？）】」》”,.;:!?)")
_NO_LINE_END = set("（【「《“(")


_TEXT_CACHE: dict[tuple, Text] = {}
_TEXT_CACHE_LIMIT = 2000


def text(content: str, size: float = SIZE_LABEL, color: str = TEXT, weight: str = "NORMAL", **kwargs) -> Text:
    """Return a Text in the scenes' font; every Text goes through here so CJK always renders.

    Building a Text parses an SVG, which takes tens of ms. Scenes draw the same token labels
    many times, so each distinct Text is built once per process and copied after that.
    """
    key = (content, float(size), str(color), weight, tuple(sorted(kwargs.items())))
    cached = _TEXT_CACHE.get(key)
    if cached is None:
        cached = Text(content, font=FONT, font_size=size, color=color, weight=weight, **kwargs)
        if len(_TEXT_CACHE) < _TEXT_CACHE_LIMIT:
            _TEXT_CACHE[key] = cached
        else:
            return cached
    return cached.copy()


def _display_units(char: str) -> float:
    return 2.0 if unicodedata.east_asian_width(char) in ("W", "F") else 1.0


def _pieces(paragraph: str) -> list[str]:
    """Split into unbreakable pieces: runs of Latin text, single spaces, single CJK characters.

    CJK punctuation joins the piece before it, so it never starts a line.
    """
    pieces: list[str] = []
    glue = False  # the previous character was an opening bracket: join this one to it
    for char in paragraph:
        wide = _display_units(char) == 2.0
        if char == " ":
            pieces.append(char)
        elif glue or (char in _NO_LINE_START and pieces and pieces[-1] != " "):
            pieces[-1] += char
        elif wide or not pieces or pieces[-1] == " " or _display_units(pieces[-1][-1]) == 2.0:
            pieces.append(char)
        else:
            pieces[-1] += char
        glue = char in _NO_LINE_END
    return pieces


def wrap(content: str, max_units: float) -> list[str]:
    """Split `content` into lines of at most `max_units` display units (a CJK character counts 2).

    Latin words stay whole; Chinese breaks between any two characters, except before
    closing punctuation or after an opening bracket. Only U+0020 spaces break, so a no-break
    space (U+00A0) keeps a short formula such as "m − n" on one line. A single piece longer
    than a line gets a line of its own.
    """
    lines: list[str] = []
    for paragraph in content.split("\n"):
        current, units = "", 0.0
        for piece in _pieces(paragraph):
            width = sum(_display_units(c) for c in piece)
            if current.strip() and units + width > max_units and piece != " ":
                lines.append(current.rstrip())
                current, units = "", 0.0
            if piece == " " and not current:
                continue
            current += piece
            units += width
        lines.append(current.rstrip())
    return lines


def fit_text(content: str, size: float, max_width: float, color: str = TEXT, max_lines: int = 3, **kwargs) -> Text:
    """Return Text no wider than `max_width`, wrapping into at most `max_lines` lines, then shrinking."""
    single = text(content, size, color, **kwargs)
    if single.width <= max_width:
        return single
    units = sum(_display_units(c) for c in content)
    # Estimate units per line from the measured width, then tighten until it fits.
    per_line = max(int(units * max_width / single.width), 8)
    for _ in range(6):
        lines = wrap(content, per_line)
        if len(lines) > max_lines:
            break
        block = text("\n".join(lines), size, color, line_spacing=0.9, **kwargs)
        if block.width <= max_width:
            return block
        per_line = int(per_line * 0.92)
    # Too long for max_lines at this size: wrap to max_lines by width, then shrink to fit.
    per_line = max(int(units / max_lines) + 4, per_line)
    block = text("\n".join(wrap(content, per_line)), size, color, line_spacing=0.9, **kwargs)
    return block.scale_to_fit_width(max_width) if block.width > max_width else block


def shorten_to_width(content: str, max_width: float, size: float) -> str:
    """Return `content` when its Text at `size` is at most `max_width` wide, else its longest prefix that fits with "…" added.

    Widths are measured in the scenes' font, so a CJK character counts about twice a Latin one.
    A cut inside a Latin word moves back to the space before it.
    """
    if text(content, size).width <= max_width:
        return content
    fits, too_long = 0, len(content)  # content[:fits] + "…" fits, content[:too_long] + "…" does not
    while too_long - fits > 1:
        middle = (fits + too_long) // 2
        if text(content[:middle].rstrip() + "…", size).width <= max_width:
            fits = middle
        else:
            too_long = middle
    prefix = content[:fits]
    before, after = content[fits - 1 : fits], content[fits : fits + 1]
    inside_word = all(c and not c.isspace() and _display_units(c) == 1.0 for c in (before, after))
    if inside_word and " " in prefix.strip():
        prefix = prefix[: prefix.rstrip().rindex(" ")]
    return prefix.rstrip() + "…"


def caption(content: str, size: float = SIZE_CAPTION) -> Text:
    """Return a caption placed in the band at the bottom of the frame."""
    block = fit_text(content, size, config.frame_width - 2 * MARGIN - 0.6, max_lines=2)
    if block.height > CAPTION_HEIGHT:
        block.scale_to_fit_height(CAPTION_HEIGHT)
    return block.move_to([0, CAPTION_Y, 0])


def title(content: str, color: str = TEXT, size: float = SIZE_TITLE) -> Text:
    """Return a scene title in the top-left corner."""
    block = fit_text(content, size, config.frame_width - 2 * MARGIN, color=color, max_lines=1, weight="BOLD")
    return block.move_to([0, TITLE_Y, 0]).to_edge(LEFT, buff=MARGIN)


def stacked(lines: list[Text], buff: float = 0.15, aligned_edge=LEFT) -> VGroup:
    """Return lines stacked top to bottom, left-aligned."""
    return VGroup(*lines).arrange(DOWN, buff=buff, aligned_edge=aligned_edge)


def note(content: str, size: float = 20, color: str = MUTED, max_width: float | None = None) -> Text:
    """Return a muted single line for axis names, units and provenance."""
    if max_width is None:
        return text(content, size, color)
    return fit_text(content, size, max_width, color=color, max_lines=2)


__all__ = ["KitText", "caption", "fit_text", "note", "number", "stacked", "text", "title", "wrap"]


class KitText(Text):
    """Text in the scenes' font with manim's (string, **kwargs) signature, for DecimalNumber digits."""

    def __init__(self, content: str, **kwargs):
        kwargs.setdefault("font", FONT)
        super().__init__(content, **kwargs)


def number(value: float, decimals: int | None = None, size: float = SIZE_LABEL, color: str = TEXT):
    """Return a DecimalNumber in the scenes' font; animate it with `set_value`, not by rebuilding.

    Without `decimals`, three significant digits are kept for |value| >= 0.001.

    NOTE: manim 0.22 caches DecimalNumber digit glyphs per process by string alone, so a
    MathTex DecimalNumber in the same process would reuse these Text digits, or the reverse.
    """
    from manim import DecimalNumber

    if decimals is None:
        magnitude = 0 if value == 0 else int(np.floor(np.log10(abs(value))))
        decimals = int(min(max(2 - magnitude, 0), 6))
    return DecimalNumber(value, num_decimal_places=decimals, mob_class=KitText, font_size=size, color=color)
