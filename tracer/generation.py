"""One-call helpers: trace a prompt, or a prompt plus greedily generated tokens."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import nn

from .errors import TraceError
from .record import Tracer, model_sites
from .recorder import Recorder
from .trace import Trace
from .upstream import UpstreamTracer


def tracer_for(model: nn.Module, **options) -> Recorder:
    """Return a Tracer for a `minimind` model, or an UpstreamTracer for upstream MiniMind code."""
    if model_sites(model):
        return Tracer(model, **options)
    options.pop("grads", None)
    return UpstreamTracer(model, **options)


def encode_prompt(model: nn.Module, tokenizer, prompt: str | Sequence[int] | torch.Tensor, add_bos: bool = True, reserve: int = 0) -> torch.Tensor:
    """Return prompt ids as a (1, T) tensor, checked against the model's vocabulary and length.

    A string needs a tokenizer; `add_bos` prepends the tokenizer's bos id, as the default
    model saw every training text. A sequence of ids or a tensor is used as given.
    """
    if isinstance(prompt, str):
        if tokenizer is None:
            raise TraceError("a text prompt needs a tokenizer: pass tokenizer=, or pass token ids", key="trace.error.no_tokenizer")
        if not prompt.strip():
            raise TraceError("the prompt is empty: pass some text with --prompt", key="trace.error.empty_prompt")
        ids = tokenizer.encode(prompt)
        bos = getattr(tokenizer, "bos_token_id", None)
        if add_bos and bos is not None:
            ids = [bos, *ids]
        ids = torch.tensor([ids], dtype=torch.long)
    else:
        ids = torch.as_tensor(prompt, dtype=torch.long)
        ids = ids[None, :] if ids.dim() == 1 else ids
    if ids.numel() == 0:
        raise TraceError("the prompt is empty: pass some text with --prompt", key="trace.error.empty_prompt")

    vocab = model.config.vocab_size
    if int(ids.max()) >= vocab or int(ids.min()) < 0:
        bad = int(ids.max()) if int(ids.max()) >= vocab else int(ids.min())
        raise TraceError(
            f"token id {bad} is outside the model's vocabulary (vocab_size {vocab}): pass ids from 0 to {vocab - 1}, "
            f"or encode text with the tokenizer that belongs to the checkpoint",
            key="trace.error.id_range",
            token_id=bad,
            vocab=vocab,
            last=vocab - 1,
        )
    limit = model.config.max_position_embeddings - reserve
    if limit < 1:
        raise TraceError(
            f"--generate {reserve} leaves no room for the prompt (max_position_embeddings "
            f"{model.config.max_position_embeddings}): pass a smaller --generate",
            key="trace.error.generate_too_many",
            count=reserve,
            limit=model.config.max_position_embeddings,
        )
    if ids.shape[1] > limit:
        raise TraceError(
            f"the prompt has {ids.shape[1]} tokens but at most {limit} fit (max_position_embeddings "
            f"{model.config.max_position_embeddings} minus {reserve} to generate): shorten the prompt or generate fewer tokens",
            key="trace.error.too_long",
            tokens=ids.shape[1],
            limit=limit,
        )
    return ids.to(next(model.parameters()).device)


def trace_prompt(
    model: nn.Module,
    tokenizer,
    prompt: str | Sequence[int] | torch.Tensor,
    sites: str | Iterable[str] | None = None,
    mode: str = "full",
    dtype: torch.dtype | str | None = None,
    grads: bool = False,
    add_bos: bool = True,
) -> Trace:
    """Trace one forward pass over `prompt`.

    With `grads=True` (this package's model only) the pass also computes the next-token
    cross-entropy over the prompt and runs backward, so each step gets `grad_stats` (and, in
    full mode, its gradient). The model's parameter `.grad` fields are restored afterwards.
    """
    if grads and not model_sites(model):
        raise TraceError(
            "gradients are recorded only for minimind models: drop grads (--grads) or trace a minimind checkpoint",
            key="trace.error.grads_upstream",
        )
    ids = encode_prompt(model, tokenizer, prompt, add_bos)
    text = prompt if isinstance(prompt, str) else None
    tracer = tracer_for(model, tokenizer=tokenizer, sites=sites, mode=mode, dtype=dtype, grads=grads, prompt=text)
    if not grads:
        with torch.no_grad(), tracer:
            model(ids)
        return tracer.trace

    params = list(model.parameters())
    saved = [p.grad for p in params]
    try:
        with torch.enable_grad(), tracer:
            model(ids, labels=ids).loss.backward()
    finally:
        for p, grad in zip(params, saved):
            p.grad = grad
    return tracer.trace


def trace_generation(
    model: nn.Module,
    tokenizer,
    prompt: str | Sequence[int] | torch.Tensor,
    n: int,
    sites: str | Iterable[str] | None = None,
    mode: str = "full",
    dtype: torch.dtype | str | None = None,
    add_bos: bool = True,
    stop_at_eos: bool = True,
) -> Trace:
    """Trace a prompt and `n` greedily generated tokens, one forward pass per token, with the KV cache.

    Pass 0 feeds the prompt. Pass k (1..n) feeds generated token k alone, so its attention
    steps hold the new query row against the whole cache, which has
    `trace.passes[k].cache_length` keys before it. Greedy decoding (argmax) keeps the trace reproducible. With
    `stop_at_eos`, generation ends after a token equal to the tokenizer's eos id, which is
    then not fed. `trace.info.generation` records the generated ids and the model's
    prediction after the last pass.
    """
    if n < 0:
        raise TraceError(f"cannot generate {n} tokens: pass a count of 0 or more", key="trace.error.bad_count", count=n)
    ids = encode_prompt(model, tokenizer, prompt, add_bos, reserve=n)
    eos = getattr(tokenizer, "eos_token_id", None) if stop_at_eos else None
    text = prompt if isinstance(prompt, str) else None
    tracer = tracer_for(model, tokenizer=tokenizer, sites=sites, mode=mode, dtype=dtype, prompt=text)

    generated: list[int] = []
    with torch.no_grad(), tracer:
        out = model(ids, use_cache=True)
        next_ids = out.logits[:, -1, :].argmax(dim=-1, keepdim=True)  # (B, 1)
        for _ in range(n):
            if eos is not None and bool((next_ids == eos).all()):
                break
            generated.append(int(next_ids[0, 0]))
            out = model(next_ids, past_key_values=out.past_key_values, use_cache=True)
            next_ids = out.logits[:, -1, :].argmax(dim=-1, keepdim=True)

    trace = tracer.trace
    prediction = int(next_ids[0, 0])
    labels = getattr(tokenizer, "token_labels", None)
    trace.info.generation = {
        "requested_tokens": n,
        "generated_ids": generated,
        "decoding": "greedy",
        "stopped_at_eos": len(generated) < n,
        "next_token_id": prediction,
        "next_token_label": labels([prediction])[0] if labels else str(prediction),
    }
    return trace
