"""rope-precision: one slow RoPE pair's angle at neighbouring positions in float32, bfloat16 and float16."""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import scenes.kit  # noqa: F401
except ModuleNotFoundError:  # `manim scenes/curriculum/rope_precision.py` in a checkout that is not pip-installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from manim import DOWN, RIGHT, Create, FadeIn, FadeOut, Line, VGroup

from scenes.curriculum.base import ExperimentScene
from scenes.curriculum.data.rope_precision import RopePrecisionData, rope_precision_data
from scenes.curriculum.plots import cell_outline, text_table
from scenes.experiments import run_rope_precision
from scenes.kit import COMPONENT, fmt_count, text
from scenes.kit.style import GRID, MUTED, SIZE_LABEL, SIZE_SMALL, TEXT

REPEATED = COMPONENT["scores"]
COLUMN_WIDTH = 2.25
ROW_HEIGHT = 0.66


class RopePrecisionScene(ExperimentScene):
    scene_id = "rope-precision"
    color = COMPONENT["k"]
    beats = ("claim", "frequency", "angles", "collisions", "still")

    def run_experiment(self, model, tokenizer):
        return run_rope_precision(model)

    def build(self, result) -> RopePrecisionData:
        return rope_precision_data(result)

    def input_line(self) -> str:
        d = self.data
        return self.s("source", pair=d.pair, first=d.positions[0], last=d.positions[-1])

    def frequency_table(self, d: RopePrecisionData) -> VGroup:
        """Return the pair's frequency as each dtype stores it, with its bits."""
        rows = [[self.s("col_dtype"), self.s("col_inv_freq"), self.s("col_bits"), ""]]
        rows.append(["float64", f"{d.exact_inv_freq:.6e}", "", ""])
        for column in d.columns:
            rows.append([column.dtype, f"{column.inv_freq:.6e}", column.inv_freq_hex, self.s("subnormal") if column.subnormal else ""])
        return text_table(rows, size=SIZE_LABEL, row_height=0.48, column_gap=0.6)

    def angle_table(self, d: RopePrecisionData) -> VGroup:
        """Return one row per position: the exact angle, then each dtype's stored angle above its bits.

        `table.cells[r][c]` is row r's cell in column c (0: position, 1: exact, 2...: dtypes).
        """
        headers = [self.s("col_position"), "float64"] + [column.dtype for column in d.columns]
        table = VGroup()
        cells = []
        for c, header in enumerate(headers):
            label = text(header, SIZE_SMALL + 2, MUTED)
            table.add(label.move_to(self.cell_point(0, c), aligned_edge=RIGHT))
        for r, position in enumerate(d.positions, start=1):
            row = [text(str(position), SIZE_LABEL, TEXT), text(d.exact[r - 1], SIZE_LABEL, MUTED)]
            for column in d.columns:
                color = REPEATED if column.repeated[r - 1] else TEXT
                value = text(column.values[r - 1], SIZE_LABEL, color)
                bits = text(column.bits[r - 1], SIZE_SMALL, MUTED).next_to(value, DOWN, buff=0.04).align_to(value, RIGHT)
                row.append(VGroup(value, bits))
            for c, cell in enumerate(row):
                cell.move_to(self.cell_point(r, c), aligned_edge=RIGHT)
            cells.append(row)
            table.add(*row)
        rule = Line(self.cell_point(0, -0.15) + DOWN * 0.3, self.cell_point(0, len(headers) - 1) + DOWN * 0.3, stroke_color=GRID, stroke_width=1.5)
        table.add(rule)
        table.cells = cells
        return table

    @staticmethod
    def cell_point(row: int, column: float):
        """Return the right edge of the cell in `row` (0 = header), `column`, before the table is moved."""
        first = 1.1
        x = first + COLUMN_WIDTH * column if column >= 1 else first * column
        return [x, -ROW_HEIGHT * row - (0.12 if row else 0.0), 0]

    def repeated_boxes(self, d: RopePrecisionData, table: VGroup) -> VGroup:
        """Return outlines around each stored angle that equals the one above it."""
        boxes = VGroup()
        for c, column in enumerate(d.columns, start=2):
            for r, repeated in enumerate(column.repeated):
                if repeated:
                    boxes.add(cell_outline(table.cells[r][c], REPEATED, buff=0.05))
        return boxes

    def collision_text(self, column) -> str:
        if column.first_collision is None:
            return self.s("no_collision", dtype=column.dtype, distinct=fmt_count(column.distinct), scan=fmt_count(self.data.scan_limit))
        return self.s("collision", dtype=column.dtype, first=column.first_collision, distinct=fmt_count(column.distinct),
                      scan=fmt_count(self.data.scan_limit))

    def construct(self):
        d = self.data
        bf16 = d.column("bfloat16")

        # Claim
        self.beat("claim")
        self.open_with_claim()

        # The slow pair's frequency in each dtype
        self.beat("frequency")
        frequencies = self.frequency_table(d).move_to([0, 0.6, 0])
        self.play(FadeIn(frequencies), run_time=0.8)
        self.say(self.s("frequency", pair=d.pair, freq=f"{d.exact_inv_freq:.4e}", period=fmt_count(round(d.period))))

        # Its angle at neighbouring positions
        self.beat("angles")
        table = self.angle_table(d).move_to([0, 0.25, 0])
        self.play(FadeOut(frequencies), run_time=0.4)
        self.play(FadeIn(table), run_time=1.0)
        self.say(self.s("angles", first=d.positions[0], last=d.positions[-1], step=f"{d.exact_inv_freq:.2e}"))

        # Equal angles for different positions
        self.beat("collisions")
        boxes = self.repeated_boxes(d, table)
        self.play(Create(boxes), run_time=0.8)
        stored = ", ".join(str(p) for p in bf16.stored_positions)
        self.say(self.s("collisions", repeats=sum(bf16.repeated), shown=len(d.positions), stored=stored))

        # Closing still
        self.beat("still")
        self.end_on_still()

    def still(self):
        d = self.data
        table = self.angle_table(d)
        figure = VGroup(table, self.repeated_boxes(d, table))
        takeaways = [self.s("take_step", pair=d.pair, freq=f"{d.exact_inv_freq:.3e}")]
        takeaways += [self.collision_text(column) for column in d.columns]
        return figure, takeaways

