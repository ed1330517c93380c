"""YaRN: MiniMind's per-pair frequency scaling for prompts beyond the trained length.

With `inference_rope_scaling` on, MiniMind divides the slow pairs' frequencies by `factor`,
keeps the fast pairs, and ramps linearly in between (pairs `low` to `high`), so slow
pairs at long positions reach only angles they already reached in training. The scaling
is static: it changes every position, short prompts included, once the RoPE tables are
longer than the original length.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from minimind import MiniMindForCausalLM
from minimind.config import YARN_SCALING
from minimind.rope import base_inv_freq, yarn_ramp

from ._common import ExperimentError, check_index, record_probes, resolve_prompt

DEFAULT_EXTRA_TOKENS = 256  # default prompt length is the original length plus this many


@dataclass
class YarnAttention:
    """One forward pass over the long prompt, with plain RoPE or with YaRN."""

    label: str  # "plain" or "yarn"
    inference_rope_scaling: bool
    max_position_embeddings: int
    last_query_probs: np.ndarray  # (H, S) attention of the last token at the chosen layer, each head
    last_query_entropy: np.ndarray  # (L, H) entropy in nats of the last token's attention, every layer and head
    loss_within: float  # mean next-token loss of positions that predict a token before original_max
    loss_beyond: float  # mean next-token loss of positions that predict a token at or after original_max


@dataclass
class YarnResult:
    """MiniMind's YaRN constants, ramp, angles and the long-prompt attention with and without it."""

    head_dim: int
    rope_theta: float
    factor: float
    original_max_position_embeddings: int
    beta_fast: float
    beta_slow: float
    attention_factor: float  # multiplier on cos and sin; 1.0 in MiniMind
    low: int  # pairs 0..low keep their frequency
    high: int  # pairs high..D/2-1 are divided by factor
    ramp: np.ndarray  # (D/2,) 0 up to low, 1 from high on, linear in between
    scale: np.ndarray  # (D/2,) (1 - ramp) + ramp / factor, the multiplier on each inv_freq
    base_inv_freq: np.ndarray  # (D/2,) plain RoPE, radians per token
    yarn_inv_freq: np.ndarray  # (D/2,) base_inv_freq * scale
    base_period: np.ndarray  # (D/2,) tokens per turn, plain
    yarn_period: np.ndarray  # (D/2,) tokens per turn, with YaRN
    wrapped_in_training: np.ndarray  # (D/2,) bool: the pair turned fully within the original length
    trained_max_angle: np.ndarray  # (D/2,) largest angle the pair reached in training, (original_max - 1) * base
    positions: list[int]  # positions at and beyond the original length
    angle_plain: np.ndarray  # (len(positions), D/2) position * base_inv_freq
    angle_yarn: np.ndarray  # (len(positions), D/2) position * yarn_inv_freq
    reach_plain: np.ndarray  # (len(positions), D/2) angle_plain / trained_max_angle; above 1 is new ground
    reach_yarn: np.ndarray  # (len(positions), D/2) angle_yarn / trained_max_angle
    seen_plain: np.ndarray  # (len(positions), D/2) bool: wrapped in training, or reach <= 1
    seen_yarn: np.ndarray  # (len(positions), D/2) bool, same with YaRN
    layer: int
    prompt_length: int
    token_labels: list[str]  # of the long prompt
    plain: YarnAttention
    yarn: YarnAttention


