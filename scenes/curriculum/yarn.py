"""yarn: how MiniMind's YaRN rescales each RoPE pair, and which angles beyond the trained length stay familiar."""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import scenes.kit  # noqa: F401
except ModuleNotFoundError:  # `manim scenes/curriculum/yarn.py` in a checkout that is not pip-installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np
from manim import DOWN, LEFT, RIGHT, UP, Create, DashedVMobject, FadeIn, FadeOut, Group, Line, VGroup

from scenes.curriculum.base import ExperimentScene
from scenes.curriculum.data.yarn import YarnData, yarn_data
from scenes.curriculum.plots import LogPlot, decade_range, legend, text_table
from scenes.experiments import run_yarn
from scenes.kit import COMPONENT, BarChart, fit_text, fmt, fmt_count, text
from scenes.kit.style import MUTED, SIZE_LABEL, SIZE_SMALL, TEXT

KEEP = COMPONENT["q"]  # pairs whose frequency YaRN keeps
RAMP = COMPONENT["k"]
DIVIDED = COMPONENT["residual"]  # pairs divided by the full factor
PLAIN = COMPONENT["v"]  # the reach line without YaRN
YARN = COMPONENT["norm"]  # the reach line with YaRN
POSITION_MARGIN = 0.3  # doublings of empty axis before the first and after the last position on the reach plot


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
        pair_axis = text(self.s("pair_axis"), SIZE_SMALL, MUTED)
        pair_axis.next_to(chart.label_texts, UP, buff=0.12).align_to(chart.label_texts, LEFT)
        heading = fit_text(self.s("scale_heading"), SIZE_SMALL + 2, 3.4, color=TEXT, max_lines=2)
        heading.next_to(pair_axis, UP, buff=0.15).align_to(chart.label_texts, LEFT)
        legend_rows = legend([(self.s(name, factor=plain_number(d.factor)), color, False)
                              for name, color in (("region_keep", KEEP), ("region_ramp", RAMP), ("region_divided", DIVIDED))])
        legend_rows.arrange(RIGHT, buff=0.3).next_to(chart, DOWN, buff=0.2).align_to(chart.label_texts, LEFT)
        group = VGroup(heading, pair_axis, chart, legend_rows)
        group.chart = chart
        return group

    def reach_plot(self, d: YarnData, height: float) -> LogPlot:
        """Return the slow pairs' largest angle over their largest trained angle, per position, plain RoPE and YaRN.

        Positions sit on a log2 axis, so each doubling of the position takes the same width.
        The dashed line at 1 is the largest angle a slow pair reached in training.
        """
        steps = self.position_steps(d)
        ticks = {}
        for step, position in zip(steps, d.positions):
            if not ticks or step - max(ticks) >= 0.5:  # within half a doubling of the previous label, two would overlap
                ticks[step] = fmt_count(position)
        plain, yarn = d.slow_reach(yarn=False), d.slow_reach(yarn=True)
        low, high = decade_range([plain, yarn, np.ones(1)])
        title = self.s("reach_title")
        slow = d.slow_pairs
        if slow.size:
            title = self.s("slow_pairs", first=int(slow[0]), last=int(slow[-1])) + "\n" + title
        plot = LogPlot(steps[-1] + POSITION_MARGIN + 1, low, high, ticks, self.s("position_axis"), title, width=4.2, height=height)
        plot.set_legend(legend([(self.s("legend_plain"), PLAIN, False), (self.s("legend_yarn"), YARN, False),
                                (self.s("legend_trained"), MUTED, True)]))
        # The line stops at the last position, so the value printed right of that point stays clear of it.
        trained = Line(plot.point(0, 1.0), plot.point(steps[-1], 1.0), stroke_color=MUTED, stroke_width=2.5)
        plot.trained = DashedVMobject(trained, num_dashes=20)
        plot.add(plot.trained)
        return plot

    @staticmethod
    def position_steps(d: YarnData) -> np.ndarray:
        """Return each shown position's x on the reach plot: doublings past the first position, plus a margin.

        The margin keeps the first tick label clear of the lowest y label and the last point off the axis end.
        """
        positions = np.asarray(d.positions, dtype=np.float64)
        return np.log2(positions / positions[0]) + POSITION_MARGIN

    def reach_series(self, plot: LogPlot, d: YarnData) -> list[VGroup]:
        """Return the plain and the YaRN line, each with its last value printed beside its last point."""
        steps = self.position_steps(d)
        series = []
        for yarn, color in ((False, PLAIN), (True, YARN)):
            values = d.slow_reach(yarn=yarn)
            line = plot.series(values, color, positions=steps)
            if line.points_drawn == len(values):
                end = text(self.s("reach_value", reach=fmt(values[-1], 5)), SIZE_SMALL, color)
                line.add(end.next_to(plot.point(steps[-1], values[-1]), RIGHT, buff=0.12))
            series.append(line)
        return series

    def figure(self, d: YarnData) -> Group:
        """Return the multiplier bars and, to their right, the reach plot with both lines."""
        scale = self.scale_chart(d)
        plot = self.reach_plot(d, height=min(3.2, scale.chart.height))
        plot.next_to(scale, RIGHT, buff=1.0)
        plot.shift(UP * (scale.chart.get_bottom()[1] - plot.x_axis.get_start()[1]))
        lines = VGroup(*self.reach_series(plot, d))
        return Group(scale, plot, lines)

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
        scale, plot, lines = figure
        self.play(FadeIn(scale[0]), FadeIn(scale[1]), FadeIn(scale[3]), FadeIn(scale.chart.label_texts), FadeIn(scale.chart.baseline),
                  run_time=0.6)
        self.play(*[Create(bar) for bar in scale.chart.bars], FadeIn(scale.chart.value_texts), run_time=1.0)
        self.say(self.s("ramp", beta_fast=plain_number(d.beta_fast), beta_slow=plain_number(d.beta_slow), orig=fmt_count(d.original_max), low=d.low,
                        high=d.high, last=last_pair, factor=plain_number(d.factor)))

        # Angles beyond the trained length
        self.beat("angles")
        self.play(FadeIn(plot), run_time=0.8)
        self.play(*[Create(line) for line in lines], run_time=1.5)
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
