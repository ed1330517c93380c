"""The compiled statistics helper gives the same statistics as torch's reductions."""

from __future__ import annotations

import math
import os

import pytest
import torch

from tracer import native
from tracer.stats import tensor_stats


@pytest.fixture
def helper(tmp_path, monkeypatch):
    """Build the helper into a temporary file and use it, whatever the source tree holds."""
    if native.compiler() is None:
        pytest.skip("no C compiler on this machine")
    library = native.build(tmp_path / "_stats.so")
    monkeypatch.setattr(native, "LIBRARY", library)
    native.reset()
    yield
    native.reset()


def torch_only_stats(x):
    """Statistics with the helper turned off."""
    saved = dict(native._state)
    native._state["function"] = None
    try:
        return tensor_stats(x)
    finally:
        native._state.clear()
        native._state.update(saved)


def reference(x: torch.Tensor) -> dict:
    """float64 statistics computed in the plainest way."""
    values = x.double().flatten()
    return {
        "mean": values.mean().item(),
        "std": values.std(correction=0).item(),
        "rms": values.square().mean().sqrt().item(),
        "min": values.min().item(),
        "max": values.max().item(),
    }


CASES = {
    "normal": torch.randn(3, 257, 129),
    "odd length": torch.randn(1001),
    "shorter than one vector": torch.randn(5),
    "large mean, small spread": 1000.0 + 1e-3 * torch.randn(200_000),
    "outlier first": torch.cat([torch.tensor([500.0]), torch.randn(70_000)]),
    "one element": torch.tensor([2.5]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_helper_matches_float64(helper, name):
    x = CASES[name]
    assert native.fused_stats_f32(x) is not None
    stats, expected = tensor_stats(x), reference(x)
    spread = max(expected["std"], 1e-30)
    assert stats.numel == x.numel()
    assert stats.mean == pytest.approx(expected["mean"], abs=1e-6 * spread, rel=1e-6)
    assert stats.std == pytest.approx(expected["std"], rel=1e-5, abs=1e-12)
    assert stats.rms == pytest.approx(expected["rms"], rel=1e-6)
    assert stats.min == expected["min"]
    assert stats.max == expected["max"]


def test_helper_agrees_with_torch_path(helper):
    x = torch.randn(8, 256, 256).softmax(-1)
    fast, slow = tensor_stats(x), torch_only_stats(x)
    for field in ("mean", "std", "rms", "min", "max"):
        assert getattr(fast, field) == pytest.approx(getattr(slow, field), rel=1e-5), field


def test_helper_reads_transposed_tensor(helper):
    x = torch.randn(1, 256, 8, 64)
    transposed = x.transpose(1, 2)
    assert not transposed.is_contiguous()
    assert native.fused_stats_f32(transposed) is not None
    assert tensor_stats(transposed) == tensor_stats(x)


def test_helper_skips_strided_and_other_dtypes(helper):
    x = torch.randn(64, 64)
    assert native.fused_stats_f32(x[:, ::2]) is None  # gaps between elements
    assert native.fused_stats_f32(x.expand(2, 64, 64)) is None  # one element read twice
    assert native.fused_stats_f32(x.double()) is None
    assert native.fused_stats_f32(x.bfloat16()) is None


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_helper_hands_non_finite_to_exact_path(helper, bad):
    x = torch.randn(10_000)
    x[1234] = bad
    stats = tensor_stats(x)
    finite = torch.cat([x[:1234], x[1235:]])
    assert stats.nan_count == (1 if math.isnan(bad) else 0)
    assert stats.inf_count == (0 if math.isnan(bad) else 1)
    assert stats.max == finite.max().item()
    assert stats.mean == pytest.approx(finite.double().mean().item(), abs=1e-9)


def test_helper_off_by_environment(helper, monkeypatch):
    monkeypatch.setenv("MMTRACE_NATIVE", "0")
    native.reset()
    assert not native.available()
    assert native.fused_stats_f32(torch.randn(100)) is None


def test_stale_library_is_not_loaded(tmp_path, monkeypatch):
    stale = tmp_path / "_stats.so"
    stale.write_bytes(b"not a library")
    old = native.SOURCE.stat().st_mtime - 100
    os.utime(stale, (old, old))
    monkeypatch.setattr(native, "LIBRARY", stale)
    native.reset()
    try:
        assert not native.up_to_date(stale)
        assert native.fused_stats_f32(torch.randn(100)) is None
    finally:
        native.reset()


def test_helper_serves_concurrent_threads(helper):
    from concurrent.futures import ThreadPoolExecutor

    tensors = [torch.randn(150_000) * (i + 1) + i for i in range(8)]
    expected = [reference(x) for x in tensors]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(tensor_stats, tensors * 5))
    for index, stats in enumerate(results):
        want = expected[index % len(tensors)]
        assert stats.mean == pytest.approx(want["mean"], rel=1e-6, abs=1e-6)
        assert stats.std == pytest.approx(want["std"], rel=1e-5)
        assert stats.max == want["max"]
