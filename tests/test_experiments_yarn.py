"""Tests for the YaRN experiment: MiniMind's ramp from its formula, and real long-prompt runs."""

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from minimind import MiniMindConfig, MiniMindForCausalLM, load_checkpoint
from scenes.experiments import ExperimentError, run_yarn, with_rope_settings

FIXTURE = Path(__file__).parent / "fixtures" / "minimind-parity" / "m3_yarn"


def tiny_model() -> MiniMindForCausalLM:
    torch.manual_seed(0)
    config = MiniMindConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                            vocab_size=512, max_position_embeddings=2048)
    return MiniMindForCausalLM(config).eval()


def spec_ramp(D, theta, orig=2048, factor=16, beta_fast=32, beta_slow=1):
    """MiniMind's ramp written out from its formula, in float64."""
    def inv_dim(beta):
        return D * math.log(orig / (2 * math.pi * beta)) / (2 * math.log(theta))

    low = max(math.floor(inv_dim(beta_fast)), 0)
    high = min(math.ceil(inv_dim(beta_slow)), D // 2 - 1)
    ramp = np.clip((np.arange(D // 2) - low) / max(high - low, 0.001), 0, 1)
    return low, high, ramp, (1 - ramp) + ramp / factor


@pytest.fixture(scope="module")
def result():
    return run_yarn(tiny_model(), length=2100, layer=1)


def test_yarn_ramp_matches_formula(result):
    low, high, ramp, scale = spec_ramp(result.head_dim, result.rope_theta)
    assert (result.low, result.high) == (low, high)
    np.testing.assert_allclose(result.ramp, ramp, atol=1e-7)
    np.testing.assert_allclose(result.scale, scale, atol=1e-7)
    assert (result.factor, result.original_max_position_embeddings) == (16, 2048)
    assert (result.beta_fast, result.beta_slow, result.attention_factor) == (32, 1, 1.0)


def test_yarn_ramp_for_head_dim_64():
    # Same formula at MiniMind2-small's head_dim: the ramp must still match the constants.
    model = MiniMindForCausalLM(MiniMindConfig(hidden_size=128, num_hidden_layers=1, num_attention_heads=2,
                                               num_key_value_heads=1, vocab_size=300, max_position_embeddings=64))
    result = run_yarn(model, prompt=[5, 6, 7, 8])
    low, high, ramp, _ = spec_ramp(64, 1e6)
    assert (result.low, result.high) == (low, high)
    np.testing.assert_allclose(result.ramp, ramp, atol=1e-7)


def test_yarn_angles_and_coverage(result):
    D = result.head_dim
    base = result.rope_theta ** (-2 * np.arange(D // 2) / D)
    positions = np.array(result.positions, dtype=np.float64)[:, None]
    np.testing.assert_allclose(result.angle_plain, positions * base, rtol=1e-6)
    np.testing.assert_allclose(result.angle_yarn, positions * base * result.scale, rtol=1e-6)
    wrapped = 2047 * base >= 2 * math.pi
    np.testing.assert_array_equal(result.wrapped_in_training, wrapped)
    np.testing.assert_array_equal(result.seen_plain, wrapped | (positions * base <= 2047 * base))
    # At 16x the original length, the slowest pairs land back inside the trained angles only with YaRN.
    at_16x = result.positions.index(8 * 2048)
    assert not result.seen_plain[at_16x, -1]
    assert result.seen_yarn[at_16x, -1]
    assert result.reach_yarn[at_16x, -1] == pytest.approx(8 * 2048 / 16 / 2047)


def test_yarn_runs_change_attention(result):
    for run in (result.plain, result.yarn):
        assert run.last_query_probs.shape == (4, result.prompt_length)
        np.testing.assert_allclose(run.last_query_probs.sum(-1), 1.0, atol=1e-5)
        assert run.last_query_entropy.shape == (2, 4)
        assert math.isfinite(run.loss_within)
        assert math.isfinite(run.loss_beyond)
    assert (result.plain.inference_rope_scaling, result.yarn.inference_rope_scaling) == (False, True)
    assert np.abs(result.plain.last_query_probs - result.yarn.last_query_probs).max() > 1e-4


def test_with_rope_settings_tables_follow_formula():
    model = tiny_model()
    clone = with_rope_settings(model, 32768, yarn=True)
    D = model.config.head_dim
    _, _, _, scale = spec_ramp(D, model.config.rope_theta)
    freqs = model.config.rope_theta ** (-2 * np.arange(D // 2) / D) * scale
    for m in (0, 5, 3000, 32767):
        np.testing.assert_allclose(clone.model.freqs_cos[m, : D // 2].numpy(), np.cos(m * freqs), atol=2e-3)
    # The caller's model keeps its own settings.
    assert model.config.max_position_embeddings == 2048
    assert not model.config.inference_rope_scaling
    assert model.model.freqs_cos.shape[0] == 2048


def test_with_rope_settings_matches_upstream_yarn_reference():
    plain = load_checkpoint(FIXTURE / "model.pth", config={"inference_rope_scaling": False})
    reference = load_file(FIXTURE / "reference.safetensors")
    yarn = with_rope_settings(plain, plain.config.max_position_embeddings, yarn=True)
    with torch.no_grad():
        logits = yarn(reference["input_ids"]).logits
        plain_logits = plain(reference["input_ids"]).logits
    torch.testing.assert_close(logits, reference["logits"].float(), atol=1e-4, rtol=1e-4)
    assert (plain_logits - reference["logits"].float()).abs().max() > 1e-3


def test_yarn_rejects_bad_layer():
    with pytest.raises(ExperimentError, match="layer"):
        run_yarn(tiny_model(), prompt=[5, 6], layer=2)
