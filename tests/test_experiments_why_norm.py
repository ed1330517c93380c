"""Tests for the why-norm experiment: RMSNorm on and off in a deep seeded stack."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from minimind import MiniMindConfig, MiniMindForCausalLM
from minimind.norm import RMSNorm
from scenes.experiments import ExperimentError, build_stacks, classify_trend, run_why_norm


def tiny_model(**overrides) -> MiniMindForCausalLM:
    sizes = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                 vocab_size=512, max_position_embeddings=256)
    sizes.update(overrides)
    torch.manual_seed(0)
    return MiniMindForCausalLM(MiniMindConfig(**sizes)).eval()


def manual_pass(stack: MiniMindForCausalLM, batch: torch.Tensor):
    """Run the blocks by hand and take gradients with autograd.grad, without any hooks."""
    inner = stack.model
    points = [inner.embed_tokens(batch)]
    for layer in inner.layers:
        points.append(layer(points[-1], inner.freqs_cos[: batch.shape[1]], inner.freqs_sin[: batch.shape[1]])[0])
    logits = stack.lm_head(inner.norm(points[-1]))
    loss = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1))
    grads = torch.autograd.grad(loss, points)
    rms = [p.detach().double().pow(2).mean().sqrt().item() for p in points]
    return loss.item(), np.array(rms), np.array([g.norm().item() for g in grads])


@pytest.fixture(scope="module")
def result():
    return run_why_norm(tiny_model(), num_layers=6, init_std=0.14, batch_size=2, seq_len=16, seed=3)


def test_why_norm_matches_manual_pass(result):
    normed, plain, _ = build_stacks(tiny_model(), 6, 0.14, 3)
    batch = torch.tensor(result.batch)
    for stack, run in ((normed, result.with_norm), (plain, result.without_norm)):
        loss, rms, grad = manual_pass(stack, batch)
        assert run.loss == pytest.approx(loss, rel=1e-5)
        np.testing.assert_allclose(run.stream_rms, rms, rtol=1e-5)
        np.testing.assert_allclose(run.stream_grad_norm, grad, rtol=1e-4)


def test_why_norm_replaces_every_rmsnorm(result):
    normed, plain, replaced = build_stacks(tiny_model(), 6, 0.14, 3)
    expected = [name for name, module in normed.named_modules() if isinstance(module, RMSNorm)]
    assert sorted(result.replaced_modules) == sorted(expected)
    # minimind-3: two block norms plus q_norm and k_norm per layer, and the final norm.
    assert len(expected) == 4 * 6 + 1
    assert not any(isinstance(module, RMSNorm) for module in plain.modules())
    assert replaced == result.replaced_modules


def test_why_norm_sublayers_read_rms_one_with_norm(result):
    # RMSNorm with unit gain gives RMS 1 up to eps; without it the sublayer reads the stream itself.
    np.testing.assert_allclose(result.with_norm.sublayer_input_rms, 1.0, atol=1e-3)
    np.testing.assert_allclose(result.without_norm.sublayer_input_rms, result.without_norm.stream_rms[:-1], rtol=1e-5)


def test_why_norm_gains_are_ratios(result):
    run = result.without_norm
    np.testing.assert_allclose(run.stream_gain, run.stream_rms[1:] / run.stream_rms[:-1])
    np.testing.assert_allclose(run.grad_gain, run.stream_grad_norm[:-1] / run.stream_grad_norm[1:])


def test_why_norm_large_init_without_norm_blows_up(result):
    run = result.without_norm
    growth = run.stream_rms[-1] / run.stream_rms[1]
    grad_growth = run.stream_grad_norm[1] / run.stream_grad_norm[-1]
    assert growth > result.trend_factor
    assert run.activation_trend == "growth"
    assert grad_growth > result.trend_factor
    assert run.gradient_trend == "exploding"
    assert result.with_norm.activation_trend == "stable"


def test_why_norm_small_init_silences_sublayers():
    result = run_why_norm(tiny_model(), num_layers=4, init_std=0.02, batch_size=2, seq_len=16)
    # Without norms the sublayers read the tiny stream, so the quadratic SwiGLU output nearly vanishes.
    assert np.all(result.without_norm.mlp_out_rms < 0.01 * result.with_norm.mlp_out_rms)
    assert result.without_norm.activation_trend == "stable"


def test_why_norm_overflow_is_reported():
    result = run_why_norm(tiny_model(), num_layers=8, init_std=0.3, batch_size=2, seq_len=16, seed=3)
    run = result.without_norm
    assert run.activation_trend == "overflow"
    assert run.gradient_trend == "overflow"
    assert run.first_nonfinite_point == int(np.flatnonzero(~np.isfinite(run.stream_rms))[0])
    assert result.with_norm.first_nonfinite_point is None


def test_why_norm_default_init_stays_finite():
    model = tiny_model(hidden_size=256, num_attention_heads=8, num_key_value_heads=4, vocab_size=4096)
    result = run_why_norm(model, num_layers=16, batch_size=1, seq_len=16)
    assert result.init_std == pytest.approx(0.88 / math.sqrt(256))
    assert result.without_norm.first_nonfinite_point is None
    assert np.all(np.isfinite(result.without_norm.stream_grad_norm))


def test_classify_trend_names():
    assert classify_trend(np.array([1.0, 10.0, 1000.0]), 100, ("growth", "shrink")) == "growth"
    assert classify_trend(np.array([1.0, 0.5, 0.001]), 100, ("growth", "shrink")) == "shrink"
    assert classify_trend(np.array([1.0, 5.0, 50.0]), 100, ("growth", "shrink")) == "stable"
    assert classify_trend(np.array([1.0, np.inf]), 100, ("growth", "shrink")) == "overflow"
    assert classify_trend(np.array([1.0, np.nan]), 100, ("exploding", "vanishing")) == "overflow"


def test_why_norm_rejects_bad_arguments():
    model = tiny_model()
    with pytest.raises(ExperimentError, match="num_layers"):
        run_why_norm(model, num_layers=1)
    with pytest.raises(ExperimentError, match="init_std"):
        run_why_norm(model, num_layers=2, init_std=0.0)
