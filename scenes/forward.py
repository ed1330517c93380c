"""forward: one token's journey: embedding, the residual stream after each block, final norm, next-token probabilities."""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import scenes.kit  # noqa: F401
except ModuleNotFoundError:  # `manim scenes/forward.py` in a checkout that is not pip-installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from manim import DOWN, LEFT, RIGHT, UP, Create, Group, LaggedStart

from scenes.data.forward import ForwardData, forward_data
from scenes.kit.animations import OpacityFadeIn, OpacityFadeOut
from scenes.kit import COMPONENT, BarChart, TokenRow, TraceScene, VectorStrip, display_token, fmt, quoted, text
from scenes.kit.style import HIGHLIGHT, SIZE_LABEL, SIZE_SMALL

LEFT_X = -6.3  # left edge of the residual-stream chart's labels
RIGHT_X = 1.6  # left edge of the prediction chart's labels
CHART_TOP = 2.0


class ForwardScene(TraceScene):
    scene_id = "forward"
    color = COMPONENT["residual"]
    beats = ("claim", "embed", "blocks", "final_norm", "logits", "still")

    @classmethod
    def extract(cls, trace, focus, labeler=None) -> ForwardData:
        return forward_data(trace, focus, labeler=labeler)

    def focus_parts(self):
        d = self.data
        return {"token": f"{d.token} {quoted(d.label, self.lang)}"}

    def stream_chart(self, d: ForwardData, bar_width: float = 3.6) -> BarChart:
        """Return the RMS of the residual stream at the embedding and after each block."""
        labels = [self.s("row_embed")] + [self.s("row_block", layer=i) for i in range(d.num_layers)]
        values = [d.embed_rms, *d.resid_rms]
        row_height = min(0.42, 4.2 / len(values))
        chart = BarChart(labels, values, self.color, bar_width=bar_width, row_height=row_height, label_size=SIZE_SMALL + 2)
        heading = text(self.s("stream_heading"), SIZE_SMALL + 2, self.color).next_to(chart, UP, buff=0.15).align_to(chart, LEFT)
        chart.add(heading)
        chart.shift(RIGHT * (LEFT_X - chart.get_left()[0]) + UP * (CHART_TOP + 0.5 - chart.get_top()[1]))
        return chart

    def final_norm_line(self, d: ForwardData, chart: BarChart):
        """Return the final norm's RMS change as a line under the stream chart."""
        line = text(self.s("final_line", rms_in=fmt(d.final_rms_in), rms_out=fmt(d.final_rms_out)), SIZE_SMALL + 2, COMPONENT["norm"])
        return line.next_to(chart, DOWN, buff=0.3).align_to(chart, LEFT)

    def prediction_chart(self, d: ForwardData, bar_width: float = 3.0) -> BarChart:
        """Return the top next-token probabilities, the real next token highlighted."""
        labels = [display_token(label) for label in d.top_labels]
        colors = [HIGHLIGHT if token_id == d.next_id else COMPONENT["logits"] for token_id in d.top_ids]
        chart = BarChart(labels, d.top_probs, colors, bar_width=bar_width, row_height=0.45, max_value=1.0, label_size=SIZE_LABEL)
        heading = text(self.s("logits_heading", token=display_token(d.label)), SIZE_SMALL + 2, COMPONENT["logits"])
        heading.next_to(chart, UP, buff=0.15).align_to(chart, LEFT)
        chart.add(heading)
        chart.shift(RIGHT * (RIGHT_X - chart.get_left()[0]) + UP * (CHART_TOP + 0.5 - chart.get_top()[1]))
        return chart

    def construct(self):
        d = self.data

        # Claim
        self.beat("claim")
        self.open_with_claim()

        # The token's embedding
        self.beat("embed")
        tokens = TokenRow(d.labels, max_width=12.4).move_to([0, 3.0, 0])
        self.play(OpacityFadeIn(tokens), Create(tokens.outline(d.token, color=self.color)), run_time=0.6)
        embed = VectorStrip(d.embedding, width=8.0, height=0.4, label="embed", label_color=self.color, label_size=SIZE_LABEL)
        embed.move_to([0, 1.6, 0])
        self.play(OpacityFadeIn(embed), run_time=0.6)
        self.say(self.s("embed", token=display_token(d.label), id=d.token_id, hidden=len(embed.values), rms=fmt(d.embed_rms)))

        # The residual stream after each block
        self.beat("blocks")
        self.play(OpacityFadeOut(embed), run_time=0.4)
        stream = self.stream_chart(d)
        rows = [stream.row(i) for i in range(d.num_layers + 1)]
        self.play(OpacityFadeIn(stream.baseline), OpacityFadeIn(stream[-1]), run_time=0.4)
        self.play(LaggedStart(*[OpacityFadeIn(row) for row in rows], lag_ratio=0.5), run_time=min(0.5 * len(rows), 4.0))
        biggest = max(range(d.num_layers), key=lambda i: max(d.attn_rms[i], d.ffn_rms[i]))
        part = "attn" if d.attn_rms[biggest] >= d.ffn_rms[biggest] else "ffn"
        self.say(self.s("blocks", first=fmt(d.embed_rms), last=fmt(d.resid_rms[-1]), layers=d.num_layers, biggest=biggest,
                        part=self.s(f"part_{part}"), size=fmt(max(d.attn_rms[biggest], d.ffn_rms[biggest]))))

        # The final norm
        self.beat("final_norm")
        self.play(OpacityFadeIn(self.final_norm_line(d, stream)), run_time=0.6)
        self.say(self.s("final_norm", rms_in=fmt(d.final_rms_in), rms_out=fmt(d.final_rms_out)))

        # Next-token probabilities
        self.beat("logits")
        predictions = self.prediction_chart(d)
        self.play(OpacityFadeIn(predictions), run_time=0.8)
        self.say(self.next_caption(d))

        # Closing still
        self.beat("still")
        self.end_on_still()

    def next_caption(self, d: ForwardData) -> str:
        top = display_token(d.top_labels[0])
        if d.next_id is None:
            return self.s("logits_last", top=top, p=fmt(d.top_probs[0]), vocab=d.vocab_size)
        return self.s("logits_next", top=top, p=fmt(d.top_probs[0]), next=display_token(d.next_label), next_p=fmt(d.next_prob), rank=d.next_rank)

    def still(self):
        d = self.data
        stream = self.stream_chart(d, bar_width=2.4)
        left = Group(stream, self.final_norm_line(d, stream))
        figure = Group(left, self.prediction_chart(d, bar_width=2.2)).arrange(RIGHT, buff=0.7, aligned_edge=UP)
        takeaways = [
            self.s("take_stream", layers=d.num_layers, first=fmt(d.embed_rms), rms=fmt(d.resid_rms[-1])),
            self.s("take_final", rms=fmt(d.final_rms_out)),
            self.next_caption(d),
        ]
        return figure, takeaways
