"""residual-stream: the last token's stream block by block, and how much each sublayer's addition makes up of it."""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import scenes.kit  # noqa: F401
except ModuleNotFoundError:  # `manim scenes/curriculum/residual_stream.py` in a checkout that is not pip-installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from manim import LEFT, RIGHT, UP, Create, FadeIn, FadeOut, Group, VGroup

from scenes.curriculum.base import ExperimentScene
from scenes.curriculum.data.residual_stream import ResidualStreamData, residual_stream_data
from scenes.experiments import run_residual_stream
from scenes.kit import COMPONENT, BarChart, display_token, fit_text, fmt, fmt_percent, text
from scenes.kit.style import SIZE_SMALL, TEXT

PART_COLORS = {"embed": COMPONENT["residual"], "attn": COMPONENT["probs"], "ffn": COMPONENT["ffn"]}
TOP_K = 5


def share_text(share: float) -> str:
    """Format a share as a percentage; below 10% with two significant digits, so a tiny share never prints as 0%."""
    if abs(share) < 0.1:
        return f"{fmt(100 * share, 2)}%"
    return fmt_percent(share, 0)


class ResidualStreamScene(ExperimentScene):
    scene_id = "residual-stream"
    color = COMPONENT["residual"]
    beats = ("claim", "stream", "parts", "output", "still")

    def run_experiment(self, model, tokenizer):
        return run_residual_stream(model, tokenizer, prompt=self.experiment_prompt(), top_k=TOP_K)

    def build(self, result) -> ResidualStreamData:
        return residual_stream_data(result)

    def prompt_labels(self) -> list[str]:
        return self.data.labels

    def focus_parts(self):
        d = self.data
        return {"token": f"{d.token} “{display_token(d.labels[d.token])}”"}

    def part_label(self, name: str) -> str:
        """Return a part name ("embed", "attn 2", "ffn 0") in the scene's language."""
        kind, _, layer = name.partition(" ")
        return self.s(f"part_{kind}", layer=layer)

    def stream_chart(self, d: ResidualStreamData, bar_width: float = 3.6) -> VGroup:
        """Return the token's stream norm as an embedding and after each block."""
        labels = [self.s("row_embed")] + [self.s("row_block", layer=i) for i in range(d.layers)]
        chart = BarChart(labels, d.stream_norm, self.color, bar_width=bar_width, row_height=0.42, label_size=SIZE_SMALL + 2)
        heading = text(self.s("stream_heading"), SIZE_SMALL + 2, TEXT).next_to(chart, UP, buff=0.25).align_to(chart.label_texts, LEFT)
        group = VGroup(heading, chart)
        group.chart = chart
        return group

    def share_chart(self, d: ResidualStreamData, bar_width: float = 3.2) -> VGroup:
        """Return each part's share of the last block's output; shares may be negative and sum to 1."""
        colors = [PART_COLORS[name.split(" ")[0]] for name in d.part_names]
        labels = [self.part_label(name) for name in d.part_names]
        row_height = min(0.34, 4.4 / len(labels))
        chart = BarChart(labels, d.final_share, colors, bar_width=bar_width, row_height=row_height, formatter=share_text, label_size=SIZE_SMALL)
        heading = fit_text(self.s("share_heading"), SIZE_SMALL + 2, bar_width + 2.0, color=TEXT, max_lines=2)
        heading.next_to(chart, UP, buff=0.25).align_to(chart.label_texts, LEFT)
        group = VGroup(heading, chart)
        group.chart = chart
        return group

    def next_chart(self, d: ResidualStreamData) -> VGroup:
        """Return the model's most probable next tokens after the prompt."""
        labels = [display_token(label) for label in d.top_labels]
        chart = BarChart(labels, d.top_probs, COMPONENT["logits"], bar_width=3.0, row_height=0.42, formatter=lambda p: fmt(p),
                         label_size=SIZE_SMALL + 2)
        heading = text(self.s("next_heading", token=display_token(d.labels[d.token])), SIZE_SMALL + 2, TEXT)
        heading.next_to(chart, UP, buff=0.25).align_to(chart.label_texts, LEFT)
        return VGroup(heading, chart)

    def construct(self):
        d = self.data
        token = display_token(d.labels[d.token])
        largest = d.largest_part

        # Claim
        self.beat("claim")
        self.open_with_claim()

        # The stream's size after each block
        self.beat("stream")
        stream = self.stream_chart(d)
        stream.move_to([-3.4, 0.6, 0])
        self.play(FadeIn(stream[0]), FadeIn(stream.chart.label_texts), FadeIn(stream.chart.baseline), run_time=0.5)
        self.play(*[Create(bar) for bar in stream.chart.bars], FadeIn(stream.chart.value_texts), run_time=1.2)
        self.say(self.s("stream", token=token, hidden=d.hidden_size, embed=fmt(d.stream_norm[0]), last=fmt(d.stream_norm[-1]), layers=d.layers))

        # What each sublayer contributed to the final stream
        self.beat("parts")
        shares = self.share_chart(d)
        shares.move_to([3.3, 0.5, 0])
        self.play(FadeIn(shares[0]), FadeIn(shares.chart.label_texts), FadeIn(shares.chart.baseline), run_time=0.5)
        self.play(*[Create(bar) for bar in shares.chart.bars], FadeIn(shares.chart.value_texts), run_time=1.2)
        self.say(self.s("parts", total=fmt(float(d.final_share.sum()), 4), part=self.part_label(d.part_names[largest]),
                        share=share_text(d.final_share[largest])))

        # The final norm and the next-token probabilities
        self.beat("output")
        self.play(FadeOut(stream), run_time=0.4)
        after = self.next_chart(d).move_to([-3.4, 0.6, 0])
        self.play(FadeIn(after), run_time=0.8)
        self.say(self.s("output", rms_in=fmt(d.final_rms_in), rms_out=fmt(d.final_rms_out), top=display_token(d.top_labels[0]),
                        p=fmt(d.top_probs[0])))

        # Closing still
        self.beat("still")
        self.end_on_still()

    def still(self):
        d = self.data
        largest = d.largest_part
        stream = self.stream_chart(d, bar_width=2.6)
        shares = self.share_chart(d, bar_width=2.4)
        figure = Group(stream, shares).arrange(RIGHT, buff=0.8, aligned_edge=UP)
        takeaways = [
            self.s("take_stream", embed=fmt(d.stream_norm[0]), last=fmt(d.stream_norm[-1]), layers=d.layers),
            self.s("take_parts", part=self.part_label(d.part_names[largest]), share=share_text(d.final_share[largest])),
            self.s("take_final", rms_in=fmt(d.final_rms_in), rms_out=fmt(d.final_rms_out)),
            self.s("take_next", top=display_token(d.top_labels[0]), p=fmt(d.top_probs[0])),
        ]
        return figure, takeaways
