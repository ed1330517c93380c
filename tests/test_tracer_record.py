"""Tracer: recording, site selection, statistics, storage and gradients on real models."""

from __future__ import annotations

import math

import pytest
import torch

from minimind import load_checkpoint, load_tokenizer
from tracer import Tracer, TraceError, model_sites, tensor_stats, trace_prompt
from tracer.fingerprint import weights_sha256

from .conftest import PARITY


def _model(variant="m3_dense"):
    return load_checkpoint(PARITY / variant / "model.pth")


def _ids(batch=1, length=7, seed=0):
    return torch.randint(3, 256, (batch, length), generator=torch.Generator().manual_seed(seed))


def _hook_count(model):
    """Forward hooks, pre-hooks and probe taps attached anywhere in the model."""
    hooks = sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())
    return hooks + sum(1 for m in model.modules() if getattr(m, "tap", None) is not None)


@pytest.mark.parametrize("variant", ["m3_dense", "m3_moe", "m2_dense", "m2_moe"])
@pytest.mark.parametrize("mode", ["full", "stats"])
def test_tracing_keeps_logits_bitwise(variant, mode):
    model = _model(variant)
    ids = _ids(batch=2)
    with torch.no_grad():
        plain = model(ids).logits
        with Tracer(model, mode=mode, dtype="bfloat16") as tracer:
            traced = model(ids).logits
    assert torch.equal(plain, traced)
    # Every probe fired once, except experts that no token chose.
    missing = set(model_sites(model)) - set(tracer.trace.sites())
    assert all(".moe.experts." in site for site in missing)


def test_tracing_keeps_loss_and_grads_bitwise():
    model = _model()
    ids = _ids()
    model(ids, labels=ids).loss.backward()
    plain_loss = model(ids, labels=ids).loss.detach()
    plain_grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()

    with Tracer(model, grads=True) as tracer:
        loss = model(ids, labels=ids).loss
        loss.backward()
    assert torch.equal(loss.detach(), plain_loss)
    for p, expected in zip(model.parameters(), plain_grads):
        assert torch.equal(p.grad, expected)
    assert tracer.trace.step("logits").grad_stats is not None


def test_hooks_removed_after_block():
    model = _model()
    before = _hook_count(model)
    with torch.no_grad(), Tracer(model):
        assert _hook_count(model) > before
        model(_ids())
    assert _hook_count(model) == before


def test_two_tracers_record_same_pass():
    model = _model()
    ids = _ids()
    before = _hook_count(model)
    with torch.no_grad(), Tracer(model, mode="full") as first, Tracer(model, mode="stats") as second:
        model(ids)
    assert _hook_count(model) == before
    assert first.trace.sites() == second.trace.sites()
    for site in ("layers.0.attn.probs", "logits"):
        assert first.trace.stats(site) == second.trace.stats(site)


def test_tracer_records_edit_made_by_hook():
    model = _model()
    probe = model_sites(model)["layers.0.attn.out"]
    handle = probe.register_forward_hook(lambda module, inputs, output: output * 0)
    try:
        with torch.no_grad(), Tracer(model, sites="layers.0.attn.out") as tracer:
            model(_ids())
    finally:
        handle.remove()
    assert tracer.trace.stats("layers.0.attn.out").max == 0
    assert tracer.trace.stats("layers.0.attn.out").min == 0


def test_hooks_removed_after_exception():
    model = _model()
    before = _hook_count(model)
    with pytest.raises(RuntimeError, match="boom"):
        with torch.no_grad(), Tracer(model) as tracer:
            model(_ids())
            raise RuntimeError("boom")
    assert _hook_count(model) == before
    assert any("RuntimeError" in w for w in tracer.trace.warnings)


def test_rms_probes_run_only_when_observed():
    model = _model()
    norm = model.model.layers[0].input_layernorm
    assert not norm.rms_in.observed
    with Tracer(model, sites="layers.0.attn_norm.rms_in"):
        assert norm.rms_in.observed
        assert not norm.rms_out.observed
    assert not norm.rms_in.observed


def test_steps_in_execution_order():
    model = _model()
    with torch.no_grad(), Tracer(model) as tracer:
        model(_ids())
    sites = tracer.trace.sites()
    assert sites[0] == "embed"
    assert sites[-1] == "logits"
    order = [
        "layers.0.resid_pre",
        "layers.0.attn_norm.rms_in",
        "layers.0.attn_norm.out",
        "layers.0.attn.q",
        "layers.0.attn.q_normed",
        "layers.0.attn.q_rot",
        "layers.0.attn.scores",
        "layers.0.attn.probs",
        "layers.0.attn.heads",
        "layers.0.attn.out",
        "layers.0.resid_mid",
        "layers.0.ffn_norm.out",
        "layers.0.ffn.gate",
        "layers.0.ffn.act",
        "layers.0.ffn.up",
        "layers.0.ffn.hidden",
        "layers.0.ffn.out",
        "layers.0.resid_post",
        "layers.1.resid_pre",
        "final_norm.out",
    ]
    positions = [sites.index(site) for site in order]
    assert positions == sorted(positions)
    assert [step.index for step in tracer.trace] == list(range(len(tracer.trace)))


