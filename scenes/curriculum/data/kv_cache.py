"""Data for the kv-cache scene: attention rows computed one decoding step at a time, and the chunked-prefill masks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scenes.experiments import KVCacheResult


@dataclass
class KVCacheData:
    """The prefill, each decoding step's query row, and the masks of a two-chunk prefill."""

    layer: int
    head: int
    kv_head: int
    prompt_labels: list[str]
    labels: list[str]  # every token fed in: the prompt, then each generated token fed back
    generated_labels: list[str]
    prefill_probs: np.ndarray  # (T, T)
    step_rows: list[np.ndarray]  # row i: step i's query over its cache_length keys
    step_positions: list[int]
    step_inputs: list[str]
    step_outputs: list[str]  # greedy token chosen at each step
    step_output_probs: list[float]
    first_output: str  # greedy token after the prefill
    first_output_prob: float
    cache_lengths: list[int]  # after the prefill and after each step
    bytes_per_token: int  # k and v of every block, bytes_per_value each
    bytes_per_value: int
    layers: int
    full_probs: np.ndarray  # (N, N) one pass over every token fed in
    step_logits_error: float
    step_probs_error: float
    chunk_split: int
    chunk_mask: np.ndarray  # (T2, T) bool, True where a query may look: bottom-right aligned
    top_left_mask: np.ndarray  # (T2, T) what is_causal=True would allow
    chunk_probs: np.ndarray  # (T2, T)
    chunked_logits_error: float

    @property
    def assembled(self) -> np.ndarray:
        """(N, N) the prefill block and each step's row placed where they sit in the full pass."""
        n = len(self.labels)
        matrix = np.zeros((n, n))
        t = len(self.prompt_labels)
        matrix[:t, :t] = self.prefill_probs
        for position, row in zip(self.step_positions, self.step_rows):
            matrix[position, : len(row)] = row
        return matrix

    @property
    def causal(self) -> np.ndarray:
        """(N, N) bool, True where a query may see a key."""
        n = len(self.labels)
        return np.tril(np.ones((n, n), dtype=bool))


def kv_cache_data(result: KVCacheResult, layers: int) -> KVCacheData:
    """Collect the prefill and step rows; `layers` is the model's block count for the cache size."""
    return KVCacheData(
        layer=result.layer,
        head=result.head,
        kv_head=result.kv_head,
        prompt_labels=result.prompt_labels,
        labels=result.prompt_labels + result.generated_labels[:-1],
        generated_labels=result.generated_labels,
        prefill_probs=result.prefill_probs,
        step_rows=[step.query_probs for step in result.steps],
        step_positions=[step.position for step in result.steps],
        step_inputs=[step.input_label for step in result.steps],
        step_outputs=[step.next_label for step in result.steps],
        step_output_probs=[step.next_prob for step in result.steps],
        first_output=result.generated_labels[0],
        first_output_prob=result.first_next_prob,
        cache_lengths=result.cache_lengths,
        bytes_per_token=result.cache_bytes_per_token,
        bytes_per_value=result.bytes_per_value,
        layers=layers,
        full_probs=result.full_probs,
        step_logits_error=result.step_logits_error,
        step_probs_error=result.step_probs_error,
        chunk_split=result.chunk_split,
        chunk_mask=result.chunk_mask,
        top_left_mask=result.top_left_mask,
        chunk_probs=result.chunk_probs,
        chunked_logits_error=result.chunked_logits_error,
    )
