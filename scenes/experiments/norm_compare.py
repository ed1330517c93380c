"""LayerNorm against RMSNorm: what each does to shifted input, and how fast each runs here.

LayerNorm subtracts the mean and divides by the standard deviation; RMSNorm only divides by
the root mean square, so an input with a non-zero mean keeps an offset of about
mean / sqrt(mean^2 + std^2) after it.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from minimind.norm import RMSNorm

from ._common import ExperimentError


@dataclass
class NormStats:
    """Summary of one normalisation's output over all rows."""

    mean: float  # mean of every output element
    row_mean_min: float  # smallest per-row mean
    row_mean_max: float  # largest per-row mean
    std: float  # mean of the per-row standard deviations (population std)
    rms: float  # mean of the per-row RMS


@dataclass
class NormCompareResult:
    """Outputs of both norms on the same shifted input, and their measured speed."""

    width: int  # features per row
    rows: int  # rows normalised at once
    input_mean: float  # the shift requested, and the sampled input's actual statistics below
    input_std: float
    sample_mean: float
    sample_std: float
    sample_rms: float
    eps: float
    example_input: np.ndarray  # (width,) row 0 of the input
    example_layernorm: np.ndarray  # (width,) LayerNorm of row 0
    example_rmsnorm: np.ndarray  # (width,) RMSNorm of row 0
    layernorm: NormStats
    rmsnorm: NormStats
    expected_rms_offset: float  # input_mean / sqrt(input_mean^2 + input_std^2), the large-width limit
    timing_shape: tuple[int, int]  # (rows, width) of the tensor timed
    repeats: int  # timed calls per measurement; the median is reported
    layernorm_us: float  # torch.nn.functional.layer_norm, median microseconds per call
    rmsnorm_us: float  # torch.nn.functional.rms_norm, median microseconds per call
    minimind_rmsnorm_us: float  # minimind.norm.RMSNorm, the model's own module, median microseconds
    machine: dict[str, str]  # what the timing ran on: processor, cpu_count, torch threads, versions


def run_norm_compare(
    width: int = 512,
    rows: int = 256,
    input_mean: float = 2.0,
    input_std: float = 5.0,
    eps: float = 1e-6,
    seed: int = 0,
    timing_rows: int = 1024,
    repeats: int = 25,
) -> NormCompareResult:
    """Normalise `randn * input_std + input_mean` with both norms, then time both.

    Neither norm has a learned gain here (weights of one, no bias), so the outputs show
    only the normalisation. Timings are medians of `repeats` calls on a fresh
    (timing_rows, width) fp32 tensor, measured now on this machine.
    """
    if width < 2 or rows < 1 or timing_rows < 1 or repeats < 1:
        raise ExperimentError(
            f"width={width}, rows={rows}, timing_rows={timing_rows}, repeats={repeats}: "
            "pass width >= 2 and at least 1 row and 1 repeat"
        )
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(rows, width, generator=generator) * input_std + input_mean  # (rows, width)

    rmsnorm = RMSNorm(width, eps)
    with torch.no_grad():
        ln = F.layer_norm(x, (width,), eps=eps)
        rn = rmsnorm(x)

    x64 = x.double()
    timing_input = torch.randn(timing_rows, width, generator=generator) * input_std + input_mean
    timings = _median_us(
        {
            "layernorm": lambda: F.layer_norm(timing_input, (width,), eps=eps),
            "rmsnorm": lambda: F.rms_norm(timing_input, (width,), eps=eps),
            "minimind_rmsnorm": lambda: rmsnorm(timing_input),
        },
        repeats,
    )
    return NormCompareResult(
        width=width,
        rows=rows,
        input_mean=float(input_mean),
        input_std=float(input_std),
        sample_mean=x64.mean().item(),
        sample_std=x64.std(unbiased=False).item(),
        sample_rms=x64.pow(2).mean().sqrt().item(),
        eps=eps,
        example_input=x[0].numpy().copy(),
        example_layernorm=ln[0].numpy().copy(),
        example_rmsnorm=rn[0].numpy().copy(),
        layernorm=_stats(ln),
        rmsnorm=_stats(rn),
        expected_rms_offset=input_mean / (input_mean**2 + input_std**2) ** 0.5,
        timing_shape=(timing_rows, width),
        repeats=repeats,
        layernorm_us=timings["layernorm"],
        rmsnorm_us=timings["rmsnorm"],
        minimind_rmsnorm_us=timings["minimind_rmsnorm"],
        machine=describe_machine(),
    )


def _stats(y: torch.Tensor) -> NormStats:
    y64 = y.double()
    row_mean = y64.mean(-1)
    return NormStats(
        mean=y64.mean().item(),
        row_mean_min=row_mean.min().item(),
        row_mean_max=row_mean.max().item(),
        std=y64.std(-1, unbiased=False).mean().item(),
        rms=y64.pow(2).mean(-1).sqrt().mean().item(),
    )


@torch.no_grad()
def _median_us(calls: dict, repeats: int) -> dict[str, float]:
    # Interleaving the calls spreads load from other processes evenly over all of them.
    for call in calls.values():
        for _ in range(3):  # warm-up: first calls pay for allocation and dispatch caches
            call()
    times = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) * 1e6 for name, values in times.items()}


def describe_machine() -> dict[str, str]:
    """Describe the CPU and torch build that a timing ran on."""
    return {
        "processor": _cpu_model(),
        "machine": platform.machine(),
        "system": f"{platform.system()} {platform.release()}",
        "cpu_count": str(os.cpu_count()),
        "torch_threads": str(torch.get_num_threads()),
        "torch": torch.__version__,
        "python": platform.python_version(),
    }


def _cpu_model() -> str:
    # platform.processor() is often just "x86_64" on Linux; /proc/cpuinfo names the model.
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
