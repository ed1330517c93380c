"""KV cache: greedy generation one token at a time, checked against one full pass.

Each decoding step feeds only the newest token. Its key and value join the cache, and its
query attends over every cached key, which is the last row of a causal mask aligned to the
bottom right. A chunked prefill (T new queries, S > T keys) shows the whole bottom-right
mask next to the top-left one that `scaled_dot_product_attention(is_causal=True)` would use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from minimind import MiniMindForCausalLM
from minimind.attention import causal_mask

from ..data.gqa import BYTES_PER_VALUE
from ._common import ExperimentError, check_index, record_probes, resolve_prompt


@dataclass
class DecodeStep:
    """One single-token forward pass with the cache."""

    position: int  # position of the token fed in; also the cache length before this step
    input_id: int
    input_label: str
    cache_length: int  # keys per layer after this step
    query_probs: np.ndarray  # (cache_length,) the new query's attention over the cache, chosen layer and head
    next_id: int  # greedy choice
    next_label: str
    next_prob: float  # softmax probability of next_id


@dataclass
class KVCacheResult:
    """A greedy generation traced step by step, and the masks of a chunked prefill."""

    layer: int
    head: int
    kv_head: int  # the kv head that `head` reads (GQA)
    prompt_ids: list[int]
    prompt_labels: list[str]
    generated_ids: list[int]  # max_new_tokens greedy tokens; the first comes from the prefill
    generated_labels: list[str]
    first_next_prob: float  # probability of generated_ids[0] after the prefill
    prefill_probs: np.ndarray  # (T, T) the prompt's attention at the chosen layer and head
    steps: list[DecodeStep]  # one per token fed after the prefill
    cache_lengths: list[int]  # keys per layer after the prefill and after each step
    cache_shape: tuple[int, ...]  # final per-layer k (or v) cache, (B, S, kv_heads, D)
    bytes_per_value: int  # BYTES_PER_VALUE: the cache size assumes fp16 or bf16 values, as the gqa scene does
    cache_bytes_per_token: int  # k and v over all layers, bytes_per_value each, whatever dtype this run computed in
    full_ids: list[int]  # prompt plus every generated token that was fed back
    full_probs: np.ndarray  # (N, N) one pass over full_ids, chosen layer and head
    step_logits_error: float  # max |cached logits - full-pass logits| over all N positions
    step_probs_error: float  # max |step query row - full-pass row| over the decode steps
    chunk_split: int  # tokens in the first prefill chunk
    chunk_mask: np.ndarray  # (T2, S) bool, bottom-right: query t sees keys 0 .. chunk_split + t
    top_left_mask: np.ndarray  # (T2, S) bool, what is_causal=True would allow: keys 0 .. t
    chunk_probs: np.ndarray  # (T2, S) second chunk's attention at the chosen layer and head
    chunked_logits_error: float  # max |two-chunk prefill logits - one-pass prefill logits|


@torch.no_grad()
def run_kv_cache(
    model: MiniMindForCausalLM,
    tokenizer=None,
    prompt: str | Sequence[int] | None = None,
    max_new_tokens: int = 6,
    layer: int = 0,
    head: int = 0,
    chunk_split: int | None = None,
    length: int = 8,
) -> KVCacheResult:
    """Generate greedily with the cache, recording each step; `chunk_split` defaults to T // 2."""
    config = model.config
    layer = check_index("layer", layer, config.num_hidden_layers)
    head = check_index("head", head, config.num_attention_heads)
    if max_new_tokens < 1:
        raise ExperimentError(f"max_new_tokens={max_new_tokens} must be at least 1")
    tokens = resolve_prompt(model, tokenizer, prompt, length=length)
    T = len(tokens.ids)
    if T + max_new_tokens > config.max_position_embeddings:
        raise ExperimentError(
            f"{T} prompt tokens + {max_new_tokens} new tokens exceed max_position_embeddings "
            f"{config.max_position_embeddings}: shorten the prompt or generate fewer tokens"
        )
    split = T // 2 if chunk_split is None else chunk_split
    if not 1 <= split < T:
        raise ExperimentError(f"chunk_split={split} must lie in 1..{T - 1} for a {T}-token prompt")

    label = _labeller(tokenizer)
    probs_name = f"model.layers.{layer}.self_attn.probs"
    with record_probes(model, [probs_name]) as rec:
        # Prefill the whole prompt, then feed one token per step.
        out = model(tokens.tensor(), use_cache=True)
        prefill_probs = rec[probs_name][0, head].double().numpy()
        step_logits = [out.logits[0]]
        past = out.past_key_values
        next_id, first_prob = _greedy(out.logits[0, -1])
        generated = [next_id]
        cache_lengths = [past[0][0].shape[1]]

        steps = []
        for _ in range(max_new_tokens - 1):
            position = past[0][0].shape[1]
            out = model(torch.tensor([[next_id]]), past_key_values=past, use_cache=True)
            past = out.past_key_values
            new_id, prob = _greedy(out.logits[0, -1])
            steps.append(
                DecodeStep(
                    position=position,
                    input_id=next_id,
                    input_label=label(next_id),
                    cache_length=past[0][0].shape[1],
                    query_probs=rec[probs_name][0, head, 0].double().numpy(),
                    next_id=new_id,
                    next_label=label(new_id),
                    next_prob=prob,
                )
            )
            step_logits.append(out.logits[0])
            cache_lengths.append(past[0][0].shape[1])
            next_id = new_id
            generated.append(next_id)

        # One pass over everything that was fed in, for comparison.
        full_ids = tokens.ids + generated[:-1]
        full = model(torch.tensor([full_ids]))
        full_probs = rec[probs_name][0, head].double().numpy()

        # Chunked prefill: the second chunk's queries are fewer than the keys.
        first = model(tokens.tensor()[:, :split], use_cache=True)
        second = model(tokens.tensor()[:, split:], past_key_values=first.past_key_values, use_cache=True)
        chunk_probs = rec[probs_name][0, head].double().numpy()

    cached = torch.cat(step_logits).float()  # (N, vocab)
    step_rows = [np.abs(s.query_probs - full_probs[s.position, : s.cache_length]).max() for s in steps]
    chunked = torch.cat([first.logits[0], second.logits[0]]).float()
    T2 = T - split
    k_cache = past[0][0]
    return KVCacheResult(
        layer=layer,
        head=head,
        kv_head=head // config.queries_per_kv_head,
        prompt_ids=tokens.ids,
        prompt_labels=tokens.labels,
        generated_ids=generated,
        generated_labels=[label(i) for i in generated],
        first_next_prob=first_prob,
        prefill_probs=prefill_probs,
        steps=steps,
        cache_lengths=cache_lengths,
        cache_shape=tuple(k_cache.shape),
        bytes_per_value=BYTES_PER_VALUE,
        cache_bytes_per_token=2 * config.num_hidden_layers * config.num_key_value_heads * config.head_dim * BYTES_PER_VALUE,
        full_ids=full_ids,
        full_probs=full_probs,
        step_logits_error=float((cached - full.logits[0].float()).abs().max()),
        step_probs_error=float(max(step_rows)) if step_rows else 0.0,
        chunk_split=split,
        chunk_mask=causal_mask(T2, T, torch.device("cpu")).numpy(),
        top_left_mask=np.tril(np.ones((T2, T), dtype=bool)),
        chunk_probs=chunk_probs,
        chunked_logits_error=float((chunked - full.logits[0, :T].float()).abs().max()),
    )


def _greedy(logits: torch.Tensor) -> tuple[int, float]:
    probs = F.softmax(logits.float(), dim=-1)
    token = int(torch.argmax(probs))
    return token, float(probs[token])


def _labeller(tokenizer):
    if tokenizer is None:
        return lambda token_id: f"#{token_id}"
    return lambda token_id: tokenizer.token_labels([token_id])[0]
