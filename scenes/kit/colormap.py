"""Value-to-colour maps as numpy functions, so heatmaps become RGB images in one call."""

from __future__ import annotations

import numpy as np

from .style import BACKGROUND, DIVERGING, MASKED, SEQUENTIAL


def hex_to_rgb(color: str) -> np.ndarray:
    """Return '#rrggbb' as a float array of shape (3,) in [0, 1]."""
    value = color.lstrip("#")
    return np.array([int(value[i : i + 2], 16) for i in (0, 2, 4)], dtype=np.float64) / 255.0


def _interpolate(stops: tuple[str, ...], t: np.ndarray) -> np.ndarray:
    # Piecewise-linear between equally spaced stops; t is clipped to [0, 1].
    colors = np.stack([hex_to_rgb(c) for c in stops])  # (S, 3)
    position = np.clip(t, 0.0, 1.0) * (len(stops) - 1)
    lower = np.minimum(np.floor(position).astype(int), len(stops) - 2)
    frac = (position - lower)[..., None]
    return colors[lower] * (1 - frac) + colors[lower + 1] * frac  # (..., 3)


def symmetric_limit(values: np.ndarray) -> float:
    """Return the largest |value| (at least a tiny positive number), for a centred diverging map."""
    finite = np.abs(values[np.isfinite(values)])
    return float(max(finite.max(initial=0.0), 1e-12))


def diverging_rgb(values: np.ndarray, limit: float | None = None) -> np.ndarray:
    """Map signed values to RGB floats (..., 3): -limit blue, 0 dark, +limit orange-red."""
    values = np.asarray(values, dtype=np.float64)
    limit = symmetric_limit(values) if limit is None else limit
    return _interpolate(DIVERGING, 0.5 + 0.5 * values / limit)


def sequential_rgb(values: np.ndarray, vmin: float = 0.0, vmax: float = 1.0) -> np.ndarray:
    """Map values in [vmin, vmax] to RGB floats (..., 3), dark to light."""
    values = np.asarray(values, dtype=np.float64)
    span = max(vmax - vmin, 1e-12)
    return _interpolate(SEQUENTIAL, (values - vmin) / span)


def to_image(rgb: np.ndarray, mask: np.ndarray | None = None, pixels_per_cell: int = 1) -> np.ndarray:
    """Return uint8 RGBA pixels for float RGB cells (H, W, 3), each cell `pixels_per_cell` pixels square.

    Masked cells are hatched with diagonal MASKED stripes (solid MASKED at one pixel per
    cell), so a removed entry never looks like a small value.
    """
    rgb = np.array(rgb, dtype=np.float64)
    n = max(int(pixels_per_cell), 1)
    pixels = np.repeat(np.repeat(rgb, n, axis=0), n, axis=1)  # (H*n, W*n, 3)
    if mask is not None:
        cell_mask = np.repeat(np.repeat(np.asarray(mask, dtype=bool), n, axis=0), n, axis=1)
        if n >= 4:
            rows, cols = np.indices(cell_mask.shape)
            stripe = ((rows + cols) % n) < max(n // 4, 1)
            pixels[cell_mask] = hex_to_rgb(BACKGROUND)
            pixels[cell_mask & stripe] = hex_to_rgb(MASKED)
        else:
            pixels[cell_mask] = hex_to_rgb(MASKED)
    alpha = np.ones(pixels.shape[:-1] + (1,))
    return np.round(np.concatenate([pixels, alpha], axis=-1) * 255).astype(np.uint8)
