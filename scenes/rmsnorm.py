"""rmsnorm: `x / rms(x) * g` on one real token's hidden vector, then every token's RMS per block."""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import scenes.kit  # noqa: F401
except ModuleNotFoundError:  # `manim scenes/rmsnorm.py` in a checkout that is not pip-installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from manim import DOWN, LEFT, RIGHT, UP, Create, Group, MathTex, ReplacementTransform, VGroup

from scenes.data.rmsnorm import RMSNormData, rmsnorm_data
from scenes.kit.animations import OpacityFadeIn, OpacityFadeOut
from scenes.kit import COMPONENT, Heatmap, color_bar, TokenRow, TraceScene, VectorStrip, display_token, fmt, number, quoted, text
from scenes.kit.style import MUTED, SIZE_LABEL, SIZE_SMALL, TEXT

STRIP_WIDTH = 8.6


class RMSNormScene(TraceScene):
    scene_id = "rmsnorm"
    color = COMPONENT["norm"]
    beats = ("claim", "input", "rms", "divide", "gain", "all_tokens", "still")

    @classmethod
    def extract(cls, trace, focus, labeler=None) -> RMSNormData:
        return rmsnorm_data(trace, focus)

    def focus_parts(self):
        return {"layer": self.data.layer, "token": self.token_text()}

    def colour_limit(self) -> float:
        """Return one colour limit for every strip, so the division's rescaling shows as a change of brightness."""
        d = self.data
        return float(np.percentile(np.abs(np.concatenate([d.x, d.normalized, d.out])), 99))

    def token_text(self) -> str:
        d = self.data
        return f"{d.token} {quoted(d.label, self.lang)}"

    def strip_row(self, values: np.ndarray, name: str, color: str, value: float, y: float, limit: float):
        """Return a strip with its name on the left and an RMS readout on the right."""
        strip = VectorStrip(values, width=STRIP_WIDTH, height=0.42, limit=limit)
        strip.move_to([0.3, y, 0])
        label = text(name, SIZE_LABEL, color).next_to(strip, LEFT, buff=0.25)
        readout = number(value, size=SIZE_LABEL).next_to(strip, RIGHT, buff=0.45)
        rms_name = text("RMS", SIZE_SMALL, MUTED).next_to(readout, UP, buff=0.08)
        return VGroup(label, rms_name, readout), strip

    def construct(self):
        d = self.data
        limit = self.colour_limit()

        # Claim
        self.beat("claim")
        self.open_with_claim()

        # The input vector
        self.beat("input")
        tokens = TokenRow(d.labels, max_width=12.4).move_to([0, 2.75, 0])
        outline = tokens.outline(d.token, color=self.color)
        self.play(OpacityFadeIn(tokens), Create(outline), run_time=0.8)
        x_side, x_strip = self.strip_row(d.x, "x", COMPONENT["residual"], d.rms_in, 1.5, limit)
        self.play(OpacityFadeIn(x_strip), OpacityFadeIn(x_side[0]), run_time=0.8)
        self.say(self.s("input", token=display_token(d.label), layer=d.layer, hidden=len(d.x)))

        # Its RMS
        self.beat("rms")
        formula = MathTex(r"\mathrm{rms}(x) = \sqrt{\tfrac{1}{d}\textstyle\sum_i x_i^2}", font_size=40, color=TEXT)
        formula.move_to([-2.2, 0.35, 0])
        self.play(OpacityFadeIn(formula), OpacityFadeIn(x_side[1:]), run_time=0.8)
        self.say(self.s("rms", rms=fmt(d.rms_in), hidden=len(d.x)))

        # Divide by it
        self.beat("divide")
        n_side, n_strip = self.strip_row(d.normalized, "x / rms", COMPONENT["norm"], d.rms_normalized, -0.6, limit)
        divide = MathTex(r"\hat x = \frac{x}{\sqrt{\mathrm{rms}(x)^2 + \epsilon}}", font_size=40, color=TEXT).move_to(formula)
        self.play(ReplacementTransform(formula, divide), run_time=0.6)
        self.play(ReplacementTransform(x_strip.copy(), n_strip), OpacityFadeIn(n_side), run_time=1.0)
        self.say(self.s("divide", eps=fmt(d.eps, 2), scale=fmt(d.scale), rms=fmt(d.rms_normalized, 4)))

        # Multiply by the learned gain
        self.beat("gain")
        self.play(OpacityFadeOut(divide), run_time=0.4)
        g_strip = VectorStrip(d.gain, width=STRIP_WIDTH, height=0.22, center=1.0)
        g_strip.move_to([0.3, -1.45, 0])
        g_label = text("g", SIZE_LABEL, MUTED).next_to(g_strip, LEFT, buff=0.25)
        o_side, o_strip = self.strip_row(d.out, "g ⊙ x̂", self.color, d.rms_out, -2.3, limit)
        self.play(OpacityFadeIn(g_strip), OpacityFadeIn(g_label), run_time=0.6)
        self.play(ReplacementTransform(n_strip.copy(), o_strip), OpacityFadeIn(o_side), run_time=1.0)
        self.say(self.s("gain", g_min=fmt(d.gain.min()), g_max=fmt(d.gain.max()), rms=fmt(d.rms_out)))
        token_view = VGroup(x_side, n_side, o_side, g_label)
        strips = [x_strip, n_strip, g_strip, o_strip]

        # Every token, every block
        self.beat("all_tokens")
        self.play(*[OpacityFadeOut(m) for m in (token_view, outline, *strips)], run_time=0.5)
        tables = self.rms_tables(d).move_to([0, 0.15, 0])
        self.play(OpacityFadeOut(tokens), OpacityFadeIn(tables), run_time=0.8)
        self.say(self.s("all_tokens", layers=len(d.rms_in_table), in_min=fmt(d.rms_in_table.min()), in_max=fmt(d.rms_in_table.max()),
                        out_min=fmt(d.rms_out_table.min()), out_max=fmt(d.rms_out_table.max())))

        # Closing still
        self.beat("still")
        self.end_on_still()

    def rms_tables(self, d: RMSNormData) -> Group:
        """Return input and output RMS per block and token, stacked, on one log colour scale.

        One scale for both tables shows the spread before the norm against the near-uniform
        output; the log keeps a few very large inputs from flattening the rest.
        """
        rows = [self.k("layer_short", value=i) for i in range(len(d.rms_in_table))]
        layers, tokens = d.rms_in_table.shape
        width = min(0.55, 10.5 / max(tokens, 1))
        height = min(0.45, 1.9 / max(layers, 1))
        low = float(min(d.rms_in_table.min(), d.rms_out_table.min()))
        high = float(max(d.rms_in_table.max(), d.rms_out_table.max()))
        vmin, vmax = np.log10(low), np.log10(high)
        before = Heatmap(np.log10(d.rms_in_table), rows, d.labels, cell=height, cell_width=width, vmin=vmin, vmax=vmax)
        before.label_left(self.s("table_in"), COMPONENT["residual"])
        after = Heatmap(np.log10(d.rms_out_table), rows, None, cell=height, cell_width=width, vmin=vmin, vmax=vmax)
        after.label_left(self.s("table_out"), self.color)
        after.next_to(before, DOWN, buff=0.3).align_to(before, LEFT)
        legend = color_bar("sequential", fmt(low), fmt(high)).next_to(after, DOWN, buff=0.25).align_to(after.image, LEFT)
        note = text(self.s("log_scale"), SIZE_SMALL, MUTED).next_to(legend, RIGHT, buff=0.3)
        return Group(before, after, legend, note)

    def still(self):
        d = self.data
        takeaways = [
            self.s("take_in", rms=fmt(d.rms_in)),
            self.s("take_divided", rms=fmt(d.rms_normalized, 4)),
            self.s("take_out", rms=fmt(d.rms_out)),
            self.s("take_spread", in_min=fmt(d.rms_in_table.min()), in_max=fmt(d.rms_in_table.max())),
        ]
        return self.still_figure(d, self.colour_limit()), takeaways

    def still_figure(self, d: RMSNormData, limit: float):
        """Return the still's figure: the three strips, one above the other with their left ends aligned, and their RMS values.

        Names sit right-aligned left of the strips and values left-aligned to their right,
        so names and values of different widths do not shift the strips.
        """
        rows = Group()
        for index, (name, values, value, color) in enumerate((
            ("x", d.x, d.rms_in, COMPONENT["residual"]),
            ("x / rms", d.normalized, d.rms_normalized, COMPONENT["norm"]),
            ("g ⊙ x̂", d.out, d.rms_out, self.color),
        )):
            strip = VectorStrip(values, width=6.5, height=0.45, limit=limit)
            strip.move_to([0, -index * 0.9, 0])
            name_text = text(name, SIZE_LABEL, color).next_to(strip, LEFT, buff=0.25)
            value_text = text(f"RMS {fmt(value)}", SIZE_LABEL, TEXT).next_to(strip, RIGHT, buff=0.25)
            rows.add(Group(name_text, strip, value_text))
        return rows
