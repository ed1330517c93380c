"""Mixture of experts: the router's probabilities and the experts each token is sent to.

The default model is dense, so `build_moe_model` makes an MoE variant of it with the same
config and `use_moe=True`. The dense model's weights are copied wherever names and shapes
match, and each routed expert starts as a copy of its layer's dense feed-forward network.
The router is seeded and random. An optional short training run on the story corpus
follows.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from minimind import MiniMindForCausalLM
from minimind.moe import MoEFeedForward

from ._common import ExperimentError, record_probes, resolve_prompt

logger = logging.getLogger(__name__)


@dataclass
class MoELayerRouting:
    """Routing of every prompt token in one MoE layer."""

    layer: int
    router_probs: np.ndarray  # (T, E) softmax of the router logits
    expert_ids: np.ndarray  # (T, k) chosen experts, highest weight first
    expert_weights: np.ndarray  # (T, k) their mixing weights (renormalised as the model does)
    load: np.ndarray  # (E,) how many token choices each expert received
    load_fraction: np.ndarray  # (E,) load / (T * k)


@dataclass
class MoEResult:
    """Router probabilities, chosen experts and expert load, per token and layer."""

    minimind_version: str
    num_experts: int  # routed experts per layer
    top_k: int
    norm_topk_prob: bool
    shared_experts: int  # experts every token passes through (minimind2 only)
    token_ids: list[int]
    token_labels: list[str]
    layers: list[MoELayerRouting]
    total_load: np.ndarray  # (L, E) load of every layer


def build_moe_model(
    model: MiniMindForCausalLM,
    seed: int = 0,
    train_steps: int = 0,
    tokenizer=None,
    batch_size: int = 8,
    seq_len: int = 64,
    learning_rate: float = 5e-4,
) -> MiniMindForCausalLM:
    """Return an MoE copy of `model` in eval mode, optionally trained for `train_steps` steps.

    Training needs `tokenizer` and samples batches from the training stories in
    `minimind.data`. NOTE: with minimind-3's top-1 routing and `norm_topk_prob`, the chosen
    expert's weight is exactly 1, so the language-model loss sends no gradient to the
    router. Only the small load-balancing loss moves it, and training mostly changes the
    experts. Each step is a full forward and backward pass, which takes seconds on a busy
    CPU, so keep `train_steps` small where a scene calls this at render time.
    """
    if train_steps < 0:
        raise ExperimentError(f"train_steps={train_steps} must not be negative")
    if train_steps and tokenizer is None:
        raise ExperimentError("training the MoE variant needs a tokenizer: pass tokenizer=minimind.load_tokenizer(None)")

    config = dataclasses.replace(model.config, use_moe=True)
    torch.manual_seed(seed)
    moe = MiniMindForCausalLM(config)
    _copy_dense_weights(model, moe)
    if train_steps:
        _train(moe, tokenizer, train_steps, batch_size, seq_len, learning_rate, seed)
    return moe.eval()


def _copy_dense_weights(dense: MiniMindForCausalLM, moe: MiniMindForCausalLM) -> None:
    target = moe.state_dict()
    source = dense.state_dict()
    copied = {k: v for k, v in source.items() if k in target and target[k].shape == v.shape}
    for i, layer in enumerate(moe.model.layers):
        prefix = f"model.layers.{i}.mlp"
        for e in range(len(layer.mlp.experts)):
            for proj in ("gate_proj", "up_proj", "down_proj"):
                key = f"{prefix}.{proj}.weight"
                if key in source and target[f"{prefix}.experts.{e}.{proj}.weight"].shape == source[key].shape:
                    copied[f"{prefix}.experts.{e}.{proj}.weight"] = source[key]
    moe.load_state_dict(copied, strict=False)


def _train(model, tokenizer, steps: int, batch_size: int, seq_len: int, learning_rate: float, seed: int) -> None:
    from minimind.data import TRAIN_SEED, generate_stories

    # Stories run to about a hundred tokens; batches are sampled, so a few thousand
    # distinct rows are plenty however many steps run.
    ids: list[int] = []
    for story in generate_stories(min(steps * batch_size, 4096) + 8, TRAIN_SEED):
        ids += [tokenizer.bos_token_id] + tokenizer.encode(story) + [tokenizer.eos_token_id]
    data = torch.tensor(ids[: (len(ids) // seq_len) * seq_len]).view(-1, seq_len)  # (rows, seq_len)

    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate)
    model.train()
    for step in range(steps):
        batch = data[torch.randint(len(data), (batch_size,), generator=generator)]
        out = model(batch, labels=batch)
        loss = out.loss + out.aux_loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step % 50 == 0 or step == steps - 1:
            logger.info("MoE training step %d/%d: loss %.3f", step + 1, steps, loss.item())


@torch.no_grad()
def run_moe(
    model: MiniMindForCausalLM,
    tokenizer=None,
    prompt: str | Sequence[int] | None = None,
    length: int = 12,
) -> MoEResult:
    """Run the prompt through an MoE model and record each layer's routing."""
    config = model.config
    moe_layers = [i for i, layer in enumerate(model.model.layers) if isinstance(layer.mlp, MoEFeedForward)]
    if not moe_layers:
        raise ExperimentError("the model has no MoE layers: pass build_moe_model(model) or an MoE checkpoint")
    tokens = resolve_prompt(model, tokenizer, prompt, length=length)

    names = []
    for i in moe_layers:
        names += [f"model.layers.{i}.mlp.{probe}" for probe in ("router_probs", "topk_ids", "topk_weights")]
    with record_probes(model, names) as rec:
        model(tokens.tensor())

    layers = []
    for i in moe_layers:
        prefix = f"model.layers.{i}.mlp"
        probs = rec[f"{prefix}.router_probs"]  # (T, E); batch 1 so N = T
        ids = rec[f"{prefix}.topk_ids"]  # (T, k)
        weights = rec[f"{prefix}.topk_weights"]  # (T, k)
        order = torch.argsort(weights, dim=-1, descending=True, stable=True)
        ids, weights = ids.gather(-1, order), weights.gather(-1, order)
        E = probs.shape[-1]
        load = torch.bincount(ids.flatten(), minlength=E)
        layers.append(
            MoELayerRouting(
                layer=i,
                router_probs=probs.double().numpy(),
                expert_ids=ids.numpy(),
                expert_weights=weights.double().numpy(),
                load=load.numpy(),
                load_fraction=(load.double() / ids.numel()).numpy(),
            )
        )

    shared = model.model.layers[moe_layers[0]].mlp.shared_experts
    return MoEResult(
        minimind_version=config.minimind_version,
        num_experts=config.routed_experts,
        top_k=config.num_experts_per_tok,
        norm_topk_prob=config.norm_topk_prob,
        shared_experts=len(shared) if shared is not None else 0,
        token_ids=tokens.ids,
        token_labels=tokens.labels,
        layers=layers,
        total_load=np.stack([layer.load for layer in layers]),
    )
