"""Horizontal bar charts of per-token or per-layer values, with Text labels (CJK-safe)."""

from __future__ import annotations

import numpy as np
from manim import Line, Rectangle, VGroup

from .numbers import fmt
from .style import GRID, MUTED, SIZE_SMALL, TEXT
from .text import text


class BarChart(VGroup):
    """Bars for `values`, one per row, labelled on the left and with the value on the right.

    Bars start at zero and grow right for positive values (left for negative ones), scaled so
    that `max_value` (default max |value|) spans `bar_width`. `values` and `value_texts` keep
    what is drawn, for tests.
    """

    def __init__(
        self,
        labels: list[str],
        values: list[float] | np.ndarray,
        color: str | list[str],
        bar_width: float = 4.0,
        row_height: float = 0.42,
        max_value: float | None = None,
        formatter=fmt,
        label_size: float = SIZE_SMALL,
        label_width: float | None = None,
    ):
        super().__init__()
        self.values = np.asarray(values, dtype=np.float64)
        colors = [color] * len(self.values) if isinstance(color, str) else list(color)
        top = float(np.abs(self.values).max(initial=0.0)) if max_value is None else float(max_value)
        self.max_value = max(top, 1e-12)
        self.formatter = formatter

        self.label_texts = VGroup(*[text(label, label_size, MUTED) for label in labels])
        widest = label_width if label_width is not None else max((t.width for t in self.label_texts), default=0.0)
        self.bars = VGroup()
        self.value_texts = VGroup()
        self.baseline = Line([0, 0, 0], [0, -row_height * len(self.values), 0], stroke_color=GRID, stroke_width=1.5)
        # Labels sit left of the longest negative bar; values sit right of the baseline or bar.
        negative_extent = max(-float(self.values.min(initial=0.0)), 0.0) / self.max_value * bar_width
        for i, (value, label) in enumerate(zip(self.values, self.label_texts)):
            y = -(i + 0.5) * row_height
            length = max(abs(value) / self.max_value * bar_width, 0.02)
            bar = Rectangle(width=length, height=row_height * 0.7, stroke_width=0, fill_color=colors[i], fill_opacity=0.9)
            bar.move_to([length / 2 if value >= 0 else -length / 2, y, 0])
            label.move_to([-negative_extent - 0.15 - label.width / 2, y, 0])
            number = text(formatter(value), label_size, TEXT)
            number.move_to([(length if value >= 0 else 0.0) + 0.12 + number.width / 2, y, 0])
            self.bars.add(bar)
            self.value_texts.add(number)
        self.add(self.baseline, self.bars, self.label_texts, self.value_texts)
        self.label_width = widest

    def bar(self, index: int) -> Rectangle:
        """Return bar `index`."""
        return self.bars[index]

    def row(self, index: int) -> VGroup:
        """Return bar `index` with its label and value."""
        return VGroup(self.label_texts[index], self.bars[index], self.value_texts[index])
