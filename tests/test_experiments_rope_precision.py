"""Tests for the RoPE-precision experiment, checked with numpy float32/float16 arithmetic."""

import numpy as np
import pytest
import torch

from minimind import MiniMindConfig, MiniMindForCausalLM
from scenes.experiments import ExperimentError, run_rope_precision


def tiny_model(max_positions=4096) -> MiniMindForCausalLM:
    torch.manual_seed(0)
    config = MiniMindConfig(hidden_size=64, num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1,
                            vocab_size=300, max_position_embeddings=max_positions)
    return MiniMindForCausalLM(config).eval()


def to_bfloat16(x: np.ndarray) -> np.ndarray:
    """Round float32 values to bfloat16 (round half to even), returned as float32."""
    bits = np.asarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16 << 16
    return rounded.astype(np.uint32).view(np.float32)


def numpy_freq32(model, pair):
    D, theta = model.config.head_dim, model.config.rope_theta
    return np.float32(1.0) / np.float32(theta) ** (np.float32(2 * pair) / np.float32(D))


@pytest.fixture(scope="module")
def model():
    return tiny_model()


@pytest.fixture(scope="module")
def result(model):
    return run_rope_precision(model, positions=[200, 201, 202, 255, 256, 257, 258, 1000, 1001, 1002])


def row(result, name):
    return next(r for r in result.rows if r.dtype == name)


def test_rope_precision_float32_matches_numpy(model, result):
    fp32 = row(result, "float32")
    freq = np.float32(fp32.inv_freq)
    assert freq == pytest.approx(numpy_freq32(model, result.pair), rel=2e-7)
    expected = np.array(result.positions, dtype=np.float32) * freq
    np.testing.assert_array_equal(fp32.angle, expected.astype(np.float64))
    assert fp32.angle_hex == ["0x%08x" % v for v in expected.view(np.uint32)]


def test_rope_precision_float16_matches_numpy(result):
    fp16 = row(result, "float16")
    freq = np.float16(row(result, "float32").inv_freq)
    assert fp16.inv_freq == float(freq)
    expected = np.array(result.positions, dtype=np.float16) * freq
    np.testing.assert_array_equal(fp16.angle, expected.astype(np.float64))
    assert fp16.angle_hex == ["0x%04x" % v for v in expected.view(np.uint16)]
    assert fp16.inv_freq_subnormal == bool(abs(freq) < np.finfo(np.float16).tiny)
    assert not row(result, "float32").inv_freq_subnormal


def test_rope_precision_bfloat16_matches_manual_rounding(result):
    bf16 = row(result, "bfloat16")
    freq = to_bfloat16(np.float32(row(result, "float32").inv_freq))
    assert bf16.inv_freq == float(freq)
    positions = to_bfloat16(np.array(result.positions, dtype=np.float32))
    np.testing.assert_array_equal(bf16.positions, positions)
    # The product of two 8-bit significands is exact in float32, so one rounding gives bfloat16's result.
    expected = to_bfloat16(positions * freq)
    np.testing.assert_array_equal(bf16.angle, expected.astype(np.float64))
    assert bf16.positions[result.positions.index(257)] == 256.0


def test_rope_precision_first_collision_by_scan(model, result):
    m = np.arange(result.scan_limit, dtype=np.float32)
    freq32 = np.float32(row(result, "float32").inv_freq)
    scans = {
        "float32": m * freq32,
        "float16": m.astype(np.float16) * np.float16(freq32),
        "bfloat16": to_bfloat16(to_bfloat16(m) * to_bfloat16(freq32)),
    }
    for name, angles in scans.items():
        same = np.flatnonzero(angles[1:] == angles[:-1])
        expected = int(same[0]) + 1 if same.size else None
        assert row(result, name).first_collision == expected, name
        assert row(result, name).distinct_angles == len(np.unique(angles)), name
    assert row(result, "float32").first_collision is None
    assert row(result, "bfloat16").first_collision < row(result, "float16").first_collision


def test_rope_precision_float32_cos_is_the_model_table(model, result):
    fp32 = row(result, "float32")
    table = model.model.freqs_cos[result.positions, result.pair].double().numpy()
    np.testing.assert_array_equal(fp32.cos, table)


def test_rope_precision_same_as_previous_flags(result):
    for r in result.rows:
        assert not r.same_as_previous[0]
        np.testing.assert_array_equal(r.same_as_previous[1:], r.angle[1:] == r.angle[:-1])
    assert row(result, "bfloat16").same_as_previous.any()


def test_rope_precision_rejects_unknown_dtype(model):
    with pytest.raises(ExperimentError, match="float64"):
        run_rope_precision(model, dtypes=("float64",))
