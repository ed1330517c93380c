"""Token labels as they appear on screen, and a row of token boxes."""

from __future__ import annotations

from manim import DOWN, RIGHT, RoundedRectangle, SurroundingRectangle, VGroup

from .style import GRID, HIGHLIGHT, PANEL, SIZE_SMALL, TEXT
from .text import text

MAX_LABEL_CHARS = 10

# MiniMind's special tokens, shown under the short names Llama-style tokenizers use.
SPECIAL_LABELS = {"<|im_start|>": "<s>", "<|im_end|>": "</s>", "<|endoftext|>": "<pad>"}


def display_token(label: str, max_chars: int = MAX_LABEL_CHARS) -> str:
    """Return a token label fit for a small box: spaces trimmed, an all-space token shown as ␣.

    Leading spaces mark word starts in byte-level BPE; they are dropped on screen because a
    box cannot show them. Special tokens get short names (<|im_start|> is <s>), and labels
    longer than `max_chars` end in an ellipsis.
    """
    if label in SPECIAL_LABELS:
        return SPECIAL_LABELS[label]
    shown = label.strip(" ")
    if not shown:
        shown = "␣" * min(len(label), 3) if label else "∅"
    if len(shown) > max_chars:
        shown = shown[: max_chars - 1] + "…"
    return shown


class TokenRow(VGroup):
    """Boxes holding the real token text, left to right, sized to fit `max_width`.

    `self[i]` is token i's box with its label; `labels` are the strings shown.
    """

    def __init__(self, labels: list[str], max_width: float = 12.0, size: float = SIZE_SMALL, box_color: str = GRID):
        super().__init__()
        self.labels = [display_token(label) for label in labels]
        for label in self.labels:
            word = text(label, size, TEXT)
            box = RoundedRectangle(
                corner_radius=0.06,
                width=max(word.width + 0.18, 0.34),
                height=word.height + 0.22 if word.height > 0.2 else 0.42,
                stroke_color=box_color,
                stroke_width=1.5,
                fill_color=PANEL,
                fill_opacity=1.0,
            )
            word.move_to(box)
            self.add(VGroup(box, word))
        self.arrange(RIGHT, buff=0.06)
        if self.width > max_width:
            self.scale_to_fit_width(max_width)

    def box(self, index: int) -> VGroup:
        """Return token `index`'s box and label."""
        return self[index]

    def outline(self, index: int, color: str = HIGHLIGHT) -> SurroundingRectangle:
        """Return a rectangle around token `index`."""
        return SurroundingRectangle(self[index], color=color, buff=0.05, stroke_width=3)

    def dim_except(self, keep: set[int], opacity: float = 0.3) -> "TokenRow":
        """Fade every token not in `keep` (for use with .animate)."""
        for index, item in enumerate(self):
            item.set_opacity(1.0 if index in keep else opacity)
        return self

    def below(self, index: int, mobject, buff: float = 0.15):
        """Place `mobject` under token `index` and return it."""
        return mobject.next_to(self[index], DOWN, buff=buff)


def quoted(label: str, lang: str) -> str:
    """Return a display token in quotes: “…” in Chinese, '…' in English.

    The CJK font draws curly quotes full-width, which looks broken inside English text.
    """
    shown = display_token(label)
    return f"“{shown}”" if lang == "zh" else f"'{shown}'"
