"""why-norm: a deep stack with its RMSNorms on and replaced by identity, forward RMS and backward gradient norm."""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import scenes.kit  # noqa: F401
except ModuleNotFoundError:  # `manim scenes/curriculum/why_norm.py` in a checkout that is not pip-installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np
from manim import DOWN, RIGHT, UP, Create, FadeIn, Group, VGroup, linear

from scenes.curriculum.base import ExperimentScene
from scenes.curriculum.data.why_norm import WhyNormData, why_norm_data
from scenes.curriculum.plots import LogPlot, decade_range, legend, markup_number, sci
from scenes.experiments import run_why_norm
from scenes.kit import COMPONENT, text
from scenes.kit.style import SIZE_LABEL

PLAIN = COMPONENT["scores"]  # the run without norms
NORMED = COMPONENT["norm"]


class WhyNormScene(ExperimentScene):
    scene_id = "why-norm"
    color = COMPONENT["norm"]
    beats = ("claim", "setup", "forward", "backward", "names", "still")

    def run_experiment(self, model, tokenizer):
        return run_why_norm(model, tokenizer)

    def build(self, result) -> WhyNormData:
        return why_norm_data(result)

    def input_line(self) -> str:
        d = self.data
        return self.s("source", layers=d.layers, std=sci(d.init_std), batch=d.batch_shape[0], seq=d.batch_shape[1])

    def trend_names(self) -> tuple[str, str]:
        """Return the measured trends of the run without norms, named in the scene's language."""
        return self.s(f"act_{self.data.activation_trend}"), self.s(f"grad_{self.data.gradient_trend}")

    def norm_range(self) -> str:
        """Return the range of block-input RMS with RMSNorm, as one value when both ends round alike."""
        low, high = sci(self.data.block_input_norm.min()), sci(self.data.block_input_norm.max())
        return low if low == high else self.s("range", low=low, high=high)

    def charts(self, d: WhyNormData, width: float = 5.2, height: float = 3.0) -> tuple[LogPlot, LogPlot]:
        """Return the activation and gradient axes, side by side, each with its legend."""
        ticks = {i: str(i) for i in range(0, d.layers + 1, 4)}
        low, high = decade_range([d.stream_plain, d.stream_norm, d.block_input_norm])
        activations = LogPlot(d.layers + 1, low, high, ticks, self.s("x_title"), self.s("rms_title"), width=width, height=height)
        low, high = decade_range([d.grad_plain, d.grad_norm])
        gradients = LogPlot(d.layers + 1, low, high, ticks, self.s("x_title"), self.s("grad_title"), width=width, height=height)
        activations.set_legend(legend([(self.s("legend_plain_stream"), PLAIN, False), (self.s("legend_norm_input"), NORMED, False),
                                       (self.s("legend_norm_stream"), NORMED, True)]))
        gradients.set_legend(legend([(self.s("legend_plain"), PLAIN, False), (self.s("legend_norm"), NORMED, False)]))
        activations.move_to([-3.45, 0.1, 0])
        gradients.move_to([3.6, 0.1, 0])
        return activations, gradients

    def activation_series(self, chart: LogPlot, d: WhyNormData) -> list[VGroup]:
        return [
            chart.series(d.stream_plain, PLAIN),
            chart.series(d.block_input_norm, NORMED),
            chart.series(d.stream_norm, NORMED, dashed=True, stroke=3, dots=False),
        ]

    def gradient_series(self, chart: LogPlot, d: WhyNormData) -> list[VGroup]:
        # Drawn from the last point back to the first, the way the backward pass runs.
        positions = list(range(d.layers, -1, -1))
        return [chart.series(d.grad_plain[::-1], PLAIN, positions=positions), chart.series(d.grad_norm[::-1], NORMED, positions=positions)]

    def end_label(self, chart: LogPlot, values, position: int, color: str, side=RIGHT):
        """Return the value at `position` printed beside its point, or at the last point the line reaches.

        A run that overflows ends its line at the first inf or NaN (see `LogPlot.series`), so
        the label goes to the last finite positive value before it.
        """
        drawn = 0
        while drawn < position and np.isfinite(values[drawn + 1]) and values[drawn + 1] > 0:
            drawn += 1
        return markup_number(values[drawn], SIZE_LABEL - 2, color).next_to(chart.point(drawn, values[drawn]), side, buff=0.1)

    def construct(self):
        d = self.data
        act_name, grad_name = self.trend_names()

        # Claim
        self.beat("claim")
        self.open_with_claim()

        # Two copies of one seeded stack
        self.beat("setup")
        activations, gradients = self.charts(d)
        self.play(FadeIn(activations), FadeIn(gradients), run_time=0.8)
        self.say(self.s("setup", layers=d.layers, batch=d.batch_shape[0], seq=d.batch_shape[1], replaced=d.replaced))

        # Forward pass: the stream's RMS, block by block
        self.beat("forward")
        plain, normed_input, normed_stream = self.activation_series(activations, d)
        self.play(Create(plain), Create(normed_input), Create(normed_stream), run_time=2.5, rate_func=linear)
        last = self.end_label(activations, d.stream_plain, d.layers, PLAIN, side=UP)
        self.play(FadeIn(last), run_time=0.3)
        self.say(self.s("forward", first=sci(d.stream_plain[1]), last=sci(d.stream_plain[-1]), blocks=d.layers,
                        norm=self.norm_range()))

        # Backward pass: the gradient norm, from the output back to the embeddings
        self.beat("backward")
        grad_plain, grad_normed = self.gradient_series(gradients, d)
        self.play(Create(grad_plain), Create(grad_normed), run_time=2.5, rate_func=linear)
        self.say(self.s("backward", output=sci(d.grad_plain[-1]), input=sci(d.grad_plain[1]), ratio=sci(d.gradient_ratio),
                        norm_ratio=sci(d.gradient_ratio_norm)))

        # Name each effect by the pass it happens in
        self.beat("names")
        tags = VGroup(
            text(self.s("tag_forward", name=act_name), SIZE_LABEL, PLAIN).next_to(activations.x_title, DOWN, buff=0.15),
            text(self.s("tag_backward", name=grad_name), SIZE_LABEL, PLAIN).next_to(gradients.x_title, DOWN, buff=0.15),
        )
        self.play(FadeIn(tags, shift=0.1 * UP), run_time=0.6)
        self.say(self.s("names", act=act_name, grad=grad_name))

        # Closing still
        self.beat("still")
        self.end_on_still()

    def still(self):
        d = self.data
        act_name, grad_name = self.trend_names()
        activations, gradients = self.charts(d, width=4.0, height=3.6)
        gradients.next_to(activations, RIGHT, buff=1.0).align_to(activations, DOWN)
        parts = [activations, gradients]
        parts += self.activation_series(activations, d) + self.gradient_series(gradients, d)
        parts.append(self.end_label(activations, d.stream_plain, d.layers, PLAIN, side=UP))
        figure = Group(*parts)
        takeaways = [
            self.s("take_forward", ratio=sci(d.activation_ratio), blocks=d.layers, name=act_name),
            self.s("take_backward", ratio=sci(d.gradient_ratio), name=grad_name),
            self.s("take_norm", value=self.norm_range()),
            self.s("take_loss", norm=sci(d.loss_norm), plain=sci(d.loss_plain)),
        ]
        return figure, takeaways
