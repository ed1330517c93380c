"""A vector drawn as a strip of coloured cells, one cell per dimension."""

from __future__ import annotations

import numpy as np
from manim import LEFT, RIGHT, UP, Group, Rectangle

from .colormap import diverging_rgb, to_image
from .heatmap import pixel_image
from .style import GRID, HIGHLIGHT, MUTED, SIZE_SMALL
from .text import text


def robust_limit(values: np.ndarray) -> float:
    """Return the 99th percentile of |values| (the maximum for fewer than 100 values), at least 1e-12."""
    magnitudes = np.abs(np.asarray(values, dtype=np.float64)).ravel()
    if magnitudes.size == 0:
        return 1e-12
    top = np.percentile(magnitudes, 99) if magnitudes.size >= 100 else magnitudes.max()
    return float(max(top, 1e-12))


class VectorStrip(Group):
    """A horizontal strip of `values` (N,) coloured with the diverging map.

    `limit` fixes the colour scale so strips before and after an operation compare directly.
    By default it is the 99th percentile of |value - center|, so one huge entry (trained models
    have a few) saturates instead of turning every other cell dark. `center` is the neutral
    value (1 for a gain). `values` and `limit` keep what is drawn, for tests.
    """

    def __init__(
        self,
        values: np.ndarray,
        width: float = 8.0,
        height: float = 0.4,
        limit: float | None = None,
        label: str | None = None,
        label_color: str = MUTED,
        label_size: float = SIZE_SMALL,
        center: float = 0.0,
    ):
        super().__init__()
        self.values = np.asarray(values, dtype=np.float64).reshape(-1)
        offset = self.values - center
        self.limit = robust_limit(offset) if limit is None else float(limit)
        self.limit = max(self.limit, 1e-12)
        rgb = diverging_rgb(offset[None, :], self.limit)  # (1, N, 3)
        self.image = pixel_image(to_image(rgb), width, height)
        self.border = Rectangle(width=width, height=height, stroke_color=GRID, stroke_width=1.2)
        self.add(self.image, self.border)
        self.label = None
        if label is not None:
            self.label = text(label, label_size, label_color)
            self.label.next_to(self.image, LEFT, buff=0.2)
            self.add(self.label)

    def cell_center(self, index: int) -> np.ndarray:
        """Return the centre of dimension `index`'s cell."""
        n = len(self.values)
        left = self.image.get_left()
        return left + RIGHT * (index + 0.5) * self.image.width / n

    def cell_box(self, index: int, color: str = HIGHLIGHT, stroke: float = 2.5) -> Rectangle:
        """Return an outline around dimension `index` (at least 0.08 units wide so it stays visible)."""
        n = len(self.values)
        box = Rectangle(width=max(self.image.width / n, 0.08), height=self.image.height + 0.08, stroke_color=color, stroke_width=stroke)
        return box.move_to(self.cell_center(index))

    def caption_above(self, content: str, color: str = MUTED, size: float = SIZE_SMALL):
        """Return a label placed above the strip's left end."""
        return text(content, size, color).next_to(self.image, UP, buff=0.1).align_to(self.image, LEFT)
