"""Tests for the KV-cache experiment: stepwise decoding against one full pass and generate()."""

import numpy as np
import pytest
import torch

from minimind import MiniMindConfig, MiniMindForCausalLM
from scenes.experiments import ExperimentError, run_kv_cache


def tiny_model() -> MiniMindForCausalLM:
    torch.manual_seed(0)
    config = MiniMindConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                            vocab_size=512, max_position_embeddings=256)
    return MiniMindForCausalLM(config).eval()


@pytest.fixture(scope="module")
def model():
    return tiny_model()


@pytest.fixture(scope="module")
def result(model):
    return run_kv_cache(model, max_new_tokens=5, layer=1, head=3, length=9, chunk_split=3)


def test_kv_cache_greedy_ids_match_generate(model, result):
    out = model.generate(torch.tensor([result.prompt_ids]), max_new_tokens=5, do_sample=False, eos_token_id=None)
    assert result.generated_ids == out[0, len(result.prompt_ids):].tolist()


def test_kv_cache_steps_equal_full_pass(result):
    assert result.step_logits_error < 1e-4
    assert result.step_probs_error < 1e-5
    assert result.chunked_logits_error < 1e-4


def test_kv_cache_full_pass_by_hand(model, result):
    # The full pass's last row equals softmax(q k^T / sqrt(D)) computed here from the probes' inputs.
    captured = {}
    attn = model.model.layers[1].self_attn
    hooks = [
        attn.q_rot.register_forward_hook(lambda _m, _i, out: captured.__setitem__("q", out.detach())),
        attn.k_rot.register_forward_hook(lambda _m, _i, out: captured.__setitem__("k", out.detach())),
    ]
    try:
        with torch.no_grad():
            model(torch.tensor([result.full_ids]))
    finally:
        for hook in hooks:
            hook.remove()
    q = captured["q"][0, -1, 3].double().numpy()  # (D,)
    k = captured["k"][0, :, result.kv_head].double().numpy()  # (N, D)
    scores = k @ q / np.sqrt(q.shape[0])
    probs = np.exp(scores - scores.max())
    probs /= probs.sum()
    np.testing.assert_allclose(result.steps[-1].query_probs, probs, atol=1e-6)


def test_kv_cache_grows_one_key_per_step(result):
    T = len(result.prompt_ids)
    assert result.cache_lengths == list(range(T, T + 5))
    for i, step in enumerate(result.steps):
        assert step.position == T + i
        assert step.cache_length == T + i + 1
        assert step.query_probs.shape == (step.cache_length,)
        assert step.query_probs.sum() == pytest.approx(1.0, abs=1e-5)
        assert step.input_id == result.generated_ids[i]
        assert step.next_id == result.generated_ids[i + 1]
    assert result.cache_shape == (1, T + 4, 2, 16)


def test_kv_cache_bytes_assume_two_byte_values(model, result):
    # k and v, 2 bytes each (fp16/bf16, as the gqa scene counts), for every block and kv head, although this run is fp32.
    config = model.config
    assert next(model.parameters()).dtype == torch.float32
    assert result.bytes_per_value == 2
    assert result.cache_bytes_per_token == 2 * 2 * config.num_hidden_layers * config.num_key_value_heads * config.head_dim
    assert result.cache_bytes_per_token == 2 * 2 * 2 * 2 * 16


def test_kv_cache_chunk_mask_is_bottom_right(result):
    T, split = len(result.prompt_ids), result.chunk_split
    T2 = T - split
    assert result.chunk_mask.shape == (T2, T)
    for t in range(T2):
        for s in range(T):
            assert result.chunk_mask[t, s] == (s <= split + t)
            assert result.top_left_mask[t, s] == (s <= t)
    # Masked keys get exactly zero attention.
    assert np.all(result.chunk_probs[~result.chunk_mask] == 0)
    np.testing.assert_allclose(result.chunk_probs.sum(-1), 1.0, atol=1e-5)


def test_kv_cache_rejects_bad_split(model):
    with pytest.raises(ExperimentError, match="chunk_split"):
        run_kv_cache(model, prompt=[5, 6, 7], chunk_split=3)
    with pytest.raises(ExperimentError, match="max_new_tokens"):
        run_kv_cache(model, max_new_tokens=0)
