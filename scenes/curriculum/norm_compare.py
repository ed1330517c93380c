"""norm-compare: LayerNorm centres and scales, RMSNorm only scales; both timed on this machine while rendering."""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import scenes.kit  # noqa: F401
except ModuleNotFoundError:  # `manim scenes/curriculum/norm_compare.py` in a checkout that is not pip-installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from manim import DOWN, LEFT, UP, Create, FadeIn, FadeOut, Group, VGroup

from scenes.curriculum.base import ExperimentScene
from scenes.curriculum.data.norm_compare import NormCompareData, norm_compare_data
from scenes.curriculum.plots import Histogram, cell_outline, sci, text_table
from scenes.experiments import run_norm_compare
from scenes.kit import COMPONENT, BarChart, fit_text, fmt, text
from scenes.kit.style import HIGHLIGHT, MUTED, SIZE_LABEL, SIZE_SMALL, TEXT

INPUT = COMPONENT["residual"]
LAYERNORM = COMPONENT["v"]
RMSNORM = COMPONENT["norm"]
HIST_WIDTH = 5.4
HIST_HEIGHT = 0.95


class NormCompareScene(ExperimentScene):
    scene_id = "norm-compare"
    color = COMPONENT["norm"]
    beats = ("claim", "input", "outputs", "offset", "speed", "still")

    def run_experiment(self, model, tokenizer):
        return run_norm_compare()

    def build(self, result) -> NormCompareData:
        return norm_compare_data(result)

    def input_line(self) -> str:
        d = self.data
        return self.s("source", rows=d.rows, width=d.width, std=fmt(d.input_std), mean=fmt(d.input_mean))

    def labelled_histogram(self, counts, edges, color: str, name: str, mean: float) -> VGroup:
        """Return a histogram with its name on the left and a marker at the row's mean."""
        histogram = Histogram(counts, edges, color, width=HIST_WIDTH, height=HIST_HEIGHT)
        tick_values = [edges[0], edges[-1]]
        if edges[0] < 0 < edges[-1]:
            tick_values.insert(1, 0.0)
        ticks = histogram.ticks(tick_values, lambda v: fmt(v, 2))
        marker = histogram.marker(mean, HIGHLIGHT, self.s("mean_marker", value=sci(mean, 2)))
        label = text(name, SIZE_LABEL, color).next_to(histogram.axis, UP, buff=HIST_HEIGHT + 0.1).align_to(histogram.axis, LEFT)
        group = VGroup(histogram, ticks, marker, label)
        group.marker = marker
        return group

    def histograms(self, d: NormCompareData) -> list[VGroup]:
        """Return the input, LayerNorm and RMSNorm histograms of the example row, stacked in the left column."""
        source = self.labelled_histogram(d.input_counts, d.input_edges, INPUT, self.s("input_name"), d.example_means[0])
        layer = self.labelled_histogram(d.layernorm_counts, d.output_edges, LAYERNORM, "LayerNorm", d.example_means[1])
        rms = self.labelled_histogram(d.rmsnorm_counts, d.output_edges, RMSNORM, "RMSNorm", d.example_means[2])
        for group, y in ((source, 2.0), (layer, 0.15), (rms, -1.7)):
            group.shift([-6.2 - group[0].axis.get_start()[0], y - group[0].axis.get_start()[1], 0])
        return [source, layer, rms]

    def stats_table(self, d: NormCompareData) -> VGroup:
        """Return mean, std and RMS over all rows for both norms."""
        rows = [
            ["", self.s("col_mean"), self.s("col_std"), "RMS"],
            ["LayerNorm", sci(d.layernorm_mean, 2), fmt(d.layernorm_std), fmt(d.layernorm_rms)],
            ["RMSNorm", fmt(d.rmsnorm_mean), fmt(d.rmsnorm_std), fmt(d.rmsnorm_rms)],
        ]
        colors = [[MUTED] * 4, [LAYERNORM] + [TEXT] * 3, [RMSNORM] + [TEXT] * 3]
        table = text_table(rows, colors, size=SIZE_LABEL, row_height=0.5)
        heading = text(self.s("table_heading", rows=d.rows), SIZE_SMALL, MUTED).next_to(table, UP, buff=0.2).align_to(table, LEFT)
        table.add(heading)
        return table

    def timing_chart(self, d: NormCompareData) -> VGroup:
        """Return the measured timings as bars, headed by how and where they were measured."""
        colors = [LAYERNORM, RMSNORM, RMSNORM]
        chart = BarChart([name for name, _ in d.timings], [us for _, us in d.timings], colors, bar_width=4.2, row_height=0.5,
                         formatter=lambda us: self.s("microseconds", value=fmt(us)), label_size=SIZE_LABEL)
        heading = fit_text(self.s("speed_heading", repeats=d.repeats, rows=d.timing_shape[0], width=d.timing_shape[1]), SIZE_SMALL + 2, 7.5,
                           color=MUTED, max_lines=2)
        machine = fit_text(self.machine_text(), SIZE_SMALL, 7.5, color=MUTED, max_lines=2)
        heading.next_to(chart, UP, buff=0.25).align_to(chart.label_texts, LEFT)
        machine.next_to(chart, DOWN, buff=0.25).align_to(chart.label_texts, LEFT)
        return VGroup(heading, chart, machine)

    def machine_text(self) -> str:
        m = self.data.machine
        return self.s("machine", processor=m["processor"], cpus=m["cpu_count"], torch=m["torch"], threads=m["torch_threads"])

    def construct(self):
        d = self.data

        # Claim
        self.beat("claim")
        self.open_with_claim()

        # Shifted input
        self.beat("input")
        source, layer, rms = self.histograms(d)
        self.play(FadeIn(source), run_time=0.8)
        self.say(self.s("input", rows=d.rows, width=d.width, std=fmt(d.input_std), mean=fmt(d.input_mean),
                        sample_mean=fmt(d.sample_mean), sample_std=fmt(d.sample_std)))

        # Both norms on the same rows
        self.beat("outputs")
        table = self.stats_table(d).move_to([3.6, 0.6, 0])
        self.play(FadeIn(layer, shift=0.2 * DOWN), FadeIn(rms, shift=0.2 * DOWN), run_time=0.8)
        self.play(FadeIn(table), run_time=0.6)
        self.say(self.s("outputs", ln_mean=sci(d.layernorm_mean, 2), rms_mean=fmt(d.rmsnorm_mean), rms_std=fmt(d.rmsnorm_std)))

        # Where the offset comes from
        self.beat("offset")
        box = cell_outline(table.cells[2][1], HIGHLIGHT)
        formula = fit_text(self.s("formula", mean=fmt(d.input_mean), std=fmt(d.input_std), expected=fmt(d.expected_offset)), SIZE_LABEL,
                           6.3 - table.get_left()[0], color=RMSNORM, max_lines=2)
        formula.next_to(table, DOWN, buff=0.5).align_to(table, LEFT)
        self.play(Create(box), FadeIn(formula), run_time=0.6)
        self.say(self.s("offset", expected=fmt(d.expected_offset), measured=fmt(d.rmsnorm_mean)))

        # Speed, measured now
        self.beat("speed")
        self.play(*[FadeOut(m) for m in (source, layer, rms, table, box, formula)], run_time=0.5)
        timing = self.timing_chart(d).move_to([0, 0.4, 0])
        self.play(FadeIn(timing), run_time=0.8)
        self.say(self.s("speed", ln=fmt(d.timings[0][1]), rms=fmt(d.timings[1][1]), ratio=fmt(d.speed_ratio)))

        # Closing still
        self.beat("still")
        self.end_on_still()

    def still(self):
        d = self.data
        _, layer, rms = self.histograms(d)
        table = self.stats_table(d)
        table.next_to(Group(layer, rms), DOWN, buff=0.5).align_to(layer, LEFT)
        figure = Group(layer, rms, table)
        takeaways = [
            self.s("take_layernorm", mean=sci(d.layernorm_mean, 2), std=fmt(d.layernorm_std)),
            self.s("take_rmsnorm", mean=fmt(d.rmsnorm_mean), expected=fmt(d.expected_offset)),
            self.s("take_speed", ln=fmt(d.timings[0][1]), rms=fmt(d.timings[1][1])),
            self.machine_text(),
        ]
        return figure, takeaways