def test_step_shapes_and_labels():
    model = _model()  # 4 query heads, 2 kv heads, head_dim 16, hidden 64, vocab 256
    with torch.no_grad(), Tracer(model) as tracer:
        model(_ids(batch=2, length=5))
    trace = tracer.trace
    expected = {
        "embed": ((2, 5, 64), ("batch", "pos", "hidden")),
        "layers.1.attn.q": ((2, 5, 4, 16), ("batch", "pos", "head", "head_dim")),
        "layers.1.attn.k": ((2, 5, 2, 16), ("batch", "pos", "kv_head", "head_dim")),
        "layers.1.attn.probs": ((2, 4, 5, 5), ("batch", "head", "query", "key")),
        "layers.1.attn_norm.rms_in": ((2, 5), ("batch", "pos")),
        "layers.1.ffn.gate": ((2, 5, 256), ("batch", "pos", "intermediate")),
        "logits": ((2, 5, 256), ("batch", "pos", "vocab")),
    }
    for site, (shape, dims) in expected.items():
        step = trace.step(site)
        assert step.shape == shape, site
        assert step.dims == dims, site
        assert tuple(trace[site].shape) == shape, site
    for step in trace:
        assert len(step.dims) == len(step.shape), step.site
    probs = trace.step("layers.1.attn.probs")
    assert (probs.layer, probs.sublayer, probs.leaf) == (1, "attn", "probs")
    assert trace.step("final_norm.out").layer is None


def test_moe_sites():
    model = _model("m3_moe")
    with torch.no_grad(), Tracer(model, sites="layers.0") as tracer:
        model(_ids(length=6))
    trace = tracer.trace
    assert trace.step("layers.0.moe.router_probs").shape == (6, 4)
    assert trace.step("layers.0.moe.topk_ids").dtype == "int64"
    assert trace.step("layers.0.ffn.out").shape == (1, 6, 64)
    routed = sum(trace.step(f"layers.0.moe.experts.{e}.out").shape[0] for e in range(4) if f"layers.0.moe.experts.{e}.out" in trace)
    assert routed == 6  # top-1: every token reaches exactly one expert
    assert torch.allclose(trace["layers.0.moe.router_probs"].sum(-1), torch.ones(6))


def test_site_globs_select():
    model = _model()
    with torch.no_grad(), Tracer(model, sites="layers.*.attn.*") as tracer:
        model(_ids())
    sites = tracer.trace.sites()
    assert sites
    assert all(".attn." in site for site in sites)
    assert "layers.1.attn.probs" in sites

    with torch.no_grad(), Tracer(model, sites=["layers.1", "logits,embed"]) as tracer:
        model(_ids())
    sites = tracer.trace.sites()
    assert sites[0] == "embed"
    assert sites[-1] == "logits"
    assert all(site.startswith("layers.1.") for site in sites[1:-1])


def test_unknown_glob_suggests():
    with pytest.raises(TraceError, match=r"'layers\.\*\.attn\.prob'.*did you mean.*layers\.\*\.attn\.probs") as caught:
        Tracer(_model(), sites="layers.*.attn.prob")
    assert "\n" not in str(caught.value)


def test_unknown_site_lookup_suggests():
    model = _model()
    with torch.no_grad(), Tracer(model, sites="layers.0.attn.*") as tracer:
        model(_ids())
    trace = tracer.trace
    with pytest.raises(TraceError, match=r"'layers\.0\.attn\.prob' is not a site name.*'layers\.0\.attn\.probs'"):
        trace["layers.0.attn.prob"]
    with pytest.raises(TraceError, match=r"'layers\.1\.attn\.probs' was not recorded.*'layers\.0\.attn\.probs'"):
        trace["layers.1.attn.probs"]
    with pytest.raises(TraceError, match="pass 3"):
        trace["layers.0.attn.probs", 3]


