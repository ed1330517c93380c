"""Probe points: named identity modules that forward hooks can observe or edit."""

from __future__ import annotations

import math

import torch
from torch import nn


class Probe(nn.Identity):
    """An identity module whose output is one intermediate tensor of the forward pass.

    The model passes each tensor a learner may want to see through a probe, so a plain
    forward hook on the probe records it, and a hook that returns a tensor replaces it for
    the rest of the pass. Without hooks a probe returns its input object unchanged.

    `tap` is a cheaper way to only read the tensor: a callable that receives the probe's
    output (after any hooks) and whose return value is ignored. A tracer sets it because
    calling a module that has forward hooks takes torch's slower call path.
    """

    def __init__(self):
        super().__init__()
        self.tap = None

    def set_tap(self, tap) -> None:
        """Set or clear (None) the tap, skipping nn.Module.__setattr__, which costs microseconds per call."""
        self.__dict__["tap"] = tap

    def __call__(self, x):
        tap = self.tap
        if tap is not None and not (self._forward_hooks or self._forward_pre_hooks):
            tap(x)
            return x
        out = super().__call__(x)
        if tap is not None:
            tap(out)
        return out

    @property
    def observed(self) -> bool:
        """True when a hook or tap is attached, so tensors computed only for display are worth making."""
        return self.tap is not None or bool(self._forward_hooks or self._forward_pre_hooks)

    def observe(self, make: "callable") -> None:
        """Call `make()` and pass the result through the probe, only when a hook or tap is attached.

        Used for values the model does not need itself (per-token RMS), so an unobserved
        forward pass does not pay for them.
        """
        if self.observed:
            self(make())


def observed_any(*probes: Probe) -> bool:
    """Return True when any of `probes` has a hook or tap attached."""
    return any(p.observed for p in probes)


def rms(x: torch.Tensor) -> torch.Tensor:
    """Per-vector root mean square over the last dimension, in fp32: (...,) from (..., D).

    `vector_norm` reads x once and allocates no (..., D) temporary, which matters because a
    traced pass computes this for every norm. The result is detached from autograd.
    """
    return torch.linalg.vector_norm(x.detach(), dim=-1, dtype=torch.float32).div_(math.sqrt(x.shape[-1]))
