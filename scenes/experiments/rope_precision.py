"""RoPE precision: one slow frequency cannot tell nearby positions apart in low precision.

The angle `m * inv_freq` of a slow pair grows so little per token that, once rounded to a
floating-point format, neighbouring positions share a value. bfloat16 keeps 8 significant
bits and float16 11, so they run out long before float32's 24 do. bfloat16 cannot even
store the position itself exactly beyond 256.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from minimind import MiniMindForCausalLM
from minimind.rope import base_inv_freq

from ._common import ExperimentError, check_index

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
DEFAULT_START = 1000
DEFAULT_COUNT = 8


@dataclass
class DtypeAngles:
    """The angle of one pair at the chosen positions, computed and stored in one dtype."""

    dtype: str  # "float32", "bfloat16" or "float16"
    inv_freq: float  # the pair's frequency as stored in this dtype
    inv_freq_hex: str  # its bit pattern, e.g. "0x3f800000"
    inv_freq_subnormal: bool  # below the dtype's smallest normal number, so it keeps fewer significant bits
    positions: np.ndarray  # (N,) each position as stored in this dtype
    angle: np.ndarray  # (N,) float64 value of the stored angle m * inv_freq
    angle_hex: list[str]  # bit pattern of each stored angle
    cos: np.ndarray  # (N,) cos(angle) computed in this dtype
    sin: np.ndarray  # (N,) sin(angle) computed in this dtype
    same_as_previous: np.ndarray  # (N,) bool: angle equals the previous shown position's; False for the first
    abs_error: np.ndarray  # (N,) |angle - exact angle|
    first_collision: int | None  # smallest m in 1..scan_limit-1 whose angle equals position m-1's
    distinct_angles: int  # distinct angle values over positions 0..scan_limit-1


@dataclass
class RopePrecisionResult:
    """Angles of one slow RoPE pair at nearby positions in float32, bfloat16 and float16."""

    head_dim: int
    rope_theta: float
    pair: int  # pair index i, rotating dimensions i and i + D/2
    exact_inv_freq: float  # theta^(-2i/D) in float64
    positions: list[int]  # the positions shown
    exact_angle: np.ndarray  # (N,) positions * exact_inv_freq in float64
    scan_limit: int  # positions scanned for collisions: 0 .. max_position_embeddings - 1
    rows: list[DtypeAngles]  # one per dtype, in DTYPES order


@torch.no_grad()
def run_rope_precision(
    model: MiniMindForCausalLM,
    pair: int | None = None,
    positions: Sequence[int] | None = None,
    dtypes: Sequence[str] = tuple(DTYPES),
) -> RopePrecisionResult:
    """Compute `m * inv_freq` for one pair in each dtype, as a RoPE table in that dtype would.

    The frequency is MiniMind's fp32 `base_inv_freq` cast to the dtype, the position is
    cast too, and the product is rounded to the dtype, as `torch.outer` does. `pair`
    defaults to the slowest pair, `positions` to 8 neighbours from 1000.
    """
    config = model.config
    half = config.head_dim // 2
    pair = check_index("pair", half - 1 if pair is None else pair, half)
    scan_limit = config.max_position_embeddings
    if positions is None:
        start = min(DEFAULT_START, max(scan_limit - DEFAULT_COUNT, 0))
        positions = range(start, min(start + DEFAULT_COUNT, scan_limit))
    positions = [int(m) for m in positions]
    if not positions or min(positions) < 0:
        raise ExperimentError(f"positions {positions} are invalid: pass one or more non-negative positions")
    unknown = [d for d in dtypes if d not in DTYPES]
    if unknown:
        raise ExperimentError(f"dtype {unknown[0]!r} is not supported: use {', '.join(DTYPES)}")

    freq32 = base_inv_freq(config.head_dim, config.rope_theta)[pair]  # fp32 scalar, as the model builds it
    exact_freq = config.rope_theta ** (-2.0 * pair / config.head_dim)
    exact = np.array(positions, dtype=np.float64) * exact_freq
    shown = torch.tensor(positions, dtype=torch.float64)
    scan = torch.arange(scan_limit, dtype=torch.float64)

    rows = []
    for name in dtypes:
        dtype = DTYPES[name]
        freq = freq32.to(dtype)
        angle = shown.to(dtype) * freq  # (N,) rounded to dtype
        scanned = scan.to(dtype) * freq  # (scan_limit,)
        collisions = torch.nonzero(scanned[1:] == scanned[:-1]).flatten()
        same = torch.zeros(len(positions), dtype=torch.bool)
        same[1:] = angle[1:] == angle[:-1]
        rows.append(
            DtypeAngles(
                dtype=name,
                inv_freq=float(freq),
                inv_freq_hex=_hex(freq),
                inv_freq_subnormal=bool(0 < abs(float(freq)) < torch.finfo(dtype).tiny),
                positions=shown.to(dtype).double().numpy(),
                angle=angle.double().numpy(),
                angle_hex=[_hex(a) for a in angle],
                cos=torch.cos(angle).double().numpy(),
                sin=torch.sin(angle).double().numpy(),
                same_as_previous=same.numpy(),
                abs_error=np.abs(angle.double().numpy() - exact),
                first_collision=int(collisions[0]) + 1 if collisions.numel() else None,
                distinct_angles=int(torch.unique(scanned).numel()),
            )
        )
    return RopePrecisionResult(
        head_dim=config.head_dim,
        rope_theta=float(config.rope_theta),
        pair=pair,
        exact_inv_freq=exact_freq,
        positions=positions,
        exact_angle=exact,
        scan_limit=scan_limit,
        rows=rows,
    )


def _hex(value: torch.Tensor) -> str:
    """Bit pattern of a 0-d float tensor, 8 hex digits for float32 and 4 for 16-bit types."""
    if value.dtype == torch.float32:
        return "0x%08x" % struct.unpack("<I", struct.pack("<f", float(value)))[0]
    bits = value.reshape(1).view(torch.int16).item() & 0xFFFF
    return "0x%04x" % bits
