"""swiglu: gate, up, SiLU, elementwise product and down projection on one real token."""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import scenes.kit  # noqa: F401
except ModuleNotFoundError:  # `manim scenes/swiglu.py` in a checkout that is not pip-installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from manim import DOWN, LEFT, RIGHT, UP, Axes, Create, Group, MathTex, Rectangle, VGroup

from scenes.data.swiglu import NEAR_ZERO_FRACTION, SwiGLUData, silu, swiglu_data
from scenes.kit.animations import OpacityFadeIn
from scenes.kit import COMPONENT, TokenRow, TraceScene, VectorStrip, display_token, fmt, fmt_percent, quoted, text
from scenes.kit.scatter import scatter_image
from scenes.kit.style import GRID, HIGHLIGHT, MUTED, SIZE_SMALL, TEXT

STRIP_LEFT = -4.3  # left edge of the strips; their names sit to the left of it
STRIP_WIDTH = 5.6
ROW_Y = {"x": 2.05, "gate": 1.3, "act": 0.55, "up": -0.2, "hidden": -0.95, "out": -1.7}


class SwiGLUScene(TraceScene):
    scene_id = "swiglu"
    color = COMPONENT["ffn"]
    beats = ("claim", "input", "gate_up", "silu", "product", "down", "still")

    @classmethod
    def extract(cls, trace, focus, labeler=None) -> SwiGLUData:
        return swiglu_data(trace, focus)

    def claim_params(self):
        return {"intermediate": self.data.intermediate}

    def focus_parts(self):
        d = self.data
        return {"layer": d.layer, "token": f"{d.token} {quoted(d.label, self.lang)}"}

    def silu_minimum(self) -> float:
        """Return the smallest value SiLU reaches, computed on a fine grid (about -0.278)."""
        grid = np.linspace(-6.0, 0.0, 60001)
        return float(silu(grid).min())

    def strip(self, name: str, values: np.ndarray, label: str, color: str, limit: float | None = None) -> Group:
        strip = VectorStrip(values, width=STRIP_WIDTH, height=0.34, limit=limit)
        strip.move_to([STRIP_LEFT + STRIP_WIDTH / 2, ROW_Y[name], 0])
        name_text = text(label, SIZE_SMALL + 2, color).next_to(strip, LEFT, buff=0.2)
        size = text(f"{len(values)}", SIZE_SMALL, MUTED).next_to(strip, RIGHT, buff=0.15)
        return Group(strip, name_text, size)

    def strips(self, d: SwiGLUData) -> dict[str, Group]:
        return {
            "x": self.strip("x", d.x, "x", COMPONENT["norm"]),
            "gate": self.strip("gate", d.gate, "gate_proj(x)", self.color),
            "act": self.strip("act", d.act, "SiLU(gate)", self.color),
            "up": self.strip("up", d.up, "up_proj(x)", COMPONENT["v"]),
            "hidden": self.strip("hidden", d.hidden, "SiLU(gate) ⊙ up", TEXT),
            "out": self.strip("out", d.out, "down_proj", COMPONENT["residual"]),
        }

    def silu_plot(self, d: SwiGLUData) -> Group:
        """Return SiLU's curve with one dot per unit at (gate, SiLU(gate)) and the near-zero band."""
        reach = float(np.abs(d.gate).max()) * 1.05
        low = min(self.silu_minimum(), float(d.act.min())) - 0.3
        high = max(float(d.act.max()), 0.5) * 1.05
        axes = Axes(x_range=[-reach, reach, reach], y_range=[low, high, high - low], x_length=4.0, y_length=3.0,
                    tips=False, axis_config={"stroke_color": GRID, "include_ticks": False})
        curve = axes.plot(lambda v: float(silu(np.array(v))), x_range=[-reach, reach], color=self.color, stroke_width=3)
        band_bottom = axes.c2p(-reach, -d.near_zero_threshold)
        band_top = axes.c2p(reach, d.near_zero_threshold)
        band = Rectangle(width=band_top[0] - band_bottom[0], height=band_top[1] - band_bottom[1], stroke_width=0,
                         fill_color=MUTED, fill_opacity=0.18).move_to((band_bottom + band_top) / 2)
        origin, corner = axes.c2p(-reach, low), axes.c2p(reach, high)
        dots = scatter_image(d.gate, d.act, (-reach, reach), (low, high), corner[0] - origin[0], corner[1] - origin[1], HIGHLIGHT)
        dots.move_to((origin + corner) / 2)
        x_name = text("gate", SIZE_SMALL, MUTED).next_to(axes.x_axis, RIGHT, buff=0.1).shift(DOWN * 0.2)
        y_name = text("SiLU(gate)", SIZE_SMALL, MUTED).next_to(axes.y_axis, UP, buff=0.1)
        plot = Group(band, axes, curve, dots, x_name, y_name)
        plot.move_to([4.5, 0.3, 0])
        return plot

    def construct(self):
        d = self.data
        strips = self.strips(d)

        # Claim
        self.beat("claim")
        self.open_with_claim()

        # The token's normalised vector
        self.beat("input")
        tokens = TokenRow(d.labels, max_width=12.4).move_to([0, 3.0, 0])
        self.play(OpacityFadeIn(tokens), Create(tokens.outline(d.token, color=self.color)), run_time=0.6)
        self.play(OpacityFadeIn(strips["x"]), run_time=0.6)
        self.say(self.s("input", token=display_token(d.label), layer=d.layer, hidden=len(d.x)))

        # Two projections: gate and up
        self.beat("gate_up")
        self.play(OpacityFadeIn(strips["gate"]), OpacityFadeIn(strips["up"]), run_time=0.8)
        self.say(self.s("gate_up", hidden=len(d.x), intermediate=d.intermediate))

        # SiLU on the gate
        self.beat("silu")
        plot = self.silu_plot(d)
        self.play(OpacityFadeIn(plot), run_time=0.8)
        self.play(OpacityFadeIn(strips["act"]), run_time=0.6)
        self.say(self.s("silu", negative=d.negative_gate, intermediate=d.intermediate, minimum=fmt(self.silu_minimum()),
                        near=d.near_zero, share=fmt_percent(d.near_zero / d.intermediate, 0), fraction=fmt_percent(NEAR_ZERO_FRACTION, 0)))

        # Elementwise product
        self.beat("product")
        self.play(OpacityFadeIn(strips["hidden"]), run_time=0.6)
        boxes = VGroup(*[strips["hidden"][0].cell_box(i, color=HIGHLIGHT) for i in d.top_units])
        self.play(Create(boxes), run_time=0.6)
        self.say(self.s("product", units=", ".join(str(i) for i in d.top_units), error=fmt(d.product_check, 2)))

        # Down projection back to the residual stream
        self.beat("down")
        self.play(OpacityFadeIn(strips["out"]), run_time=0.6)
        rms_out = float(np.sqrt(np.mean(d.out**2)))
        self.say(self.s("down", intermediate=d.intermediate, hidden=len(d.out), rms=fmt(rms_out)))

        # Closing still
        self.beat("still")
        self.end_on_still()

    def still(self):
        d = self.data
        formula = MathTex(r"\mathrm{out} = W_\mathrm{down}\big(\mathrm{SiLU}(W_\mathrm{gate}\,x) \odot W_\mathrm{up}\,x\big)", font_size=34, color=TEXT)
        figure = Group(formula, Group(*self.strips(d).values())).arrange(DOWN, buff=0.4)
        takeaways = [
            self.s("take_near", near=d.near_zero, intermediate=d.intermediate, share=fmt_percent(d.near_zero / d.intermediate, 0),
                   fraction=fmt_percent(NEAR_ZERO_FRACTION, 0)),
            self.s("take_negative", negative=d.negative_gate, minimum=fmt(self.silu_minimum())),
            self.s("take_check", error=fmt(max(d.silu_check, d.product_check), 2)),
        ]
        return figure, takeaways
