"""moe: router probabilities per token, the expert each token is sent to, and how the load spreads."""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import scenes.kit  # noqa: F401
except ModuleNotFoundError:  # `manim scenes/curriculum/moe.py` in a checkout that is not pip-installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from manim import LEFT, RIGHT, UP, Create, FadeIn, Group, VGroup

from scenes.curriculum.base import ExperimentScene
from scenes.curriculum.data.moe import MoEData, moe_data
from scenes.experiments import build_moe_model, run_moe
from scenes.kit import COMPONENT, Heatmap, fit_text, fmt, text
from scenes.kit.style import HIGHLIGHT, SIZE_SMALL, TEXT

MAX_TOKENS = 16
TRAIN_STEPS = 0  # the MoE copy's router stays as seeded; training it costs seconds per step


class MoEScene(ExperimentScene):
    scene_id = "moe"
    color = COMPONENT["ffn"]
    beats = ("claim", "router", "load", "still")
    max_prompt_tokens = MAX_TOKENS
    focus_fields = {"layer": "num_hidden_layers"}

    def run_experiment(self, model, tokenizer):
        moe = model if model.config.use_moe else build_moe_model(model, train_steps=TRAIN_STEPS)
        self.built_copy = not model.config.use_moe
        return run_moe(moe, tokenizer, prompt=self.experiment_prompt())

    def build(self, result) -> MoEData:
        layers = [routing.layer for routing in result.layers]
        layer = self.focus.get("layer", layers[0])
        if layer not in layers:
            layer = layers[0]
        return moe_data(result, layer, TRAIN_STEPS if self.built_copy else None)

    def prompt_labels(self) -> list[str]:
        return self.data.labels

    def focus_parts(self):
        return {"layer": self.data.layer}

    def input_line(self) -> str:
        line = super().input_line()
        if self.built_copy:
            line += "   " + self.s("source_copy", experts=self.data.num_experts)
        return line

    def claim_params(self):
        return {"k": self.data.top_k}

    def expert_names(self) -> list[str]:
        return [self.s("expert", index=e) for e in range(self.data.num_experts)]

    def router_map(self, d: MoEData, cell: float) -> Heatmap:
        """Return tokens (rows) by experts (columns) of router probability."""
        heatmap = Heatmap(d.router_probs, d.labels, self.expert_names(), cell=cell, cell_width=cell * 2.2, kind="sequential",
                          vmax=float(d.router_probs.max()))
        heading = fit_text(self.s("router_heading", layer=d.layer), SIZE_SMALL + 2, max(heatmap.width, 3.5), color=TEXT, max_lines=2)
        heading.next_to(heatmap.col_labels, UP, buff=0.15).align_to(heatmap.image, LEFT)
        heatmap.add(heading)
        return heatmap

    @staticmethod
    def choice_boxes(heatmap: Heatmap, d: MoEData) -> VGroup:
        """Return an outline on each token's chosen experts, where `heatmap` is now (build it after moving the map)."""
        return VGroup(*[heatmap.cell_box(t, int(e), color=HIGHLIGHT, width=2.5) for t in range(len(d.labels)) for e in d.expert_ids[t]])

    def load_map(self, d: MoEData, cell: float) -> Group:
        """Return blocks (rows) by experts (columns) of token choices, each cell printed with its count."""
        rows = [self.k("layer_short", value=layer) for layer in d.layers]
        total = len(d.labels) * d.top_k
        heatmap = Heatmap(d.load / total, rows, self.expert_names(), cell=cell, cell_width=cell * 1.6, kind="sequential")
        counts = VGroup()
        for r in range(d.load.shape[0]):
            for e in range(d.load.shape[1]):
                share = d.load[r, e] / total
                counts.add(text(str(int(d.load[r, e])), SIZE_SMALL, "#101319" if share > 0.6 else TEXT).move_to(heatmap.cell_center(r, e)))
        heading = fit_text(self.s("load_heading", tokens=len(d.labels)), SIZE_SMALL + 2, max(heatmap.width, 3.5), color=TEXT, max_lines=2)
        heading.next_to(heatmap.col_labels, UP, buff=0.15).align_to(heatmap.image, LEFT)
        return Group(heatmap, counts, heading)

    def cell(self) -> float:
        return min(0.32, 5.2 / len(self.data.labels))

    def construct(self):
        d = self.data
        expert, count = d.busiest

        # Claim
        self.beat("claim")
        self.open_with_claim()

        # The router's probabilities and each token's choice
        self.beat("router")
        router = self.router_map(d, self.cell())
        router.move_to([-2.8, 0.35, 0])
        boxes = self.choice_boxes(router, d)
        self.play(FadeIn(router), run_time=0.8)
        self.play(Create(boxes), run_time=0.8)
        self.say(self.s("router", layer=d.layer, experts=d.num_experts, k=d.top_k, p_min=fmt(d.top_prob.min()), p_max=fmt(d.top_prob.max()),
                        w_min=fmt(d.expert_weights[:, 0].min()), w_max=fmt(d.expert_weights[:, 0].max())))

        # Where the tokens went, block by block
        self.beat("load")
        load = self.load_map(d, 0.5)
        load.next_to(router, RIGHT, buff=1.2).align_to(router, UP)
        self.play(FadeIn(load), run_time=0.8)
        caveat = self.s("caveat") if d.trained_steps == 0 else ""
        self.say(self.s("load", layer=d.layer, expert=expert, count=count, tokens=len(d.labels), caveat=caveat))

        # Closing still
        self.beat("still")
        self.end_on_still()

    def still(self):
        d = self.data
        expert, count = d.busiest
        router = self.router_map(d, min(0.28, 4.6 / len(d.labels)))
        load = self.load_map(d, 0.42)
        figure = Group(router, self.choice_boxes(router, d), load)
        load.next_to(router, RIGHT, buff=0.8).align_to(router, UP)
        takeaways = [
            self.s("take_topk_shared" if d.shared_experts else "take_topk", k=d.top_k, experts=d.num_experts, shared=d.shared_experts),
            self.s("take_busiest", layer=d.layer, expert=expert, count=count, tokens=len(d.labels)),
            self.s("take_prob", p_min=fmt(d.top_prob.min()), p_max=fmt(d.top_prob.max())),
        ]
        if d.trained_steps == 0:
            takeaways.append(self.s("take_untrained"))
        return figure, takeaways
