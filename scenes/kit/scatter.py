"""A scatter plot drawn as one image, for thousands of points (one per feed-forward unit)."""

from __future__ import annotations

import numpy as np
from manim import ImageMobject

from .colormap import hex_to_rgb
from .heatmap import pixel_image


def scatter_pixels(xs: np.ndarray, ys: np.ndarray, x_range: tuple[float, float], y_range: tuple[float, float],
                   size: tuple[int, int], color: str, radius: int = 2) -> np.ndarray:
    """Return RGBA uint8 pixels (height, width, 4): transparent, with a square dot per point.

    Points outside the ranges are clipped to the border so none silently disappears.
    """
    width, height = size
    pixels = np.zeros((height, width, 4), dtype=np.uint8)
    rgb = np.round(hex_to_rgb(color) * 255).astype(np.uint8)
    x0, x1 = x_range
    y0, y1 = y_range
    cols = np.clip(np.round((np.asarray(xs) - x0) / (x1 - x0) * (width - 1)), 0, width - 1).astype(int)
    rows = np.clip(np.round((y1 - np.asarray(ys)) / (y1 - y0) * (height - 1)), 0, height - 1).astype(int)
    for dr in range(-radius, radius + 1):
        for dc in range(-radius, radius + 1):
            r = np.clip(rows + dr, 0, height - 1)
            c = np.clip(cols + dc, 0, width - 1)
            pixels[r, c, :3] = rgb
            pixels[r, c, 3] = 200
    return pixels


def scatter_image(xs, ys, x_range, y_range, width: float, height: float, color: str, pixels_per_unit: int = 90) -> ImageMobject:
    """Return the scatter as an ImageMobject `width` x `height` frame units."""
    size = (max(int(width * pixels_per_unit), 2), max(int(height * pixels_per_unit), 2))
    return pixel_image(scatter_pixels(xs, ys, x_range, y_range, size, color), width, height)
