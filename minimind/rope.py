"""Rotary position embedding (RoPE) with MiniMind's YaRN frequency scaling."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class YarnRamp:
    """Where MiniMind's YaRN ramp starts and ends, and the scale it applies to each pair."""

    low: int  # pairs below `low` keep their frequency
    high: int  # pairs above `high` are divided by `factor`
    ramp: torch.Tensor  # (D/2,) 0 at and below low, 1 at and above high
    scale: torch.Tensor  # (D/2,) multiplier on each pair's inverse frequency


def base_inv_freq(head_dim: int, theta: float) -> torch.Tensor:
    """Return `1 / theta^(2i/D)` for pairs i = 0 .. D/2-1: (D/2,) fp32."""
    return 1.0 / (theta ** (torch.arange(0, head_dim, 2)[: head_dim // 2].float() / head_dim))


def yarn_ramp(head_dim: int, theta: float, scaling: dict) -> YarnRamp:
    """Compute MiniMind's YaRN ramp; `high` is clamped to D/2 - 1 as upstream MiniMind does."""
    orig_max = scaling.get("original_max_position_embeddings", 2048)
    factor = scaling.get("factor", 16)
    beta_fast = scaling.get("beta_fast", 32.0)
    beta_slow = scaling.get("beta_slow", 1.0)

    def inv_dim(beta: float) -> float:
        # The pair index whose wavelength fits `beta` times into the original length.
        return (head_dim * math.log(orig_max / (beta * 2 * math.pi))) / (2 * math.log(theta))

    low = max(math.floor(inv_dim(beta_fast)), 0)
    high = min(math.ceil(inv_dim(beta_slow)), head_dim // 2 - 1)
    ramp = torch.clamp((torch.arange(head_dim // 2).float() - low) / max(high - low, 0.001), 0, 1)
    return YarnRamp(low=low, high=high, ramp=ramp, scale=1 - ramp + ramp / factor)


def inv_freq(head_dim: int, theta: float, max_positions: int, scaling: dict | None) -> tuple[torch.Tensor, float]:
    """Return each pair's inverse frequency (D/2,) and the attention factor on cos/sin.

    YaRN applies only when the tables are longer than the original length, and then to
    every position, short prompts included.
    """
    freqs = base_inv_freq(head_dim, theta)
    attention_factor = 1.0
    if scaling is not None:
        attention_factor = scaling.get("attention_factor", 1.0)
        if max_positions / scaling.get("original_max_position_embeddings", 2048) > 1.0:
            freqs = freqs * yarn_ramp(head_dim, theta, scaling).scale
    return freqs, attention_factor


def rope_tables(head_dim: int, theta: float, max_positions: int, scaling: dict | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the fp32 cos and sin tables, each (max_positions, D), halves repeated."""
    freqs, attention_factor = inv_freq(head_dim, theta, max_positions, scaling)
    angles = torch.outer(torch.arange(max_positions), freqs).float()  # (P, D/2)
    cos = torch.cat([torch.cos(angles), torch.cos(angles)], dim=-1) * attention_factor
    sin = torch.cat([torch.sin(angles), torch.sin(angles)], dim=-1) * attention_factor
    return cos, sin


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    """Map (x1, x2) to (-x2, x1), pairing dimension i with i + D/2."""
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, cast_back: bool) -> torch.Tensor:
    """Rotate x (B, T, H, D) by the angles of its positions; cos and sin are (T, D).

    minimind-3 casts the result back to x's dtype (`cast_back`); minimind2 keeps the fp32
    promotion that the tables cause.
    """
    rotated = x * cos.unsqueeze(1) + rotate_half(x) * sin.unsqueeze(1)
    return rotated.to(x.dtype) if cast_back else rotated
