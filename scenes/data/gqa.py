"""Data for the gqa scene: which query heads share a kv head, and what sharing saves."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import source
from .focus import Focus, check_index

BYTES_PER_VALUE = 2  # KV caches are usually kept in fp16 or bf16


@dataclass
class Variant:
    """One way to lay out the kv heads, with its cost."""

    name: str  # "MHA", "GQA" or "MQA"
    kv_heads: int
    kv_params_per_layer: int  # weights in k_proj + v_proj of one block
    kv_params_total: int  # over all blocks
    cache_bytes_per_token: int  # k and v of every block for one position, BYTES_PER_VALUE each
    cache_bytes_context: int  # the same for max_position_embeddings positions


@dataclass
class GQAData:
    """What the gqa scene draws."""

    layer: int  # block whose attention patterns are shown
    labels: list[str]
    hidden_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    context: int  # max_position_embeddings, the context length the cache sizes assume
    groups: list[list[int]]  # groups[g] = query heads that read kv head g
    variants: list[Variant]  # MHA, GQA (this model), MQA
    probs: np.ndarray  # (heads, T, T) recorded probs of `layer`
    within_similarity: float  # mean cosine similarity of patterns of heads sharing a kv head
    across_similarity: float  # the same for heads reading different kv heads

    @property
    def group_size(self) -> int:
        return self.num_heads // self.num_kv_heads

    def variant(self, name: str) -> Variant:
        return next(v for v in self.variants if v.name == name)

    @property
    def saving(self) -> float:
        """Fraction of MHA's kv weights and cache that this model's GQA saves."""
        return 1.0 - self.num_kv_heads / self.num_heads


def make_variant(name: str, kv_heads: int, hidden: int, head_dim: int, layers: int, context: int) -> Variant:
    """Return the kv parameter count and cache size of a layout with `kv_heads` kv heads."""
    per_layer = 2 * hidden * kv_heads * head_dim  # k_proj and v_proj, no bias
    per_token = 2 * layers * kv_heads * head_dim * BYTES_PER_VALUE
    return Variant(name, kv_heads, per_layer, per_layer * layers, per_token, per_token * context)


def pattern_similarity(probs: np.ndarray, groups: list[list[int]]) -> tuple[float, float]:
    """Return mean cosine similarity of attention patterns within kv groups and across them."""
    flat = probs.reshape(probs.shape[0], -1)
    unit = flat / np.maximum(np.linalg.norm(flat, axis=1, keepdims=True), 1e-30)
    similarity = unit @ unit.T
    group_of = {head: g for g, members in enumerate(groups) for head in members}
    within, across = [], []
    for a in range(len(flat)):
        for b in range(a + 1, len(flat)):
            (within if group_of[a] == group_of[b] else across).append(similarity[a, b])
    return (float(np.mean(within)) if within else float("nan"), float(np.mean(across)) if across else float("nan"))


def gqa_data(trace, focus: Focus = Focus()) -> GQAData:
    """Extract the gqa scene's values from `trace`; `focus.layer` picks the block (default 0)."""
    config = source.model_config(trace)
    layer = check_index(focus.layer, config.num_hidden_layers, "layer") if focus.layer is not None else 0
    H, KV, D = config.num_attention_heads, config.num_key_value_heads, config.head_dim
    hidden, layers, context = config.hidden_size, config.num_hidden_layers, config.max_position_embeddings
    group = H // KV
    groups = [list(range(g * group, (g + 1) * group)) for g in range(KV)]
    probs = source.site(trace, f"layers.{layer}.attn.probs")  # (H, T, S)
    within, across = pattern_similarity(probs, groups)
    variants = [
        make_variant("MHA", H, hidden, D, layers, context),
        make_variant("GQA", KV, hidden, D, layers, context),
        make_variant("MQA", 1, hidden, D, layers, context),
    ]
    return GQAData(
        layer=layer,
        labels=source.token_labels(trace),
        hidden_size=hidden,
        num_layers=layers,
        num_heads=H,
        num_kv_heads=KV,
        head_dim=D,
        context=context,
        groups=groups,
        variants=variants,
        probs=probs,
        within_similarity=within,
        across_similarity=across,
    )
