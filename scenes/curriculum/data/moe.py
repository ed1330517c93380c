"""Data for the moe scene: one layer's router probabilities and chosen experts, and every layer's load."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scenes.experiments import MoEResult


@dataclass
class MoEData:
    """Routing of every prompt token in the focus layer, and expert load in all layers."""

    layer: int
    layers: list[int]  # the MoE layers, in order
    num_experts: int
    top_k: int
    shared_experts: int
    labels: list[str]
    router_probs: np.ndarray  # (T, E) focus layer
    expert_ids: np.ndarray  # (T, k) chosen experts, highest weight first
    expert_weights: np.ndarray  # (T, k)
    load: np.ndarray  # (L, E) token choices per expert in every MoE layer
    trained_steps: int | None  # training steps of an MoE copy built from a dense model (0: router as seeded); None for a real MoE model

    @property
    def busiest(self) -> tuple[int, int]:
        """(expert, count) of the focus layer's most chosen expert."""
        row = self.load[self.layers.index(self.layer)]
        return int(np.argmax(row)), int(row.max())

    @property
    def top_prob(self) -> np.ndarray:
        """(T,) the router probability of each token's first choice."""
        return self.router_probs[np.arange(len(self.labels)), self.expert_ids[:, 0]]


def moe_data(result: MoEResult, layer: int, trained_steps: int | None) -> MoEData:
    """Select the focus layer (one of the MoE layers) and stack every layer's load."""
    layers = [routing.layer for routing in result.layers]
    routing = result.layers[layers.index(layer)]
    return MoEData(
        layer=layer,
        layers=layers,
        num_experts=result.num_experts,
        top_k=result.top_k,
        shared_experts=result.shared_experts,
        labels=result.token_labels,
        router_probs=routing.router_probs,
        expert_ids=routing.expert_ids,
        expert_weights=routing.expert_weights,
        load=result.total_load,
        trained_steps=trained_steps,
    )
