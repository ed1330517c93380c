"""attention: one real head's scores q k^T, the 1/sqrt(D) scale, the causal mask, softmax and the weighted sum of V."""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import scenes.kit  # noqa: F401
except ModuleNotFoundError:  # `manim scenes/attention.py` in a checkout that is not pip-installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from manim import DOWN, LEFT, RIGHT, UP, ChangeDecimalToValue, Create, FadeTransform, Group

from scenes.data.attention import AttentionData, attention_data
from scenes.kit.animations import OpacityFadeIn, OpacityFadeOut
from scenes.kit import COMPONENT, BarChart, Heatmap, TraceScene, VectorStrip, display_token, fmt, number, quoted, text
from scenes.kit.style import HIGHLIGHT, MUTED, SIZE_LABEL, SIZE_SMALL, TEXT

MATRIX_LEFT = -6.2  # left edge of the big heatmap, in frame units
MATRIX_TOP = 2.0
PANEL_LEFT = 1.0  # left edge of the right-hand panel (bars, readouts)
MAX_BARS = 10  # the most keys the weight bars show, so the weighted sum fits below them


class AttentionScene(TraceScene):
    scene_id = "attention"
    color = COMPONENT["probs"]
    beats = ("claim", "qkv", "scores", "scale", "mask", "softmax", "weighted_sum", "still")

    @classmethod
    def extract(cls, trace, focus, labeler=None) -> AttentionData:
        return attention_data(trace, focus)

    def token_text(self, position: int) -> str:
        label = self.data.labels[position - self.data.start]
        return f"{position} {quoted(label, self.lang)}"

    def cell_size(self) -> float:
        return min(0.34, 4.5 / len(self.data.labels))

    def matrix(self, values: np.ndarray, kind: str, mask=None, limit=None, heading: str | None = None, color: str = TEXT) -> Heatmap:
        """Return a query-by-key heatmap at the scene's fixed place, rows and columns labelled by token."""
        d = self.data
        heatmap = Heatmap(values, d.labels, d.labels, cell=self.cell_size(), kind=kind, mask=mask, limit=limit)
        if heading is not None:
            heatmap.label_left(heading, color)
        heatmap.move_to([0, 0, 0])
        heatmap.shift(RIGHT * (MATRIX_LEFT - heatmap.get_left()[0]) + UP * (MATRIX_TOP - heatmap.image.get_top()[1]))
        return heatmap

    def construct(self):
        d = self.data
        row, key = d.row, d.top_key
        query_name, key_name = self.token_text(d.query), self.token_text(d.start + key)

        # Claim
        self.beat("claim")
        self.open_with_claim()

        # Queries, keys and values of the head
        self.beat("qkv")
        qkv = self.qkv_matrices(d)
        self.play(OpacityFadeIn(qkv), run_time=0.8)
        self.say(self.s("qkv", layer=d.layer, head=d.head, kv_head=d.kv_head, dim=d.head_dim, tokens=len(d.labels)))

        # Every query against every key
        self.beat("scores")
        limit = float(np.abs(d.raw[d.allowed]).max())
        raw = self.matrix(d.raw, "diverging", limit=limit, heading=self.s("raw_heading"), color=COMPONENT["scores"])
        self.play(OpacityFadeOut(qkv), OpacityFadeIn(raw), run_time=0.8)
        row_box = raw.row_box(row, color=COMPONENT["q"])
        cell_box = raw.cell_box(row, key)
        readout_name = text(self.s("readout", query=query_name, key_token=key_name), SIZE_LABEL, TEXT)
        readout_name.move_to([PANEL_LEFT, 1.6, 0], aligned_edge=LEFT)
        value = number(d.raw[row, key], size=SIZE_LABEL + 6, color=COMPONENT["scores"]).next_to(readout_name, DOWN, buff=0.3).align_to(readout_name, LEFT)
        self.play(Create(row_box), Create(cell_box), OpacityFadeIn(readout_name), OpacityFadeIn(value), run_time=0.8)
        self.say(self.s("scores", query=query_name, key_token=key_name, raw=fmt(d.raw[row, key])))

        # Scale by 1/sqrt(D)
        self.beat("scale")
        factor = text(f"× 1/√{d.head_dim} = × {fmt(d.scale)}", SIZE_LABEL, MUTED).next_to(value, DOWN, buff=0.3).align_to(value, LEFT)
        self.play(OpacityFadeIn(factor), run_time=0.5)
        old, new = raw.recolor(d.scores, "diverging", limit=limit)
        heading = self.retitle(raw, self.s("scaled_heading"), COMPONENT["scores"])
        self.play(OpacityFadeOut(old), OpacityFadeIn(new), heading, ChangeDecimalToValue(value, d.scores[row, key]), run_time=1.2)
        self.bring_to_front(row_box, cell_box)
        self.say(self.s("scale", dim=d.head_dim, sqrt=fmt(np.sqrt(d.head_dim)), raw=fmt(d.raw[row, key]), scaled=fmt(d.scores[row, key]),
                        spread_raw=fmt(np.ptp(d.raw[row][d.allowed[row]])), spread=fmt(np.ptp(d.scores[row][d.allowed[row]]))))

        # The causal mask
        self.beat("mask")
        old, new = raw.recolor(d.scores, "diverging", limit=limit, mask=~d.allowed)
        self.play(OpacityFadeOut(old), OpacityFadeIn(new), self.retitle(raw, self.s("masked_heading"), COMPONENT["scores"]), run_time=0.8)
        self.bring_to_front(row_box, cell_box)
        visible = int(d.allowed[row].sum())
        self.say(self.s("mask", query=query_name, visible=visible, hidden=len(d.labels) - visible))

        # Softmax along each row
        self.beat("softmax")
        old, new = raw.recolor(d.probs, "sequential", mask=~d.allowed)
        self.play(OpacityFadeOut(factor), OpacityFadeOut(value), OpacityFadeOut(readout_name), OpacityFadeOut(old), OpacityFadeIn(new),
                  self.retitle(raw, self.s("probs_heading"), self.color), run_time=1.0)
        self.bring_to_front(row_box, cell_box)
        bars = self.row_bars(d)
        self.play(OpacityFadeIn(bars), run_time=0.8)
        if d.start > 0:
            window = text(self.window_note(d), SIZE_SMALL, MUTED).next_to(raw.image, DOWN, buff=0.15).align_to(raw.image, LEFT)
            self.play(OpacityFadeIn(window), run_time=0.4)
        row_sum = float(d.probs[row].sum() + d.outside_mass)
        self.say(self.s("softmax", query=query_name, key_token=key_name, p=fmt(d.probs[row, key]), total=fmt(row_sum, 4)))

        # The weighted sum of the values
        self.beat("weighted_sum")
        sums = self.weighted_sum(d)
        sums.next_to(bars, DOWN, buff=0.45).align_to(bars, LEFT)
        self.play(OpacityFadeIn(sums), run_time=0.8)
        error = float(np.abs(d.weighted_v - d.head_out).max())
        self.say(self.s("weighted_sum", error=fmt(error, 2), dim=d.head_dim))

        # Closing still
        self.beat("still")
        self.end_on_still()

    def focus_parts(self):
        d = self.data
        return {"layer": d.layer, "head": d.head, "token": self.token_text(d.query)}

    def still(self):
        d = self.data
        row, key = d.row, d.top_key
        figure = Heatmap(d.probs, d.labels, d.labels, cell=self.cell_size(), kind="sequential", mask=~d.allowed)
        figure.add(figure.row_box(row, color=COMPONENT["q"]), figure.cell_box(row, key))
        error = float(np.abs(d.weighted_v - d.head_out).max())
        takeaways = [
            self.s("take_scale", dim=d.head_dim, scale=fmt(d.scale)),
            self.s("take_mask", visible=int(d.allowed[row].sum())),
            self.s("take_top", query=self.token_text(d.query), key_token=self.token_text(d.start + key), p=fmt(d.probs[row, key])),
            self.s("take_sum", error=fmt(error, 2)),
        ]
        if d.start > 0:
            takeaways.append(self.window_note(d))
        return figure, takeaways

    def window_note(self, d: AttentionData) -> str:
        """Return the note that the heatmap shows a window, and the weight on the keys before it."""
        return self.s("window", first=d.start, last=d.start + len(d.labels) - 1, total=d.n_tokens, mass=fmt(d.outside_mass))

    def retitle(self, heatmap: Heatmap, content: str, color: str):
        """Return the animation that replaces the heatmap's heading with `content`."""
        new = text(content, SIZE_LABEL, color).move_to(heatmap.heading, aligned_edge=LEFT)
        old = heatmap.heading
        heatmap.remove(old)
        heatmap.add(new)
        heatmap.heading = new
        return FadeTransform(old, new)

    def qkv_matrices(self, d: AttentionData) -> Group:
        """Return Q, K and V of the window as three labelled token-by-head_dim heatmaps."""
        cell = self.cell_size()
        width = 3.3 / d.head_dim
        parts = []
        for name, values, color in (("Q", d.q, COMPONENT["q"]), ("K", d.k, COMPONENT["k"]), ("V", d.v, COMPONENT["v"])):
            heatmap = Heatmap(values, d.labels if name == "Q" else None, None, cell=cell, cell_width=width, kind="diverging")
            heatmap.label_left(self.s(f"{name.lower()}_heading"), color)
            parts.append(heatmap)
        group = Group(*parts).arrange(RIGHT, buff=0.5, aligned_edge=DOWN)
        group.move_to([0, 0, 0]).shift(UP * (MATRIX_TOP - parts[0].image.get_top()[1]))
        return group

    def row_bars(self, d: AttentionData) -> BarChart:
        """Return the focus query's largest weights (at most MAX_BARS keys, in position order) as bars."""
        visible = [j for j in range(len(d.labels)) if d.allowed[d.row, j]]
        shown = sorted(sorted(visible, key=lambda j: -d.probs[d.row, j])[:MAX_BARS])
        colors = [HIGHLIGHT if j == d.top_key else self.color for j in shown]
        chart = BarChart([display_token(d.labels[j]) for j in shown], [d.probs[d.row, j] for j in shown], colors,
                         bar_width=3.2, row_height=0.3, max_value=1.0, label_size=SIZE_SMALL)
        if len(shown) < len(visible):
            title = self.s("bars_heading_top", query=display_token(d.labels[d.row]), shown=len(shown), visible=len(visible))
        else:
            title = self.s("bars_heading", query=display_token(d.labels[d.row]))
        heading = text(title, SIZE_SMALL + 2, self.color)
        heading.next_to(chart, UP, buff=0.15).align_to(chart, LEFT)
        chart.add(heading)
        chart.move_to([0, 0, 0]).shift(RIGHT * (PANEL_LEFT + 0.9 - chart.get_left()[0]) + UP * (MATRIX_TOP + 0.45 - chart.get_top()[1]))
        return chart

    def weighted_sum(self, d: AttentionData) -> Group:
        """Return the computed sum of p_j v_j and the recorded head output as two strips."""
        limit = float(np.abs(np.concatenate([d.weighted_v, d.head_out])).max())
        computed = VectorStrip(d.weighted_v, width=4.2, height=0.3, limit=limit)
        recorded = VectorStrip(d.head_out, width=4.2, height=0.3, limit=limit)
        computed_name = text("Σ pⱼ vⱼ", SIZE_SMALL + 2, COMPONENT["v"])
        recorded_name = text(self.s("recorded_heads"), SIZE_SMALL, MUTED)
        rows = Group(Group(computed_name, computed).arrange(RIGHT, buff=0.2), Group(recorded_name, recorded).arrange(RIGHT, buff=0.2))
        rows.arrange(DOWN, buff=0.2, aligned_edge=RIGHT)
        return rows
