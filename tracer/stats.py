"""Summary statistics of one tensor, computed with three reductions.

The fast path runs `sum`, `vector_norm` and `aminmax` (one pass over memory each) and
derives mean, std and RMS from the sum and the sum of squares, all accumulated in fp32
(fp64 for fp64 tensors). Only when a result is not
finite (NaN or Inf in the tensor, or a sum of squares that overflows fp32) does a slower
float64 path run, which counts NaN and Inf and takes the other statistics over the finite
values. The std is the population std (divisor n) and, since it comes from
`sum(x^2)/n - mean^2`, it keeps about `7 - log10(mean^2 / var)` significant digits on the
fast path: plenty unless |mean| is more than about 1000 times the std.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch

_NAN = float("nan")


@dataclass(frozen=True)
class Stats:
    """Statistics of one recorded tensor. NaN and Inf are excluded from all but the counts."""

    numel: int  # number of elements
    mean: float  # mean of the finite elements
    std: float  # population standard deviation of the finite elements
    rms: float  # root mean square of the finite elements
    min: float  # smallest finite element
    max: float  # largest finite element
    nan_count: int  # elements that are NaN
    inf_count: int  # elements that are +Inf or -Inf

    def to_dict(self) -> dict:
        """Return the fields as a JSON-ready dict; non-finite floats become "NaN", "Infinity" or "-Infinity"."""
        return {key: _encode_float(value) for key, value in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict) -> "Stats":
        """Rebuild Stats from `to_dict` output."""
        return cls(
            numel=int(data["numel"]),
            mean=_decode_float(data["mean"]),
            std=_decode_float(data["std"]),
            rms=_decode_float(data["rms"]),
            min=_decode_float(data["min"]),
            max=_decode_float(data["max"]),
            nan_count=int(data["nan_count"]),
            inf_count=int(data["inf_count"]),
        )


def tensor_stats(x: torch.Tensor) -> Stats:
    """Compute the statistics of `x` (any shape, any real dtype; integers are read as floats)."""
    if x.requires_grad:
        x = x.detach()  # so that autograd records none of the reductions below
    n = x.numel()
    if n == 0:
        return Stats(0, _NAN, _NAN, _NAN, _NAN, _NAN, 0, 0)
    if not x.is_floating_point():
        x = x.to(torch.float64 if x.element_size() > 4 else torch.float32)

    # Half-precision sums accumulate in fp32. Each call is kept minimal because a trace
    # makes about 25 of them per block, and their dispatch overhead adds up.
    if x.dtype == torch.float32 or x.dtype == torch.float64:
        total = x.sum().item()
        norm = torch.linalg.vector_norm(x).item()
    else:
        total = x.sum(dtype=torch.float32).item()
        norm = torch.linalg.vector_norm(x, dtype=torch.float32).item()
    low, high = torch.aminmax(x)
    low, high = low.item(), high.item()
    if not (math.isfinite(total) and math.isfinite(norm) and math.isfinite(low) and math.isfinite(high)):
        return _stats_with_non_finite(x)

    mean = total / n
    mean_square = norm * norm / n
    return Stats(n, mean, math.sqrt(max(mean_square - mean * mean, 0.0)), math.sqrt(mean_square), low, high, 0, 0)


def _stats_with_non_finite(x: torch.Tensor) -> Stats:
    # float64 also absorbs an fp32 sum of squares that overflowed although every element is finite.
    x = x.to(torch.float64).flatten()
    finite = torch.isfinite(x)
    nan_count = int(torch.isnan(x).sum())
    inf_count = x.numel() - int(finite.sum()) - nan_count
    values = x[finite]
    if values.numel() == 0:
        return Stats(x.numel(), _NAN, _NAN, _NAN, _NAN, _NAN, nan_count, inf_count)
    mean = values.mean().item()
    std = values.std(correction=0).item()
    rms = values.square().mean().sqrt().item()
    return Stats(x.numel(), mean, std, rms, values.min().item(), values.max().item(), nan_count, inf_count)


def _encode_float(value):
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


def _decode_float(value) -> float:
    return float(value)  # float() reads "NaN", "Infinity" and "-Infinity" as well as numbers
