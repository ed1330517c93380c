"""gqa: which query heads share each kv head, and what sharing saves in weights and KV cache."""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import scenes.kit  # noqa: F401
except ModuleNotFoundError:  # `manim scenes/gqa.py` in a checkout that is not pip-installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from manim import DOWN, LEFT, RIGHT, UP, Create, Group, Line, RoundedRectangle, VGroup

from scenes.data.gqa import BYTES_PER_VALUE, GQAData, gqa_data
from scenes.kit.animations import OpacityFadeIn, OpacityFadeOut
from scenes.kit import COMPONENT, BarChart, Heatmap, TraceScene, fmt, fmt_bytes, fmt_count, fmt_percent, text
from scenes.kit.style import GRID, MUTED, PANEL, SIZE_LABEL, SIZE_SMALL, TEXT

VARIANT_COLORS = {"MHA": COMPONENT["q"], "GQA": COMPONENT["v"], "MQA": COMPONENT["k"]}


class GQAScene(TraceScene):
    scene_id = "gqa"
    color = COMPONENT["v"]
    beats = ("claim", "groups", "patterns", "weights", "cache", "still")

    @classmethod
    def extract(cls, trace, focus, labeler=None) -> GQAData:
        return gqa_data(trace, focus)

    def claim_params(self):
        d = self.data
        return {"heads": d.num_heads, "kv_heads": d.num_kv_heads, "saving": fmt_percent(d.saving, 0)}

    def focus_parts(self):
        return {"layer": self.data.layer}

    def head_box(self, label: str, color: str, width: float = 0.9) -> VGroup:
        box = RoundedRectangle(corner_radius=0.08, width=width, height=0.5, stroke_color=color, stroke_width=2, fill_color=PANEL, fill_opacity=1)
        return VGroup(box, text(label, SIZE_SMALL, TEXT).move_to(box))

    def diagram(self, d: GQAData) -> VGroup:
        """Return kv-head boxes above their groups of query-head boxes, joined by lines."""
        queries = VGroup(*[self.head_box(f"q{h}", COMPONENT["q"]) for h in range(d.num_heads)]).arrange(RIGHT, buff=0.15)
        if queries.width > 12.5:
            queries.scale_to_fit_width(12.5)
        kv_boxes, links = VGroup(), VGroup()
        for g, members in enumerate(d.groups):
            members_group = VGroup(*[queries[h] for h in members])
            kv = self.head_box(f"k{g} v{g}", COMPONENT["k"], width=min(1.5, members_group.width))
            kv.next_to(members_group, UP, buff=0.9).set_x(members_group.get_x())
            kv_boxes.add(kv)
            for h in members:
                links.add(Line(kv.get_bottom(), queries[h].get_top(), stroke_color=GRID, stroke_width=2))
        return VGroup(links, kv_boxes, queries)

    def construct(self):
        d = self.data

        # Claim
        self.beat("claim")
        self.open_with_claim()

        # Which query heads read which kv head
        self.beat("groups")
        diagram = self.diagram(d).move_to([0, 1.6, 0])
        self.play(OpacityFadeIn(diagram[2]), run_time=0.6)
        self.play(OpacityFadeIn(diagram[1]), Create(diagram[0]), run_time=1.0)
        self.say(self.s("groups", heads=d.num_heads, kv_heads=d.num_kv_heads, group=d.group_size))

        # The trace: patterns of heads that share keys
        self.beat("patterns")
        thumbs = self.thumbnails(d)
        thumbs.next_to(diagram, DOWN, buff=0.25)
        self.play(OpacityFadeIn(thumbs), run_time=0.8)
        self.say(self.s("patterns", layer=d.layer, within=fmt(d.within_similarity), across=fmt(d.across_similarity)))

        # k_proj and v_proj weights
        self.beat("weights")
        self.play(OpacityFadeOut(diagram), OpacityFadeOut(thumbs), run_time=0.5)
        table = self.cost_table(d).move_to([0, 1.3, 0])
        self.play(OpacityFadeIn(table), run_time=0.8)
        mha, gqa = d.variant("MHA"), d.variant("GQA")
        self.say(self.s("weights", hidden=d.hidden_size, dim=d.head_dim, layers=d.num_layers, mha=fmt_count(mha.kv_params_total),
                        gqa=fmt_count(gqa.kv_params_total), saving=fmt_percent(d.saving, 0)))

        # KV cache at the full context
        self.beat("cache")
        bars = self.cache_bars(d).next_to(table, DOWN, buff=0.6)
        self.play(OpacityFadeIn(bars), run_time=0.8)
        self.say(self.s("cache", context=fmt_count(d.context), mha=fmt_bytes(mha.cache_bytes_context), gqa=fmt_bytes(gqa.cache_bytes_context),
                        mqa=fmt_bytes(d.variant("MQA").cache_bytes_context)))

        # Closing still
        self.beat("still")
        self.end_on_still()

    def thumbnails(self, d: GQAData) -> Group:
        """Return each query head's attention pattern in block `layer`, under its kv group."""
        cell = min(0.11, 1.3 / max(d.probs.shape[1], 1))
        groups = Group()
        for members in d.groups:
            maps = Group(*[Heatmap(d.probs[h], cell=cell) for h in members]).arrange(RIGHT, buff=0.1)
            groups.add(maps)
        groups.arrange(RIGHT, buff=0.45)
        if groups.width > 12.5:
            groups.scale_to_fit_width(12.5)
        return groups

    def cost_table(self, d: GQAData) -> VGroup:
        """Return a table: layout, kv heads, k/v weights per block and in total, KV cache per token."""
        header = [self.s("col_layout"), self.s("col_kv_heads"), self.s("col_per_layer"), self.s("col_total"), self.s("col_per_token")]
        rows = [header]
        for variant in d.variants:
            name = variant.name + (" " + self.s("this_model") if variant.name == "GQA" else "")
            rows.append([name, str(variant.kv_heads), fmt_count(variant.kv_params_per_layer), fmt_count(variant.kv_params_total),
                         fmt_bytes(variant.cache_bytes_per_token)])
        cells = [[text(value, SIZE_SMALL + 2, MUTED if r == 0 else (VARIANT_COLORS[d.variants[r - 1].name] if c == 0 else TEXT))
                  for c, value in enumerate(row)] for r, row in enumerate(rows)]
        widths = [max(cells[r][c].width for r in range(len(cells))) for c in range(len(header))]
        # The first column is left-aligned text, the others right-aligned numbers.
        table = VGroup()
        for r, row in enumerate(cells):
            x = 0.0
            for c, cell in enumerate(row):
                if c == 0:
                    cell.move_to([x, -0.5 * r, 0], aligned_edge=LEFT)
                else:
                    cell.move_to([x + widths[c], -0.5 * r, 0], aligned_edge=RIGHT)
                x += widths[c] + 0.6
                table.add(cell)
        rule = Line(table.get_left(), table.get_right(), stroke_color=GRID, stroke_width=1.5).next_to(VGroup(*cells[0]), DOWN, buff=0.12)
        table.add(rule)
        if table.width > 12.5:
            table.scale_to_fit_width(12.5)
        return table

    def cache_bars(self, d: GQAData) -> BarChart:
        """Return the KV cache size at the full context for each layout."""
        chart = BarChart([v.name for v in d.variants], [v.cache_bytes_context for v in d.variants],
                         [VARIANT_COLORS[v.name] for v in d.variants], bar_width=6.0, row_height=0.45, formatter=fmt_bytes,
                         label_size=SIZE_LABEL)
        heading = text(self.s("cache_heading", context=fmt_count(d.context), value_bytes=BYTES_PER_VALUE), SIZE_SMALL + 2, MUTED)
        heading.next_to(chart, UP, buff=0.15).align_to(chart, LEFT)
        chart.add(heading)
        return chart

    def still(self):
        # The table and bars are the message; a side panel would shrink them below legibility.
        d = self.data
        figure = Group(self.diagram(d), self.cost_table(d), self.cache_bars(d)).arrange(DOWN, buff=0.45)
        return figure, []
