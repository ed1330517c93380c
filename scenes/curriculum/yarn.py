"""yarn: how MiniMind's YaRN rescales each RoPE pair, and which angles beyond the trained length stay familiar."""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import scenes.kit  # noqa: F401
except ModuleNotFoundError:  # `manim scenes/curriculum/yarn.py` in a checkout that is not pip-installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np
from manim import DOWN, LEFT, RIGHT, UP, Create, FadeIn, FadeOut, Group, VGroup

from scenes.curriculum.base import ExperimentScene
from scenes.curriculum.data.yarn import YarnData, yarn_data
from scenes.curriculum.plots import text_table
from scenes.experiments import run_yarn
from scenes.kit import COMPONENT, BarChart, Heatmap, fit_text, fmt, fmt_count, text
from scenes.kit.style import MUTED, SIZE_LABEL, SIZE_SMALL, TEXT

KEEP = COMPONENT["q"]  # pairs whose frequency YaRN keeps
RAMP = COMPONENT["k"]
DIVIDED = COMPONENT["residual"]  # pairs divided by the full factor


def plain_number(value: float) -> str:
    """Format a constant such as 16.0 as 16, and any other value as kit.fmt does."""
    return str(int(value)) if float(value).is_integer() else fmt(value)


class YarnScene(ExperimentScene):
    scene_id = "yarn"
    color = COMPONENT["k"]
    beats = ("claim", "ramp", "angles", "loss", "still")

    def run_experiment(self, model, tokenizer):
        return run_yarn(model, tokenizer)

    def build(self, result) -> YarnData:
        return yarn_data(result)

    def input_line(self) -> str:
        return self.s("source", tokens=fmt_count(self.data.prompt_length))

    def claim_params(self):
        d = self.data
        return {"factor": plain_number(d.factor), "low": d.low, "high": d.high}

    def region_color(self, ramp: float) -> str:
        if ramp <= 0:
            return KEEP
        if ramp >= 1:
            return DIVIDED
        return RAMP

    def row_height(self) -> float:
        return min(0.25, 4.0 / len(self.data.scale))

    def scale_chart(self, d: YarnData) -> VGroup:
        """Return one bar per pair (a row each): YaRN's multiplier on the pair's frequency, 1 down to 1/factor."""
        colors = [self.region_color(ramp) for ramp in d.ramp]
        chart = BarChart([str(i) for i in range(len(d.scale))], d.scale, colors, bar_width=2.2, row_height=self.row_height(),
                         max_value=1.0, formatter=lambda value: fmt(value, 3), label_size=SIZE_SMALL)
        heading = fit_text(self.s("scale_heading"), SIZE_SMALL + 2, 3.4, color=TEXT, max_lines=2)
        heading.next_to(chart, UP, buff=0.2).align_to(chart.label_texts, LEFT)
        legend = VGroup()
        for name, color in (("region_keep", KEEP), ("region_ramp", RAMP), ("region_divided", DIVIDED)):
            legend.add(text(self.s(name, factor=plain_number(d.factor)), SIZE_SMALL, color))
        legend.arrange(RIGHT, buff=0.3).next_to(chart, DOWN, buff=0.2).align_to(chart.label_texts, LEFT)
        group = VGroup(heading, chart, legend)
        group.chart = chart
        return group

    def unseen_map(self, values: np.ndarray, d: YarnData, heading: str) -> Heatmap:
        """Return pairs (rows) by positions (columns): dark within the trained angles, brighter the farther beyond."""
        columns = [fmt_count(p) for p in d.positions]
        heatmap = Heatmap(values.T, None, columns, cell=self.row_height(), cell_width=0.5, kind="sequential")
        title = fit_text(heading, SIZE_SMALL + 2, 3.2, color=TEXT, max_lines=2)
        title.next_to(heatmap.col_labels, UP, buff=0.15).align_to(heatmap.image, LEFT)
        heatmap.add(title)
        return heatmap

    def figure(self, d: YarnData) -> Group:
        """Return the multiplier bars with both maps to their right, every row one pair."""
        scale = self.scale_chart(d)
        plain = self.unseen_map(d.beyond(yarn=False), d, self.s("map_plain", reach=fmt(d.max_reach(yarn=False), 5)))
        yarn = self.unseen_map(d.beyond(yarn=True), d, self.s("map_yarn", reach=fmt(d.max_reach(yarn=True), 5)))
        top = scale.chart.bars[0].get_top()[1] + 0.15 * self.row_height()
        x = scale.get_right()[0] + 0.5
        for heatmap in (plain, yarn):
            heatmap.shift(RIGHT * (x - heatmap.image.get_left()[0]) + UP * (top - heatmap.image.get_top()[1]))
            x = heatmap.image.get_right()[0] + 0.5
        axis = text(self.s("position_axis"), SIZE_SMALL, MUTED).next_to(Group(plain.image, yarn.image), DOWN, buff=0.15)
        return Group(scale, plain, yarn, axis)

    def loss_table(self, d: YarnData) -> VGroup:
        rows = [["", self.s("col_within", orig=fmt_count(d.original_max)), self.s("col_beyond", orig=fmt_count(d.original_max))],
                [self.s("row_plain"), fmt(d.loss_within[0]), fmt(d.loss_beyond[0])],
                [self.s("row_yarn"), fmt(d.loss_within[1]), fmt(d.loss_beyond[1])]]
        table = text_table(rows, size=SIZE_LABEL + 4, row_height=0.6, column_gap=0.9)
        heading = text(self.s("loss_heading", tokens=fmt_count(d.prompt_length)), SIZE_SMALL + 2, MUTED)
        table.add(heading.next_to(table, UP, buff=0.2).align_to(table, LEFT))
        return table

    def construct(self):
        d = self.data
        last_pair = len(d.scale) - 1

        # Claim
        self.beat("claim")
        self.open_with_claim()

        # The ramp: which pairs keep, which are divided
        self.beat("ramp")
        figure = self.figure(d).move_to([0, 0.45, 0])
        scale, plain, yarn, axis = figure
        self.play(FadeIn(scale[0]), FadeIn(scale[2]), FadeIn(scale.chart.label_texts), FadeIn(scale.chart.baseline), run_time=0.6)
        self.play(*[Create(bar) for bar in scale.chart.bars], FadeIn(scale.chart.value_texts), run_time=1.0)
        self.say(self.s("ramp", beta_fast=plain_number(d.beta_fast), beta_slow=plain_number(d.beta_slow), orig=fmt_count(d.original_max), low=d.low,
                        high=d.high, last=last_pair, factor=plain_number(d.factor)))

        # Angles beyond the trained length
        self.beat("angles")
        self.play(FadeIn(plain), FadeIn(yarn), FadeIn(axis), run_time=0.8)
        self.say(self.s("angles", position=fmt_count(d.positions[d.last]), orig=fmt_count(d.original_max),
                        plain=fmt(d.max_reach(yarn=False), 5), yarn=fmt(d.max_reach(yarn=True), 5)))

        # A long prompt through the real model, YaRN off and on
        self.beat("loss")
        table = self.loss_table(d).move_to([0, 0.5, 0])
        self.play(FadeOut(figure), run_time=0.4)
        self.play(FadeIn(table), run_time=0.6)
        self.say(self.s("loss", within_plain=fmt(d.loss_within[0]), within_yarn=fmt(d.loss_within[1]),
                        beyond_plain=fmt(d.loss_beyond[0]), beyond_yarn=fmt(d.loss_beyond[1])))

        # Closing still
        self.beat("still")
        self.end_on_still()

    def still(self):
        d = self.data
        figure = self.figure(d)
        takeaways = [
            self.s("take_ramp", low=d.low, high=d.high, factor=plain_number(d.factor)),
            self.s("take_reach", position=fmt_count(d.positions[d.last]), plain=fmt(d.max_reach(yarn=False), 5),
                   yarn=fmt(d.max_reach(yarn=True), 5)),
            self.s("take_loss", within_plain=fmt(d.loss_within[0]), beyond_plain=fmt(d.loss_beyond[0]), within_yarn=fmt(d.loss_within[1]),
                   beyond_yarn=fmt(d.loss_beyond[1]), orig=fmt_count(d.original_max)),
        ]
        return figure, takeaways
