"""Tests for the MoE experiment: routing recomputed with numpy from the router weights."""

from pathlib import Path

import numpy as np
import pytest
import torch

from minimind import MINIMIND2, MINIMIND3, MiniMindConfig, MiniMindForCausalLM
from minimind.data import generate_stories
from minimind.tokenizer import MiniMindTokenizer, train_tokenizer
from scenes.experiments import ExperimentError, build_moe_model, run_moe


def tiny_model(version=MINIMIND3) -> MiniMindForCausalLM:
    torch.manual_seed(0)
    config = MiniMindConfig(minimind_version=version, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                            num_key_value_heads=2, vocab_size=512, max_position_embeddings=256)
    return MiniMindForCausalLM(config).eval()


def router_inputs(model, ids):
    """Each MoE layer's input, taken with forward pre-hooks on the MoE modules themselves."""
    inputs = {}
    hooks = [
        layer.mlp.register_forward_pre_hook(lambda _m, args, i=i: inputs.__setitem__(i, args[0].detach()))
        for i, layer in enumerate(model.model.layers)
    ]
    try:
        with torch.no_grad():
            model(torch.tensor([ids]))
    finally:
        for hook in hooks:
            hook.remove()
    return inputs


@pytest.mark.parametrize("version", [MINIMIND3, MINIMIND2])
def test_moe_routing_matches_numpy(version):
    moe = build_moe_model(tiny_model(version), seed=1)
    result = run_moe(moe, length=10)
    inputs = router_inputs(moe, result.token_ids)
    k = result.top_k
    for routing in result.layers:
        x = inputs[routing.layer][0].double().numpy()  # (T, C)
        gate = moe.model.layers[routing.layer].mlp.gate.weight.detach().double().numpy()  # (E, C)
        logits = x @ gate.T
        probs = np.exp(logits - logits.max(-1, keepdims=True))
        probs /= probs.sum(-1, keepdims=True)
        np.testing.assert_allclose(routing.router_probs, probs, atol=1e-6)

        chosen = np.argsort(-probs, axis=-1, kind="stable")[:, :k]
        np.testing.assert_array_equal(routing.expert_ids, chosen)
        weights = np.take_along_axis(probs, chosen, -1)
        if version == MINIMIND3 or k > 1:
            weights = weights / weights.sum(-1, keepdims=True)
        np.testing.assert_allclose(routing.expert_weights, weights, atol=1e-6)

        load = np.bincount(chosen.ravel(), minlength=result.num_experts)
        np.testing.assert_array_equal(routing.load, load)
        np.testing.assert_allclose(routing.load_fraction, load / chosen.size)
    assert result.top_k == (1 if version == MINIMIND3 else 2)
    assert result.shared_experts == (0 if version == MINIMIND3 else 1)
    assert result.total_load.sum() == len(result.layers) * len(result.token_ids) * k


def test_moe_variant_starts_as_the_dense_model():
    dense = tiny_model()
    moe = build_moe_model(dense, seed=1)
    ids = torch.tensor([[5, 17, 40, 3, 99, 250]])
    with torch.no_grad():
        # Every routed expert is a copy of the dense FFN and top-1 weights are 1, so outputs agree.
        torch.testing.assert_close(moe(ids).logits, dense(ids).logits, atol=1e-5, rtol=1e-5)
    assert all(layer.mlp.gate.weight.shape == (4, 64) for layer in moe.model.layers)


def test_moe_training_changes_experts():
    tokenizer = MiniMindTokenizer(train_tokenizer(generate_stories(60, 0), 400), Path("trained-in-test"))
    dense = tiny_model()
    untrained = build_moe_model(dense, seed=1)
    trained = build_moe_model(dense, seed=1, train_steps=2, tokenizer=tokenizer, batch_size=2, seq_len=16)
    before = untrained.model.layers[0].mlp.experts[0].up_proj.weight
    after = trained.model.layers[0].mlp.experts[0].up_proj.weight
    assert not torch.equal(before, after)
    assert not trained.training
    result = run_moe(trained, tokenizer, prompt="Mia had a red kite.")
    assert result.token_labels[0] == "<|im_start|>"


def test_moe_rejects_dense_model_and_untokenised_training():
    with pytest.raises(ExperimentError, match="no MoE layers"):
        run_moe(tiny_model())
    with pytest.raises(ExperimentError, match="tokenizer"):
        build_moe_model(tiny_model(), train_steps=3)
