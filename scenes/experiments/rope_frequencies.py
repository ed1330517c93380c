"""RoPE frequencies: each dimension pair turns at its own speed, from fast to nearly still.

Pair i couples dimensions i and i + D/2 and turns by `inv_freq_i = theta^(-2i/D)` radians
per token, so its period is `2 * pi / inv_freq_i` tokens: 2*pi for pair 0, and
`2 * pi * theta^((D-2)/D)` for the slowest pair.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from minimind import MiniMindForCausalLM
from minimind.rope import apply_rope, base_inv_freq, inv_freq

from ._common import ExperimentError, check_index, record_probes, resolve_prompt


@dataclass
class FrequencyTable:
    """Per-pair RoPE frequencies and periods for one head_dim and theta."""

    head_dim: int
    rope_theta: float
    prompt_length: int  # tokens; decides which pairs wrap around
    pair_index: np.ndarray  # (D/2,) i
    pair_dims: list[tuple[int, int]]  # (i, i + D/2): the two dimensions each pair rotates
    inv_freq: np.ndarray  # (D/2,) radians per token, fp32 as minimind.rope computes them
    period: np.ndarray  # (D/2,) 2*pi / inv_freq, in tokens
    turns_in_prompt: np.ndarray  # (D/2,) full turns between position 0 and prompt_length - 1
    wraps_in_prompt: np.ndarray  # (D/2,) bool: the pair turns at least once within the prompt
    fastest_period: float  # period of pair 0 (2*pi)
    slowest_period: float  # period of pair D/2 - 1


@dataclass
class RopeFrequenciesResult:
    """The model's frequency table and how one real token's query pairs turn with position."""

    table: FrequencyTable  # unscaled RoPE frequencies of the model's head_dim and theta
    yarn_active: bool  # the model's tables use YaRN-scaled frequencies (see the yarn experiment)
    used_inv_freq: np.ndarray  # (D/2,) the frequencies the model's cos/sin tables were built from
    head: int
    token_index: int  # which prompt token's query is rotated
    token_label: str
    token_labels: list[str]  # the whole prompt, for captions
    positions: np.ndarray  # (P,) 0 .. prompt_length - 1
    radius: np.ndarray  # (D/2,) length of each pair of the query; rotation keeps it
    base_angle: np.ndarray  # (D/2,) angle of each pair before rotation, radians in (-pi, pi]
    angle: np.ndarray  # (P, D/2) angle of each pair with the query at each position, (-pi, pi]


def frequency_table(head_dim: int, rope_theta: float, prompt_length: int) -> FrequencyTable:
    """Compute every pair's frequency and period for `head_dim` and `rope_theta`."""
    if head_dim < 2 or head_dim % 2:
        raise ExperimentError(f"head_dim={head_dim} must be even and at least 2: pass the model's head_dim")
    if rope_theta <= 1:
        raise ExperimentError(f"rope_theta={rope_theta} must exceed 1: pass for example 1e6")
    if prompt_length < 1:
        raise ExperimentError(f"prompt_length={prompt_length} must be at least 1 token")
    half = head_dim // 2
    freqs = base_inv_freq(head_dim, rope_theta).double().numpy()
    period = 2 * math.pi / freqs
    turns = (prompt_length - 1) * freqs / (2 * math.pi)
    return FrequencyTable(
        head_dim=head_dim,
        rope_theta=float(rope_theta),
        prompt_length=prompt_length,
        pair_index=np.arange(half),
        pair_dims=[(i, i + half) for i in range(half)],
        inv_freq=freqs,
        period=period,
        turns_in_prompt=turns,
        wraps_in_prompt=turns >= 1.0,
        fastest_period=float(period[0]),
        slowest_period=float(period[-1]),
    )


@torch.no_grad()
def run_rope_frequencies(
    model: MiniMindForCausalLM,
    tokenizer=None,
    prompt: str | Sequence[int] | None = None,
    head: int = 0,
    token_index: int | None = None,
    length: int = 32,
) -> RopeFrequenciesResult:
    """Tabulate the model's RoPE frequencies and rotate one token's query through the prompt.

    The query (after q_norm, before RoPE) comes from layer 0 of a real forward pass; it is
    then rotated with the model's own cos/sin tables to every position 0..P-1, where P is
    the prompt's length, and each pair's angle is read off with atan2.
    """
    config = model.config
    head = check_index("head", head, config.num_attention_heads)
    tokens = resolve_prompt(model, tokenizer, prompt, length=length)
    P = len(tokens.ids)
    token_index = check_index("token_index", P - 1 if token_index is None else token_index, P)
    if P > config.max_position_embeddings:
        raise ExperimentError(
            f"the prompt has {P} tokens but max_position_embeddings is {config.max_position_embeddings}: shorten it"
        )

    name = "model.layers.0.self_attn.q_normed"
    with record_probes(model, [name]) as rec:
        model(tokens.tensor())
    q = rec[name][0, token_index, head].float()  # (D,)

    half = config.head_dim // 2
    cos, sin = model.model.freqs_cos[:P], model.model.freqs_sin[:P]  # (P, D)
    rotated = apply_rope(q.expand(1, P, 1, -1), cos, sin, cast_back=True)[0, :, 0].double()  # (P, D)
    angle = torch.atan2(rotated[:, half:], rotated[:, :half])  # (P, D/2)
    q64 = q.double()

    used, _ = inv_freq(config.head_dim, config.rope_theta, config.max_position_embeddings, config.rope_scaling)
    return RopeFrequenciesResult(
        table=frequency_table(config.head_dim, config.rope_theta, P),
        yarn_active=bool(not torch.equal(used, base_inv_freq(config.head_dim, config.rope_theta))),
        used_inv_freq=used.double().numpy(),
        head=head,
        token_index=token_index,
        token_label=tokens.labels[token_index],
        token_labels=tokens.labels,
        positions=np.arange(P),
        radius=torch.hypot(q64[:half], q64[half:]).numpy(),
        base_angle=torch.atan2(q64[half:], q64[:half]).numpy(),
        angle=angle.numpy(),
    )
