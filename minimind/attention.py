"""Causal self-attention with grouped-query heads (GQA), RoPE and a KV cache."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .config import MiniMindConfig
from .norm import RMSNorm
from .probe import Probe
from .rope import apply_rope

KVCache = tuple[torch.Tensor, torch.Tensor]  # rotated k and un-repeated v, each (B, T_total, kv_heads, D)


def repeat_kv(x: torch.Tensor, n_rep: int) -> torch.Tensor:
    """Repeat each kv head n_rep times: (B, S, kv, D) -> (B, S, kv * n_rep, D).

    Query head h then reads kv head h // n_rep.
    """
    if n_rep == 1:
        return x
    B, S, kv, D = x.shape
    return x[:, :, :, None, :].expand(B, S, kv, n_rep, D).reshape(B, S, kv * n_rep, D)


def causal_mask(query_len: int, key_len: int, device: torch.device) -> torch.Tensor:
    """Boolean (T, S) mask of allowed keys, aligned bottom-right.

    With a cache of P = S - T keys, query t sees keys 0 .. P + t, so the newest query row
    sees every key and the mask stays correct while decoding one token at a time.
    """
    query_pos = torch.arange(query_len, device=device) + (key_len - query_len)
    key_pos = torch.arange(key_len, device=device)
    return key_pos[None, :] <= query_pos[:, None]


class Attention(nn.Module):
    """Multi-head attention where groups of query heads share one kv head.

    Probes, with B batch, T new positions, S cached plus new keys, H query heads, KV kv heads:
    `q` (B, T, H, D), `k`, `v` (B, T, KV, D) after projection; `q_normed`, `k_normed` after
    q_norm/k_norm (the same tensors in minimind2); `q_rot`, `k_rot` after RoPE; `scores`
    (B, H, T, S), scaled, before the mask; `probs` (B, H, T, S) after mask and softmax;
    `heads` (B, T, H, D), each head's weighted sum of v; `out` (B, T, hidden) after o_proj.
    """

    def __init__(self, config: MiniMindConfig):
        super().__init__()
        self.n_heads = config.num_attention_heads
        self.n_kv_heads = config.num_key_value_heads
        self.n_rep = self.n_heads // self.n_kv_heads
        self.head_dim = config.head_dim
        self.cast_rope = config.is_v3

        self.q_proj = nn.Linear(config.hidden_size, self.n_heads * self.head_dim, bias=False)
        self.k_proj = nn.Linear(config.hidden_size, self.n_kv_heads * self.head_dim, bias=False)
        self.v_proj = nn.Linear(config.hidden_size, self.n_kv_heads * self.head_dim, bias=False)
        self.o_proj = nn.Linear(self.n_heads * self.head_dim, config.hidden_size, bias=False)
        if config.is_v3:
            self.q_norm = RMSNorm(self.head_dim, config.rms_norm_eps, cast_after_weight=True)
            self.k_norm = RMSNorm(self.head_dim, config.rms_norm_eps, cast_after_weight=True)
        else:
            self.q_norm = None
            self.k_norm = None
        self.attn_dropout = nn.Dropout(config.dropout)
        self.resid_dropout = nn.Dropout(config.dropout)

        for name in ("q", "k", "v", "q_normed", "k_normed", "q_rot", "k_rot", "scores", "probs", "heads", "out"):
            self.add_module(name, Probe())

    def forward(
        self,
        x: torch.Tensor,
        cos: torch.Tensor,
        sin: torch.Tensor,
        past_key_value: KVCache | None = None,
        use_cache: bool = False,
        attention_mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, KVCache | None]:
        B, T, _ = x.shape
        H, KV, D = self.n_heads, self.n_kv_heads, self.head_dim

        # Project, then split the last dimension into heads.
        q = self.q(self.q_proj(x).view(B, T, H, D))  # (B, T, H, D)
        k = self.k(self.k_proj(x).view(B, T, KV, D))  # (B, T, KV, D)
        v = self.v(self.v_proj(x).view(B, T, KV, D))  # (B, T, KV, D)

        # minimind-3 normalises each head's q and k before rotating them.
        if self.q_norm is not None:
            q, k = self.q_norm(q), self.k_norm(k)
        q, k = self.q_normed(q), self.k_normed(k)

        # Rotate by position; cos and sin already start at the cached length.
        q = self.q_rot(apply_rope(q, cos, sin, self.cast_rope))
        k = self.k_rot(apply_rope(k, cos, sin, self.cast_rope))

        # The cache keeps rotated, un-repeated k and v.
        if past_key_value is not None:
            k = torch.cat([past_key_value[0], k], dim=1)  # (B, S, KV, D)
            v = torch.cat([past_key_value[1], v], dim=1)
        present = (k, v) if use_cache else None
        S = k.shape[1]

        # GQA: query head h reads kv head h // n_rep.
        q_t = q.transpose(1, 2)  # (B, H, T, D)
        k_t = repeat_kv(k, self.n_rep).transpose(1, 2)  # (B, H, S, D)
        v_t = repeat_kv(v, self.n_rep).transpose(1, 2)  # (B, H, S, D)

        scores = self.scores((q_t @ k_t.transpose(-2, -1)) / math.sqrt(D))  # (B, H, T, S)
        masked = scores.masked_fill(~causal_mask(T, S, x.device), float("-inf"))
        if attention_mask is not None:
            masked = masked + (1.0 - attention_mask[:, None, None, :]) * -1e9
        probs = self.probs(F.softmax(masked.float(), dim=-1).type_as(q_t))  # (B, H, T, S)

        heads = self.heads((self.attn_dropout(probs) @ v_t).transpose(1, 2))  # (B, T, H, D)
        out = self.resid_dropout(self.o_proj(heads.reshape(B, T, H * D)))  # (B, T, hidden)
        return self.out(out), present
