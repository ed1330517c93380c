"""Plugin mode: tracing upstream-style MiniMind code (tests/upstream_toy) without probes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from minimind import load_checkpoint
from tracer import TraceError, Tracer, UpstreamTracer, diff_traces, load_upstream_model, trace_generation, trace_prompt
from tracer.upstream import upstream_sites

from .conftest import PARITY

TOY = Path(__file__).parent / "upstream_toy"
PROMPT = [1, 9, 33, 70, 12, 5]
DERIVED = ("attn_norm.rms_in", "attn_norm.rms_out", "attn.q_rot", "attn.k_rot", "attn.scores", "attn.probs")


def _checkpoint(variant="m3_dense"):
    return PARITY / variant / "model.pth"


@pytest.mark.parametrize("variant", ["m3_dense", "m3_moe"])
def test_plugin_trace_matches_probe_trace(variant):
    upstream = load_upstream_model(TOY, _checkpoint(variant))
    ours = load_checkpoint(_checkpoint(variant))
    a = trace_prompt(upstream, None, PROMPT)
    b = trace_prompt(ours, None, PROMPT)
    assert a.info.source == "upstream"
    assert a.warnings == []
    assert a.sites() == [site for site in b.sites() if site in a]
    result = diff_traces(a, b, atol=1e-5, rtol=1e-4)
    assert not result.diverged, result.first_divergence
    assert len(result.sites) == len(a.steps) == len(upstream_sites(upstream))
    for layer in range(2):
        for name in DERIVED:
            assert a.step(f"layers.{layer}.{name}").derived, name
        for name in ("attn.q", "attn.k_normed", "attn.heads", "attn.out", "resid_mid", "ffn_norm.out", "resid_post"):
            assert not a.step(f"layers.{layer}.{name}").derived, name


def test_plugin_keeps_outputs_bitwise():
    upstream = load_upstream_model(TOY, _checkpoint())
    ids = torch.tensor([PROMPT])
    with torch.no_grad():
        plain = upstream(ids).logits
        with UpstreamTracer(upstream) as tracer:
            traced = upstream(ids).logits
    assert torch.equal(plain, traced)
    assert sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in upstream.modules()) == 0
    # The block adds the residual into the attention output in place; the trace keeps the value before.
    trace = tracer.trace
    assert torch.allclose(trace["layers.0.resid_mid"], trace["layers.0.resid_pre"] + trace["layers.0.attn.out"], atol=1e-6)


def test_plugin_generation_matches_probe_generation():
    upstream = load_upstream_model(TOY, _checkpoint())
    ours = load_checkpoint(_checkpoint())
    a = trace_generation(upstream, None, PROMPT, n=3)
    b = trace_generation(ours, None, PROMPT, n=3)
    assert a.info.generation == b.info.generation
    assert a.passes == b.passes
    assert not diff_traces(a, b).diverged
    assert a.step("layers.1.attn.probs", 3).shape == (1, 4, 1, 9)
    assert a.warnings == []


def test_plugin_stats_mode_and_site_selection():
    upstream = load_upstream_model(TOY, _checkpoint())
    trace = trace_prompt(upstream, None, PROMPT, sites="layers.1.attn.probs,logits", mode="stats")
    assert trace.sites() == ["layers.1.attn.probs", "logits"]
    assert trace.stats("layers.1.attn.probs").max <= 1.0
    with pytest.raises(TraceError, match="did you mean"):
        UpstreamTracer(upstream, sites="layers.1.attn.pobs")


def _modified_checkout(tmp_path: Path) -> Path:
    """A copy of the toy whose attention scale can be changed per layer (`score_scale`)."""
    checkout = tmp_path / "checkout"
    shutil.copytree(TOY, checkout)
    source = checkout / "model" / "model_minimind.py"
    text = source.read_text()
    old_sdpa = "F.scaled_dot_product_attention(q, k, v, is_causal=True)"
    old_scores = "scores = q @ k.transpose(-2, -1) / math.sqrt(self.head_dim)"
    assert old_sdpa in text
    assert old_scores in text
    text = text.replace(old_sdpa, 'F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=getattr(self, "score_scale", None))')
    text = text.replace(old_scores, 'scores = q @ k.transpose(-2, -1) * getattr(self, "score_scale", 1 / math.sqrt(self.head_dim))')
    source.write_text(text)
    return checkout


def test_consistency_check_names_modified_layer(tmp_path, caplog):
    model = load_upstream_model(_modified_checkout(tmp_path), _checkpoint())
    clean = trace_generation(model, None, PROMPT, n=2)
    assert clean.warnings == []

    model.model.layers[1].self_attn.score_scale = 3.0 / 4  # was 1 / sqrt(16)
    with caplog.at_level("WARNING"):
        trace = trace_generation(model, None, PROMPT, n=2)
    assert len(trace.warnings) == 1
    assert trace.warnings[0].startswith("layer 1:")
    assert "layer 1" in caplog.text
    assert "layer 0" not in " ".join(trace.warnings)


def test_import_errors(tmp_path):
    with pytest.raises(TraceError, match="model_minimind.py not found"):
        load_upstream_model(tmp_path, _checkpoint())

    broken = tmp_path / "needs_transformers"
    (broken / "model").mkdir(parents=True)
    (broken / "model" / "model_minimind.py").write_text("import transformers_missing_for_this_test\n")
    with pytest.raises(TraceError, match="'transformers_missing_for_this_test' is not installed.*pip install transformers") as caught:
        load_upstream_model(broken, _checkpoint())
    assert "\n" not in str(caught.value)

    crashing = tmp_path / "crashing"
    (crashing / "model").mkdir(parents=True)
    (crashing / "model" / "model_minimind.py").write_text("raise RuntimeError('bad edit')\n")
    with pytest.raises(TraceError, match="RuntimeError: bad edit"):
        load_upstream_model(crashing, _checkpoint())


def test_checkpoint_from_other_version_rejected():
    # A MiniMind2 checkpoint has no q_norm, which the minimind-3 layout of the toy needs.
    with pytest.raises(TraceError, match="q_norm"):
        load_upstream_model(TOY, _checkpoint("m2_dense"))


def test_checkpoint_relative_to_checkout(tmp_path, monkeypatch):
    checkout = tmp_path / "checkout"
    shutil.copytree(TOY, checkout)
    (checkout / "out").mkdir()
    shutil.copy(_checkpoint(), checkout / "out" / "full_sft_64.pth")
    monkeypatch.chdir(tmp_path)
    model = load_upstream_model(checkout, "out/full_sft_64.pth")
    assert model.config.hidden_size == 64


def test_tracer_rejects_upstream_model():
    with pytest.raises(TraceError, match="UpstreamTracer"):
        Tracer(load_upstream_model(TOY, _checkpoint()))


def test_plugin_rejects_grads():
    with pytest.raises(TraceError, match="gradients"):
        trace_prompt(load_upstream_model(TOY, _checkpoint()), None, PROMPT, grads=True)
