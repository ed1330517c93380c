"""The values each scene draws are the trace's values (data objects checked without rendering)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from minimind import MiniMindConfig, MiniMindForCausalLM, load_tokenizer
from minimind.errors import MiniMindError
from minimind.rope import inv_freq
from scenes.data.attention import MAX_TOKENS, attention_data
from scenes.data.focus import Focus
from scenes.data.forward import forward_data, softmax
from scenes.data.gqa import gqa_data
from scenes.data.labels import labeler_for
from scenes.data.rmsnorm import rmsnorm_data
from scenes.data.rope import rope_rotation_data
from scenes.data.swiglu import silu, swiglu_data
from tracer import trace_prompt

PROMPT = "Lily had a red kite. One day, Lily took the kite to the park."


def small_model(vocab_size: int, seed: int = 0) -> MiniMindForCausalLM:
    """A seeded random MiniMind small enough to trace in milliseconds: 2 blocks, 4 query / 2 kv heads."""
    torch.manual_seed(seed)
    config = MiniMindConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                            vocab_size=vocab_size, max_position_embeddings=256)
    model = MiniMindForCausalLM(config).eval()
    # Larger weights than the init's 0.02, so attention patterns and gates are not all flat.
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.mul_(8.0)
    return model


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(None)


@pytest.fixture(scope="module")
def trace(tokenizer):
    return trace_prompt(small_model(tokenizer.vocab_size), tokenizer, PROMPT)


def recorded(trace, site: str) -> np.ndarray:
    return trace[site][0].double().numpy()


# --- rmsnorm ---------------------------------------------------------------------------------

def test_rmsnorm_values_are_recorded(trace):
    data = rmsnorm_data(trace, Focus(layer=1, token=4))
    assert data.rms_in == pytest.approx(float(recorded(trace, "layers.1.attn_norm.rms_in")[4]), rel=1e-12)
    assert data.rms_out == pytest.approx(float(recorded(trace, "layers.1.attn_norm.rms_out")[4]), rel=1e-12)
    np.testing.assert_array_equal(data.x, recorded(trace, "layers.1.resid_pre")[4])
    np.testing.assert_array_equal(data.out, recorded(trace, "layers.1.attn_norm.out")[4])
    np.testing.assert_array_equal(data.rms_in_table[0], recorded(trace, "layers.0.attn_norm.rms_in"))


def test_rmsnorm_division_and_gain(trace):
    data = rmsnorm_data(trace, Focus(layer=0, token=-1))
    assert data.token == len(data.labels) - 1
    assert data.rms_normalized == pytest.approx(1.0, abs=1e-4)
    np.testing.assert_allclose(data.gain * data.normalized, data.out, rtol=1e-5, atol=1e-6)
    # The model's own weight is the gain the scene recovers from activations.
    assert data.scale == pytest.approx(1.0 / math.sqrt(data.rms_in**2 + data.eps), rel=1e-5)


def test_rmsnorm_still_strips_aligned(trace):
    from scenes.rmsnorm import RMSNormScene

    scene = RMSNormScene.__new__(RMSNormScene)
    rows = scene.still_figure(rmsnorm_data(trace, Focus(layer=1, token=4)), limit=1.0)
    names, strips, values = zip(*[(row[0], row[1], row[2]) for row in rows])
    # Strips share both ends. Names end and values start at the same x, whatever their widths.
    assert np.ptp([strip.get_left()[0] for strip in strips]) < 1e-9
    assert np.ptp([strip.get_right()[0] for strip in strips]) < 1e-9
    assert np.ptp([name.get_right()[0] for name in names]) < 1e-9
    assert np.ptp([value.get_left()[0] for value in values]) < 1e-9
    assert len({round(value.width, 6) for value in values}) > 1


def test_rmsnorm_default_focus_is_largest_rms(trace):
    data = rmsnorm_data(trace)
    rms_in = recorded(trace, f"layers.{data.layer}.attn_norm.rms_in")
    assert data.labels[data.token] != "<|im_start|>"
    assert rms_in[data.token] == max(rms_in[i] for i, label in enumerate(data.labels) if label != "<|im_start|>")


# --- rope-rotation ----------------------------------------------------------------------------

def test_rope_pairs_are_recorded(trace):
    data = rope_rotation_data(trace, Focus(layer=1, head=3, token=10))
    half = data.head_dim // 2
    q_normed = recorded(trace, "layers.1.attn.q_normed")[10, 3]
    q_rot = recorded(trace, "layers.1.attn.q_rot")[10, 3]
    for row, pair in enumerate(data.pairs):
        np.testing.assert_array_equal(data.q_before[row], [q_normed[pair], q_normed[pair + half]])
        np.testing.assert_array_equal(data.q_after[row], [q_rot[pair], q_rot[pair + half]])
    assert data.kv_head == 3 // 2


def test_rope_angles_reproduce_rotation(trace):
    from scenes.kit.arrows import rotate2d

    data = rope_rotation_data(trace, Focus(layer=0, head=1))
    config = MiniMindConfig.from_dict(trace.config)
    expected, _ = inv_freq(config.head_dim, config.rope_theta, config.max_position_embeddings, config.rope_scaling)
    np.testing.assert_allclose(data.inv_freq, expected.double().numpy())
    for row, (q_angle, k_angle) in enumerate(zip(data.q_angles, data.k_angles)):
        np.testing.assert_allclose(rotate2d(data.q_before[row], q_angle) * data.attention_factor, data.q_after[row], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(rotate2d(data.k_before[row], k_angle) * data.attention_factor, data.k_after[row], rtol=1e-4, atol=1e-5)
    assert data.periods[0] == pytest.approx(2 * math.pi)


def test_rope_dot_depends_on_offset_only(trace):
    from scenes.rope_rotation import RopeRotationScene

    data = rope_rotation_data(trace)
    _, after = data.pair_dots()
    np.testing.assert_allclose(RopeRotationScene.shifted_dots(data, 7), after, rtol=1e-9, atol=1e-12)


# --- attention --------------------------------------------------------------------------------

def test_attention_heatmap_cells_are_recorded_probs(trace):
    from scenes.attention import AttentionScene

    data = attention_data(trace, Focus(layer=1, head=2))
    assert data.start == 0
    probs = recorded(trace, "layers.1.attn.probs")[2]
    np.testing.assert_array_equal(data.probs, probs)
    np.testing.assert_array_equal(data.scores, recorded(trace, "layers.1.attn.scores")[2])
    # The heatmap object the scene draws holds exactly those values.
    scene = AttentionScene.__new__(AttentionScene)
    scene.data = data
    heatmap = scene.matrix(data.probs, "sequential", mask=~data.allowed)
    np.testing.assert_array_equal(heatmap.values, probs)


def test_attention_scale_mask_and_sum(trace):
    data = attention_data(trace)
    np.testing.assert_allclose(data.raw / math.sqrt(data.head_dim), data.scores, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(data.allowed, np.tril(np.ones_like(data.allowed)))
    assert np.all(data.probs[~data.allowed] == 0)
    np.testing.assert_allclose(data.probs.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(data.weighted_v, data.head_out, rtol=1e-4, atol=1e-5)


def test_attention_window_for_long_prompt(tokenizer):
    long_trace = trace_prompt(small_model(tokenizer.vocab_size), tokenizer, PROMPT + " " + PROMPT)
    data = attention_data(long_trace, Focus(layer=0, head=0, token=-1))
    n = len(long_trace.tokens.labels[0])
    window = len(data.labels)
    assert window == MAX_TOKENS < n
    assert data.start == n - window
    assert data.row == window - 1
    full = recorded(long_trace, "layers.0.attn.probs")[0, n - 1]
    np.testing.assert_array_equal(data.probs[-1], full[data.start :])
    assert data.outside_mass == pytest.approx(float(full[: data.start].sum()))


# --- gqa --------------------------------------------------------------------------------------

def test_gqa_costs_follow_config(trace):
    data = gqa_data(trace)
    config = MiniMindConfig.from_dict(trace.config)
    assert data.groups == [[0, 1], [2, 3]]
    gqa = data.variant("GQA")
    assert gqa.kv_heads == config.num_key_value_heads
    assert gqa.kv_params_per_layer == 2 * config.hidden_size * config.num_key_value_heads * config.head_dim
    assert data.variant("MHA").kv_params_total == 2 * config.hidden_size * config.num_attention_heads * config.head_dim * config.num_hidden_layers
    assert data.variant("MQA").cache_bytes_per_token == 2 * config.num_hidden_layers * 1 * config.head_dim * 2
    assert gqa.cache_bytes_context == gqa.cache_bytes_per_token * config.max_position_embeddings
    assert data.saving == pytest.approx(0.5)
    np.testing.assert_array_equal(data.probs, recorded(trace, "layers.0.attn.probs"))


def test_gqa_shared_keys_in_trace(trace):
    # Query heads of one group read the same recorded k: their scores come from that kv head.
    data = gqa_data(trace, Focus(layer=1))
    q = recorded(trace, "layers.1.attn.q_rot")
    k = recorded(trace, "layers.1.attn.k_rot")
    scores = recorded(trace, "layers.1.attn.scores")
    for kv_head, members in enumerate(data.groups):
        for head in members:
            np.testing.assert_allclose(q[:, head] @ k[:, kv_head].T / math.sqrt(data.head_dim), scores[head], rtol=1e-4, atol=1e-4)


# --- swiglu -----------------------------------------------------------------------------------

def test_swiglu_values_are_recorded(trace):
    data = swiglu_data(trace, Focus(layer=1, token=3))
    for name in ("gate", "act", "up", "hidden"):
        np.testing.assert_array_equal(getattr(data, name), recorded(trace, f"layers.1.ffn.{name}")[3])
    np.testing.assert_array_equal(data.out, recorded(trace, "layers.1.ffn.out")[3])
    np.testing.assert_array_equal(data.x, recorded(trace, "layers.1.ffn_norm.out")[3])


def test_swiglu_counts(trace):
    data = swiglu_data(trace)
    # fp32 rounding, relative to the largest value.
    assert data.silu_check <= 1e-6 * max(np.abs(data.act).max(), 1.0)
    assert data.product_check <= 1e-6 * max(np.abs(data.hidden).max(), 1.0)
    assert data.near_zero == int(np.sum(np.abs(silu(data.gate)) < 0.1 * np.percentile(np.abs(silu(data.gate)), 99)))
    assert data.negative_gate == int(np.sum(data.gate < 0))
    assert abs(data.hidden[data.top_units[0]]) == np.abs(data.hidden).max()


# --- forward ----------------------------------------------------------------------------------

def test_forward_top_bars_are_softmax_of_logits(trace, tokenizer):
    data = forward_data(trace, labeler=labeler_for(trace))
    logits = recorded(trace, "logits")[-1]
    probs = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    np.testing.assert_allclose(data.top_probs, probs[data.top_ids], rtol=1e-12)
    assert data.top_ids[0] == int(np.argmax(logits))
    assert data.top_probs == sorted(data.top_probs, reverse=True)
    assert data.top_labels == tokenizer.token_labels(data.top_ids)
    assert data.next_id is None


def test_forward_stream_rms(trace):
    data = forward_data(trace, Focus(token=2))
    np.testing.assert_array_equal(data.embedding, recorded(trace, "embed")[2])
    for layer in range(2):
        resid = recorded(trace, f"layers.{layer}.resid_post")[2]
        assert data.resid_rms[layer] == pytest.approx(float(np.sqrt(np.mean(resid**2))))
    assert data.final_rms_in == pytest.approx(float(recorded(trace, "final_norm.rms_in")[2]))
    assert data.next_id == trace.tokens.ids[0][3]
    assert data.next_rank == 1 + int(np.sum(softmax(recorded(trace, "logits")[2]) > data.next_prob))


def test_forward_without_tokenizer_labels_by_id(trace):
    data = forward_data(trace)
    assert data.top_labels == [f"#{i}" for i in data.top_ids]


# --- focus errors -----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("extract", "focus", "key"),
    [
        (rmsnorm_data, Focus(layer=2), "render.error.layer_range"),
        (attention_data, Focus(head=4), "render.error.head_range"),
        (swiglu_data, Focus(token=99), "render.error.token_range"),
        (forward_data, Focus(token=-99), "render.error.token_range"),
    ],
)
def test_focus_out_of_range(trace, extract, focus, key):
    with pytest.raises(MiniMindError) as caught:
        extract(trace, focus)
    assert caught.value.key == key
    assert "\n" not in str(caught.value)
