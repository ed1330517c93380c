"""Tests for the RoPE-frequencies experiment, checked against closed-form periods."""

import math

import numpy as np
import pytest
import torch

from minimind import MiniMindConfig, MiniMindForCausalLM
from scenes.experiments import ExperimentError, frequency_table, run_rope_frequencies


def tiny_model(**overrides) -> MiniMindForCausalLM:
    sizes = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                 vocab_size=512, max_position_embeddings=256)
    sizes.update(overrides)
    torch.manual_seed(0)
    return MiniMindForCausalLM(MiniMindConfig(**sizes)).eval()


def test_frequency_table_closed_form_periods():
    table = frequency_table(64, 1e6, 100)
    i = np.arange(32)
    np.testing.assert_allclose(table.period, 2 * math.pi * 1e6 ** (2 * i / 64), rtol=1e-6)
    assert table.fastest_period == pytest.approx(2 * math.pi, rel=1e-7)
    assert table.slowest_period == pytest.approx(2 * math.pi * 1e6 ** (62 / 64), rel=1e-6)
    assert round(table.slowest_period / 1e6, 2) == 4.08
    assert table.pair_dims[0] == (0, 32)
    assert table.pair_dims[31] == (31, 63)


def test_frequency_table_wraps_within_prompt():
    table = frequency_table(32, 1e4, 50)
    expected = 49 >= 2 * math.pi * 1e4 ** (2 * np.arange(16) / 32)
    np.testing.assert_array_equal(table.wraps_in_prompt, expected)
    assert table.wraps_in_prompt[0]
    assert not table.wraps_in_prompt[-1]


def test_rope_frequencies_angles_follow_closed_form():
    model = tiny_model()
    result = run_rope_frequencies(model, prompt=list(range(3, 43)), head=2, token_index=5)
    D = model.config.head_dim
    freqs = model.config.rope_theta ** (-2 * np.arange(D // 2) / D)
    expected = result.base_angle[None, :] + result.positions[:, None] * freqs[None, :]
    difference = np.angle(np.exp(1j * (result.angle - expected)))  # wrapped to (-pi, pi]
    assert np.abs(difference).max() < 1e-4
    assert result.angle.shape == (40, D // 2)
    assert not result.yarn_active
    np.testing.assert_allclose(result.used_inv_freq, result.table.inv_freq)


def test_rope_frequencies_base_angle_is_the_real_query():
    model = tiny_model()
    captured = {}
    handle = model.model.layers[0].self_attn.q_normed.register_forward_hook(
        lambda _m, _i, out: captured.__setitem__("q", out.detach())
    )
    try:
        result = run_rope_frequencies(model, prompt=[7, 8, 9, 10], head=1, token_index=2)
    finally:
        handle.remove()
    q = captured["q"][0, 2, 1].double().numpy()
    half = q.shape[0] // 2
    np.testing.assert_allclose(result.base_angle, np.arctan2(q[half:], q[:half]), atol=1e-6)
    np.testing.assert_allclose(result.radius, np.hypot(q[:half], q[half:]), rtol=1e-6)


def test_rope_frequencies_reports_yarn_frequencies():
    model = tiny_model(max_position_embeddings=4096, inference_rope_scaling=True)
    result = run_rope_frequencies(model, prompt=[5, 6, 7])
    assert result.yarn_active
    assert result.used_inv_freq[-1] == pytest.approx(result.table.inv_freq[-1] / 16, rel=1e-6)


def test_rope_frequencies_rejects_bad_input():
    with pytest.raises(ExperimentError, match="head_dim"):
        frequency_table(7, 1e6, 10)
    with pytest.raises(ExperimentError, match="token_index"):
        run_rope_frequencies(tiny_model(), prompt=[5, 6, 7], token_index=3)
