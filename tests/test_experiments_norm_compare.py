"""Tests for the LayerNorm-vs-RMSNorm experiment, checked against numpy."""

import math
import os

import numpy as np
import pytest

from scenes.experiments import ExperimentError, run_norm_compare


@pytest.fixture(scope="module")
def result():
    return run_norm_compare(width=512, rows=64, timing_rows=16, repeats=3)


def numpy_layernorm(x, eps):
    x = x.astype(np.float64)
    return (x - x.mean()) / np.sqrt(x.var() + eps)


def numpy_rmsnorm(x, eps):
    x = x.astype(np.float64)
    return x / np.sqrt((x**2).mean() + eps)


def test_norm_compare_example_row_matches_numpy(result):
    x = result.example_input
    np.testing.assert_allclose(result.example_layernorm, numpy_layernorm(x, result.eps), atol=2e-5)
    np.testing.assert_allclose(result.example_rmsnorm, numpy_rmsnorm(x, result.eps), atol=2e-5)


def test_norm_compare_rmsnorm_keeps_mean_offset(result):
    # An independent numpy sample of randn * 5 + 2 at width 512 gives the same offset within sampling noise.
    rng = np.random.default_rng(1)
    sample = rng.standard_normal((64, 512)) * 5 + 2
    numpy_offset = np.mean([numpy_rmsnorm(row, 1e-6).mean() for row in sample])
    assert result.rmsnorm.mean == pytest.approx(numpy_offset, abs=0.03)
    assert result.rmsnorm.mean == pytest.approx(0.37, abs=0.03)
    assert result.expected_rms_offset == pytest.approx(2 / math.sqrt(29))
    assert abs(result.layernorm.mean) < 1e-5
    assert result.layernorm.std == pytest.approx(1.0, abs=1e-4)
    assert result.rmsnorm.rms == pytest.approx(1.0, abs=1e-4)


def test_norm_compare_sample_statistics(result):
    assert result.sample_mean == pytest.approx(2.0, abs=0.2)
    assert result.sample_std == pytest.approx(5.0, abs=0.2)
    assert result.sample_rms == pytest.approx(math.sqrt(result.sample_mean**2 + result.sample_std**2), rel=1e-6)


def test_norm_compare_timing_fields(result):
    for value in (result.layernorm_us, result.rmsnorm_us, result.minimind_rmsnorm_us):
        assert math.isfinite(value)
        assert value > 0
    assert result.timing_shape == (16, 512)
    assert result.machine["cpu_count"] == str(os.cpu_count())
    assert result.machine["processor"]


def test_norm_compare_rejects_bad_width():
    with pytest.raises(ExperimentError, match="width"):
        run_norm_compare(width=1)
