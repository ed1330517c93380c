"""Number formatting for labels: the same rules in every scene and both languages."""

from __future__ import annotations

import math


def fmt(value: float, digits: int = 3) -> str:
    """Format with `digits` significant digits, switching to scientific notation for tiny or huge values."""
    value = float(value)
    if not math.isfinite(value):
        return "-∞" if value < 0 else ("∞" if value > 0 else "NaN")
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    if magnitude < -3 or magnitude >= 6:
        return f"{value:.{max(digits - 1, 0)}e}".replace("e-0", "e-").replace("e+0", "e")
    decimals = max(digits - 1 - magnitude, 0)
    return f"{value:.{decimals}f}"


def fmt_fixed(value: float, decimals: int = 2) -> str:
    """Format with a fixed number of decimals (for columns that must line up)."""
    return f"{float(value):.{decimals}f}"


def fmt_percent(value: float, decimals: int = 1) -> str:
    """Format a fraction in [0, 1] as a percentage."""
    return f"{100 * float(value):.{decimals}f}%"


def fmt_count(value: int) -> str:
    """Format an integer with thousands separators."""
    return f"{int(value):,}"


def fmt_bytes(value: float) -> str:
    """Format a byte count with binary prefixes (KiB, MiB, GiB).

    A no-break space (U+00A0) joins number and unit, so wrapped text never puts the unit
    at the start of a line.
    """
    value = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f}\u00a0{unit}" if unit == "B" else f"{value:.1f}\u00a0{unit}"
        value /= 1024
    raise AssertionError("unreachable")
