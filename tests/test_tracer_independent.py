"""Recompute traced values from other traced values with formulas written out here.

Each test rebuilds one step of the forward pass from the steps before it, using only the
definitions (RoPE's rotate-half pairing and frequencies, RMS, softmax with a causal mask,
GQA's head grouping), so a wrong probe, a wrong site mapping or a wrong model all show.
"""

from __future__ import annotations

import math

import pytest
import torch

from minimind import load_checkpoint
from tracer import Tracer, trace_generation

from .conftest import PARITY


def _traced(variant="m3_dense", batch=2, length=9):
    model = load_checkpoint(PARITY / variant / "model.pth")
    ids = torch.randint(3, 256, (batch, length), generator=torch.Generator().manual_seed(1))
    with torch.no_grad(), Tracer(model) as tracer:
        model(ids)
    return model, tracer.trace


def _rope(x, positions, theta):
    """Rotate x (B, T, H, D) at `positions`: pair i with i + D/2, angle position * theta^(-2i/D)."""
    D = x.shape[-1]
    i = torch.arange(D // 2, dtype=torch.float64)
    angle = torch.tensor(positions, dtype=torch.float64)[:, None] * theta ** (-2 * i / D)  # (T, D/2)
    cos, sin = torch.cos(angle)[None, :, None, :], torch.sin(angle)[None, :, None, :]
    x1, x2 = x[..., : D // 2].double(), x[..., D // 2 :].double()
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


@pytest.mark.parametrize("variant", ["m3_dense", "m2_dense"])
def test_rope_from_normed(variant):
    model, trace = _traced(variant)
    theta = model.config.rope_theta
    positions = list(range(9))
    for layer in range(2):
        for name in ("q", "k"):
            normed = trace[f"layers.{layer}.attn.{name}_normed"]
            rotated = trace[f"layers.{layer}.attn.{name}_rot"].double()
            assert torch.allclose(rotated, _rope(normed, positions, theta), atol=1e-5), (layer, name)


def test_rope_positions_in_generation():
    model = load_checkpoint(PARITY / "m3_dense" / "model.pth")
    trace = trace_generation(model, None, [1, 7, 9, 30, 44], n=3)
    theta = model.config.rope_theta
    for info in trace.passes[1:]:
        normed = trace["layers.1.attn.k_normed", info.index]
        rotated = trace["layers.1.attn.k_rot", info.index].double()
        assert list(info.positions) == [info.start]
        assert torch.allclose(rotated, _rope(normed, list(info.positions), theta), atol=1e-5)


def test_normed_is_projection_without_qk_norm():
    _, trace = _traced("m2_dense")
    assert torch.equal(trace["layers.0.attn.q_normed"], trace["layers.0.attn.q"])
    assert torch.equal(trace["layers.0.attn.k_normed"], trace["layers.0.attn.k"])


def test_rms_from_residual_stream():
    model, trace = _traced()
    rms = lambda x: x.double().square().mean(-1).sqrt()  # noqa: E731
    for layer in range(2):
        p = f"layers.{layer}"
        assert torch.allclose(trace[f"{p}.attn_norm.rms_in"].double(), rms(trace[f"{p}.resid_pre"]), rtol=1e-5)
        assert torch.allclose(trace[f"{p}.attn_norm.rms_out"].double(), rms(trace[f"{p}.attn_norm.out"]), rtol=1e-5)
        assert torch.allclose(trace[f"{p}.ffn_norm.rms_in"].double(), rms(trace[f"{p}.resid_mid"]), rtol=1e-5)
        assert torch.allclose(trace[f"{p}.ffn_norm.rms_out"].double(), rms(trace[f"{p}.ffn_norm.out"]), rtol=1e-5)
    assert torch.allclose(trace["final_norm.rms_in"].double(), rms(trace["layers.1.resid_post"]), rtol=1e-5)

    # RMSNorm itself: x / rms(x) * weight, with eps inside the square root.
    x = trace["layers.1.resid_mid"].double()
    weight = model.model.layers[1].post_attention_layernorm.weight.double()
    eps = model.config.rms_norm_eps
    expected = x / (x.square().mean(-1, keepdim=True) + eps).sqrt() * weight
    assert torch.allclose(trace["layers.1.ffn_norm.out"].double(), expected, atol=1e-5)


def test_residual_adds():
    _, trace = _traced()
    for layer in range(2):
        p = f"layers.{layer}"
        assert torch.allclose(trace[f"{p}.resid_mid"], trace[f"{p}.resid_pre"] + trace[f"{p}.attn.out"], atol=1e-6)
        assert torch.allclose(trace[f"{p}.resid_post"], trace[f"{p}.resid_mid"] + trace[f"{p}.ffn.out"], atol=1e-6)
    assert torch.equal(trace["layers.1.resid_pre"], trace["layers.0.resid_post"])
    assert torch.equal(trace["layers.0.resid_pre"], trace["embed"])


def test_probs_rows_sum_to_one_and_causal():
    _, trace = _traced()
    for layer in range(2):
        probs = trace[f"layers.{layer}.attn.probs"]  # (B, H, T, T)
        T = probs.shape[-1]
        assert torch.allclose(probs.sum(-1), torch.ones(probs.shape[:-1]), atol=1e-6)
        above = torch.ones(T, T, dtype=torch.bool).triu(1)
        assert torch.all(probs[..., above] == 0)
        assert torch.all(probs[..., ~above] > 0)


def test_scores_and_probs_from_rotated_qk():
    model, trace = _traced()
    H, KV, D = 4, 2, 16
    for layer in range(2):
        p = f"layers.{layer}.attn"
        q = trace[f"{p}.q_rot"].double()  # (B, T, H, D)
        k = trace[f"{p}.k_rot"].double()  # (B, T, KV, D)
        v = trace[f"{p}.v"].double()
        k_per_head = k[:, :, [h // (H // KV) for h in range(H)]]  # (B, T, H, D)
        scores = torch.einsum("bthd,bshd->bhts", q, k_per_head) / math.sqrt(D)
        assert torch.allclose(trace[f"{p}.scores"].double(), scores, atol=1e-5)

        T = scores.shape[-1]
        masked = scores.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), -math.inf)
        probs = masked.softmax(-1)
        assert torch.allclose(trace[f"{p}.probs"].double(), probs, atol=1e-6)

        heads = torch.einsum("bhts,bshd->bthd", probs, v[:, :, [h // (H // KV) for h in range(H)]])
        assert torch.allclose(trace[f"{p}.heads"].double(), heads, atol=1e-5)
        o_proj = model.model.layers[layer].self_attn.o_proj.weight.double()
        out = heads.reshape(*heads.shape[:2], H * D) @ o_proj.T
        assert torch.allclose(trace[f"{p}.out"].double(), out, atol=1e-5)


def test_gqa_kv_head_per_query_head():
    """For each query head, find which kv head's keys reproduce its scores: it must be h // group."""
    _, trace = _traced()
    q = trace["layers.1.attn.q_rot"].double()  # (B, T, H, D)
    k = trace["layers.1.attn.k_rot"].double()  # (B, T, KV, D)
    scores = trace["layers.1.attn.scores"].double()  # (B, H, T, T)
    H, KV, D = q.shape[2], k.shape[2], q.shape[3]
    used = []
    for h in range(H):
        errors = [
            (torch.einsum("btd,bsd->bts", q[:, :, h], k[:, :, g]) / math.sqrt(D) - scores[:, h]).abs().max().item()
            for g in range(KV)
        ]
        matching = [g for g, error in enumerate(errors) if error < 1e-5]
        assert len(matching) == 1, (h, errors)
        used.append(matching[0])
    assert used == [0, 0, 1, 1]


def test_swiglu_from_projections():
    _, trace = _traced()
    gate, up = trace["layers.0.ffn.gate"].double(), trace["layers.0.ffn.up"].double()
    act = gate / (1 + torch.exp(-gate))
    assert torch.allclose(trace["layers.0.ffn.act"].double(), act, atol=1e-6)
    assert torch.allclose(trace["layers.0.ffn.hidden"].double(), act * up, atol=1e-6)


def test_decode_pass_attends_to_whole_cache():
    model = load_checkpoint(PARITY / "m3_dense" / "model.pth")
    prompt = [1, 7, 9, 30, 44]
    trace = trace_generation(model, None, prompt, n=4)
    assert [(p.start, p.length) for p in trace.passes] == [(0, 5), (5, 1), (6, 1), (7, 1), (8, 1)]
    for info in trace.passes[1:]:
        probs = trace["layers.0.attn.probs", info.index]
        assert probs.shape == (1, 4, 1, info.cache_length + 1)
        assert torch.all(probs > 0)  # the newest query sees every cached key
        assert torch.allclose(probs.sum(-1), torch.ones(1, 4, 1), atol=1e-6)

    # The cached passes give the logits a full forward pass over the same tokens gives.
    ids = torch.tensor(trace.tokens.ids)
    with torch.no_grad():
        full = model(ids).logits
    for info in trace.passes[1:]:
        assert torch.allclose(trace["logits", info.index][0, -1], full[0, info.start], atol=1e-5)
