"""Data for the norm-compare scene: histograms of one row before and after each norm, stats, timings."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scenes.experiments import NormCompareResult

BINS = 32


@dataclass
class NormCompareData:
    """One example row through both norms, the statistics over all rows, and the measured timings."""

    width: int
    rows: int
    input_mean: float
    input_std: float
    sample_mean: float
    sample_std: float
    input_counts: np.ndarray  # (BINS,) histogram of the example input row
    input_edges: np.ndarray  # (BINS + 1,)
    layernorm_counts: np.ndarray  # (BINS,) histogram of the example row after LayerNorm, on `output_edges`
    rmsnorm_counts: np.ndarray  # (BINS,) after RMSNorm, same bins
    output_edges: np.ndarray  # (BINS + 1,) shared by both outputs, symmetric around 0
    example_means: tuple[float, float, float]  # mean of the example row: input, LayerNorm, RMSNorm
    layernorm_mean: float  # over all rows
    rmsnorm_mean: float
    layernorm_std: float
    rmsnorm_std: float
    layernorm_rms: float
    rmsnorm_rms: float
    expected_offset: float  # mean / sqrt(mean^2 + std^2)
    timings: list[tuple[str, float]]  # (what was timed, median microseconds per call)
    timing_shape: tuple[int, int]
    repeats: int
    machine: dict[str, str]

    @property
    def speed_ratio(self) -> float:
        """F.layer_norm time over F.rms_norm time: above 1 means RMSNorm ran faster here."""
        return self.timings[0][1] / self.timings[1][1]


def norm_compare_data(result: NormCompareResult) -> NormCompareData:
    """Bin the example row and collect the statistics and timings the scene shows."""
    input_counts, input_edges = np.histogram(result.example_input, bins=BINS)
    outputs = np.concatenate([result.example_layernorm, result.example_rmsnorm])
    limit = float(np.ceil(np.abs(outputs).max()))
    output_edges = np.linspace(-limit, limit, BINS + 1)
    return NormCompareData(
        width=result.width,
        rows=result.rows,
        input_mean=result.input_mean,
        input_std=result.input_std,
        sample_mean=result.sample_mean,
        sample_std=result.sample_std,
        input_counts=input_counts,
        input_edges=input_edges,
        layernorm_counts=np.histogram(result.example_layernorm, bins=output_edges)[0],
        rmsnorm_counts=np.histogram(result.example_rmsnorm, bins=output_edges)[0],
        output_edges=output_edges,
        example_means=(float(np.mean(result.example_input)), float(np.mean(result.example_layernorm)),
                       float(np.mean(result.example_rmsnorm))),
        layernorm_mean=result.layernorm.mean,
        rmsnorm_mean=result.rmsnorm.mean,
        layernorm_std=result.layernorm.std,
        rmsnorm_std=result.rmsnorm.std,
        layernorm_rms=result.layernorm.rms,
        rmsnorm_rms=result.rmsnorm.rms,
        expected_offset=result.expected_rms_offset,
        timings=[("F.layer_norm", result.layernorm_us), ("F.rms_norm", result.rmsnorm_us),
                 ("minimind RMSNorm", result.minimind_rmsnorm_us)],
        timing_shape=result.timing_shape,
        repeats=result.repeats,
        machine=result.machine,
    )
