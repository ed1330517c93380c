"""Plugin mode: trace a user's own upstream MiniMind code, unmodified, with module hooks.

Upstream's `model/model_minimind.py` has no probe points and computes attention with
`F.scaled_dot_product_attention`, which never materialises the scores. This module therefore
observes what module hooks can see: norm inputs and outputs, the q/k/v/o projections,
q_norm/k_norm, the MLP's projections and activation, block inputs and outputs, and logits.
It recomputes the rest from those tensors: per-token RMS, RoPE-rotated q and k (with the
model's own `freqs_cos`/`freqs_sin` buffers), attention scores and probabilities, and the
MoE router's probabilities and top-k. Recomputed steps are marked `derived`.

A consistency check then multiplies the recomputed per-head outputs by o_proj's weight and
compares the result with the attention output the model really produced; when they differ
(the user changed the attention), the trace gets a warning naming the layer, because the
derived q_rot, k_rot, scores and probs of that layer are then not what the model computed.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import math
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from minimind.checkpoint import infer_config, read_state_dict

from .errors import TraceError
from .recorder import Recorder, pass_inputs
from .sites import select

logger = logging.getLogger(__name__)

MODEL_FILE = Path("model") / "model_minimind.py"
_STRIP_PREFIXES = ("_orig_mod.", "module.")
# Tolerance of the consistency check, relative to the largest |output| of the layer: fp32
# differs from scaled_dot_product_attention by about 1e-6, half precision by about 1e-2.
_CHECK_RTOL = {torch.float32: 1e-3, torch.float64: 1e-6}
_CHECK_RTOL_HALF = 5e-2


def import_upstream(checkout: str | Path):
    """Import `checkout/model/model_minimind.py` under a private module name and return the module."""
    checkout = Path(checkout)
    file = checkout / MODEL_FILE
    if not file.is_file():
        raise TraceError(
            f"{file} not found: pass the folder of a MiniMind checkout (the one containing {MODEL_FILE.as_posix()}) to --upstream",
            key="trace.error.upstream_missing",
            path=str(file),
        )
    name = "_mmtrace_upstream_" + hashlib.sha1(str(file.resolve()).encode()).hexdigest()[:12]
    if name in sys.modules:
        return sys.modules[name]

    spec = importlib.util.spec_from_file_location(name, file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and transformers look classes' modules up here
    try:
        spec.loader.exec_module(module)
    except ModuleNotFoundError as error:
        del sys.modules[name]
        raise TraceError(
            f"cannot import {file}: module {error.name!r} is not installed: install it in this environment "
            f"(upstream MiniMind needs transformers: pip install transformers)",
            key="trace.error.upstream_dependency",
            path=str(file),
            module=str(error.name),
        ) from None
    except Exception as error:  # the user's code may raise anything while importing
        del sys.modules[name]
        raise TraceError(
            f"cannot import {file} ({type(error).__name__}: {_first_line(error)}): fix that file or pass another checkout",
            key="trace.error.upstream_import",
            path=str(file),
        ) from None

    for attribute in ("MiniMindConfig", "MiniMindForCausalLM"):
        if not hasattr(module, attribute):
            raise TraceError(
                f"{file} defines no {attribute}: pass a MiniMind checkout",
                key="trace.error.upstream_class",
                path=str(file),
                name=attribute,
            )
    return module


def load_upstream_model(
    checkout: str | Path,
    checkpoint: str | Path,
    config: dict | None = None,
    dtype: torch.dtype = torch.float32,
) -> nn.Module:
    """Build the checkout's own `MiniMindForCausalLM` and load `checkpoint` into it, in eval mode.

    The sizes are read off the checkpoint as `minimind.load_checkpoint` reads them and passed
    to the checkout's `MiniMindConfig`; `config` (keyword arguments) overrides them. A relative
    `checkpoint` is looked up in the current folder, then in the checkout (`out/full_sft_512.pth`).
    Raises TraceError (or CheckpointError) when the weights do not fit the code.
    """
    module = import_upstream(checkout)
    path = Path(checkpoint)
    if not path.exists() and not path.is_absolute() and (Path(checkout) / path).exists():
        path = Path(checkout) / path
    state, settings = read_state_dict(path)
    state = {_strip_prefix(key): tensor for key, tensor in state.items()}
    sizes = infer_config(state, {**settings, **(config or {})}, path).to_dict()

    try:
        model = module.MiniMindForCausalLM(module.MiniMindConfig(**sizes))
    except Exception as error:  # the user's constructor may raise anything
        raise TraceError(
            f"the checkout's MiniMindForCausalLM failed to build ({type(error).__name__}: {_first_line(error)}): "
            f"check that {path} belongs to this checkout's model version",
            key="trace.error.upstream_build",
            path=str(path),
        ) from None
    _load_weights(model, state, path)
    return model.to(dtype).eval()


def _load_weights(model: nn.Module, state: dict[str, torch.Tensor], path: Path) -> None:
    expected = model.state_dict()
    if "lm_head.weight" not in state and "model.embed_tokens.weight" in state:
        state["lm_head.weight"] = state["model.embed_tokens.weight"]
    missing = [key for key in expected if key not in state]
    unexpected = [key for key in state if key not in expected]
    if missing or unexpected:
        key = missing[0] if missing else unexpected[0]
        what = "has no" if missing else "has an unexpected"
        raise TraceError(
            f"{path} {what} key {key} for this checkout's model: pass the checkpoint written by this checkout's "
            f"model version (minimind-3 code has q_norm/k_norm, MiniMind2 code has none)",
            key="trace.error.upstream_keys",
            path=str(path),
            name=key,
        )
    for key, target in expected.items():
        if state[key].shape != target.shape:
            raise TraceError(
                f"{path}: shape mismatch at {key}: checkpoint {tuple(state[key].shape)}, model {tuple(target.shape)}: "
                f"pass the checkpoint that belongs to this model",
                key="trace.error.upstream_shape",
                path=str(path),
                name=key,
            )
    with torch.no_grad():
        for key, target in expected.items():
            target.copy_(state[key].to(target.dtype))


def upstream_sites(model: nn.Module) -> list[str]:
    """Return the sites UpstreamTracer can record for `model`, in execution order."""
    sites = ["embed"]
    for i, block in enumerate(_blocks(model)):
        p = f"layers.{i}"
        sites += [f"{p}.resid_pre", f"{p}.attn_norm.rms_in", f"{p}.attn_norm.out", f"{p}.attn_norm.rms_out"]
        sites += [f"{p}.attn.{name}" for name in ("q", "k", "v", "q_normed", "k_normed", "q_rot", "k_rot", "scores", "probs", "heads", "out")]
        sites += [f"{p}.resid_mid", f"{p}.ffn_norm.rms_in", f"{p}.ffn_norm.out", f"{p}.ffn_norm.rms_out"]
        if _is_moe(block.mlp):
            sites += [f"{p}.moe.router_probs", f"{p}.moe.topk_ids", f"{p}.moe.topk_weights", f"{p}.ffn.out"]
        else:
            sites += [f"{p}.ffn.{name}" for name in ("gate", "act", "up", "hidden", "out")]
        sites.append(f"{p}.resid_post")
    return sites + ["final_norm.rms_in", "final_norm.out", "final_norm.rms_out", "logits"]


@dataclass
class _AttentionCall:
    """Tensors observed so far in one attention call."""

    past: Any = None
    attention_mask: torch.Tensor | None = None
    q: torch.Tensor | None = None
    k: torch.Tensor | None = None
    v: torch.Tensor | None = None
    q_normed: torch.Tensor | None = None
    k_normed: torch.Tensor | None = None
    heads: torch.Tensor | None = None  # recomputed per-head output, (B, T, H, D)
    extra: dict = field(default_factory=dict)


class UpstreamTracer(Recorder):
    """Record an upstream MiniMind model (`model/model_minimind.py`) without changing its code.

    Takes the same arguments as `Tracer` (except `grads`) and produces the same `Trace`,
    with `trace.info.source == "upstream"`. Observed tensors are copied when recorded in full
    mode, because upstream edits some of them in place later in the pass. Steps the tracer
    recomputed are marked `derived`: the RMS probes, q_rot, k_rot, scores, probs, and the MoE
    router's probs and top-k. Per-expert sites are not recorded in this mode.
    """

    _source = "upstream"

    def __init__(
        self,
        model: nn.Module,
        tokenizer=None,
        sites: str | Iterable[str] | None = None,
        mode: str = "full",
        dtype: torch.dtype | str | None = None,
        prompt: str | None = None,
    ):
        super().__init__(model, tokenizer=tokenizer, mode=mode, dtype=dtype, grads=False, prompt=prompt, copy=True)
        if not hasattr(model, "model") or not hasattr(model.model, "layers"):
            raise TraceError(
                f"{type(model).__name__} does not have upstream MiniMind's layout (model.layers): "
                f"pass the MiniMindForCausalLM of an upstream checkout",
                key="trace.error.upstream_layout",
                model=type(model).__name__,
            )
        self.sites: list[str] = select(sites, upstream_sites(model))
        self._selected = set(self.sites)
        self._calls: dict[int, _AttentionCall] = {}
        self._warned_layers: set[int] = set()

    def _config_dict(self) -> dict[str, Any]:
        config = super()._config_dict()
        if "minimind_version" not in config:
            has_qk_norm = any(getattr(block.self_attn, "q_norm", None) is not None for block in _blocks(self.model))
            config["minimind_version"] = "minimind-3" if has_qk_norm else "minimind2"
        return config

    # --- hooks -----------------------------------------------------------------------------

    def _install_hooks(self) -> None:
        model, inner = self.model, self.model.model
        hook = self._hook
        self._handles.append(model.register_forward_pre_hook(self._on_pass_start, with_kwargs=True))
        self._handles.append(model.register_forward_hook(lambda *_: self._end_pass(), always_call=True))
        hook(inner.embed_tokens, out="embed")
        for i, block in enumerate(_blocks(model)):
            p = f"layers.{i}"
            self._handles.append(block.register_forward_pre_hook(partial(self._on_block_start, i), with_kwargs=True))
            self._handles.append(block.register_forward_hook(partial(self._on_block_end, i)))
            self._hook_norm(block.input_layernorm, f"{p}.attn_norm")
            self._hook_attention(i, block.self_attn)
            self._hook_norm(block.post_attention_layernorm, f"{p}.ffn_norm", input_site=f"{p}.resid_mid")
            self._hook_mlp(i, block.mlp)
        self._hook_norm(inner.norm, "final_norm")
        hook(model.lm_head, out="logits")

    def _hook(self, module: nn.Module, out: str | None = None, inp: str | None = None) -> None:
        if out is not None:
            self._handles.append(module.register_forward_hook(lambda m, args, output: self._observe(out, output)))
        if inp is not None:
            self._handles.append(module.register_forward_pre_hook(lambda m, args: self._observe(inp, args[0])))

    def _hook_norm(self, norm: nn.Module, prefix: str, input_site: str | None = None) -> None:
        def before(module, args):
            if input_site is not None:
                self._observe(input_site, args[0])
            self._derive(f"{prefix}.rms_in", lambda: _rms(args[0]))

        def after(module, args, output):
            self._observe(f"{prefix}.out", output)
            self._derive(f"{prefix}.rms_out", lambda: _rms(output))

        self._handles.append(norm.register_forward_pre_hook(before))
        self._handles.append(norm.register_forward_hook(after))

    def _hook_attention(self, i: int, attn: nn.Module) -> None:
        p = f"layers.{i}.attn"
        head_dim = _head_dim(attn, self.model)
        heads = lambda t: t.reshape(*t.shape[:-1], t.shape[-1] // head_dim, head_dim)  # noqa: E731 (B, T, H*D) -> (B, T, H, D)

        def start(module, args, kwargs):
            names = ("x", "position_embeddings", "past_key_value", "use_cache", "attention_mask")
            bound = {**dict(zip(names, args)), **kwargs}
            self._calls[i] = _AttentionCall(past=bound.get("past_key_value"), attention_mask=bound.get("attention_mask"))

        def projection(name):
            def after(module, args, output):
                call = self._calls[i]
                value = heads(output.detach())
                setattr(call, name, value)
                self._observe(f"{p}.{name}", value)
                if name == "v" and getattr(attn, "q_norm", None) is None:
                    # MiniMind2 code has no q_norm/k_norm: the normed tensors are q and k themselves.
                    call.q_normed, call.k_normed = call.q, call.k
                    self._observe(f"{p}.q_normed", call.q)
                    self._observe(f"{p}.k_normed", call.k)

            return after

        def normed(name):
            def after(module, args, output):
                setattr(self._calls[i], name, output.detach())
                self._observe(f"{p}.{name}", output)

            return after

        def before_o_proj(module, args):
            self._derive_attention(i, attn)
            self._observe(f"{p}.heads", heads(args[0]))

        def after_o_proj(module, args, output):
            self._observe(f"{p}.out", output)
            self._check_attention(i, module, output)

        self._handles.append(attn.register_forward_pre_hook(start, with_kwargs=True))
        for name in ("q", "k", "v"):
            self._handles.append(getattr(attn, f"{name}_proj").register_forward_hook(projection(name)))
        for name, norm in (("q_normed", getattr(attn, "q_norm", None)), ("k_normed", getattr(attn, "k_norm", None))):
            if norm is not None:
                self._handles.append(norm.register_forward_hook(normed(name)))
        self._handles.append(attn.o_proj.register_forward_pre_hook(before_o_proj))
        self._handles.append(attn.o_proj.register_forward_hook(after_o_proj))

    def _hook_mlp(self, i: int, mlp: nn.Module) -> None:
        p = f"layers.{i}"
        if _is_moe(mlp):
            self._handles.append(mlp.gate.register_forward_hook(partial(self._on_router, i, mlp)))
        else:
            self._hook(mlp.gate_proj, out=f"{p}.ffn.gate")
            if isinstance(getattr(mlp, "act_fn", None), nn.Module):
                self._hook(mlp.act_fn, out=f"{p}.ffn.act")
            else:
                act = _activation(self.model)
                self._handles.append(mlp.gate_proj.register_forward_hook(lambda m, a, out: self._derive(f"{p}.ffn.act", lambda: act(out))))
            self._hook(mlp.up_proj, out=f"{p}.ffn.up")
            self._hook(mlp.down_proj, inp=f"{p}.ffn.hidden")
        self._hook(mlp, out=f"{p}.ffn.out")

    # --- hook bodies -----------------------------------------------------------------------

    def _on_pass_start(self, module, args, kwargs) -> None:
        input_ids, start = pass_inputs(module.forward, args, kwargs)
        self._begin_pass(input_ids, start)

    def _on_block_start(self, i: int, module, args, kwargs) -> None:
        hidden = args[0] if args else kwargs.get("hidden_states")
        self._observe(f"layers.{i}.resid_pre", hidden)

    def _on_block_end(self, i: int, module, args, output) -> None:
        self._observe(f"layers.{i}.resid_post", output[0] if isinstance(output, tuple) else output)
        self._calls.pop(i, None)

    def _on_router(self, i: int, mlp: nn.Module, module, args, output) -> None:
        p = f"layers.{i}.moe"
        config = self.model.config
        x = args[0].detach()
        if isinstance(output, tuple):
            # MiniMind2's MoEGate returns (topk_idx, topk_weight, aux_loss) and keeps its logits inside.
            logits = F.linear(x.reshape(-1, x.shape[-1]), module.weight)
            self._derive(f"{p}.router_probs", lambda: logits.softmax(dim=-1))
            self._observe(f"{p}.topk_ids", output[0])
            self._observe(f"{p}.topk_weights", output[1])
            return
        probs = F.softmax(output.detach().float(), dim=-1).type_as(output)  # (N, E)
        self._derive(f"{p}.router_probs", lambda: probs)
        k = getattr(config, "num_experts_per_tok", 1)
        weights, ids = torch.topk(probs, k=k, dim=-1, sorted=False)
        if getattr(config, "norm_topk_prob", True):
            weights = weights / (weights.sum(dim=-1, keepdim=True) + 1e-20)
        self._derive(f"{p}.topk_ids", lambda: ids)
        self._derive(f"{p}.topk_weights", lambda: weights)

    def _derive_attention(self, i: int, attn: nn.Module) -> None:
        """Recompute RoPE, scores, probs and per-head outputs from the observed projections."""
        call = self._calls.get(i)
        if call is None or call.q_normed is None or call.k_normed is None or call.v is None:
            return
        p = f"layers.{i}.attn"
        B, T, H, D = call.q_normed.shape
        start = _cached_length(call.past)
        cos, sin = _rope_buffers(self.model)
        cos, sin = cos[start : start + T].to(call.q_normed.device), sin[start : start + T].to(call.q_normed.device)

        q_rot = _rotate(call.q_normed, cos, sin)  # (B, T, H, D)
        k_rot = _rotate(call.k_normed, cos, sin)  # (B, T, KV, D)
        self._derive(f"{p}.q_rot", lambda: q_rot)
        self._derive(f"{p}.k_rot", lambda: k_rot)

        keys, values = k_rot, call.v
        if call.past is not None:
            keys = torch.cat([call.past[0].detach(), keys], dim=1)  # (B, S, KV, D)
            values = torch.cat([call.past[1].detach(), values], dim=1)
        group = H // keys.shape[2]
        keys = keys.repeat_interleave(group, dim=2).transpose(1, 2)  # (B, H, S, D)
        values = values.repeat_interleave(group, dim=2).transpose(1, 2)
        S = keys.shape[2]

        scores = (q_rot.transpose(1, 2) @ keys.transpose(-2, -1)) / math.sqrt(D)  # (B, H, T, S)
        allowed = torch.ones(T, S, dtype=torch.bool, device=scores.device).tril(S - T)  # bottom-right aligned
        masked = scores.masked_fill(~allowed, float("-inf"))
        if call.attention_mask is not None:
            masked = masked + (1.0 - call.attention_mask[:, None, None, :]) * -1e9
        probs = F.softmax(masked.float(), dim=-1).type_as(scores)  # (B, H, T, S)
        self._derive(f"{p}.scores", lambda: scores)
        self._derive(f"{p}.probs", lambda: probs)
        call.heads = (probs @ values).transpose(1, 2)  # (B, T, H, D)

    def _check_attention(self, i: int, o_proj: nn.Module, output: torch.Tensor) -> None:
        call = self._calls.get(i)
        if call is None or call.heads is None:
            return
        with torch.no_grad():
            B, T, H, D = call.heads.shape
            expected = F.linear(call.heads.reshape(B, T, H * D).to(o_proj.weight.dtype), o_proj.weight, o_proj.bias)
            difference = (expected.float() - output.detach().float()).abs().max().item()
            scale = output.detach().float().abs().max().item()
        rtol = _CHECK_RTOL.get(output.dtype, _CHECK_RTOL_HALF)
        if difference <= rtol * scale + 1e-6 or i in self._warned_layers:
            return
        self._warned_layers.add(i)
        message = (
            f"layer {i}: the attention output differs from its recomputation from q, k, v and RoPE "
            f"(max abs difference {difference:.3g}, largest |output| {scale:.3g}): this model's attention is not "
            f"upstream MiniMind's, so the derived q_rot, k_rot, scores and probs of layer {i} may not be what it computed"
        )
        logger.warning(message)
        self._warnings.append(message)

    def _observe(self, site: str, tensor) -> None:
        if site in self._selected and isinstance(tensor, torch.Tensor):
            self._record(site, tensor)

    def _derive(self, site: str, make) -> None:
        if site in self._selected:
            self._record(site, make(), derived=True)


def _blocks(model: nn.Module) -> list[nn.Module]:
    return list(model.model.layers)


def _is_moe(mlp: nn.Module) -> bool:
    return hasattr(mlp, "experts")


def _head_dim(attn: nn.Module, model: nn.Module) -> int:
    head_dim = getattr(attn, "head_dim", None)
    if head_dim is None:
        config = model.config
        head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    return int(head_dim)


def _activation(model: nn.Module):
    name = getattr(model.config, "hidden_act", "silu")
    return {"silu": F.silu, "gelu": F.gelu, "relu": F.relu}.get(name, F.silu)


def _rope_buffers(model: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    buffers = dict(model.named_buffers())
    cos = buffers.get("model.freqs_cos")
    sin = buffers.get("model.freqs_sin")
    if cos is None or sin is None:
        raise TraceError(
            f"{type(model).__name__} has no model.freqs_cos/model.freqs_sin buffers, which plugin mode needs to "
            f"recompute RoPE: pass an upstream MiniMind checkout",
            key="trace.error.upstream_rope",
            model=type(model).__name__,
        )
    return cos, sin


def _cached_length(past) -> int:
    if past is None:
        return 0
    return int(past[0].shape[1])  # cached k is (B, S, kv_heads, D)


def _rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    # RoPE pairs dimension i with i + D/2; cos and sin are (T, D) and broadcast over heads.
    half = x.shape[-1] // 2
    turned = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
    return (x * cos[:, None, :] + turned * sin[:, None, :]).to(x.dtype)


@torch.no_grad()
def _rms(x: torch.Tensor) -> torch.Tensor:
    return x.detach().float().square().mean(-1).sqrt()


def _strip_prefix(key: str) -> str:
    for prefix in _STRIP_PREFIXES:
        key = key.removeprefix(prefix)
    return key


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0][:200] if lines else type(error).__name__
