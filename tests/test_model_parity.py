"""The model matches outputs computed by upstream MiniMind for every layout variant."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from minimind import MINIMIND2, MINIMIND3, load_checkpoint

from .conftest import PARITY, PARITY_VARIANTS

TOLERANCE = 1e-5


def _load(variant):
    model = load_checkpoint(PARITY / variant / "model.pth")
    reference = load_file(str(PARITY / variant / "reference.safetensors"))
    return model, reference


@pytest.mark.parametrize("variant", PARITY_VARIANTS)
def test_logits_match_upstream(variant):
    model, ref = _load(variant)
    with torch.no_grad():
        logits = model(ref["input_ids"]).logits
    assert logits.shape == ref["logits"].shape
    assert (logits - ref["logits"]).abs().max().item() < TOLERANCE


@pytest.mark.parametrize("variant", PARITY_VARIANTS)
def test_block_outputs_match_upstream(variant):
    model, ref = _load(variant)
    outputs = {}
    hooks = [
        layer.resid_post.register_forward_hook(lambda _m, _i, out, i=i: outputs.__setitem__(i, out))
        for i, layer in enumerate(model.model.layers)
    ]
    with torch.no_grad():
        model(ref["input_ids"])
    for hook in hooks:
        hook.remove()
    for i in range(model.config.num_hidden_layers):
        error = (outputs[i] - ref[f"block_output.{i}"]).abs().max().item()
        assert error < TOLERANCE, f"block {i} differs by {error}"


@pytest.mark.parametrize("variant", PARITY_VARIANTS)
def test_cached_logits_match_upstream(variant):
    model, ref = _load(variant)
    ids = ref["input_ids"]
    with torch.no_grad():
        first = model(ids[:, :8], use_cache=True)
        second = model(ids[:, 8:], past_key_values=first.past_key_values, use_cache=True)
    logits = torch.cat([first.logits, second.logits], dim=1)
    assert (logits - ref["cached_logits"]).abs().max().item() < TOLERANCE


@pytest.mark.parametrize("variant", PARITY_VARIANTS)
def test_greedy_ids_match_upstream(variant):
    model, ref = _load(variant)
    prompt = ref["greedy_ids"][:, :6]
    new_tokens = ref["greedy_ids"].shape[1] - 6
    ids = model.generate(prompt, max_new_tokens=new_tokens, do_sample=False, eos_token_id=None)
    assert torch.equal(ids, ref["greedy_ids"])


@pytest.mark.parametrize(
    ("variant", "version", "kv_heads", "moe"),
    [
        ("m3_dense", MINIMIND3, 2, False),
        ("m3_moe", MINIMIND3, 2, True),
        ("m2_dense", MINIMIND2, 2, False),
        ("m2_moe", MINIMIND2, 2, True),
    ],
)
def test_layout_inferred_from_keys(variant, version, kv_heads, moe):
    model, _ = _load(variant)
    assert model.config.minimind_version == version
    assert model.config.num_key_value_heads == kv_heads
    assert model.config.use_moe is moe


def test_yarn_config_read_beside_checkpoint():
    model, _ = _load("m3_yarn")
    assert model.config.inference_rope_scaling is True
    assert model.config.rope_scaling["factor"] == 16
