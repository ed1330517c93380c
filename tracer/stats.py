"""Summary statistics of one tensor, computed in one pass over memory, or three.

For a contiguous float32 tensor, the compiled helper in `tracer.native` returns the sum,
the sum of squares, min and max in one pass, with float64 accumulators. Without it (or for
other dtypes and layouts) torch runs `sum`, a dot product of the tensor with itself (or
`vector_norm`) and `aminmax`, accumulating in fp32 (float64 for float64 tensors and for
tensors of at most 4096 elements). Mean, std and RMS come from the sum and the sum of
squares; the std is the population std (divisor n). Computed as `sum(x^2)/n - mean^2`, the
variance keeps about `7 - log10(mean^2 / var)` digits in fp32, so when that would lose more
than three digits the variance is recomputed in float64. A result that is not finite means
NaN or Inf in the tensor, or a sum of squares that overflowed fp32. Only then does a slower
float64 path run, which counts NaN and Inf and takes the other statistics over the finite values.
"""

from __future__ import annotations

import math
from dataclasses import asdict, astuple, dataclass

import torch

from .native import fused_stats_f32

_NAN = float("nan")
_SMALL = 4096  # tensors up to this many elements are reduced in float64
_FULL_PRECISION = (torch.float32, torch.float64)
_CANCELLATION = 1e-3  # variance below this times mean^2 is recomputed in float64


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
    fused = fused_stats_f32(x)  # one pass in C for dense float32, when the helper is built
    if fused is not None:
        shift, total, square_sum, low, high = fused  # sums of x - shift, with shift near the mean
    else:
        shift, (total, square_sum, low, high) = 0.0, _torch_sums(x if n > _SMALL and x.is_floating_point() else x.to(torch.float64))
    if not all(map(math.isfinite, (shift, total, square_sum, low, high))):
        return _stats_with_non_finite(x)

    offset = total / n  # mean - shift
    variance = square_sum / n - offset * offset
    if variance < _CANCELLATION * offset * offset and x.dtype != torch.float64:
        # The subtraction above lost more than 3 of fp32's 7 digits: take the variance in float64.
        variance = torch.var(x.to(torch.float64), correction=0).item()
    variance = max(variance, 0.0)
    mean = shift + offset
    return Stats(n, mean, math.sqrt(variance), math.sqrt(variance + mean * mean), low, high, 0, 0)


def _torch_sums(x: torch.Tensor) -> tuple[float, float, float, float]:
    """Return (sum, sum of squares, min, max) of `x` with torch reductions, one pass each."""
    if x.dtype in _FULL_PRECISION and x.is_contiguous():
        flat = x.view(-1)
        total = flat.sum().item()
        square_sum = torch.dot(flat, flat).item()  # BLAS dot is faster here than vector_norm
    elif x.dtype in _FULL_PRECISION:
        total = x.sum().item()
        square_sum = torch.linalg.vector_norm(x).item() ** 2
    else:
        total = x.sum(dtype=torch.float32).item()  # half precision accumulates in fp32
        square_sum = torch.linalg.vector_norm(x, dtype=torch.float32).item() ** 2
    low, high = torch.aminmax(x)
    return total, square_sum, low.item(), high.item()


class LazyStats(Stats):
    """Stats of a stored tensor, computed from it the first time any field is read.

    A full-mode trace keeps every tensor anyway, so computing their statistics can wait
    until someone reads them; the traced forward pass then costs less. The values are the
    same as computing them at once, unless the stored tensor is edited in place before the
    first read (the trace's tensor would then have changed as well).
    """

    @classmethod
    def of(cls, tensor: torch.Tensor) -> "LazyStats":
        """Return statistics of `tensor` that are computed on first use."""
        stats = object.__new__(cls)
        stats.__dict__["_tensor"] = tensor
        return stats

    @property
    def pending(self) -> bool:
        """True until the statistics have been computed."""
        return "_tensor" in self.__dict__

    def __getattr__(self, name: str):
        # Called only for attributes not yet in __dict__: the fields, before the first read.
        tensor = self.__dict__.pop("_tensor", None)
        if tensor is None:
            raise AttributeError(name)
        self.__dict__.update(asdict(tensor_stats(tensor)))
        return self.__dict__[name]

    def __eq__(self, other) -> bool:
        if not isinstance(other, Stats):
            return NotImplemented
        return astuple(self) == astuple(other)

    def __hash__(self) -> int:
        return hash(astuple(self))


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
    if not isinstance(value, float) or math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def _decode_float(value) -> float:
    return float(value)  # float() reads "NaN", "Infinity" and "-Infinity" as well as numbers
