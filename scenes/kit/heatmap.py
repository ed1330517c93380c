"""A matrix drawn as one image (nearest-neighbour pixels) with token labels and outlines.

An image costs about 2 ms to build and tens of ms per animated frame however many cells it
has. One Square per cell costs seconds for a 64x64 matrix. So every matrix is an image, and
only the few outlines on top are vector shapes.
"""

from __future__ import annotations

import numpy as np
from manim import DOWN, LEFT, PI, RIGHT, UP, Group, ImageMobject, Rectangle, VGroup
from manim.constants import RESAMPLING_ALGORITHMS

from .colormap import diverging_rgb, sequential_rgb, to_image
from .style import GRID, HIGHLIGHT, MUTED, SIZE_SMALL
from .text import text
from .tokens import display_token


def pixel_image(rgba: np.ndarray, width: float, height: float) -> ImageMobject:
    """Return an ImageMobject of `rgba` (H, W, 4) uint8 stretched to width x height units, unblurred."""
    image = ImageMobject(rgba)
    image.set_resampling_algorithm(RESAMPLING_ALGORITHMS["nearest"])
    image.stretch_to_fit_width(width)
    image.stretch_to_fit_height(height)
    return image


def colorize(values: np.ndarray, kind: str, limit: float | None, vmin: float, vmax: float) -> np.ndarray:
    """Return float RGB (rows, cols, 3) for `values` under a "diverging" or "sequential" map."""
    shown = np.where(np.isfinite(values), values, 0.0)
    if kind == "diverging":
        return diverging_rgb(shown, limit)
    if kind == "sequential":
        return sequential_rgb(shown, vmin, vmax)
    raise ValueError(f"unknown heatmap kind {kind!r}: use 'diverging' or 'sequential'")


def _pixels_per_cell(mask: np.ndarray | None, rows: int, cols: int) -> int:
    # Masked matrices are small (token by token), so their cells get 8 pixels each for the hatching.
    return 8 if mask is not None and max(rows, cols) <= 64 else 1


