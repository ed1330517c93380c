"""Data for the forward scene: one token from embedding through every block to its next-token probabilities."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from . import source
from .focus import Focus, check_index

TOP_K = 5

Labeler = Callable[[Sequence[int]], list[str]]


@dataclass
class ForwardData:
    """What the forward scene draws. RMS values are root mean squares over hidden_size."""

    token: int
    labels: list[str]
    token_id: int
    embedding: np.ndarray  # (hidden,) recorded embed[token]
    embed_rms: float  # RMS of `embedding`
    resid_rms: list[float]  # RMS of the recorded resid_post of each block
    attn_rms: list[float]  # RMS of each block's attention output (what it adds to the stream)
    ffn_rms: list[float]  # RMS of each block's feed-forward output
    final_rms_in: float  # recorded final_norm.rms_in
    final_rms_out: float  # recorded final_norm.rms_out
    top_ids: list[int]  # the TOP_K most likely next tokens, most likely first
    top_labels: list[str]
    top_logits: list[float]  # recorded logits of those tokens
    top_probs: list[float]  # softmax over the whole recorded logits row, at those tokens
    next_id: int | None  # the token that really follows in the prompt, None for the last token
    next_label: str | None
    next_prob: float | None  # its probability
    next_rank: int | None  # its rank among all vocab entries, 1 = most likely
    vocab_size: int

    @property
    def label(self) -> str:
        return self.labels[self.token]

    @property
    def num_layers(self) -> int:
        return len(self.resid_rms)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax in float64 with the maximum subtracted first."""
    shifted = logits - logits.max()
    weights = np.exp(shifted)
    return weights / weights.sum()


def rms(vector: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(vector))))


def forward_data(trace, focus: Focus = Focus(), labeler: Labeler | None = None) -> ForwardData:
    """Extract the forward scene's values from `trace`; by default the focus token is the last one.

    `labeler` turns predicted ids into labels (a tokenizer's `token_labels`); without it a
    prediction is labelled by its id, as in "#412".
    """
    config = source.model_config(trace)
    labels = source.token_labels(trace)
    ids = source.token_ids(trace)
    token = check_index(focus.token, len(labels), "token") if focus.token is not None else len(labels) - 1
    layers = config.num_hidden_layers

    embedding = source.site(trace, "embed")[token]  # (hidden,)
    logits = source.site(trace, "logits")[token]  # (vocab,)
    probs = softmax(logits)
    top = [int(i) for i in np.argsort(-probs, kind="stable")[:TOP_K]]
    name = labeler or (lambda values: [f"#{v}" for v in values])

    next_id = ids[token + 1] if token + 1 < len(ids) else None
    next_prob = float(probs[next_id]) if next_id is not None else None
    next_rank = int(np.sum(probs > probs[next_id])) + 1 if next_id is not None else None
    return ForwardData(
        token=token,
        labels=labels,
        token_id=ids[token],
        embedding=embedding,
        embed_rms=rms(embedding),
        resid_rms=[rms(source.site(trace, f"layers.{i}.resid_post")[token]) for i in range(layers)],
        attn_rms=[rms(source.site(trace, f"layers.{i}.attn.out")[token]) for i in range(layers)],
        ffn_rms=[rms(source.site(trace, f"layers.{i}.resid_post")[token] - source.site(trace, f"layers.{i}.resid_mid")[token]) for i in range(layers)],
        final_rms_in=float(source.site(trace, "final_norm.rms_in")[token]),
        final_rms_out=float(source.site(trace, "final_norm.rms_out")[token]),
        top_ids=top,
        top_labels=list(name(top)),
        top_logits=[float(logits[i]) for i in top],
        top_probs=[float(probs[i]) for i in top],
        next_id=next_id,
        next_label=labels[token + 1] if next_id is not None else None,
        next_prob=next_prob,
        next_rank=next_rank,
        vocab_size=len(logits),
    )
