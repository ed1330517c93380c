"""One pre-norm transformer block."""

from __future__ import annotations

import torch
from torch import nn

from .attention import Attention, KVCache
from .config import MiniMindConfig
from .feedforward import FeedForward
from .moe import MoEFeedForward
from .norm import RMSNorm
from .probe import Probe


class MiniMindBlock(nn.Module):
    """`h += attn(input_layernorm(h))`, then `h += mlp(post_attention_layernorm(h))`.

    Probes: `resid_pre` (the stream entering the block), `resid_mid` (after the attention
    sublayer's add) and `resid_post` (after the feed-forward add), each (B, T, hidden).
    """

    def __init__(self, layer_id: int, config: MiniMindConfig):
        super().__init__()
        self.layer_id = layer_id
        cast_after = config.is_v3
        self.input_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps, cast_after)
        self.self_attn = Attention(config)
        self.post_attention_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps, cast_after)
        self.mlp = MoEFeedForward(config) if config.use_moe else FeedForward(config)
        self.resid_pre = Probe()
        self.resid_mid = Probe()
        self.resid_post = Probe()

    def forward(
        self,
        h: torch.Tensor,
        cos: torch.Tensor,
        sin: torch.Tensor,
        past_key_value: KVCache | None = None,
        use_cache: bool = False,
        attention_mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, KVCache | None]:
        h = self.resid_pre(h)
        attn_out, present = self.self_attn(
            self.input_layernorm(h), cos, sin, past_key_value, use_cache, attention_mask
        )
        h = self.resid_mid(h + attn_out)
        h = self.resid_post(h + self.mlp(self.post_attention_layernorm(h)))
        return h, present
