"""kv-cache: generation one token at a time, the cache growing, and why the causal mask aligns bottom-right."""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import scenes.kit  # noqa: F401
except ModuleNotFoundError:  # `manim scenes/curriculum/kv_cache.py` in a checkout that is not pip-installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np
from manim import DOWN, LEFT, RIGHT, UP, AnimationGroup, ChangeDecimalToValue, FadeIn, FadeOut, Group, Rectangle, VGroup

from scenes.curriculum.base import ExperimentScene
from scenes.curriculum.data.kv_cache import KVCacheData, kv_cache_data
from scenes.curriculum.plots import sci
from scenes.experiments import run_kv_cache
from scenes.kit import COMPONENT, Heatmap, display_token, fit_text, fmt, fmt_bytes, number, text
from scenes.kit.style import BACKGROUND, MUTED, SIZE_LABEL, SIZE_SMALL, TEXT

PROMPT_TOKENS = 8
NEW_TOKENS = 6
MATRIX_LEFT = -6.3
MATRIX_TOP = 2.4


class KVCacheScene(ExperimentScene):
    scene_id = "kv-cache"
    color = COMPONENT["k"]
    beats = ("claim", "prefill", "decode", "mask", "still")
    max_prompt_tokens = PROMPT_TOKENS
    focus_fields = {"layer": "num_hidden_layers", "head": "num_attention_heads"}

    def run_experiment(self, model, tokenizer):
        return run_kv_cache(model, tokenizer, prompt=self.experiment_prompt(), max_new_tokens=NEW_TOKENS,
                            layer=self.focus.get("layer", 0), head=self.focus.get("head", 0))

    def build(self, result) -> KVCacheData:
        return kv_cache_data(result, self.model.config.num_hidden_layers)

    def prompt_labels(self) -> list[str]:
        return self.data.prompt_labels

    def focus_parts(self):
        return {"layer": self.data.layer, "head": self.data.head}

    def cell(self) -> float:
        return min(0.36, 4.8 / len(self.data.labels))

    def full_matrix(self, d: KVCacheData) -> Heatmap:
        """Return every query row (prefill and steps) over every key, future keys masked, at the scene's fixed place."""
        heatmap = Heatmap(d.assembled, d.labels, d.labels, cell=self.cell(), kind="sequential", mask=~d.causal)
        heatmap.shift(RIGHT * (MATRIX_LEFT - heatmap.get_left()[0]) + UP * (MATRIX_TOP - heatmap.image.get_top()[1]))
        return heatmap

    def covers(self, heatmap: Heatmap, d: KVCacheData) -> list[VGroup]:
        """Return, per decoding step, background patches over its row and over its key's column above it."""
        cell = self.cell()
        corner = heatmap.image.get_corner(UP + LEFT)
        n = len(d.labels)
        patches = []
        for position in d.step_positions:
            # Patches overlap their neighbours slightly, so no seam shows between two covered rows.
            row = Rectangle(width=n * cell + 0.02, height=cell + 0.02, stroke_width=0, fill_color=BACKGROUND, fill_opacity=1)
            row.move_to(corner + np.array([n * cell / 2, -(position + 0.5) * cell, 0]))
            column = Rectangle(width=cell + 0.02, height=position * cell + 0.01, stroke_width=0, fill_color=BACKGROUND, fill_opacity=1)
            column.move_to(corner + np.array([(position + 0.5) * cell, -position * cell / 2, 0]))
            patches.append(VGroup(row, column))
        return patches

    def cache_panel(self, d: KVCacheData) -> VGroup:
        """Return the cache readouts: cached positions and bytes, as numbers that count up."""
        length = number(d.cache_lengths[0], decimals=0, size=SIZE_LABEL + 4, color=self.color)
        size = number(d.cache_lengths[0] * d.bytes_per_token, decimals=0, size=SIZE_LABEL + 4, color=self.color)
        rows = VGroup(
            VGroup(text(self.s("cache_length"), SIZE_LABEL, TEXT), length).arrange(RIGHT, buff=0.2),
            VGroup(text(self.s("cache_bytes"), SIZE_LABEL, TEXT), size).arrange(RIGHT, buff=0.2),
            text(self.s("per_token", bytes=fmt_bytes(d.bytes_per_token), layers=d.layers), SIZE_SMALL, MUTED),
            text(self.s("per_value", value_bytes=d.bytes_per_value), SIZE_SMALL, MUTED),
        ).arrange(DOWN, buff=0.2, aligned_edge=LEFT)
        rows.length, rows.size = length, size
        return rows

    def mask_pair(self, d: KVCacheData, cell: float = 0.34, direction=RIGHT) -> Group:
        """Return the second prefill chunk's masks: bottom-right (with its attention), then top-left."""
        queries = d.prompt_labels[d.chunk_split:]
        keys = d.prompt_labels
        right = Heatmap(d.chunk_probs, queries, keys, cell=cell, kind="sequential", mask=~d.chunk_mask)
        left = Heatmap(np.zeros_like(d.chunk_probs), queries, keys, cell=cell, kind="sequential", mask=~d.top_left_mask)
        for heatmap, content, color in ((right, self.s("mask_bottom_right", split=d.chunk_split), self.color),
                                        (left, self.s("mask_top_left"), MUTED)):
            heading = fit_text(content, SIZE_SMALL + 2, max(heatmap.width + 0.8, 3.0), color=color, max_lines=2)
            heatmap.add(heading.next_to(heatmap.col_labels, UP, buff=0.15).align_to(heatmap.image, LEFT))
        return Group(right, left).arrange(direction, buff=0.6, aligned_edge=UP if direction is RIGHT else LEFT)

    def construct(self):
        d = self.data
        prompt_length = len(d.prompt_labels)

        # Claim
        self.beat("claim")
        self.open_with_claim()

        # Prefill: the prompt in one pass, every key and value cached
        self.beat("prefill")
        matrix = self.full_matrix(d)
        patches = self.covers(matrix, d)
        for position in d.step_positions:
            matrix.row_labels[position].set_opacity(0)
            matrix.col_labels[position].set_opacity(0)
        panel = self.cache_panel(d).move_to([3.6, 1.6, 0], aligned_edge=LEFT).to_edge(RIGHT, buff=0.6)
        generated = VGroup(text(self.s("generated"), SIZE_LABEL, TEXT))
        generated.next_to(panel, DOWN, buff=0.5).align_to(panel, LEFT)
        self.play(FadeIn(matrix), *[FadeIn(p) for p in patches], FadeIn(panel), run_time=0.8)
        first = text(display_token(d.first_output), SIZE_LABEL, self.color).next_to(generated, DOWN, buff=0.15).align_to(generated, LEFT)
        generated.add(first)
        self.play(FadeIn(generated), run_time=0.5)
        self.say(self.s("prefill", tokens=prompt_length, layer=d.layer, head=d.head, first=display_token(d.first_output), p=fmt(d.first_output_prob)))

        # Decode: one query row per step over the growing cache
        self.beat("decode")
        for i, position in enumerate(d.step_positions):
            word = text(display_token(d.step_outputs[i]), SIZE_LABEL, self.color).next_to(generated[-1], RIGHT, buff=0.15)
            if word.get_right()[0] > 6.8:
                word.next_to(generated[1], DOWN, buff=0.15).align_to(generated[1], LEFT)
            generated.add(word)
            reveal = [FadeOut(patches[i]), matrix.row_labels[position].animate.set_opacity(1), matrix.col_labels[position].animate.set_opacity(1)]
            counters = [ChangeDecimalToValue(panel.length, d.cache_lengths[i + 1]),
                        ChangeDecimalToValue(panel.size, d.cache_lengths[i + 1] * d.bytes_per_token)]
            self.play(AnimationGroup(*reveal, *counters), run_time=0.6)
            self.play(FadeIn(word), run_time=0.3)
        self.say(self.s("decode", steps=len(d.step_positions), bytes=fmt_bytes(d.bytes_per_token), error=sci(d.step_probs_error, 2),
                        logits=sci(d.step_logits_error, 2)))

        # Several new queries at once: the mask aligns bottom-right
        self.beat("mask")
        self.play(FadeOut(matrix), FadeOut(panel), FadeOut(generated), run_time=0.5)
        masks = self.mask_pair(d, cell=0.55).move_to([0, 0.4, 0])
        self.play(FadeIn(masks), run_time=0.8)
        self.say(self.s("mask", split=d.chunk_split, queries=prompt_length - d.chunk_split, keys=prompt_length,
                        error=sci(d.chunked_logits_error, 2)))

        # Closing still
        self.beat("still")
        self.end_on_still()

    def still(self):
        d = self.data
        matrix = Heatmap(d.assembled, d.labels, d.labels, cell=0.3, kind="sequential", mask=~d.causal)
        masks = self.mask_pair(d, cell=0.3, direction=DOWN)
        figure = Group(matrix, masks).arrange(RIGHT, buff=0.6, aligned_edge=UP)
        takeaways = [
            self.s("take_cache", bytes=fmt_bytes(d.bytes_per_token), layers=d.layers, value_bytes=d.bytes_per_value),
            self.s("take_step", error=sci(d.step_probs_error, 2)),
            self.s("take_mask", split=d.chunk_split),
            self.s("take_chunked", error=sci(d.chunked_logits_error, 2)),
        ]
        return figure, takeaways
