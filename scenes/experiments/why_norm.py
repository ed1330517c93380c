"""Why normalise: a deep stack with its RMSNorms on, and the same weights with them removed.

Both stacks copy the given model's architecture at a greater depth, start from one seeded
initialisation, and run one forward and backward pass of the next-token loss on one batch.
The RMSNorm modules of the second stack are swapped for `nn.Identity` here; the model code
has no switch for this.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from minimind import MiniMindForCausalLM
from minimind.norm import RMSNorm

from ._common import ExperimentError, resolve_prompt

# Growth or decay by more than this factor, from the first block's output to the last
# block's output, counts as a trend. Anything less is called stable.
DEFAULT_TREND_FACTOR = 100.0

# Weight std = DEFAULT_INIT_GAIN / sqrt(hidden_size): 0.055 at width 256. Measured on the
# default architecture (16 blocks, seeds 0-2, random ids or stories), the stream without
# norms then grows by 1e9 to 1e15 and stays finite in fp32. The transition is sharp: gain
# 0.8 gives only about 15x. The model's own init (std 0.02) leaves every sublayer almost silent.
DEFAULT_INIT_GAIN = 0.88


@dataclass
class StackRun:
    """One forward and backward pass through the deep stack, norms on or off.

    Points 0..L are the residual stream entering block 0 (the embeddings) and leaving
    blocks 0..L-1; per-layer arrays have L entries.
    """

    norm: str  # "rmsnorm" or "identity"
    loss: float  # next-token cross-entropy of the batch
    stream_rms: np.ndarray  # (L+1,) RMS of the residual stream at each point
    sublayer_input_rms: np.ndarray  # (L,) RMS of what each block's attention reads (after input_layernorm, if any)
    attn_out_rms: np.ndarray  # (L,) RMS of each attention sublayer's output
    mlp_out_rms: np.ndarray  # (L,) RMS of each feed-forward sublayer's output
    stream_grad_norm: np.ndarray  # (L+1,) L2 norm of d loss / d stream at each point, whole batch
    param_grad_norm: np.ndarray  # (L,) L2 norm of the gradient of each block's parameters
    stream_gain: np.ndarray  # (L,) stream_rms[l+1] / stream_rms[l]: how much block l scales the stream
    grad_gain: np.ndarray  # (L,) stream_grad_norm[l] / stream_grad_norm[l+1]: backward pass through block l
    activation_trend: str  # stream_rms from point 1 to L: "growth", "shrink", "stable" or "overflow"
    gradient_trend: str  # stream_grad_norm from point L back to 1: "exploding", "vanishing", "stable" or "overflow"
    first_nonfinite_point: int | None  # first point whose stream RMS is inf or NaN, if any


@dataclass
class WhyNormResult:
    """The same seeded deep stack with its RMSNorms on and replaced by identity."""

    num_layers: int
    hidden_size: int
    init_std: float  # std of every Linear and Embedding weight; RMSNorm weights start at 1
    seed: int
    batch: np.ndarray  # (B, T) token ids of the batch both stacks ran on
    trend_factor: float  # ratio that separates a trend from "stable"
    replaced_modules: list[str]  # RMSNorm module names swapped for identity in the second run
    with_norm: StackRun
    without_norm: StackRun


def run_why_norm(
    model: MiniMindForCausalLM,
    tokenizer=None,
    num_layers: int = 16,
    init_std: float | None = None,
    batch_size: int = 4,
    seq_len: int = 32,
    seed: int = 0,
    trend_factor: float = DEFAULT_TREND_FACTOR,
) -> WhyNormResult:
    """Build a `num_layers`-deep copy of `model`'s architecture and compare norms on and off.

    Only `model.config` is used; the weights are a fresh seeded init with std `init_std`
    (default DEFAULT_INIT_GAIN / sqrt(hidden_size)). The batch is held-out stories when a
    tokenizer is given, else seeded random ids.
    """
    if num_layers < 2:
        raise ExperimentError(f"num_layers={num_layers} is too shallow: pass at least 2 layers")
    if trend_factor <= 1:
        raise ExperimentError(f"trend_factor={trend_factor} must be above 1: pass for example 100")
    if init_std is None:
        init_std = DEFAULT_INIT_GAIN / math.sqrt(model.config.hidden_size)
    normed, plain, replaced = build_stacks(model, num_layers, init_std, seed)

    batch = _token_batch(model, tokenizer, batch_size, seq_len, seed)
    return WhyNormResult(
        num_layers=num_layers,
        hidden_size=model.config.hidden_size,
        init_std=float(init_std),
        seed=seed,
        batch=batch.numpy(),
        trend_factor=trend_factor,
        replaced_modules=replaced,
        with_norm=_run_stack(normed, batch, "rmsnorm", trend_factor),
        without_norm=_run_stack(plain, batch, "identity", trend_factor),
    )


def build_stacks(
    model: MiniMindForCausalLM, num_layers: int, init_std: float, seed: int
) -> tuple[MiniMindForCausalLM, MiniMindForCausalLM, list[str]]:
    """Build the normed stack, its copy with every RMSNorm replaced by identity, and the replaced names.

    Both stacks have `model`'s architecture with `num_layers` blocks and the same weights:
    Linear and Embedding weights drawn from N(0, init_std^2) with `seed`, RMSNorm gains 1.
    """
    if not init_std > 0:
        raise ExperimentError(f"init_std={init_std} must be positive: pass for example 0.05")
    config = dataclasses.replace(model.config, num_hidden_layers=num_layers, dropout=0.0)
    torch.manual_seed(seed)
    normed = MiniMindForCausalLM(config)
    _init_weights(normed, init_std, seed)
    plain = copy.deepcopy(normed)
    replaced = _replace_rmsnorms(plain)
    return normed, plain, replaced


def _init_weights(model: nn.Module, std: float, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                module.weight.copy_(torch.randn(module.weight.shape, generator=generator) * std)


def _replace_rmsnorms(model: nn.Module) -> list[str]:
    replaced = []
    for parent_name, parent in list(model.named_modules()):
        for child_name, child in list(parent.named_children()):
            if isinstance(child, RMSNorm):
                setattr(parent, child_name, nn.Identity())
                replaced.append(f"{parent_name}.{child_name}" if parent_name else child_name)
    return replaced


def _token_batch(model, tokenizer, batch_size: int, seq_len: int, seed: int) -> torch.Tensor:
    if batch_size < 1 or seq_len < 2:
        raise ExperimentError(
            f"batch {batch_size}x{seq_len} is too small: pass batch_size >= 1 and seq_len >= 2"
        )
    if tokenizer is not None:
        ids = resolve_prompt(model, tokenizer, None, length=batch_size * seq_len).ids
        return torch.tensor(ids, dtype=torch.long).view(batch_size, seq_len)
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(3, model.config.vocab_size, (batch_size, seq_len), generator=generator)


def _run_stack(model: MiniMindForCausalLM, batch: torch.Tensor, label: str, trend_factor: float) -> StackRun:
    model.train()  # dropout is 0, so train mode only matters for MoE bookkeeping
    layers = model.model.layers
    stream: list[torch.Tensor] = []
    sub_in, attn_out, mlp_out = [], [], []

    def keep_stream(out: torch.Tensor) -> None:
        out.retain_grad()
        stream.append(out)

    handles = [layers[0].resid_pre.register_forward_hook(lambda _m, _i, out: keep_stream(out))]
    for layer in layers:
        handles.append(layer.resid_post.register_forward_hook(lambda _m, _i, out: keep_stream(out)))
        # The q projection's input is what the attention sublayer reads, norm or no norm.
        handles.append(layer.self_attn.q_proj.register_forward_hook(lambda _m, inp, _o: sub_in.append(_rms(inp[0]))))
        handles.append(layer.self_attn.out.register_forward_hook(lambda _m, _i, out: attn_out.append(_rms(out))))
        handles.append(layer.mlp.out.register_forward_hook(lambda _m, _i, out: mlp_out.append(_rms(out))))
    try:
        model.zero_grad(set_to_none=True)
        output = model(batch, labels=batch)
        output.loss.backward()
    finally:
        for handle in handles:
            handle.remove()

    stream_rms = np.array([_rms(h) for h in stream])
    grad_norm = np.array([h.grad.norm().item() for h in stream])
    param_grad = np.array([_param_grad_norm(layer) for layer in layers])
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        stream_gain = stream_rms[1:] / stream_rms[:-1]
        grad_gain = grad_norm[:-1] / grad_norm[1:]

    nonfinite = np.flatnonzero(~np.isfinite(stream_rms))
    return StackRun(
        norm=label,
        loss=float(output.loss.item()),
        stream_rms=stream_rms,
        sublayer_input_rms=np.array(sub_in),
        attn_out_rms=np.array(attn_out),
        mlp_out_rms=np.array(mlp_out),
        stream_grad_norm=grad_norm,
        param_grad_norm=param_grad,
        stream_gain=stream_gain,
        grad_gain=grad_gain,
        activation_trend=classify_trend(stream_rms[1:], trend_factor, ("growth", "shrink")),
        gradient_trend=classify_trend(grad_norm[1:][::-1], trend_factor, ("exploding", "vanishing")),
        first_nonfinite_point=int(nonfinite[0]) if nonfinite.size else None,
    )


def classify_trend(values: np.ndarray, factor: float, names: tuple[str, str]) -> str:
    """Name how `values` change from first to last: names[0] up, names[1] down, or "stable".

    Any inf or NaN gives "overflow". For gradients pass the values in backward order
    (output first), so "vanishing" means smaller towards the input.
    """
    if not np.all(np.isfinite(values)):
        return "overflow"
    first, last = float(values[0]), float(values[-1])
    if first == 0.0 or last == 0.0:
        # A ratio is undefined here, so only the direction decides.
        if last > first:
            return names[0]
        if last < first:
            return names[1]
        return "stable"
    ratio = last / first
    if ratio > factor:
        return names[0]
    if ratio < 1.0 / factor:
        return names[1]
    return "stable"


def _rms(x: torch.Tensor) -> float:
    return x.detach().double().pow(2).mean().sqrt().item()


def _param_grad_norm(module: nn.Module) -> float:
    total = sum(p.grad.double().pow(2).sum() for p in module.parameters() if p.grad is not None)
    return math.sqrt(float(total))
