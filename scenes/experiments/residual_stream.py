"""The residual stream: what each attention and feed-forward sublayer adds, layer by layer.

Block l computes `mid = pre + attn_out` and `post = mid + ffn_out`. Besides the plain
norms, each part's share of a stream vector v is its projection onto v, `<part, v> / |v|^2`.
The shares of the parts that sum to v add up to exactly 1. A negative share means the part
points against the stream.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from minimind import MiniMindForCausalLM

from ._common import record_probes, resolve_prompt


@dataclass
class NextToken:
    """One candidate for the token after the prompt."""

    token_id: int
    label: str
    prob: float


@dataclass
class ResidualStreamResult:
    """Per-token, per-layer norms of the stream and of each sublayer's output.

    Arrays marked (L, T) are indexed [layer, token]; norms are L2 norms over hidden_size.
    """

    hidden_size: int
    token_ids: list[int]
    token_labels: list[str]
    embed_norm: np.ndarray  # (T,) token embeddings entering block 0
    resid_pre_norm: np.ndarray  # (L, T) stream entering each block
    attn_out_norm: np.ndarray  # (L, T) attention sublayer output
    resid_mid_norm: np.ndarray  # (L, T) stream after the attention add
    ffn_out_norm: np.ndarray  # (L, T) feed-forward sublayer output
    resid_post_norm: np.ndarray  # (L, T) stream leaving each block
    pre_share: np.ndarray  # (L, T) share of resid_pre in resid_post
    attn_share: np.ndarray  # (L, T) share of attn_out in resid_post
    ffn_share: np.ndarray  # (L, T) share of ffn_out in resid_post; the three shares sum to 1
    attn_update_ratio: np.ndarray  # (L, T) |attn_out| / |resid_pre|
    ffn_update_ratio: np.ndarray  # (L, T) |ffn_out| / |resid_mid|
    contribution_names: list[str]  # "embed", "attn 0", "ffn 0", "attn 1", ...
    final_share: np.ndarray  # (2L+1, T) share of each part in the last block's output; sums to 1 per token
    final_norm_rms_in: np.ndarray  # (T,) RMS entering the final norm
    final_norm_rms_out: np.ndarray  # (T,) RMS after it
    top_next: list[NextToken]  # most probable next tokens after the last prompt token


@torch.no_grad()
def run_residual_stream(
    model: MiniMindForCausalLM,
    tokenizer=None,
    prompt: str | Sequence[int] | None = None,
    length: int = 12,
    top_k: int = 5,
) -> ResidualStreamResult:
    """Run the prompt once and decompose the residual stream of every block."""
    tokens = resolve_prompt(model, tokenizer, prompt, length=length)
    L = model.config.num_hidden_layers
    parts = ("resid_pre", "self_attn.out", "resid_mid", "mlp.out", "resid_post")
    names = [f"model.layers.{i}.{part}" for i in range(L) for part in parts]
    names += ["model.norm.out", "logits"]
    with record_probes(model, names) as rec:
        model(tokens.tensor())

    def stacked(part: str) -> torch.Tensor:
        return torch.stack([rec[f"model.layers.{i}.{part}"][0].double() for i in range(L)])  # (L, T, C)

    pre, attn, mid, ffn, post = (stacked(part) for part in parts)
    post_sq = post.pow(2).sum(-1)  # (L, T)

    def share(part: torch.Tensor, whole: torch.Tensor, whole_sq: torch.Tensor) -> np.ndarray:
        return ((part * whole).sum(-1) / whole_sq).numpy()

    # The last block's output is the embedding plus every sublayer output so far.
    final = post[-1]  # (T, C)
    final_sq = final.pow(2).sum(-1)
    contributions = [pre[0]] + [x for i in range(L) for x in (attn[i], ffn[i])]
    contribution_names = ["embed"] + [f"{kind} {i}" for i in range(L) for kind in ("attn", "ffn")]

    final_in = post[-1]
    final_out = rec["model.norm.out"][0].double()
    probs = F.softmax(rec["logits"][0, -1].float(), dim=-1)
    top = torch.topk(probs, k=min(top_k, probs.numel()))
    top_ids = top.indices.tolist()
    top_labels = tokenizer.token_labels(top_ids) if tokenizer is not None else [f"#{i}" for i in top_ids]

    return ResidualStreamResult(
        hidden_size=model.config.hidden_size,
        token_ids=tokens.ids,
        token_labels=tokens.labels,
        embed_norm=pre[0].norm(dim=-1).numpy(),
        resid_pre_norm=pre.norm(dim=-1).numpy(),
        attn_out_norm=attn.norm(dim=-1).numpy(),
        resid_mid_norm=mid.norm(dim=-1).numpy(),
        ffn_out_norm=ffn.norm(dim=-1).numpy(),
        resid_post_norm=post.norm(dim=-1).numpy(),
        pre_share=share(pre, post, post_sq),
        attn_share=share(attn, post, post_sq),
        ffn_share=share(ffn, post, post_sq),
        attn_update_ratio=(attn.norm(dim=-1) / pre.norm(dim=-1)).numpy(),
        ffn_update_ratio=(ffn.norm(dim=-1) / mid.norm(dim=-1)).numpy(),
        contribution_names=contribution_names,
        final_share=np.stack([share(part, final, final_sq) for part in contributions]),
        final_norm_rms_in=final_in.pow(2).mean(-1).sqrt().numpy(),
        final_norm_rms_out=final_out.pow(2).mean(-1).sqrt().numpy(),
        top_next=[NextToken(i, label, float(p)) for i, label, p in zip(top_ids, top_labels, top.values.tolist())],
    )