def test_stats_mode_stores_no_tensors():
    model = _model()
    with torch.no_grad(), Tracer(model, mode="stats") as tracer:
        model(_ids())
    trace = tracer.trace
    assert list(trace.tensor_items()) == []
    assert all(step.tensor_key is None for step in trace)
    assert trace.stats("layers.0.attn.probs").max <= 1.0
    with pytest.raises(TraceError, match="stats"):
        trace["layers.0.attn.probs"]


def test_stats_match_torch():
    model = _model()
    with torch.no_grad(), Tracer(model) as tracer:
        model(_ids(batch=2))
    for site in ("embed", "layers.0.attn.scores", "layers.1.ffn.hidden", "logits", "layers.1.attn_norm.rms_out"):
        x = tracer.trace[site].double()
        s = tracer.trace.stats(site)
        assert s.numel == x.numel()
        assert s.mean == pytest.approx(x.mean().item(), rel=1e-5, abs=1e-7)
        assert s.std == pytest.approx(x.std(correction=0).item(), rel=1e-4)
        assert s.rms == pytest.approx(x.square().mean().sqrt().item(), rel=1e-5)
        assert s.min == x.min().item()
        assert s.max == x.max().item()
        assert (s.nan_count, s.inf_count) == (0, 0)


def test_stats_count_nan_and_inf():
    x = torch.tensor([1.0, float("nan"), 3.0, float("inf"), -float("inf"), float("nan"), 5.0])
    s = tensor_stats(x)
    assert (s.numel, s.nan_count, s.inf_count) == (7, 2, 2)
    assert (s.mean, s.min, s.max) == (3.0, 1.0, 5.0)
    assert s.std == pytest.approx(math.sqrt(8 / 3))
    assert math.isnan(tensor_stats(torch.full((3,), float("nan"))).mean)


def test_stats_count_nan_from_model():
    model = _model()
    with torch.no_grad():
        model.model.embed_tokens.weight[5, 3] = float("nan")
    ids = torch.tensor([[7, 5, 9]])
    with torch.no_grad(), Tracer(model, sites="embed,logits,layers.0.attn.probs") as tracer:
        model(ids)
    assert tracer.trace.stats("embed").nan_count == 1
    assert tracer.trace.stats("logits").nan_count > 0
    assert tracer.trace.stats("layers.0.attn.probs").nan_count > 0


def test_storage_dtype():
    model = _model()
    with torch.no_grad(), Tracer(model, dtype=torch.bfloat16) as tracer:
        model(_ids())
    trace = tracer.trace
    step = trace.step("layers.0.attn.q")
    assert step.dtype == "float32"
    assert trace[step.site].dtype == torch.bfloat16
    assert trace["layers.0.moe.topk_ids" if "layers.0.moe.topk_ids" in trace else "logits"].dtype in (torch.bfloat16, torch.int64)
    assert trace.info.storage_dtype == "bfloat16"
    with pytest.raises(TraceError, match="float8"):
        Tracer(model, dtype="float8")
    with pytest.raises(TraceError, match="'everything'"):
        Tracer(model, mode="everything")


def test_tokens_by_id_without_tokenizer():
    model = _model()
    ids = torch.tensor([[4, 8, 15, 16]])
    with torch.no_grad(), Tracer(model) as tracer:
        model(ids)
    tokens = tracer.trace.tokens
    assert tokens.ids == ((4, 8, 15, 16),)
    assert tokens.labels == (("4", "8", "15", "16"),)
    assert tokens.positions == (0, 1, 2, 3)
    assert tracer.trace.prompt is None


def test_tokens_with_tokenizer():
    model = _model()
    tokenizer = load_tokenizer(None)
    text = "Once upon"
    trace = trace_prompt(model, tokenizer, [tokenizer.bos_token_id, *[i for i in tokenizer.encode(text) if i < 256]])
    assert trace.tokens.labels[0][0] == "<|im_start|>"
    assert trace.prompt.startswith("<|im_start|>")
    assert len(trace.tokens.labels[0]) == len(trace.tokens.ids[0])


def test_config_and_weights_hash():
    model = _model()
    with torch.no_grad(), Tracer(model, sites="logits") as tracer:
        model(_ids())
    trace = tracer.trace
    assert trace.config["hidden_size"] == 64
    assert trace.config["minimind_version"] == "minimind-3"
    assert trace.weights_sha256 == weights_sha256(model)
    assert trace.weights_sha256 == weights_sha256(_model())
    with torch.no_grad():
        model.lm_head.weight[0, 0] += 1.0
    assert weights_sha256(model) != trace.weights_sha256


