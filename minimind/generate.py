"""Autoregressive decoding with MiniMind's sampling order."""

from __future__ import annotations

from typing import Callable

import torch


def _apply_repetition_penalty(logits: torch.Tensor, ids: torch.Tensor, penalty: float) -> None:
    # Sign-aware: positive logits are divided, negative ones multiplied, so both move down.
    for row in range(ids.shape[0]):
        seen = torch.unique(ids[row])
        score = logits[row, seen]
        logits[row, seen] = torch.where(score > 0, score / penalty, score * penalty)


def _apply_top_k(logits: torch.Tensor, top_k: int) -> None:
    k = min(top_k, logits.shape[-1])
    threshold = torch.topk(logits, k)[0][..., -1, None]
    logits[logits < threshold] = -float("inf")


def _apply_top_p(logits: torch.Tensor, top_p: float) -> None:
    sorted_logits, sorted_idx = torch.sort(logits, descending=True)
    drop = torch.cumsum(torch.softmax(sorted_logits, dim=-1), dim=-1) > top_p
    # Shift right so the token that crosses top_p is kept, and the first token always is.
    drop[..., 1:] = drop[..., :-1].clone()
    drop[..., 0] = False
    logits[drop.scatter(1, sorted_idx, drop)] = -float("inf")


@torch.inference_mode()
def generate(
    model,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor | None = None,
    max_new_tokens: int = 64,
    temperature: float = 0.85,
    top_p: float = 0.85,
    top_k: int = 50,
    eos_token_id: int | None = 2,
    do_sample: bool = True,
    repetition_penalty: float = 1.0,
    use_cache: bool = True,
    on_token: Callable[[torch.Tensor], None] | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Extend `input_ids` (B, T) by up to `max_new_tokens` and return (B, T + n).

    Each step: logits / temperature, repetition penalty, top-k, top-p, then sample (or argmax
    when `do_sample` is False). Rows that emitted `eos_token_id` keep emitting it, and decoding
    stops when every row has. `on_token` receives each step's new ids (B, 1) for streaming.
    """
    ids = input_ids
    past = None
    finished = torch.zeros(ids.shape[0], dtype=torch.bool, device=ids.device)
    limit = model.config.max_position_embeddings
    for _ in range(max_new_tokens):
        if ids.shape[1] >= limit:
            break
        past_len = past[0][0].shape[1] if past else 0
        out = model(ids[:, past_len:], attention_mask, past, use_cache=use_cache)
        if attention_mask is not None:
            attention_mask = torch.cat([attention_mask, attention_mask.new_ones(ids.shape[0], 1)], dim=-1)

        logits = out.logits[:, -1, :].float() / (temperature if do_sample else 1.0)
        if repetition_penalty != 1.0:
            _apply_repetition_penalty(logits, ids, repetition_penalty)
        if do_sample and top_k > 0:
            _apply_top_k(logits, top_k)
        if do_sample and top_p < 1.0:
            _apply_top_p(logits, top_p)

        if do_sample:
            next_id = torch.multinomial(torch.softmax(logits, dim=-1), num_samples=1, generator=generator)
        else:
            next_id = torch.argmax(logits, dim=-1, keepdim=True)  # (B, 1)
        if eos_token_id is not None:
            next_id = torch.where(finished[:, None], torch.full_like(next_id, eos_token_id), next_id)

        ids = torch.cat([ids, next_id], dim=-1)
        past = out.past_key_values if use_cache else None
        if on_token is not None:
            on_token(next_id)
        if eos_token_id is not None:
            finished |= next_id.squeeze(-1).eq(eos_token_id)
            if finished.all():
                break
    return ids
