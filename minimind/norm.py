"""RMSNorm with each MiniMind version's cast order."""

from __future__ import annotations

import torch
from torch import nn

from .probe import Probe, rms


class RMSNorm(nn.Module):
    """`x / rms(x) * weight`, with the squares taken in fp32.

    minimind-3 casts after the weight multiply, `(weight * normed_fp32).to(x.dtype)`;
    minimind2 casts before it, `weight * normed_fp32.to(x.dtype)`, so the result takes the
    weight's dtype. In fp32 both orders give the same bits.

    Probes: `rms_in` and `rms_out` are the per-vector RMS before and after, `(...,)`, computed
    only when observed. `out` is the normalised output, same shape as the input.
    """

    def __init__(self, dim: int, eps: float, cast_after_weight: bool = True):
        super().__init__()
        self.eps = eps
        self.cast_after_weight = cast_after_weight
        self.weight = nn.Parameter(torch.ones(dim))
        self.rms_in = Probe()
        self.rms_out = Probe()
        self.out = Probe()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x32 = x.float()
        mean_square = x32.pow(2).mean(-1)  # (...,)
        # rms_in reuses the norm's own mean square, so observing it costs one small op.
        self.rms_in.observe(lambda: mean_square.sqrt())
        normed = x32 * torch.rsqrt(mean_square + self.eps).unsqueeze(-1)
        if self.cast_after_weight:
            y = (self.weight * normed).type_as(x)
        else:
            y = self.weight * normed.type_as(x)

        y = self.out(y)
        self.rms_out.observe(lambda: rms(y))
        return y

    def extra_repr(self) -> str:
        return f"{self.weight.shape[0]}, eps={self.eps}"
