"""rope-basics: without positions attention is blind to order; with RoPE, q . k depends on m - n only."""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import scenes.kit  # noqa: F401
except ModuleNotFoundError:  # `manim scenes/curriculum/rope_basics.py` in a checkout that is not pip-installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from manim import DOWN, LEFT, UP, ChangeDecimalToValue, Create, FadeIn, FadeOut, FadeTransform, Group, VGroup

from scenes.curriculum.base import ExperimentScene
from scenes.curriculum.data.rope_basics import RopeBasicsData, rope_basics_data
from scenes.curriculum.plots import sci, text_table
from scenes.experiments import run_rope_basics
from scenes.kit import COMPONENT, Heatmap, display_token, fmt, number, text
from scenes.kit.style import HIGHLIGHT, MUTED, SIZE_LABEL, SIZE_SMALL, TEXT

CELL = 0.48


class RopeBasicsScene(ExperimentScene):
    scene_id = "rope-basics"
    color = COMPONENT["q"]
    beats = ("claim", "no_rope", "shuffle", "rope_on", "relative", "still")
    max_prompt_tokens = 8  # distinct tokens, see experiment_prompt
    focus_fields = {"head": "num_attention_heads"}

    def run_experiment(self, model, tokenizer):
        return run_rope_basics(model, tokenizer, prompt=self.experiment_prompt(), head=self.focus.get("head", 0))

    def experiment_prompt(self) -> list[int]:
        # Distinct tokens first, then the first eight: a repeated token would make the shuffle prove less.
        ids = list(dict.fromkeys(self.prompt_token_ids()))
        return ids[: self.max_prompt_tokens]

    def build(self, result) -> RopeBasicsData:
        return rope_basics_data(result)

    def prompt_labels(self) -> list[str]:
        return self.data.labels

    def tokens_used(self, count: int) -> str:
        return self.s("tokens_used", count=count)

    def focus_parts(self):
        return {"layer": 0, "head": self.data.head}

    def matrix(self, values, rows: list[str], heading: str, cell: float, columns: bool) -> Heatmap:
        """Return a score heatmap, labelled by token, on the scene's shared colour scale.

        Keys come in the same order as queries, so the column labels may be left out.
        """
        heatmap = Heatmap(values, rows, rows if columns else None, cell=cell, kind="diverging", limit=self.data.limit,
                          label_size=SIZE_SMALL + 2)
        return heatmap.label_left(heading, TEXT)

    def matrices(self, d: RopeBasicsData, cell: float = CELL, columns: bool = True) -> tuple[Heatmap, Heatmap]:
        """Return the scores with RoPE off in the original and in the shuffled order, side by side."""
        original = self.matrix(d.scores, d.labels, self.s("heading_original"), cell, columns)
        shuffled = self.matrix(d.scores_permuted, d.permuted_labels, self.s("heading_shuffled"), cell, columns)
        original.move_to([-3.3, 0.5, 0])
        shuffled.move_to([3.3, 0.5, 0])
        shuffled.shift(UP * (original.image.get_top()[1] - shuffled.image.get_top()[1]))
        return original, shuffled

    def relative_table(self, d: RopeBasicsData) -> VGroup:
        """Return the score of q at n + (m - n) and k at n: one row per n, one column per m - n."""
        rows = [["n \\ m − n"] + [str(offset) for offset in d.offsets]]
        rows += [[str(start)] + [fmt(value) for value in row] for start, row in zip(d.starts, d.relative_table)]
        table = text_table(rows, size=SIZE_LABEL, row_height=0.44, column_gap=0.5)
        heading = text(self.s("table_heading", query=display_token(d.query_label), key_token=display_token(d.key_label)), SIZE_SMALL + 2, MUTED)
        heading.next_to(table, UP, buff=0.25).align_to(table, LEFT)
        table.add(heading)
        return table

    def construct(self):
        d = self.data
        query, key = d.follow
        new_query, new_key = d.follow_permuted

        # Claim
        self.beat("claim")
        self.open_with_claim()

        # Scores without RoPE
        self.beat("no_rope")
        original, shuffled = self.matrices(d)
        box = original.cell_box(query, key)
        self.play(FadeIn(original), run_time=0.8)
        self.play(Create(box), run_time=0.4)
        self.say(self.s("no_rope", head=d.head, tokens=len(d.labels)))

        # Shuffle the tokens: the scores move with them
        self.beat("shuffle")
        new_box = shuffled.cell_box(new_query, new_key)
        readout_left = number(d.scores[query, key], decimals=3, size=SIZE_LABEL, color=HIGHLIGHT).next_to(original, DOWN, buff=0.25)
        readout_right = number(d.scores_permuted[new_query, new_key], decimals=3, size=SIZE_LABEL, color=HIGHLIGHT).next_to(shuffled, DOWN, buff=0.25)
        self.play(FadeIn(shuffled), run_time=0.8)
        self.play(FadeTransform(box.copy(), new_box), FadeIn(readout_left), FadeIn(readout_right), run_time=0.8)
        self.say(self.s("shuffle", error=sci(d.equivariance_error)))

        # Switch RoPE on: the same shuffle now changes the scores
        self.beat("rope_on")
        old_left, new_left = original.recolor(d.scores_rope, "diverging", limit=d.limit)
        old_right, new_right = shuffled.recolor(d.scores_rope_permuted, "diverging", limit=d.limit)
        self.play(FadeOut(old_left), FadeIn(new_left), FadeOut(old_right), FadeIn(new_right),
                  self.retitle(original, self.s("heading_original_rope")), self.retitle(shuffled, self.s("heading_shuffled_rope")),
                  ChangeDecimalToValue(readout_left, d.scores_rope[query, key]),
                  ChangeDecimalToValue(readout_right, d.scores_rope_permuted[new_query, new_key]), run_time=1.2)
        self.bring_to_front(box, new_box)
        self.say(self.s("rope_on", error=fmt(d.rope_equivariance_error)))

        # Move one query and one key around: only m - n matters
        self.beat("relative")
        self.play(*[FadeOut(m) for m in (original, shuffled, box, new_box, readout_left, readout_right)], run_time=0.5)
        table = self.relative_table(d).move_to([0, 0.3, 0])
        self.play(FadeIn(table), run_time=0.8)
        self.say(self.s("relative", spread=sci(d.relative_spread), unrotated=fmt(d.unrotated_score)))

        # Closing still
        self.beat("still")
        self.end_on_still()

    def retitle(self, heatmap: Heatmap, content: str):
        """Return the animation that replaces the heatmap's heading with `content`."""
        new = text(content, SIZE_LABEL, TEXT).move_to(heatmap.heading, aligned_edge=LEFT)
        old = heatmap.heading
        heatmap.remove(old)
        heatmap.add(new)
        heatmap.heading = new
        return FadeTransform(old, new)

    def still(self):
        d = self.data
        original, shuffled = self.matrices(d, cell=0.3, columns=False)
        query, key = d.follow
        boxes = VGroup(original.cell_box(query, key), shuffled.cell_box(*d.follow_permuted))
        pair = Group(original, shuffled, boxes)
        table = self.relative_table(d).next_to(pair, DOWN, buff=0.5)
        figure = Group(pair, table)
        takeaways = [
            self.s("take_equivariant", error=sci(d.equivariance_error)),
            self.s("take_rope", error=fmt(d.rope_equivariance_error)),
            self.s("take_relative", spread=sci(d.relative_spread)),
        ]
        return figure, takeaways
