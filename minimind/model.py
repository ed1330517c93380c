"""The MiniMind decoder and its causal language-model head."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .attention import KVCache
from .block import MiniMindBlock
from .config import MiniMindConfig
from .errors import SequenceTooLongError
from .generate import generate
from .moe import MoEFeedForward
from .norm import RMSNorm
from .probe import Probe
from .rope import rope_tables


@dataclass
class CausalLMOutput:
    """Outputs of one forward pass."""

    logits: torch.Tensor  # (B, T, vocab), or the last `logits_to_keep` positions
    past_key_values: list[KVCache] | None  # per layer (k, v), each (B, S, kv_heads, D); None unless use_cache
    loss: torch.Tensor | None = None  # next-token cross-entropy when labels are given
    aux_loss: torch.Tensor | None = None  # MoE load-balancing loss (0 outside training)
    hidden_states: torch.Tensor | None = None  # (B, T, hidden) after the final norm


class MiniMindModel(nn.Module):
    """Embedding, the blocks and the final norm.

    Probes: `embed` (B, T, hidden), the token embeddings entering block 0. The final norm's
    probes are `norm.rms_in`, `norm.rms_out` and `norm.out`.
    """

    def __init__(self, config: MiniMindConfig):
        super().__init__()
        self.config = config
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size)
        self.dropout = nn.Dropout(config.dropout)
        self.layers = nn.ModuleList(MiniMindBlock(i, config) for i in range(config.num_hidden_layers))
        self.norm = RMSNorm(config.hidden_size, config.rms_norm_eps, cast_after_weight=config.is_v3)
        self.embed = Probe()
        self.reset_rope()

    def reset_rope(self) -> None:
        """(Re)build the cos and sin tables from the config; they are not saved in checkpoints."""
        c = self.config
        cos, sin = rope_tables(c.head_dim, c.rope_theta, c.max_position_embeddings, c.rope_scaling)
        device = self.embed_tokens.weight.device
        self.register_buffer("freqs_cos", cos.to(device), persistent=False)  # (P, D) fp32
        self.register_buffer("freqs_sin", sin.to(device), persistent=False)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        past_key_values: list[KVCache | None] | None = None,
        use_cache: bool = False,
    ) -> tuple[torch.Tensor, list[KVCache | None], torch.Tensor]:
        B, T = input_ids.shape
        past_key_values = past_key_values or [None] * len(self.layers)
        start = past_key_values[0][0].shape[1] if past_key_values[0] is not None else 0
        limit = self.config.max_position_embeddings
        if start + T > limit:
            raise SequenceTooLongError(
                f"sequence needs {start + T} positions but max_position_embeddings is {limit}: "
                f"shorten the input to at most {limit - start} tokens",
                key="error.sequence_too_long", needed=start + T, limit=limit, available=limit - start,
            )

        h = self.embed(self.dropout(self.embed_tokens(input_ids)))  # (B, T, hidden)
        cos = self.freqs_cos[start : start + T]  # (T, D)
        sin = self.freqs_sin[start : start + T]

        presents = []
        for layer, past in zip(self.layers, past_key_values):
            h, present = layer(h, cos, sin, past, use_cache, attention_mask)
            presents.append(present)
        h = self.norm(h)

        aux_loss = h.new_zeros(())
        for layer in self.layers:
            if isinstance(layer.mlp, MoEFeedForward):
                aux_loss = aux_loss + layer.mlp.aux_loss
        return h, presents, aux_loss


class MiniMindForCausalLM(nn.Module):
    """MiniMind with its tied language-model head.

    Probes: `logits` (B, T, vocab). Module names match upstream checkpoint keys
    (`model.layers.0.self_attn.q_proj`, `lm_head`), so a state dict loads unchanged.
    """

    def __init__(self, config: MiniMindConfig | None = None):
        super().__init__()
        self.config = config or MiniMindConfig()
        self.model = MiniMindModel(self.config)
        self.lm_head = nn.Linear(self.config.hidden_size, self.config.vocab_size, bias=False)
        if self.config.tie_word_embeddings:
            self.model.embed_tokens.weight = self.lm_head.weight
        self.logits = Probe()
        self.apply(_init_weights)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        past_key_values: list[KVCache | None] | None = None,
        use_cache: bool = False,
        labels: torch.Tensor | None = None,
        logits_to_keep: int = 0,
    ) -> CausalLMOutput:
        h, presents, aux_loss = self.model(input_ids, attention_mask, past_key_values, use_cache)
        kept = h[:, -logits_to_keep:, :] if logits_to_keep else h
        logits = self.logits(self.lm_head(kept))  # (B, T, vocab)

        loss = None
        if labels is not None:
            # Position t predicts token t + 1.
            shifted = logits[..., :-1, :].contiguous()
            targets = labels[..., 1:].contiguous()
            loss = F.cross_entropy(shifted.view(-1, shifted.size(-1)), targets.view(-1), ignore_index=-100)
        return CausalLMOutput(
            logits=logits,
            past_key_values=presents if use_cache else None,
            loss=loss,
            aux_loss=aux_loss,
            hidden_states=h,
        )

    generate = generate

    def num_parameters(self) -> int:
        """Count parameters once each, so the tied embedding and head count once."""
        return sum(p.numel() for p in self.parameters())


def _init_weights(module: nn.Module) -> None:
    # Small normal weights, as is usual for GPT-style decoders, so a fresh model starts near uniform.
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, mean=0.0, std=0.02)