def test_grads_match_autograd():
    model = _model()
    ids = _ids(length=6)
    out = model(ids, labels=ids)
    out.logits.retain_grad()
    out.hidden_states.retain_grad()
    out.loss.backward()
    model.zero_grad()

    with Tracer(model, grads=True) as tracer:
        model(ids, labels=ids).loss.backward()
    trace = tracer.trace
    assert torch.allclose(trace.grad("logits"), out.logits.grad, atol=1e-8)
    assert torch.allclose(trace.grad("final_norm.out"), out.hidden_states.grad, atol=1e-8)
    assert trace.step("layers.0.resid_pre").grad_stats.rms > 0
    assert trace.step("layers.0.attn_norm.rms_in").grad_stats is None  # computed under no_grad, for display only


def test_trace_prompt_grads_restore_param_grads():
    model = _model()
    assert all(p.grad is None for p in model.parameters())
    trace = trace_prompt(model, None, [1, 5, 9, 30], grads=True, mode="stats")
    assert all(p.grad is None for p in model.parameters())
    assert trace.step("layers.1.resid_post").grad_stats.rms > 0
    with pytest.raises(TraceError, match="gradient"):
        trace.grad("layers.1.resid_post")


def test_grads_without_backward_warns():
    model = _model()
    with torch.no_grad(), Tracer(model, grads=True, sites="logits") as tracer:
        model(_ids())
    assert any("no gradient" in w for w in tracer.trace.warnings)


def test_trace_before_block_end_raises():
    model = _model()
    tracer = Tracer(model)
    with pytest.raises(TraceError, match="nothing was recorded"):
        tracer.trace
    with Tracer(model) as active:
        with pytest.raises(TraceError, match="ends"):
            active.trace


def test_non_minimind_model_rejected():
    with pytest.raises(TraceError, match="UpstreamTracer"):
        Tracer(torch.nn.Linear(2, 2))


def test_copy_protects_from_later_edits():
    model = _model()
    ids = _ids()
    with torch.no_grad():
        with Tracer(model, sites="logits") as by_reference:
            out = model(ids)
        out.logits.zero_()
        with Tracer(model, sites="logits", copy=True) as by_copy:
            out = model(ids)
        expected = out.logits.clone()
        out.logits.zero_()
    assert torch.count_nonzero(by_reference.trace["logits"]) == 0
    assert torch.equal(by_copy.trace["logits"], expected)


def test_weights_hash_sees_replaced_and_edited_weights():
    model = _model()
    first = weights_sha256(model)
    model.lm_head.weight = torch.nn.Parameter(model.lm_head.weight.detach().clone())
    assert weights_sha256(model) == first  # same values, new tensor
    model.model.norm.weight = torch.nn.Parameter(torch.full_like(model.model.norm.weight, 2.0))
    replaced = weights_sha256(model)
    assert replaced != first
    with torch.no_grad():
        model.model.norm.weight.mul_(0.5)
    assert weights_sha256(model) not in (first, replaced)
    model.model.norm.weight.data = torch.full_like(model.model.norm.weight, 2.0)
    assert weights_sha256(model) == replaced


def test_full_mode_stats_on_first_read():
    model = _model()
    ids = _ids(batch=2)
    with torch.no_grad():
        with Tracer(model, mode="full") as full:
            model(ids)
        with Tracer(model, mode="stats") as stats_only:
            model(ids)
    probs = full.trace.step("layers.0.attn.probs").stats
    assert probs.pending
    assert probs.max <= 1.0
    assert not probs.pending
    assert [step.stats for step in full.trace] == [step.stats for step in stats_only.trace]
    full.trace.close()
    assert not any(getattr(step.stats, "pending", False) for step in full.trace)


def test_weights_hash_follows_replaced_parameter():
    from torch import nn

    from tracer import fingerprint

    model = _model()
    before = weights_sha256(model)
    entry = fingerprint._cache[model]

    other = nn.Linear(4, 4)
    other.register_buffer("scratch", torch.zeros(2))  # a registration outside the model
    assert weights_sha256(model) == before
    assert fingerprint._cache[model] is entry  # the cached tensor list was kept

    q_proj = model.model.layers[0].self_attn.q_proj
    q_proj.weight = nn.Parameter(q_proj.weight.detach() + 1)
    assert weights_sha256(model) != before


def test_model_sites_follow_new_probe():
    from minimind.probe import Probe

    model = _model()
    sites = model_sites(model)
    Probe().register_forward_hook(lambda *args: None)  # a probe outside the model changes nothing
    assert model_sites(model) == sites

    model.model.layers[0].self_attn.add_module("q", Probe())  # replaces the probe object
    renewed = model_sites(model)
    assert renewed["layers.0.attn.q"] is model.model.layers[0].self_attn.q
    assert renewed["layers.0.attn.q"] is not sites["layers.0.attn.q"]
