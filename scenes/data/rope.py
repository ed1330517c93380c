"""Data for the rope-rotation scene: one head's query and key, pair by pair, before and after RoPE."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minimind.rope import inv_freq

from . import source
from .focus import Focus, check_index, content_positions


@dataclass
class RopeRotationData:
    """What the rope-rotation scene draws. Pair i is dimensions (i, i + D/2) of one head."""

    layer: int
    head: int  # query head
    kv_head: int  # the kv head this query head reads (head // group size)
    query: int  # query position m
    key: int  # key position n: the earlier token this head attends to most from m
    labels: list[str]
    head_dim: int
    rope_theta: float
    pairs: list[int]  # pair indices shown: fastest, a middle one, slowest
    inv_freq: np.ndarray  # (D/2,) theta_i, from the config (YaRN-scaled when it is on)
    attention_factor: float  # scale on cos and sin (1 unless YaRN sets it)
    q_before: np.ndarray  # (pairs, 2) recorded q_normed[m, head] at each pair
    q_after: np.ndarray  # (pairs, 2) recorded q_rot[m, head]
    k_before: np.ndarray  # (pairs, 2) recorded k_normed[n, kv_head]
    k_after: np.ndarray  # (pairs, 2) recorded k_rot[n, kv_head]
    prob: float  # recorded probs[head, m, n]
    q_vector: np.ndarray  # (D,) recorded q_normed[m, head], the whole query before rotation
    k_vector: np.ndarray  # (D,) recorded k_normed[n, kv_head]

    @property
    def q_angles(self) -> np.ndarray:
        """Rotation of each shown pair at the query position: m * theta_i (radians)."""
        return self.query * self.inv_freq[self.pairs]

    @property
    def k_angles(self) -> np.ndarray:
        """Rotation of each shown pair at the key position: n * theta_i (radians)."""
        return self.key * self.inv_freq[self.pairs]

    @property
    def periods(self) -> np.ndarray:
        """Tokens per full turn of each shown pair: 2 pi / theta_i."""
        return 2 * np.pi / self.inv_freq[self.pairs]

    def pair_dots(self) -> tuple[np.ndarray, np.ndarray]:
        """Return each pair's q . k before and after rotation; after depends on m - n only."""
        before = np.sum(self.q_before * self.k_before, axis=1)
        after = np.sum(self.q_after * self.k_after, axis=1)
        return before, after


def shown_pairs(head_dim: int) -> list[int]:
    """Return the pairs to draw: 0 (fastest), D/8 (a middle speed) and D/2 - 1 (slowest), without repeats."""
    half = head_dim // 2
    return sorted({0, max(half // 4, 1) if half > 2 else 0, half - 1})


def pick_focus(trace, focus: Focus) -> tuple[int, int, int]:
    """Return (layer, head, query): by default block 0, head 0 and the last token."""
    config = source.model_config(trace)
    labels = source.token_labels(trace)
    layer = check_index(focus.layer, config.num_hidden_layers, "layer") if focus.layer is not None else 0
    head = check_index(focus.head, config.num_attention_heads, "head") if focus.head is not None else 0
    query = check_index(focus.token, len(labels), "token") if focus.token is not None else len(labels) - 1
    return layer, head, query


def rope_rotation_data(trace, focus: Focus = Focus()) -> RopeRotationData:
    """Extract the rope-rotation scene's values from `trace`."""
    config = source.model_config(trace)
    layer, head, query = pick_focus(trace, focus)
    labels = source.token_labels(trace)
    kv_head = head // config.queries_per_kv_head
    D = config.head_dim
    half = D // 2
    prefix = f"layers.{layer}.attn"

    # The key: the most-attended earlier content token (the query itself when it is the first).
    probs = source.site(trace, f"{prefix}.probs")[head, query]  # (S,)
    earlier = [i for i in content_positions(labels) if i < query] or [query]
    key = max(earlier, key=lambda i: probs[i])

    freqs, attention_factor = inv_freq(D, config.rope_theta, config.max_position_embeddings, config.rope_scaling)
    pairs = shown_pairs(D)

    def pair_values(name: str, position: int, index: int) -> np.ndarray:
        vector = source.site(trace, f"{prefix}.{name}")[position, index]  # (D,)
        return np.stack([[vector[i], vector[i + half]] for i in pairs])

    return RopeRotationData(
        layer=layer,
        head=head,
        kv_head=kv_head,
        query=query,
        key=key,
        labels=labels,
        head_dim=D,
        rope_theta=float(config.rope_theta),
        pairs=pairs,
        inv_freq=freqs.double().numpy(),
        attention_factor=float(attention_factor),
        q_before=pair_values("q_normed", query, head),
        q_after=pair_values("q_rot", query, head),
        k_before=pair_values("k_normed", key, kv_head),
        k_after=pair_values("k_rot", key, kv_head),
        prob=float(probs[key]),
        q_vector=source.site(trace, f"{prefix}.q_normed")[query, head],
        k_vector=source.site(trace, f"{prefix}.k_normed")[key, kv_head],
    )