def run_yarn(
    model: MiniMindForCausalLM,
    tokenizer=None,
    prompt: str | Sequence[int] | None = None,
    layer: int = 0,
    length: int | None = None,
    positions: Sequence[int] | None = None,
) -> YarnResult:
    """Compute the YaRN ramp and angles, then run a long prompt with YaRN off and on.

    The model is copied twice with `max_position_embeddings` raised to original length x
    factor (32768), once with `inference_rope_scaling` off and once on; the caller's model
    is left unchanged. The default prompt is held-out stories (or seeded random ids without
    a tokenizer) of original length + 256 tokens. The two long forward passes dominate the
    runtime: about 9 s at the default model's size on a busy 2-core CPU.
    """
    config = model.config
    layer = check_index("layer", layer, config.num_hidden_layers)
    scaling = dict(YARN_SCALING)
    orig = int(scaling["original_max_position_embeddings"])
    factor = float(scaling["factor"])
    max_positions = max(config.max_position_embeddings, int(orig * factor))

    tokens = resolve_prompt(model, tokenizer, prompt, length=length or orig + DEFAULT_EXTRA_TOKENS)
    if len(tokens.ids) > max_positions:
        raise ExperimentError(f"the prompt has {len(tokens.ids)} tokens: pass at most {max_positions}")
    if positions is None:
        positions = [orig - 1, orig, 2 * orig, 4 * orig, 8 * orig, max_positions - 1]
    positions = [int(m) for m in positions]

    D = config.head_dim
    ramp = yarn_ramp(D, config.rope_theta, scaling)
    base = base_inv_freq(D, config.rope_theta).double()
    scaled = base * ramp.scale.double()
    trained_max = (orig - 1) * base
    wrapped = trained_max >= 2 * math.pi
    pos = torch.tensor(positions, dtype=torch.float64)[:, None]
    angle_plain, angle_yarn = pos * base, pos * scaled

    ids = tokens.tensor()
    return YarnResult(
        head_dim=D,
        rope_theta=float(config.rope_theta),
        factor=factor,
        original_max_position_embeddings=orig,
        beta_fast=float(scaling["beta_fast"]),
        beta_slow=float(scaling["beta_slow"]),
        attention_factor=float(scaling["attention_factor"]),
        low=ramp.low,
        high=ramp.high,
        ramp=ramp.ramp.double().numpy(),
        scale=ramp.scale.double().numpy(),
        base_inv_freq=base.numpy(),
        yarn_inv_freq=scaled.numpy(),
        base_period=(2 * math.pi / base).numpy(),
        yarn_period=(2 * math.pi / scaled).numpy(),
        wrapped_in_training=wrapped.numpy(),
        trained_max_angle=trained_max.numpy(),
        positions=positions,
        angle_plain=angle_plain.numpy(),
        angle_yarn=angle_yarn.numpy(),
        reach_plain=(angle_plain / trained_max).numpy(),
        reach_yarn=(angle_yarn / trained_max).numpy(),
        seen_plain=(wrapped | (angle_plain <= trained_max)).numpy(),
        seen_yarn=(wrapped | (angle_yarn <= trained_max)).numpy(),
        layer=layer,
        prompt_length=len(tokens.ids),
        token_labels=tokens.labels,
        plain=_run_long(model, ids, layer, max_positions, orig, yarn=False),
        yarn=_run_long(model, ids, layer, max_positions, orig, yarn=True),
    )


def with_rope_settings(model: MiniMindForCausalLM, max_positions: int, yarn: bool) -> MiniMindForCausalLM:
    """Return a copy of `model` whose RoPE tables are rebuilt for the given settings."""
    config = dataclasses.replace(model.config, max_position_embeddings=max_positions, inference_rope_scaling=yarn)
    clone = copy.deepcopy(model)
    clone.config = config
    clone.model.config = config
    clone.model.reset_rope()
    return clone.eval()


@torch.no_grad()
def _run_long(model, ids: torch.Tensor, layer: int, max_positions: int, orig: int, yarn: bool) -> YarnAttention:
    clone = with_rope_settings(model, max_positions, yarn)
    names = [f"model.layers.{i}.self_attn.probs" for i in range(clone.config.num_hidden_layers)]

    # Keep only the last query row, (H, S): whole (H, T, S) maps of a long prompt take GBs.
    with record_probes(clone, names, select=lambda _name, probs: probs[0, :, -1, :].float()) as rec:
        logits = clone(ids).logits[0].float()  # (T, vocab)
    rows = torch.stack([rec[name] for name in names])  # (L, H, S)
    entropy = -(rows * torch.log(rows.clamp_min(1e-30))).sum(-1)  # (L, H)

    nll = F.cross_entropy(logits[:-1], ids[0, 1:], reduction="none")  # position t predicts token t+1
    target_pos = torch.arange(1, ids.shape[1])
    within, beyond = nll[target_pos < orig], nll[target_pos >= orig]
    return YarnAttention(
        label="yarn" if yarn else "plain",
        inference_rope_scaling=yarn,
        max_position_embeddings=max_positions,
        last_query_probs=rows[layer].double().numpy(),
        last_query_entropy=entropy.double().numpy(),
        loss_within=float(within.mean()) if within.numel() else float("nan"),
        loss_beyond=float(beyond.mean()) if beyond.numel() else float("nan"),
    )
