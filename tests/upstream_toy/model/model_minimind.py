"""A small model with upstream MiniMind's module names and minimind-3 layout, for tests.

Written for the plugin-mode tests, without `transformers`; see ../README.md.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn


class MiniMindConfig:
    """Upstream's keyword arguments, with minimind-3 defaults."""

    def __init__(self, hidden_size=768, num_hidden_layers=8, use_moe=False, **kwargs):
        self.hidden_size = hidden_size
        self.num_hidden_layers = num_hidden_layers
        self.use_moe = use_moe
        self.vocab_size = kwargs.get("vocab_size", 6400)
        self.num_attention_heads = kwargs.get("num_attention_heads", 8)
        self.num_key_value_heads = kwargs.get("num_key_value_heads", 4)
        self.head_dim = kwargs.get("head_dim") or hidden_size // self.num_attention_heads
        self.intermediate_size = kwargs.get("intermediate_size") or math.ceil(hidden_size * math.pi / 64) * 64
        self.max_position_embeddings = kwargs.get("max_position_embeddings", 32768)
        self.rms_norm_eps = kwargs.get("rms_norm_eps", 1e-6)
        self.rope_theta = kwargs.get("rope_theta", 1e6)
        self.dropout = kwargs.get("dropout", 0.0)
        self.num_experts = kwargs.get("num_experts", 4)
        self.num_experts_per_tok = kwargs.get("num_experts_per_tok", 1)
        self.moe_intermediate_size = kwargs.get("moe_intermediate_size") or self.intermediate_size
        self.norm_topk_prob = kwargs.get("norm_topk_prob", True)
        if kwargs.get("inference_rope_scaling"):
            raise NotImplementedError("the toy model has no YaRN")

    def to_dict(self):
        return dict(vars(self))


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        x32 = x.float()
        return (self.weight * (x32 * torch.rsqrt(x32.square().mean(-1, keepdim=True) + self.eps))).type_as(x)


def rope_tables(head_dim, positions, theta):
    inv_freq = 1.0 / theta ** (torch.arange(0, head_dim, 2).float() / head_dim)  # (D/2,)
    angles = torch.arange(positions).float()[:, None] * inv_freq[None, :]  # (P, D/2)
    return torch.cos(angles).repeat(1, 2), torch.sin(angles).repeat(1, 2)  # each (P, D)


def rotate(x, cos, sin):
    half = x.shape[-1] // 2
    turned = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return (x * cos[:, None, :] + turned * sin[:, None, :]).to(x.dtype)


class Attention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.n_heads = config.num_attention_heads
        self.n_kv_heads = config.num_key_value_heads
        self.head_dim = config.head_dim
        self.q_proj = nn.Linear(config.hidden_size, self.n_heads * self.head_dim, bias=False)
        self.k_proj = nn.Linear(config.hidden_size, self.n_kv_heads * self.head_dim, bias=False)
        self.v_proj = nn.Linear(config.hidden_size, self.n_kv_heads * self.head_dim, bias=False)
        self.o_proj = nn.Linear(self.n_heads * self.head_dim, config.hidden_size, bias=False)
        self.q_norm = RMSNorm(self.head_dim, config.rms_norm_eps)
        self.k_norm = RMSNorm(self.head_dim, config.rms_norm_eps)
        self.attn_dropout = nn.Dropout(config.dropout)
        self.resid_dropout = nn.Dropout(config.dropout)

    def forward(self, x, position_embeddings, past_key_value=None, use_cache=False, attention_mask=None):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.n_heads, self.head_dim)
        k = self.k_proj(x).view(B, T, self.n_kv_heads, self.head_dim)
        v = self.v_proj(x).view(B, T, self.n_kv_heads, self.head_dim)
        q, k = self.q_norm(q), self.k_norm(k)
        cos, sin = position_embeddings
        q, k = rotate(q, cos, sin), rotate(k, cos, sin)
        if past_key_value is not None:
            k = torch.cat([past_key_value[0], k], dim=1)
            v = torch.cat([past_key_value[1], v], dim=1)
        present = (k, v) if use_cache else None

        group = self.n_heads // self.n_kv_heads
        q = q.transpose(1, 2)  # (B, H, T, D)
        k = k.repeat_interleave(group, dim=2).transpose(1, 2)  # (B, H, S, D)
        v = v.repeat_interleave(group, dim=2).transpose(1, 2)
        if past_key_value is None and T > 1 and attention_mask is None:
            out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            scores = q @ k.transpose(-2, -1) / math.sqrt(self.head_dim)
            S = k.shape[2]
            allowed = torch.ones(T, S, dtype=torch.bool).tril(S - T)
            scores = scores.masked_fill(~allowed, float("-inf"))
            if attention_mask is not None:
                scores = scores + (1.0 - attention_mask[:, None, None, :]) * -1e9
            out = self.attn_dropout(F.softmax(scores.float(), dim=-1).type_as(q)) @ v
        out = out.transpose(1, 2).reshape(B, T, -1)
        return self.resid_dropout(self.o_proj(out)), present


