"""Charts the curriculum scenes need beyond the kit: log-scale line plots, histograms, text tables.

Every label is a kit `text` (the CJK-capable font); no LaTeX, so a chart builds in
milliseconds and renders the same in both languages.
"""

from __future__ import annotations

import math

import numpy as np
from manim import DOWN, LEFT, RIGHT, UP, DashedVMobject, Dot, Line, MarkupText, Rectangle, VGroup, VMobject

from ..kit import fmt, text
from ..kit.style import FONT, GRID, MUTED, SIZE_SMALL, TEXT


def sci(value: float, digits: int = 3) -> str:
    """Format like kit.fmt, with exponents written compactly for captions: 1.23e14, 6.3e-10."""
    return fmt(value, digits).replace("e+", "e")


def markup_number(value: float, size: float = SIZE_SMALL, color: str = TEXT, digits: int = 3) -> MarkupText:
    """Return `value` as text for a figure, scientific notation typeset as 1.23×10 with a raised exponent.

    Pango's <sup> raises and shrinks the digits in any font; the scenes' font lacks most
    Unicode superscript digits, which would otherwise come from a fallback font.
    """
    formatted = fmt(value, digits)
    if "e" in formatted and math.isfinite(value):
        mantissa, exponent = formatted.split("e")
        exponent = str(int(exponent))
        markup = f"10<sup>{exponent}</sup>" if mantissa in ("1", "1.0", "1.00") else f"{mantissa}×10<sup>{exponent}</sup>"
    else:
        markup = formatted
    return MarkupText(markup, font=FONT, font_size=size, color=color)


def power_of_ten(exponent: int, size: float = SIZE_SMALL, color: str = MUTED) -> MarkupText:
    """Return 10^exponent with a raised exponent, for log-axis ticks."""
    return MarkupText(f"10<sup>{exponent}</sup>", font=FONT, font_size=size, color=color)


def decade_range(values: list[np.ndarray]) -> tuple[int, int]:
    """Return the powers of ten just below the smallest and above the largest finite positive value."""
    finite = np.concatenate([np.asarray(v, dtype=np.float64).ravel() for v in values])
    finite = finite[np.isfinite(finite) & (finite > 0)]
    if finite.size == 0:
        return 0, 1
    low, high = math.floor(math.log10(finite.min())), math.ceil(math.log10(finite.max()))
    return low, max(high, low + 1)


class LogPlot(VGroup):
    """Axes for values at integer positions 0..count-1 on a log10 y axis from 10^low to 10^high.

    `x_ticks` maps positions to tick labels. `series` draws a polyline through the finite
    positive values; a non-finite value ends the line there (the chart cannot show inf).
    """

    def __init__(self, count: int, low: int, high: int, x_ticks: dict[int, str], x_title: str, y_title: str,
                 width: float = 5.6, height: float = 3.4, label_size: float = SIZE_SMALL):
        super().__init__()
        self.count, self.low, self.high = count, low, high
        self.plot_width, self.plot_height = width, height
        self.x_axis = Line([0, 0, 0], [width, 0, 0], stroke_color=GRID, stroke_width=2)
        self.y_axis = Line([0, 0, 0], [0, height, 0], stroke_color=GRID, stroke_width=2)
        self.add(self.x_axis, self.y_axis)

        step = max(1, math.ceil((high - low) / 6))  # at most about seven y labels
        self.y_labels = VGroup()
        for exponent in range(low, high + 1, step):
            y = self.y_of(10.0**exponent)
            self.add(Line([0, y, 0], [width, y, 0], stroke_color=GRID, stroke_width=0.6, stroke_opacity=0.6))
            label = power_of_ten(exponent, label_size)
            self.y_labels.add(label.move_to([-0.12 - label.width / 2, y, 0]))
        self.x_labels = VGroup()
        for position, name in x_ticks.items():
            label = text(name, label_size, MUTED)
            self.x_labels.add(label.move_to([self.x_of(position), -0.12 - label.height / 2, 0]))
        self.add(self.y_labels, self.x_labels)

        self.x_title = text(x_title, label_size, MUTED).next_to(self.x_labels, DOWN, buff=0.12)
        self.x_title.set_x(width / 2)
        self.y_title = text(y_title, label_size + 2, TEXT).next_to(self.y_axis, UP, buff=0.2).align_to(self.y_labels, LEFT)
        self.add(self.x_title, self.y_title)

    def set_legend(self, rows: VGroup) -> "LogPlot":
        """Place `rows` between the title and the plot area, right-aligned, and return self."""
        rows.next_to(self.y_axis, UP, buff=0.15).align_to(self.x_axis, RIGHT)
        self.y_title.next_to(rows, UP, buff=0.15).align_to(self.y_labels, LEFT)
        self.legend = rows
        self.add(rows)
        return self

    def x_of(self, position: float) -> float:
        return self.x_axis.get_start()[0] + self.plot_width * position / max(self.count - 1, 1)

    def y_of(self, value: float) -> float:
        fraction = (math.log10(value) - self.low) / (self.high - self.low)
        return self.x_axis.get_start()[1] + self.plot_height * fraction

    def point(self, position: float, value: float) -> np.ndarray:
        """Return the frame point of `value` at `position` (the value must be finite and positive)."""
        return np.array([self.x_of(position), self.y_of(value), 0.0])

    def series(self, values, color: str, positions=None, dashed: bool = False, stroke: float = 4.0, dots: bool = True) -> VGroup:
        """Return the line through `values` (at `positions`, default 0..n-1) and a dot at each point."""
        values = np.asarray(values, dtype=np.float64)
        positions = np.arange(len(values)) if positions is None else np.asarray(positions)
        points = []
        for position, value in zip(positions, values):
            if not (np.isfinite(value) and value > 0):
                break
            points.append(self.point(position, value))
        line = VMobject(stroke_color=color, stroke_width=stroke)
        if len(points) >= 2:
            line.set_points_as_corners(points)
        elif points:
            line.set_points_as_corners([points[0], points[0]])
        shown = DashedVMobject(line, num_dashes=max(4 * len(points), 8)) if dashed and len(points) >= 2 else line
        group = VGroup(shown)
        if dots:
            group.add(VGroup(*[Dot(p, radius=0.045, color=color) for p in points]))
        group.points_drawn = len(points)
        return group


