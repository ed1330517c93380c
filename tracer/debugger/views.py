"""Terminal renderings: tensor summaries, an attention heatmap and a per-token RMS chart.

Every function returns a list of lines, so the same views serve the step debugger, the
live debugger and tests. Token labels are padded by display width (a Chinese character
takes two columns), and colour comes from a `Style` that is plain text when colour is off.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from ..i18n import t
from ..stats import Stats
from .text import Style, char_width, pad, text_width

SHADES = (" ", "░", "▒", "▓", "█")
EIGHTHS = ("", "▏", "▎", "▍", "▌", "▋", "▊", "▉")
LABEL_COLUMNS = 14  # widest token label shown beside a row
MAX_BAR = 60  # maximum bar length of a per-token chart, in columns
HEADER_ROWS = 4  # characters of a key's label written top to bottom above its column
EDGE_ITEMS = 3  # values shown at each end of a long dimension

# xterm 256-colour indices from dark purple through blue, teal and green to yellow, like the
# viridis colormap. Their luminance rises monotonically, so the ramp reads on dark and light backgrounds.
_RAMP = (53, 54, 55, 25, 31, 36, 37, 72, 78, 113, 149, 185, 220, 226)


def format_number(value: float, digits: int = 6) -> str:
    """Format a float compactly with `digits` significant digits; NaN and Inf as nan, inf, -inf."""
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.{digits}g}"


def format_shape(shape: Sequence[int]) -> str:
    return "(" + ", ".join(str(n) for n in shape) + ")"


def stats_line(stats: Stats, style: Style | None = None) -> str:
    """Return `mean … std … rms … min … max …`, plus NaN and Inf counts when there are any."""
    style = style or Style()
    parts = [f"{name} {format_number(getattr(stats, name))}" for name in ("mean", "std", "rms", "min", "max")]
    line = "  ".join(parts)
    if stats.nan_count or stats.inf_count:
        line += "  " + style.warn(f"nan {stats.nan_count}  inf {stats.inf_count}")
    return line


def short_stats(stats: Stats) -> str:
    """Return `rms … max …` (and nan/inf when present), for one-line lists."""
    text = f"rms {format_number(stats.rms, 4)}  absmax {format_number(max(abs(stats.min), abs(stats.max)), 4)}"
    if stats.nan_count or stats.inf_count:
        text += f"  nan {stats.nan_count} inf {stats.inf_count}"
    return text


def tensor_summary(
    name: str,
    shape: Sequence[int],
    dims: Sequence[str],
    dtype: str,
    stats: Stats,
    tensor: torch.Tensor | None = None,
    style: Style | None = None,
    width: int = 100,
) -> list[str]:
    """Render a compact summary: name, shape with dimension labels, dtype, statistics and a few values.

    `tensor` None (a trace recorded in stats mode) leaves out the values.
    """
    style = style or Style()
    labelled = " × ".join(dims) if dims else t("step.view.scalar")
    lines = [f"{style.site(name)}  {format_shape(shape)}  {labelled}  {dtype}", "  " + stats_line(stats, style)]
    if tensor is None:
        lines.append("  " + style.dim(t("step.view.no_tensor")))
        return lines
    values = tensor.detach().cpu()
    prefix = ""
    if values.dim() > 2:
        lead = values.dim() - 2
        prefix = t("step.view.first_slice", index="[" + ", ".join(["0"] * lead + [":", ":"]) + "]")
        values = values[(0,) * lead]
    if values.is_floating_point():
        values = values.float()
    text = np.array2string(
        values.numpy(), precision=4, threshold=EDGE_ITEMS * EDGE_ITEMS * 4, edgeitems=EDGE_ITEMS, max_line_width=max(width - 2, 40)
    )
    if prefix:
        lines.append("  " + style.dim(prefix))
    lines.extend("  " + line for line in text.splitlines())
    return lines


# --- attention heatmap -----------------------------------------------------------------------


def heatmap(
    matrix: torch.Tensor,
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    title: str,
    probabilities: bool,
    style: Style | None = None,
    row_offset: int = 0,
    column_offset: int = 0,
) -> list[str]:
    """Render a (queries, keys) attention matrix with token labels on both axes.

    Each cell is two columns wide, so a column's label can be written top to bottom with one
    character per row, and a Chinese character fills its cell exactly. Cells a causal query
    cannot see (a key after the query's position) are shown as `·`. `probabilities` puts 0
    and 1 at the ends of the scale; otherwise (scores) the visible cells' min and max are
    the ends. `row_offset` and `column_offset` are the positions of the first row and column.
    """
    style = style or Style()
    values = matrix.detach().float().cpu()
    rows, columns = values.shape
    visible = torch.ones(rows, columns, dtype=torch.bool)
    for i in range(rows):
        for j in range(columns):
            visible[i, j] = column_offset + j <= row_offset + i
    finite = values[visible & torch.isfinite(values)]
    if probabilities:
        low, high = 0.0, 1.0
    elif finite.numel():
        low, high = float(finite.min()), float(finite.max())
    else:
        low, high = 0.0, 1.0
    span = high - low if high > low else 1.0

    label_width = min(max((text_width(label) for label in row_labels), default=1), LABEL_COLUMNS)
    number_width = len(str(row_offset + rows - 1))
    indent = " " * (number_width + 1 + label_width + 2)
    lines = [style.bold(title)]

    # Column header: each key's position written top to bottom, then its label.
    digits = len(str(column_offset + columns - 1))
    numbers = [f"{column_offset + j:>{digits}}" for j in range(columns)]
    for row in range(digits):
        lines.append(indent + "".join(f"{number[row]:<2}" for number in numbers).rstrip())
    for row in _vertical_labels(column_labels, HEADER_ROWS):
        lines.append(indent + "".join(row))

    for i in range(rows):
        cells = []
        for j in range(columns):
            value = float(values[i, j])
            if not visible[i, j]:
                cells.append(style.dim(" ·"))
            elif not math.isfinite(value):
                cells.append(style.warn("!!"))
            else:
                cells.append(_cell((value - low) / span, style))
        label = pad(row_labels[i], label_width)
        lines.append(f"{row_offset + i:>{number_width}} {label}  " + "".join(cells))

    lines.append(_legend(low, high, style))
    return lines


def _cell(level: float, style: Style) -> str:
    level = min(max(level, 0.0), 1.0)
    if style.color:
        return style.background(_ramp_color(level), "  ")
    shade = SHADES[min(int(level * len(SHADES)), len(SHADES) - 1)]
    return shade * 2


def _ramp_color(level: float) -> int:
    return _RAMP[round(level * (len(_RAMP) - 1))]


def _legend(low: float, high: float, style: Style) -> str:
    steps = 5
    parts = []
    for k in range(steps):
        level = k / (steps - 1)
        parts.append(f"{_cell(level, style)} {format_number(low + level * (high - low), 3)}")
    return t("step.view.legend") + "  " + "  ".join(parts) + "   " + style.dim(t("step.view.masked"))


def _vertical_labels(labels: Sequence[str], height: int) -> list[list[str]]:
    """Lay labels out top to bottom, one two-column cell per character, `height` rows at most."""
    grid = [["  "] * len(labels) for _ in range(height)]
    used_rows = 0
    for j, label in enumerate(labels):
        chars = [char for char in label.strip() or label if char_width(char) > 0][: height]
        if len(label.strip()) > height:
            chars[-1] = "…"
        for i, char in enumerate(chars):
            grid[i][j] = char if char_width(char) == 2 else char + " "
        used_rows = max(used_rows, len(chars))
    return grid[: max(used_rows, 1)]


# --- per-token charts ------------------------------------------------------------------------


def bar_chart(values: Sequence[float], labels: Sequence[str], title: str, style: Style | None = None, width: int = 100, offset: int = 0) -> list[str]:
    """Render one horizontal bar per token, scaled to the largest value, with its label and value."""
    style = style or Style()
    label_width = min(max((text_width(label) for label in labels), default=1), LABEL_COLUMNS)
    number_width = len(str(offset + len(values) - 1))
    texts = [format_number(value, 4) for value in values]
    value_width = max((len(text) for text in texts), default=1)
    bar_width = min(max(width - (number_width + 1 + label_width + 2 + 2 + value_width), 10), MAX_BAR)
    finite = [value for value in values if math.isfinite(value)]
    top = max((abs(value) for value in finite), default=0.0) or 1.0

    lines = [style.bold(title)]
    for k, (value, label, text) in enumerate(zip(values, labels, texts)):
        bar = _bar(abs(value) / top * bar_width) if math.isfinite(value) else style.warn("!")
        lines.append(f"{offset + k:>{number_width}} {pad(label, label_width)}  {bar}{' ' * (bar_width - text_width(_strip(bar)))}  {text:>{value_width}}")
    return lines


def _bar(length: float) -> str:
    whole = int(length)
    eighths = int(round((length - whole) * 8))
    if eighths == 8:
        whole, eighths = whole + 1, 0
    return "█" * whole + EIGHTHS[eighths]


def _strip(text: str) -> str:
    # Removes ANSI sequences, so widths count only what the terminal shows.
    out, skipping = [], False
    for char in text:
        if char == "\x1b":
            skipping = True
        elif skipping and char == "m":
            skipping = False
        elif not skipping:
            out.append(char)
    return "".join(out)


def tokens_table(ids: Sequence[int], labels: Sequence[str], positions: Sequence[int] | None = None) -> list[str]:
    """Return one line per token: position, id and label."""
    positions = list(positions) if positions is not None else list(range(len(ids)))
    position_width = max(len(t("step.view.pos")), len(str(positions[-1] if positions else 0)))
    id_width = max(len("id"), max((len(str(token_id)) for token_id in ids), default=1))
    lines = [f"{t('step.view.pos'):>{position_width}}  {'id':>{id_width}}  {t('step.view.label')}"]
    for position, token_id, label in zip(positions, ids, labels):
        lines.append(f"{position:>{position_width}}  {token_id:>{id_width}}  {label}")
    return lines


def table(rows: Sequence[Sequence[str]], aligns: Sequence[str] | None = None, gap: int = 2) -> list[str]:
    """Lay out rows of cells in columns padded by display width (ANSI codes are not counted)."""
    if not rows:
        return []
    count = max(len(row) for row in rows)
    widths = [max(text_width(_strip(row[k])) if k < len(row) else 0 for row in rows) for k in range(count)]
    aligns = list(aligns or []) + ["left"] * count
    lines = []
    for row in rows:
        cells = []
        for k, cell in enumerate(row):
            fill = " " * (widths[k] - text_width(_strip(cell)))
            cells.append(fill + cell if aligns[k] == "right" else cell + fill)
        lines.append((" " * gap).join(cells).rstrip())
    return lines
