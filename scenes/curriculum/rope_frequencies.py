"""rope-frequencies: each dimension pair turns at its own speed, from a few tokens per turn to millions."""

from __future__ import annotations

import math
import sys
from pathlib import Path

try:
    import scenes.kit  # noqa: F401
except ModuleNotFoundError:  # `manim scenes/curriculum/rope_frequencies.py` in a checkout that is not pip-installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np
from manim import DOWN, LEFT, RIGHT, UP, Create, DashedLine, FadeIn, Group, VGroup

from scenes.curriculum.base import ExperimentScene
from scenes.curriculum.data.rope_frequencies import REFERENCE_HEAD_DIM, RopeFrequenciesData, rope_frequencies_data
from scenes.experiments import run_rope_frequencies
from scenes.kit import COMPONENT, BarChart, Heatmap, display_token, fit_text, fmt, fmt_count, text
from scenes.kit.style import MUTED, SIZE_LABEL, SIZE_SMALL, TEXT

FAST = COMPONENT["q"]  # pairs that turn at least once within the prompt
SLOW = COMPONENT["residual"]
BAR_WIDTH = 3.6
MAP_WIDTH = 3.2


def period_text(period: float) -> str:
    """Format a period in tokens: three significant digits, thousands separators for large ones."""
    return fmt_count(round(period)) if period >= 1000 else fmt(period)


class RopeFrequenciesScene(ExperimentScene):
    scene_id = "rope-frequencies"
    color = COMPONENT["q"]
    beats = ("claim", "periods", "angles", "formula", "still")
    focus_fields = {"head": "num_attention_heads"}

    def run_experiment(self, model, tokenizer):
        return run_rope_frequencies(model, tokenizer, prompt=self.experiment_prompt(), head=self.focus.get("head", 0))

    def build(self, result) -> RopeFrequenciesData:
        return rope_frequencies_data(result, self.model.config.max_position_embeddings)

    def prompt_labels(self) -> list[str]:
        return self.data.labels

    def focus_parts(self):
        return {"layer": 0, "head": self.data.head}

    def claim_params(self):
        d = self.data
        return {"fast": fmt(d.fastest), "slow": period_text(d.slowest)}

    def row_height(self) -> float:
        return min(0.3, 4.8 / len(self.data.period))

    def period_chart(self, d: RopeFrequenciesData) -> VGroup:
        """Return log10(period) bars per pair, with the prompt length and max_position_embeddings marked."""
        colors = [FAST if wraps else SLOW for wraps in d.wraps]
        labels = [str(i) for i in range(len(d.period))]
        top = math.log10(max(d.slowest, d.max_positions)) * 1.02
        chart = BarChart(labels, np.log10(d.period), colors, bar_width=BAR_WIDTH, row_height=self.row_height(), max_value=top,
                         formatter=lambda value: period_text(10**value), label_size=SIZE_SMALL)
        heading = fit_text(self.s("bars_heading"), SIZE_SMALL + 2, BAR_WIDTH + 1.0, color=TEXT, max_lines=2)
        heading.next_to(chart, UP, buff=0.45).align_to(chart.label_texts, LEFT)
        marks = VGroup()
        bottom = chart.baseline.get_end()[1]
        # One mark labelled above the bars, the other below, so the two labels never collide.
        for value, label, side in ((d.prompt_length, self.s("mark_prompt", tokens=d.prompt_length), UP),
                                   (d.max_positions, self.s("mark_max", tokens=fmt_count(d.max_positions)), DOWN)):
            x = chart.baseline.get_start()[0] + math.log10(value) / top * BAR_WIDTH
            line = DashedLine([x, chart.baseline.get_start()[1] + 0.1, 0], [x, bottom - 0.05, 0], stroke_color=MUTED, stroke_width=1.5,
                              dash_length=0.05, stroke_opacity=0.7)
            marks.add(VGroup(line, text(label, SIZE_SMALL, MUTED).next_to(line, side, buff=0.05)))
        group = VGroup(heading, chart, marks)
        group.chart = chart
        return group

    def angle_map(self, d: RopeFrequenciesData, chart: BarChart) -> Heatmap:
        """Return cos(angle) of every pair (rows) at every position (columns), rows aligned with the bars."""
        cell = self.row_height()
        heatmap = Heatmap(d.cos_angle.T, cell=cell, cell_width=min(cell, MAP_WIDTH / d.prompt_length), kind="diverging", limit=1.0)
        heatmap.next_to(chart, RIGHT, buff=0.8)
        heatmap.shift(UP * (chart.bars[0].get_top()[1] + 0.15 * cell - heatmap.image.get_top()[1]))
        heading = fit_text(self.s("map_heading", token=display_token(d.token_label)), SIZE_SMALL + 2, MAP_WIDTH + 0.6, color=TEXT, max_lines=2)
        heading.next_to(heatmap.image, UP, buff=0.45).align_to(heatmap.image, LEFT)
        axis = text(self.s("map_axis", last=d.prompt_length - 1), SIZE_SMALL, MUTED).next_to(heatmap.image, DOWN, buff=0.12)
        axis.align_to(heatmap.image, LEFT)
        heatmap.add(heading, axis)
        return heatmap

    def figure(self, d: RopeFrequenciesData) -> Group:
        periods = self.period_chart(d)
        angles = self.angle_map(d, periods.chart)
        return Group(periods, angles)

    def construct(self):
        d = self.data
        last = len(d.period) - 1

        # Claim
        self.beat("claim")
        self.open_with_claim()

        # One bar per pair: its period in tokens, on a log scale
        self.beat("periods")
        figure = self.figure(d)
        figure.move_to([-1.9, 0.35, 0])
        periods, angles = figure
        self.play(FadeIn(periods[0]), FadeIn(periods[1].label_texts), FadeIn(periods[1].baseline), run_time=0.5)
        self.play(*[Create(bar) for bar in periods[1].bars], FadeIn(periods[1].value_texts), FadeIn(periods[2]), run_time=1.2)
        self.say(self.s("periods", pairs=len(d.period), fast=fmt(d.fastest), slow=period_text(d.slowest), last=last))

        # A real query turned to every position of the prompt
        self.beat("angles")
        self.play(FadeIn(angles), run_time=0.8)
        self.say(self.s("angles", token=display_token(d.token_label), head=d.head, last_position=d.prompt_length - 1, wrapping=d.wrapping_pairs,
                        last=last))

        # Where the numbers come from
        self.beat("formula")
        formula = fit_text(self.s("formula_line", theta=period_text(d.rope_theta), dim=d.head_dim, slow=period_text(d.slowest_formula)),
                           SIZE_LABEL, 6.8 - figure.get_right()[0] - 0.5, color=TEXT, max_lines=4)
        formula.next_to(figure, RIGHT, buff=0.5)
        self.play(FadeIn(formula), run_time=0.6)
        self.say(self.s("formula", dim=d.head_dim, reference_dim=REFERENCE_HEAD_DIM, reference=period_text(d.reference_slowest)))

        # Closing still
        self.beat("still")
        self.end_on_still()

    def still(self):
        d = self.data
        takeaways = [
            self.s("take_fast", period=fmt(d.fastest)),
            self.s("take_slow", pair=len(d.period) - 1, period=period_text(d.slowest)),
            self.s("take_wrapping", wrapping=d.wrapping_pairs, pairs=len(d.period), tokens=d.prompt_length),
            self.s("take_reference", reference_dim=REFERENCE_HEAD_DIM, reference=period_text(d.reference_slowest)),
        ]
        if d.yarn_active:
            takeaways.append(self.s("take_yarn"))
        return self.figure(d), takeaways