def legend(entries: list[tuple[str, str, bool]], size: float = SIZE_SMALL) -> VGroup:
    """Return legend rows (colour swatch line, label); the bool marks a dashed line."""
    rows = VGroup()
    for label, color, dashed in entries:
        swatch = Line(LEFT * 0.25, RIGHT * 0.25, stroke_color=color, stroke_width=4)
        if dashed:
            swatch = DashedVMobject(swatch, num_dashes=3)
        rows.add(VGroup(swatch, text(label, size, TEXT)).arrange(RIGHT, buff=0.15))
    return rows.arrange(DOWN, buff=0.12, aligned_edge=LEFT)


class Histogram(VGroup):
    """Bars for `counts` over bins `edges`, drawn on an x axis from edges[0] to edges[-1].

    `marker(value, color, label)` adds a vertical line at `value` with a label above it.
    """

    def __init__(self, counts: np.ndarray, edges: np.ndarray, color: str, width: float = 5.0, height: float = 1.4,
                 max_count: float | None = None):
        super().__init__()
        self.counts = np.asarray(counts, dtype=np.float64)
        self.edges = np.asarray(edges, dtype=np.float64)
        self.plot_width, self.plot_height = width, height
        top = float(self.counts.max(initial=1.0)) if max_count is None else float(max_count)
        self.axis = Line([0, 0, 0], [width, 0, 0], stroke_color=GRID, stroke_width=2)
        self.bars = VGroup()
        for count, left, right in zip(self.counts, self.edges[:-1], self.edges[1:]):
            if count <= 0:
                continue
            x0, x1 = self.x_of(left), self.x_of(right)
            bar_height = height * count / max(top, 1e-12)
            bar = Rectangle(width=max(x1 - x0 - 0.01, 0.01), height=bar_height, stroke_width=0, fill_color=color, fill_opacity=0.85)
            self.bars.add(bar.move_to([(x0 + x1) / 2, bar_height / 2, 0]))
        self.add(self.bars, self.axis)

    def x_of(self, value: float) -> float:
        span = self.edges[-1] - self.edges[0]
        return self.axis.get_start()[0] + self.plot_width * (value - self.edges[0]) / span

    def marker(self, value: float, color: str, label: str | None = None, size: float = SIZE_SMALL) -> VGroup:
        """Return a vertical line at `value` spanning the bars' height, with `label` above it."""
        x = self.x_of(value)
        base = self.axis.get_start()[1]
        line = Line([x, base, 0], [x, base + self.plot_height * 1.08, 0], stroke_color=color, stroke_width=3)
        group = VGroup(line)
        if label is not None:
            group.add(text(label, size, color).next_to(line, UP, buff=0.06))
        return group

    def ticks(self, values: list[float], formatter, size: float = SIZE_SMALL) -> VGroup:
        """Return tick labels under the axis at `values`."""
        labels = VGroup()
        for value in values:
            label = text(formatter(value), size, MUTED)
            labels.add(label.move_to([self.x_of(value), self.axis.get_start()[1] - 0.1 - label.height / 2, 0]))
        return labels


def text_table(rows: list[list[str]], colors: list[list[str]] | None = None, size: float = SIZE_SMALL,
               column_gap: float = 0.45, row_height: float = 0.42, first_column_left: bool = True) -> VGroup:
    """Return a table of Text cells: the first column left-aligned, the others right-aligned, a rule under row 0.

    `table.cells[r][c]` is the Text in row r, column c, for highlighting and tests.
    """
    def cell_color(r: int, c: int) -> str:
        if colors:
            return colors[r][c]
        return MUTED if r == 0 else TEXT

    cells = [[text(value, size, cell_color(r, c)) for c, value in enumerate(row)] for r, row in enumerate(rows)]
    columns = max(len(row) for row in cells)
    widths = [max((row[c].width for row in cells if c < len(row)), default=0.0) for c in range(columns)]
    table = VGroup()
    for r, row in enumerate(cells):
        x = 0.0
        for c, cell in enumerate(row):
            if c == 0 and first_column_left:
                cell.move_to([x, -row_height * r, 0], aligned_edge=LEFT)
            else:
                cell.move_to([x + widths[c], -row_height * r, 0], aligned_edge=RIGHT)
            x += widths[c] + column_gap
            table.add(cell)
    rule = Line([0, 0, 0], [sum(widths) + column_gap * (columns - 1), 0, 0], stroke_color=GRID, stroke_width=1.5)
    rule.move_to([rule.get_center()[0], -row_height * 0.55, 0])
    table.add(rule)
    table.cells = cells
    table.rule = rule
    return table


def cell_outline(cell: VMobject, color: str, buff: float = 0.06) -> Rectangle:
    """Return a rectangle around one table cell."""
    box = Rectangle(width=cell.width + 2 * buff, height=max(cell.height, 0.2) + 2 * buff, stroke_color=color, stroke_width=2.5)
    return box.move_to(cell)
