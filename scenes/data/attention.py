"""Data for the attention scene: one head's scores, causal mask, softmax and weighted sum of V."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import source
from .focus import Focus, check_index, content_positions

MAX_TOKENS = 20  # the most positions a heatmap shows legibly at 720p; longer traces show a window ending at the query


@dataclass
class AttentionData:
    """What the attention scene draws, restricted to positions `start .. start + len(labels) - 1`.

    Matrices are (window, window) with rows as queries and columns as keys.
    """

    layer: int
    head: int
    kv_head: int
    query: int  # focus query position, absolute
    start: int  # first position in the window
    n_tokens: int  # positions in the whole trace
    labels: list[str]  # labels of the window's tokens
    head_dim: int
    q: np.ndarray  # (window, D) recorded q_rot of `head`
    k: np.ndarray  # (window, D) recorded k_rot of `kv_head`
    v: np.ndarray  # (window, D) recorded v of `kv_head`
    raw: np.ndarray  # (window, window) q k^T, computed here from the recorded q_rot and k_rot
    scores: np.ndarray  # (window, window) recorded scores: raw / sqrt(D), before the mask
    allowed: np.ndarray  # (window, window) bool, True where the causal mask lets the query see the key
    probs: np.ndarray  # (window, window) recorded probs after mask and softmax
    outside_mass: float  # probability the query row puts on keys before the window
    head_out: np.ndarray  # (D,) recorded heads[query, head]
    weighted_v: np.ndarray  # (D,) sum_j probs[query, j] * v_j over all keys, computed here

    @property
    def row(self) -> int:
        """The focus query's row inside the window."""
        return self.query - self.start

    @property
    def scale(self) -> float:
        return float(1.0 / np.sqrt(self.head_dim))

    @property
    def top_key(self) -> int:
        """Column of the key the focus query attends to most, inside the window."""
        return int(np.argmax(self.probs[self.row]))


def focus_score(probs: np.ndarray, labels: list[str]) -> tuple[float, int]:
    """Score one head's pattern (query, key): how sharply its queries pick one earlier content token.

    Returns (score, best query): the mean over queries of the largest probability on an earlier
    content key (the diagonal and special tokens excluded, since nearly every head parks mass
    there), and the query where that probability peaks.
    """
    content = set(content_positions(labels))
    best_query, best_value, total, counted = len(labels) - 1, -1.0, 0.0, 0
    for query in range(len(labels)):
        keys = [k for k in range(query) if k in content]
        if query not in content or not keys:
            continue
        value = float(max(probs[query, k] for k in keys))
        total += value
        counted += 1
        if value > best_value:
            best_query, best_value = query, value
    return (total / counted if counted else 0.0), best_query


def pick_focus(trace, focus: Focus) -> tuple[int, int, int]:
    """Return (layer, head, query): by default the head with the sharpest earlier-token attention."""
    config = source.model_config(trace)
    labels = source.token_labels(trace)
    layers = [check_index(focus.layer, config.num_hidden_layers, "layer")] if focus.layer is not None else range(config.num_hidden_layers)
    heads = [check_index(focus.head, config.num_attention_heads, "head")] if focus.head is not None else range(config.num_attention_heads)
    best = None
    for layer in layers:
        probs = source.site(trace, f"layers.{layer}.attn.probs")  # (H, T, S)
        for head in heads:
            score, query = focus_score(probs[head], labels)
            if best is None or score > best[0]:
                best = (score, layer, head, query)
    _, layer, head, query = best
    if focus.token is not None:
        query = check_index(focus.token, len(labels), "token")
    return layer, head, query


def attention_data(trace, focus: Focus = Focus()) -> AttentionData:
    """Extract the attention scene's values from `trace`."""
    config = source.model_config(trace)
    layer, head, query = pick_focus(trace, focus)
    labels = source.token_labels(trace)
    kv_head = head // config.queries_per_kv_head
    prefix = f"layers.{layer}.attn"

    q_all = source.site(trace, f"{prefix}.q_rot")[:, head]  # (T, D)
    k_all = source.site(trace, f"{prefix}.k_rot")[:, kv_head]  # (T, D)
    v_all = source.site(trace, f"{prefix}.v")[:, kv_head]  # (T, D)
    scores_all = source.site(trace, f"{prefix}.scores")[head]  # (T, T)
    probs_all = source.site(trace, f"{prefix}.probs")[head]  # (T, T)
    n = len(labels)

    start = max(0, query + 1 - MAX_TOKENS) if n > MAX_TOKENS else 0
    stop = min(n, start + MAX_TOKENS)
    window = slice(start, stop)
    positions = np.arange(start, stop)
    return AttentionData(
        layer=layer,
        head=head,
        kv_head=kv_head,
        query=query,
        start=start,
        n_tokens=n,
        labels=labels[window],
        head_dim=config.head_dim,
        q=q_all[window],
        k=k_all[window],
        v=v_all[window],
        raw=q_all[window] @ k_all[window].T,
        scores=scores_all[window, window],
        allowed=positions[None, :] <= positions[:, None],
        probs=probs_all[window, window],
        outside_mass=float(probs_all[query, :start].sum()),
        head_out=source.site(trace, f"{prefix}.heads")[query, head],
        weighted_v=probs_all[query] @ v_all,
    )
