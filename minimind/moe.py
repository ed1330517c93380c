"""Mixture-of-experts feed-forward layers in both MiniMind versions."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import MiniMindConfig
from .feedforward import FeedForward
from .probe import Probe


class RouterWeight(nn.Module):
    """minimind2's router: a bare `weight` (E, hidden) with no Linear around it."""

    def __init__(self, n_experts: int, hidden_size: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_experts, hidden_size))
        nn.init.kaiming_uniform_(self.weight, a=5**0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight)


class MoEFeedForward(nn.Module):
    """Routes each token to its top-k experts and sums their outputs, weighted.

    minimind-3: `gate` is an nn.Linear, top-1 of 4 experts, weights renormalised whenever
    `norm_topk_prob`. minimind2: `gate.weight` is a bare parameter, top-2, weights renormalised
    only when k > 1, and `shared_experts` are added for every token. Both keep the key names
    of upstream checkpoints.

    Probes, with N = B * T tokens: `router_probs` (N, E) softmax of the router logits,
    `topk_ids` (N, k), `topk_weights` (N, k), `out` (B, T, hidden).
    """

    def __init__(self, config: MiniMindConfig):
        super().__init__()
        self.config = config
        self.top_k = config.num_experts_per_tok
        n_experts = config.routed_experts
        if config.is_v3:
            self.gate = nn.Linear(config.hidden_size, n_experts, bias=False)
            self.experts = nn.ModuleList(
                FeedForward(config, config.moe_intermediate_size) for _ in range(n_experts)
            )
            self.shared_experts = None
        else:
            self.gate = RouterWeight(n_experts, config.hidden_size)
            self.experts = nn.ModuleList(FeedForward(config) for _ in range(n_experts))
            shared = [FeedForward(config) for _ in range(config.n_shared_experts)]
            self.shared_experts = nn.ModuleList(shared) if shared else None
        for name in ("router_probs", "topk_ids", "topk_weights", "out"):
            self.add_module(name, Probe())
        self.aux_loss = torch.zeros(())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        x_flat = x.reshape(-1, C)  # (N, C)

        # Route: softmax over experts, keep the top k.
        probs = self.router_probs(F.softmax(self.gate(x_flat), dim=-1))  # (N, E)
        weights, ids = torch.topk(probs, k=self.top_k, dim=-1, sorted=False)  # (N, k)
        renormalise = self.config.norm_topk_prob and (self.config.is_v3 or self.top_k > 1)
        if renormalise:
            weights = weights / (weights.sum(dim=-1, keepdim=True) + 1e-20)
        ids = self.topk_ids(ids)
        weights = self.topk_weights(weights)

        # Each expert runs only on the tokens that chose it.
        y = torch.zeros_like(x_flat)
        for e, expert in enumerate(self.experts):
            chose = ids == e  # (N, k); topk returns distinct ids, so a token picks an expert at most once
            if chose.any():
                token_idx = chose.any(dim=-1).nonzero().flatten()
                weight = weights[chose].view(-1, 1)
                y = y.index_add(0, token_idx, (expert(x_flat[token_idx]) * weight).to(y.dtype))
            elif self.training:
                # Keeps unused experts in the autograd graph so distributed training gets a gradient for every parameter.
                y = y + 0 * sum(p.sum() for p in expert.parameters())
        y = y.view(B, T, C)

        if self.shared_experts is not None:
            for expert in self.shared_experts:
                y = y + expert(x)

        self.aux_loss = self._aux_loss(probs, ids, B, T) if self.training else probs.new_zeros(())
        return self.out(y)

    def _aux_loss(self, probs: torch.Tensor, ids: torch.Tensor, B: int, T: int) -> torch.Tensor:
        """Load-balancing loss as each version's training code computes it."""
        E = probs.shape[-1]
        if self.config.is_v3:
            if self.config.router_aux_loss_coef <= 0:
                return probs.new_zeros(())
            load = F.one_hot(ids, E).float().mean(0)  # (k, E)
            return (load * probs.mean(0)).sum() * E * self.config.router_aux_loss_coef

        alpha = self.config.aux_loss_alpha
        if alpha <= 0:
            return probs.new_zeros(())
        if self.config.seq_aux:
            per_seq_ids = ids.view(B, -1)  # (B, T * k)
            counts = torch.zeros(B, E, device=probs.device)
            counts.scatter_add_(1, per_seq_ids, torch.ones_like(per_seq_ids, dtype=counts.dtype))
            counts = counts / (T * self.top_k / E)
            return (counts * probs.view(B, T, E).mean(dim=1)).sum(dim=1).mean() * alpha
        fraction = F.one_hot(ids.view(-1), E).float().mean(0)
        return (probs.mean(0) * fraction * E).sum() * alpha