class FeedForward(nn.Module):
    def __init__(self, config, intermediate_size=None):
        super().__init__()
        width = intermediate_size or config.intermediate_size
        self.gate_proj = nn.Linear(config.hidden_size, width, bias=False)
        self.down_proj = nn.Linear(width, config.hidden_size, bias=False)
        self.up_proj = nn.Linear(config.hidden_size, width, bias=False)
        self.act_fn = nn.SiLU()

    def forward(self, x):
        return self.down_proj(self.act_fn(self.gate_proj(x)) * self.up_proj(x))


class MOEFeedForward(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.gate = nn.Linear(config.hidden_size, config.num_experts, bias=False)
        self.experts = nn.ModuleList(FeedForward(config, config.moe_intermediate_size) for _ in range(config.num_experts))

    def forward(self, x):
        B, T, C = x.shape
        flat = x.reshape(-1, C)
        probs = F.softmax(self.gate(flat), dim=-1)
        weights, chosen = torch.topk(probs, k=self.config.num_experts_per_tok, dim=-1, sorted=False)
        if self.config.norm_topk_prob:
            weights = weights / (weights.sum(dim=-1, keepdim=True) + 1e-20)
        y = torch.zeros_like(flat)
        for index, expert in enumerate(self.experts):
            hit = chosen == index
            if hit.any():
                rows = hit.any(dim=-1).nonzero().flatten()
                y.index_add_(0, rows, (expert(flat[rows]) * weights[hit].view(-1, 1)).to(y.dtype))
        return y.view(B, T, C)


class MiniMindBlock(nn.Module):
    def __init__(self, layer_id, config):
        super().__init__()
        self.self_attn = Attention(config)
        self.input_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.post_attention_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.mlp = MOEFeedForward(config) if config.use_moe else FeedForward(config)

    def forward(self, hidden_states, position_embeddings, past_key_value=None, use_cache=False, attention_mask=None):
        residual = hidden_states
        hidden_states, present = self.self_attn(
            self.input_layernorm(hidden_states), position_embeddings, past_key_value, use_cache, attention_mask
        )
        hidden_states += residual  # in place on the attention output, as upstream does
        hidden_states = hidden_states + self.mlp(self.post_attention_layernorm(hidden_states))
        return hidden_states, present


class MiniMindModel(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size)
        self.dropout = nn.Dropout(config.dropout)
        self.layers = nn.ModuleList(MiniMindBlock(i, config) for i in range(config.num_hidden_layers))
        self.norm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        cos, sin = rope_tables(config.head_dim, config.max_position_embeddings, config.rope_theta)
        self.register_buffer("freqs_cos", cos, persistent=False)
        self.register_buffer("freqs_sin", sin, persistent=False)

    def forward(self, input_ids, attention_mask=None, past_key_values=None, use_cache=False, **kwargs):
        T = input_ids.shape[1]
        past_key_values = past_key_values or [None] * len(self.layers)
        start = past_key_values[0][0].shape[1] if past_key_values[0] is not None else 0
        h = self.dropout(self.embed_tokens(input_ids))
        position_embeddings = (self.freqs_cos[start : start + T], self.freqs_sin[start : start + T])
        presents = []
        for layer, past in zip(self.layers, past_key_values):
            h, present = layer(h, position_embeddings, past_key_value=past, use_cache=use_cache, attention_mask=attention_mask)
            presents.append(present)
        return self.norm(h), presents


class CausalLMOutput:
    def __init__(self, logits, past_key_values, loss=None):
        self.logits = logits
        self.past_key_values = past_key_values
        self.loss = loss


class MiniMindForCausalLM(nn.Module):
    def __init__(self, config=None):
        super().__init__()
        self.config = config or MiniMindConfig()
        self.model = MiniMindModel(self.config)
        self.lm_head = nn.Linear(self.config.hidden_size, self.config.vocab_size, bias=False)
        self.model.embed_tokens.weight = self.lm_head.weight

    def forward(self, input_ids, attention_mask=None, past_key_values=None, use_cache=False, logits_to_keep=0, labels=None, **kwargs):
        h, presents = self.model(input_ids, attention_mask, past_key_values, use_cache)
        logits = self.lm_head(h[:, -logits_to_keep:, :] if logits_to_keep else h)
        loss = None
        if labels is not None:
            loss = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1), ignore_index=-100)
        return CausalLMOutput(logits, presents if use_cache else None, loss)
