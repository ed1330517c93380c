"""Tests for the RoPE-basics experiment: permutation equivariance and relative positions."""

import numpy as np
import pytest
import torch

from minimind import MINIMIND2, MINIMIND3, MiniMindConfig, MiniMindForCausalLM
from minimind.norm import RMSNorm
from scenes.experiments import ExperimentError, run_rope_basics


def tiny_model(version=MINIMIND3) -> MiniMindForCausalLM:
    config = MiniMindConfig(minimind_version=version, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                            num_key_value_heads=2, vocab_size=512, max_position_embeddings=2048)
    torch.manual_seed(0)
    model = MiniMindForCausalLM(config).eval()
    # Random gains, so a norm applied in the wrong place changes the scores.
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, RMSNorm):
                module.weight.uniform_(0.5, 1.5)
    return model


def numpy_rmsnorm(x, weight, eps):
    return x / np.sqrt((x**2).mean(-1, keepdims=True) + eps) * weight


def numpy_layer0_qk(model, ids):
    """Layer 0's unrotated q (T, H, D) and k (T, KV, D), from the weights in float64."""
    config = model.config
    weights = {name: p.detach().double().numpy() for name, p in model.named_parameters()}
    attn = "model.layers.0.self_attn"
    x = weights["model.embed_tokens.weight"][ids]
    x = numpy_rmsnorm(x, weights["model.layers.0.input_layernorm.weight"], config.rms_norm_eps)
    T, H, KV, D = len(ids), config.num_attention_heads, config.num_key_value_heads, config.head_dim
    q = (x @ weights[f"{attn}.q_proj.weight"].T).reshape(T, H, D)
    k = (x @ weights[f"{attn}.k_proj.weight"].T).reshape(T, KV, D)
    if config.is_v3:
        q = numpy_rmsnorm(q, weights[f"{attn}.q_norm.weight"], config.rms_norm_eps)
        k = numpy_rmsnorm(k, weights[f"{attn}.k_norm.weight"], config.rms_norm_eps)
    return q, k


def numpy_rotate(x, position, theta):
    half = x.shape[-1] // 2
    angle = position * theta ** (-2.0 * np.arange(half) / x.shape[-1])
    x1, x2 = x[:half], x[half:]
    return np.concatenate([x1 * np.cos(angle) - x2 * np.sin(angle), x2 * np.cos(angle) + x1 * np.sin(angle)])


@pytest.mark.parametrize("version", [MINIMIND3, MINIMIND2])
def test_rope_basics_scores_match_numpy(version):
    model = tiny_model(version)
    result = run_rope_basics(model, head=3)
    q, k = numpy_layer0_qk(model, result.token_ids)
    D = model.config.head_dim
    expected = q[:, 3] @ k[:, 3 // model.config.queries_per_kv_head].T / np.sqrt(D)
    np.testing.assert_allclose(result.scores_no_rope, expected, atol=1e-5)


def test_rope_basics_shuffle_permutes_scores_brute_force():
    result = run_rope_basics(tiny_model(), head=1, seed=4)
    perm = result.permutation
    T = len(perm)
    assert perm != list(range(T))
    assert len(set(result.token_ids)) == T
    for i in range(T):
        for j in range(T):
            assert result.scores_no_rope_permuted[i, j] == pytest.approx(
                result.scores_no_rope[perm[i], perm[j]], abs=1e-5
            )
    assert result.equivariance_error < 1e-5
    assert result.permuted_labels == [result.token_labels[p] for p in perm]


def test_rope_basics_rope_breaks_equivariance():
    result = run_rope_basics(tiny_model(), head=1, seed=4)
    assert result.rope_equivariance_error > 1e-2


def test_rope_basics_relative_table_matches_numpy():
    model = tiny_model()
    result = run_rope_basics(model, head=2, starts=(2, 3, 500, 1500), offsets=(-2, 0, 1, 5, 40))
    q, k = numpy_layer0_qk(model, result.token_ids)
    q_vec = q[result.query_token, 2]
    k_vec = k[result.key_token, 2 // model.config.queries_per_kv_head]
    D, theta = model.config.head_dim, model.config.rope_theta
    for i, n in enumerate(result.starts):
        for j, d in enumerate(result.offsets):
            expected = numpy_rotate(q_vec, n + d, theta) @ numpy_rotate(k_vec, n, theta) / np.sqrt(D)
            assert result.relative_table[i, j] == pytest.approx(expected, abs=1e-3)
    # Each column is one offset m - n, so its value is the same for every start.
    assert result.relative_spread < 1e-4
    assert result.relative_table[0, 1] == pytest.approx(result.unrotated_score, abs=1e-5)


def test_rope_basics_drops_repeated_tokens():
    result = run_rope_basics(tiny_model(), prompt=[5, 9, 5, 7, 9, 11])
    assert result.token_ids == [5, 9, 7, 11]


def test_rope_basics_rejects_bad_permutation():
    with pytest.raises(ExperimentError, match="permutation"):
        run_rope_basics(tiny_model(), prompt=[5, 9, 7], permutation=[0, 0, 1])
    with pytest.raises(ExperimentError, match="head"):
        run_rope_basics(tiny_model(), head=4)
    with pytest.raises(ExperimentError, match="positions"):
        run_rope_basics(tiny_model(), starts=(2040,), offsets=(16,))
