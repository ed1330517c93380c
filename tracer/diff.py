"""Compare two traces site by site and find the first site that diverges."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from .trace import Step, Trace

DEFAULT_ATOL = 1e-5
DEFAULT_RTOL = 1e-4
_STAT_FIELDS = ("mean", "std", "rms", "min", "max")


@dataclass(frozen=True)
class SiteDiff:
    """The difference between one step of trace A and the same site and pass in trace B."""

    site: str
    pass_index: int
    index: int  # the step's index in trace A (execution order)
    compared: str  # "tensor" (element by element), "stats" (a trace without tensors) or "shape" (shapes differ)
    max_abs: float  # largest |a - b|; inf when shapes differ or only one side is NaN
    max_rel: float  # largest |a - b| / max(|a|, |b|), counting 0 where both are 0
    shape_a: tuple[int, ...]
    shape_b: tuple[int, ...]
    within_tolerance: bool  # every element has |a - b| <= atol + rtol * |b| (NaN matches NaN)


@dataclass
class TraceDiff:
    """The result of `diff_traces`: per-site differences in A's execution order."""

    atol: float
    rtol: float
    sites: list[SiteDiff] = field(default_factory=list)
    only_in_a: list[str] = field(default_factory=list)  # "site@pass" recorded only in A
    only_in_b: list[str] = field(default_factory=list)  # "site@pass" recorded only in B
    same_weights: bool = True  # the weights hashes are equal
    compute_dtypes: tuple[str | None, str | None] = (None, None)  # dtype of each trace's first float step
    same_tokens: bool = True  # the token ids are equal

    @property
    def first_divergence(self) -> SiteDiff | None:
        """The first compared site, in execution order, beyond tolerance; None when all agree."""
        return next((d for d in self.sites if not d.within_tolerance), None)

    @property
    def diverged(self) -> bool:
        """True when some shared site is beyond tolerance."""
        return self.first_divergence is not None


def compute_dtype(trace: Trace) -> str | None:
    """Return the dtype the model computed in: that of the trace's first floating-point step, or None."""
    for step in trace.steps:
        if step.dtype.startswith(("float", "bfloat")):
            return step.dtype
    return None


def diff_traces(a: Trace, b: Trace, atol: float = DEFAULT_ATOL, rtol: float = DEFAULT_RTOL) -> TraceDiff:
    """Compare every (site, pass) the two traces share, reading one tensor pair at a time.

    Sites with tensors on both sides are compared element by element. Other sites compare
    their statistics (mean, std, RMS, min, max) as five numbers with the same tolerances,
    and their NaN and Inf counts must be equal.
    """
    result = TraceDiff(atol=atol, rtol=rtol, same_weights=a.weights_sha256 == b.weights_sha256, same_tokens=a.tokens.ids == b.tokens.ids,
                       compute_dtypes=(compute_dtype(a), compute_dtype(b)))
    b_steps = {(step.pass_index, step.site): step for step in b.steps}
    a_keys = {(step.pass_index, step.site) for step in a.steps}
    result.only_in_a = [f"{s.site}@{s.pass_index}" for s in a.steps if (s.pass_index, s.site) not in b_steps]
    result.only_in_b = [f"{s.site}@{s.pass_index}" for s in b.steps if (s.pass_index, s.site) not in a_keys]

    for step in a.steps:
        other = b_steps.get((step.pass_index, step.site))
        if other is not None:
            result.sites.append(_compare(a, step, b, other, atol, rtol))
    return result


def _compare(a: Trace, step_a: Step, b: Trace, step_b: Step, atol: float, rtol: float) -> SiteDiff:
    common = dict(site=step_a.site, pass_index=step_a.pass_index, index=step_a.index, shape_a=step_a.shape, shape_b=step_b.shape)
    if step_a.shape != step_b.shape:
        return SiteDiff(compared="shape", max_abs=math.inf, max_rel=math.inf, within_tolerance=False, **common)
    if step_a.tensor_key is not None and step_b.tensor_key is not None:
        x = a.tensor(step_a.site, step_a.pass_index).to(torch.float64)
        y = b.tensor(step_b.site, step_b.pass_index).to(torch.float64)
        max_abs, max_rel, ok = compare_values(x, y, atol, rtol)
        return SiteDiff(compared="tensor", max_abs=max_abs, max_rel=max_rel, within_tolerance=ok, **common)

    x = torch.tensor([getattr(step_a.stats, name) for name in _STAT_FIELDS], dtype=torch.float64)
    y = torch.tensor([getattr(step_b.stats, name) for name in _STAT_FIELDS], dtype=torch.float64)
    max_abs, max_rel, ok = compare_values(x, y, atol, rtol)
    counts_equal = (step_a.stats.nan_count, step_a.stats.inf_count) == (step_b.stats.nan_count, step_b.stats.inf_count)
    return SiteDiff(compared="stats", max_abs=max_abs, max_rel=max_rel, within_tolerance=ok and counts_equal, **common)


def compare_values(x: torch.Tensor, y: torch.Tensor, atol: float, rtol: float) -> tuple[float, float, bool]:
    """Return (max abs difference, max relative difference, all within tolerance) of equal-shape tensors."""
    if x.numel() == 0:
        return 0.0, 0.0, True
    both_nan = torch.isnan(x) & torch.isnan(y)
    same = (x == y) | both_nan  # also equal infinities, whose difference would be NaN
    difference = torch.where(same, torch.zeros_like(x), (x - y).abs().nan_to_num(nan=math.inf))
    scale = torch.maximum(x.abs(), y.abs()).nan_to_num(nan=math.inf)
    relative = torch.where(same, torch.zeros_like(x), difference / scale)
    ok = bool((same | (difference <= atol + rtol * y.abs())).all())
    return difference.max().item(), relative.nan_to_num(nan=math.inf).max().item(), ok
