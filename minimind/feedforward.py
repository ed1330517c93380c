"""The SwiGLU feed-forward network."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import MiniMindConfig
from .probe import Probe

ACTIVATIONS = {
    "silu": F.silu,
    "gelu": F.gelu,
    "relu": F.relu,
    "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
}


class FeedForward(nn.Module):
    """`down_proj(act(gate_proj(x)) * up_proj(x))` with act = SiLU in MiniMind.

    Probes, each (..., intermediate) unless noted: `gate` = gate_proj(x), `act` = SiLU(gate),
    `up` = up_proj(x), `hidden` = act * up, `out` (..., hidden) = down_proj(hidden).
    """

    def __init__(self, config: MiniMindConfig, intermediate_size: int | None = None):
        super().__init__()
        width = intermediate_size or config.intermediate_size
        self.gate_proj = nn.Linear(config.hidden_size, width, bias=False)
        self.down_proj = nn.Linear(width, config.hidden_size, bias=False)
        self.up_proj = nn.Linear(config.hidden_size, width, bias=False)
        self.act_fn = ACTIVATIONS[config.hidden_act]
        self.dropout = nn.Dropout(config.dropout)
        for name in ("gate", "act", "up", "hidden", "out"):
            self.add_module(name, Probe())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = self.gate(self.gate_proj(x))
        act = self.act(self.act_fn(gate))
        up = self.up(self.up_proj(x))
        hidden = self.hidden(act * up)
        return self.out(self.dropout(self.down_proj(hidden)))