class Heatmap(Group):
    """A labelled heatmap of `values` (rows, cols), cells `cell_width` x `cell` units (square by default).

    `kind` is "diverging" (signed values centred on 0, limit = max |value| unless given) or
    "sequential" (vmin..vmax, default 0..1 for probabilities). Cells where `mask` is True are
    drawn in the masked colour. `values`, `mask` and `rgb` keep what is drawn, for tests.
    """

    def __init__(
        self,
        values: np.ndarray,
        row_labels: list[str] | None = None,
        col_labels: list[str] | None = None,
        cell: float = 0.36,
        kind: str = "sequential",
        limit: float | None = None,
        vmin: float = 0.0,
        vmax: float = 1.0,
        mask: np.ndarray | None = None,
        label_size: float = SIZE_SMALL,
        cell_width: float | None = None,
    ):
        super().__init__()
        self.values = np.asarray(values, dtype=np.float64)
        rows, cols = self.values.shape
        self.mask = None if mask is None else np.asarray(mask, dtype=bool)
        self.rgb = colorize(self.values, kind, limit, vmin, vmax)
        self.cell = cell  # cell height
        self.cell_width = cell if cell_width is None else cell_width
        self.image = pixel_image(to_image(self.rgb, self.mask, _pixels_per_cell(self.mask, rows, cols)), cols * self.cell_width, rows * cell)
        self.border = Rectangle(width=cols * self.cell_width, height=rows * cell, stroke_color=GRID, stroke_width=1.5)
        self.add(self.image, self.border)

        self.row_labels = VGroup()
        self.col_labels = VGroup()
        if row_labels is not None:
            for r, label in enumerate(row_labels):
                word = text(display_token(label), label_size, MUTED)
                word.next_to(self.image.get_corner(UP + LEFT), LEFT, buff=0.12)
                word.set_y(self.image.get_top()[1] - (r + 0.5) * cell)
                self.row_labels.add(word)
            self.add(self.row_labels)
        if col_labels is not None:
            words = [text(display_token(label), label_size, MUTED) for label in col_labels]
            # Horizontal when every label fits its column, staggered over two rows when each
            # fits two columns, else vertical.
            widest = max((w.width for w in words), default=0.0)
            if widest <= self.cell_width:
                layout = "flat"
            elif widest <= 1.9 * self.cell_width:
                layout = "stagger"
            else:
                layout = "vertical"
            line = max((w.height for w in words), default=0.0) + 0.06
            for c, word in enumerate(words):
                if layout == "vertical":
                    word.rotate(PI / 2)
                x = self.image.get_left()[0] + (c + 0.5) * self.cell_width
                lift = line if layout == "stagger" and c % 2 == 1 else 0.0
                word.move_to([x, 0, 0]).align_to(self.image, DOWN).shift(UP * (self.image.height + 0.12 + lift))
                self.col_labels.add(word)
            self.add(self.col_labels)

    def recolor(self, values: np.ndarray, kind: str = "sequential", limit: float | None = None, vmin: float = 0.0,
                vmax: float = 1.0, mask: np.ndarray | None = None) -> tuple[ImageMobject, ImageMobject]:
        """Show new `values` of the same shape in place of the old ones and return (old image, new image).

        Labels and outlines stay where they are; animate with FadeOut(old), FadeIn(new).
        """
        values = np.asarray(values, dtype=np.float64)
        if values.shape != self.values.shape:
            raise ValueError(f"recolor needs shape {self.values.shape}, got {values.shape}")
        rows, cols = values.shape
        old = self.image
        self.values = values
        self.mask = None if mask is None else np.asarray(mask, dtype=bool)
        self.rgb = colorize(values, kind, limit, vmin, vmax)
        new = pixel_image(to_image(self.rgb, self.mask, _pixels_per_cell(self.mask, rows, cols)), old.width, old.height)
        new.move_to(old)
        self.remove(old)
        self.add_to_back(new)
        self.image = new
        return old, new

    @property
    def shape(self) -> tuple[int, int]:
        return self.values.shape

    def cell_center(self, row: int, col: int) -> np.ndarray:
        """Return the centre point of cell (row, col)."""
        corner = self.image.get_corner(UP + LEFT)
        return corner + np.array([(col + 0.5) * self.cell_width, -(row + 0.5) * self.cell, 0.0])

    def _box(self, top: int, left: int, rows: int, cols: int, color: str, width: float) -> Rectangle:
        box = Rectangle(width=cols * self.cell_width, height=rows * self.cell, stroke_color=color, stroke_width=width)
        corner = self.image.get_corner(UP + LEFT) + np.array([left * self.cell_width, -top * self.cell, 0.0])
        return box.move_to(corner, aligned_edge=UP + LEFT)

    def cell_box(self, row: int, col: int, color: str = HIGHLIGHT, width: float = 3.5) -> Rectangle:
        """Return an outline around one cell."""
        return self._box(row, col, 1, 1, color, width)

    def row_box(self, row: int, color: str = HIGHLIGHT, width: float = 3.5) -> Rectangle:
        """Return an outline around one row."""
        return self._box(row, 0, 1, self.values.shape[1], color, width)

    def col_box(self, col: int, color: str = HIGHLIGHT, width: float = 3.5) -> Rectangle:
        """Return an outline around one column."""
        return self._box(0, col, self.values.shape[0], 1, color, width)

    def label_left(self, content: str, color: str, size: float = 22) -> "Heatmap":
        """Place a heading above the heatmap, left-aligned, and return self."""
        heading = text(content, size, color)
        anchor = self.col_labels if len(self.col_labels) else self.image
        heading.next_to(anchor, UP, buff=0.15).align_to(self.image, LEFT)
        self.add(heading)
        self.heading = heading
        return self


def color_bar(kind: str, low: str, high: str, width: float = 2.4, height: float = 0.16, size: float = SIZE_SMALL) -> Group:
    """Return a horizontal legend: the colour map from left to right with its end values as text."""
    ramp = np.linspace(0.0, 1.0, 256)[None, :]
    rgb = sequential_rgb(ramp) if kind == "sequential" else diverging_rgb(ramp * 2 - 1, 1.0)
    bar = pixel_image(to_image(rgb), width, height)
    left = text(low, size, MUTED).next_to(bar, LEFT, buff=0.1)
    right = text(high, size, MUTED).next_to(bar, RIGHT, buff=0.1)
    return Group(bar, left, right)


__all__ = ["Heatmap", "color_bar", "pixel_image"]
