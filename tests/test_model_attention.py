"""Attention masks, the KV cache and probes, checked against independent computations."""

from __future__ import annotations

import math

import torch

from minimind import MiniMindConfig, MiniMindForCausalLM, load_checkpoint
from minimind.attention import causal_mask
from minimind.rope import rope_tables, yarn_ramp

from .conftest import PARITY


def _model(variant="m3_dense"):
    return load_checkpoint(PARITY / variant / "model.pth")


def _ids(length=12, seed=0, vocab=256):
    return torch.randint(3, vocab, (2, length), generator=torch.Generator().manual_seed(seed))


def test_causal_mask_bottom_right():
    mask = causal_mask(query_len=2, key_len=5, device=torch.device("cpu"))
    expected = torch.tensor([[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]], dtype=torch.bool)
    assert torch.equal(mask, expected)


def test_prefill_in_two_chunks_equals_one_pass():
    model = _model()
    ids = _ids()
    with torch.no_grad():
        full = model(ids).logits
        first = model(ids[:, :5], use_cache=True)
        second = model(ids[:, 5:], past_key_values=first.past_key_values, use_cache=True)
    chunked = torch.cat([first.logits, second.logits], dim=1)
    assert (chunked - full).abs().max().item() < 1e-5


def test_decode_one_token_at_a_time_equals_one_pass():
    model = _model("m2_dense")
    ids = _ids()
    with torch.no_grad():
        full = model(ids).logits
        past, steps = None, []
        for t in range(ids.shape[1]):
            out = model(ids[:, t : t + 1], past_key_values=past, use_cache=True)
            past = out.past_key_values
            steps.append(out.logits)
    assert (torch.cat(steps, dim=1) - full).abs().max().item() < 1e-5


def test_cache_stores_unrepeated_kv_heads():
    model = _model()
    with torch.no_grad():
        out = model(_ids(length=7), use_cache=True)
    k, v = out.past_key_values[0]
    assert k.shape == (2, 7, model.config.num_key_value_heads, model.config.head_dim)
    assert v.shape == k.shape


def test_left_padding_matches_unpadded_row():
    model = _model()
    ids = _ids(length=6)[:1]
    padded = torch.cat([torch.zeros(1, 3, dtype=torch.long), ids], dim=1)
    mask = torch.cat([torch.zeros(1, 3), torch.ones(1, 6)], dim=1)
    with torch.no_grad():
        plain = model(ids).logits
        with_pad = model(padded, attention_mask=mask).logits[:, 3:]
    # Padded positions shift RoPE angles by a constant, and scores depend only on offsets.
    assert (plain - with_pad).abs().max().item() < 1e-4


def test_probes_do_not_change_output_bits():
    model = _model("m3_moe")
    ids = _ids()
    with torch.no_grad():
        before = model(ids).logits
    seen = []
    hooks = [
        module.register_forward_hook(lambda _m, _i, out: seen.append(out))
        for name, module in model.named_modules()
        if type(module).__name__ == "Probe"
    ]
    with torch.no_grad():
        after = model(ids).logits
    for hook in hooks:
        hook.remove()
    assert len(seen) > 50
    assert torch.equal(before, after)


def test_probe_edit_changes_downstream_output():
    model = _model()
    ids = _ids()
    with torch.no_grad():
        before = model(ids).logits
    hook = model.model.layers[0].self_attn.heads.register_forward_hook(lambda _m, _i, out: torch.zeros_like(out))
    with torch.no_grad():
        after = model(ids).logits
    hook.remove()
    assert not torch.allclose(before, after)


def test_scores_probe_is_scaled_qk_before_mask():
    model = _model()
    ids = _ids(length=5)
    captured = {}
    attn = model.model.layers[1].self_attn
    hooks = [
        attn.q_rot.register_forward_hook(lambda _m, _i, o: captured.__setitem__("q", o)),
        attn.k_rot.register_forward_hook(lambda _m, _i, o: captured.__setitem__("k", o)),
        attn.scores.register_forward_hook(lambda _m, _i, o: captured.__setitem__("scores", o)),
        attn.probs.register_forward_hook(lambda _m, _i, o: captured.__setitem__("probs", o)),
    ]
    with torch.no_grad():
        model(ids)
    for hook in hooks:
        hook.remove()

    q, k = captured["q"], captured["k"]  # (B, T, H, D), (B, T, KV, D)
    group = model.config.queries_per_kv_head
    for head in range(model.config.num_attention_heads):
        expected = q[:, :, head] @ k[:, :, head // group].transpose(-1, -2) / math.sqrt(model.config.head_dim)
        assert torch.allclose(captured["scores"][:, head], expected, atol=1e-5)
    probs = captured["probs"]
    assert torch.allclose(probs.sum(-1), torch.ones_like(probs.sum(-1)), atol=1e-6)
    assert torch.all(probs.triu(diagonal=1) == 0)


def test_rope_tables_match_formula():
    cos, sin = rope_tables(head_dim=8, theta=1e4, max_positions=6, scaling=None)
    inv = 1.0 / (1e4 ** (torch.arange(0, 8, 2).double() / 8))
    angles = torch.arange(6).double()[:, None] * inv[None, :]
    assert torch.allclose(cos[:, :4].double(), torch.cos(angles), atol=1e-6)
    assert torch.allclose(sin[:, 4:].double(), torch.sin(angles), atol=1e-6)


def test_yarn_ramp_uses_minimind_clamp():
    ramp = yarn_ramp(head_dim=64, theta=1e6, scaling={"original_max_position_embeddings": 2048, "factor": 16, "beta_fast": 32, "beta_slow": 1})
    inv_dim = lambda b: 64 * math.log(2048 / (b * 2 * math.pi)) / (2 * math.log(1e6))
    assert ramp.low == max(math.floor(inv_dim(32)), 0)
    assert ramp.high == min(math.ceil(inv_dim(1)), 31)
    assert ramp.scale[0].item() == 1.0
    assert abs(ramp.scale[-1].item() - 1 / 16) < 1e-7


def test_fresh_model_loss_near_uniform():
    config = MiniMindConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, vocab_size=128)
    model = MiniMindForCausalLM(config)
    ids = _ids(length=16, vocab=128)
    loss = model(ids, labels=ids).loss.item()
    assert abs(loss - math.log(128)) < 0.5
