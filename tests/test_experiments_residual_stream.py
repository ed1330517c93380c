"""Tests for the residual-stream experiment, checked against a hand-run pass through the blocks."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from minimind import MiniMindConfig, MiniMindForCausalLM
from minimind.norm import RMSNorm
from scenes.experiments import run_residual_stream


def tiny_model() -> MiniMindForCausalLM:
    torch.manual_seed(0)
    config = MiniMindConfig(hidden_size=64, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2,
                            vocab_size=512, max_position_embeddings=256)
    model = MiniMindForCausalLM(config).eval()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, RMSNorm):
                module.weight.uniform_(0.5, 1.5)
    return model


@pytest.fixture(scope="module")
def model():
    return tiny_model()


@pytest.fixture(scope="module")
def result(model):
    return run_residual_stream(model, length=10, top_k=4)


def test_residual_stream_matches_block_outputs(model, result):
    inner = model.model
    ids = torch.tensor([result.token_ids])
    T = ids.shape[1]
    with torch.no_grad():
        h = inner.embed_tokens(ids)
        np.testing.assert_allclose(result.embed_norm, h[0].norm(dim=-1).numpy(), rtol=1e-5)
        for i, layer in enumerate(inner.layers):
            np.testing.assert_allclose(result.resid_pre_norm[i], h[0].norm(dim=-1).numpy(), rtol=1e-5)
            h = layer(h, inner.freqs_cos[:T], inner.freqs_sin[:T])[0]
            np.testing.assert_allclose(result.resid_post_norm[i], h[0].norm(dim=-1).numpy(), rtol=1e-5)
        hidden = model(ids).hidden_states[0]
    np.testing.assert_allclose(result.final_norm_rms_out, hidden.pow(2).mean(-1).sqrt().numpy(), rtol=1e-5)
    np.testing.assert_allclose(result.final_norm_rms_in, h[0].pow(2).mean(-1).sqrt().numpy(), rtol=1e-5)


def test_residual_stream_sublayer_outputs_by_hand(model, result):
    # attn_out = o_proj(attention(input_layernorm(pre))); check layer 0's norm from the module call itself.
    layer = model.model.layers[0]
    ids = torch.tensor([result.token_ids])
    T = ids.shape[1]
    with torch.no_grad():
        pre = model.model.embed_tokens(ids)
        attn, _ = layer.self_attn(layer.input_layernorm(pre), model.model.freqs_cos[:T], model.model.freqs_sin[:T])
        mid = pre + attn
        ffn = layer.mlp(layer.post_attention_layernorm(mid))
    np.testing.assert_allclose(result.attn_out_norm[0], attn[0].norm(dim=-1).numpy(), rtol=1e-5)
    np.testing.assert_allclose(result.resid_mid_norm[0], mid[0].norm(dim=-1).numpy(), rtol=1e-5)
    np.testing.assert_allclose(result.ffn_out_norm[0], ffn[0].norm(dim=-1).numpy(), rtol=1e-5)
    post = (pre + attn + ffn)[0].double()
    share = (attn[0].double() * post).sum(-1) / post.pow(2).sum(-1)
    np.testing.assert_allclose(result.attn_share[0], share.numpy(), rtol=1e-6)


def test_residual_stream_shares_sum_to_one(result):
    np.testing.assert_allclose(result.pre_share + result.attn_share + result.ffn_share, 1.0, atol=1e-6)
    np.testing.assert_allclose(result.final_share.sum(0), 1.0, atol=1e-6)
    assert result.final_share.shape == (1 + 2 * 3, 10)
    assert result.contribution_names[:3] == ["embed", "attn 0", "ffn 0"]


def test_residual_stream_update_ratios(result):
    np.testing.assert_allclose(result.attn_update_ratio, result.attn_out_norm / result.resid_pre_norm)
    np.testing.assert_allclose(result.ffn_update_ratio, result.ffn_out_norm / result.resid_mid_norm)


def test_residual_stream_top_next_tokens(model, result):
    with torch.no_grad():
        probs = F.softmax(model(torch.tensor([result.token_ids])).logits[0, -1], dim=-1)
    top = torch.topk(probs, 4)
    assert [t.token_id for t in result.top_next] == top.indices.tolist()
    np.testing.assert_allclose([t.prob for t in result.top_next], top.values.numpy(), rtol=1e-5)
