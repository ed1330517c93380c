"""Data for the rope-frequencies scene: every pair's period, and one real query's pairs turning with position."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from scenes.experiments import RopeFrequenciesResult, frequency_table

# head_dim of MiniMind2 and of many 7B-class models: its slowest period is quoted for comparison.
REFERENCE_HEAD_DIM = 64


@dataclass
class RopeFrequenciesData:
    """Periods per pair and the cos of each pair's angle at every prompt position."""

    head_dim: int
    rope_theta: float
    head: int
    token_label: str
    labels: list[str]
    period: np.ndarray  # (D/2,) tokens per turn, 2 pi / inv_freq
    inv_freq: np.ndarray  # (D/2,) radians per token
    wraps: np.ndarray  # (D/2,) bool: turns at least once within the prompt
    prompt_length: int
    max_positions: int  # max_position_embeddings of the model
    cos_angle: np.ndarray  # (P, D/2) cos of the query pair's angle with the query at position p
    reference_slowest: float  # slowest period for head_dim REFERENCE_HEAD_DIM and the same theta
    yarn_active: bool

    @property
    def fastest(self) -> float:
        return float(self.period[0])

    @property
    def slowest(self) -> float:
        return float(self.period[-1])

    @property
    def wrapping_pairs(self) -> int:
        return int(self.wraps.sum())

    @property
    def slowest_formula(self) -> float:
        """2 pi theta^((D-2)/D), the closed form the slowest period must match."""
        return 2 * math.pi * self.rope_theta ** ((self.head_dim - 2) / self.head_dim)


def rope_frequencies_data(result: RopeFrequenciesResult, max_positions: int) -> RopeFrequenciesData:
    """Collect the periods and turn the recorded angles into cosines for the heatmap."""
    table = result.table
    reference = frequency_table(REFERENCE_HEAD_DIM, table.rope_theta, table.prompt_length)
    return RopeFrequenciesData(
        head_dim=table.head_dim,
        rope_theta=table.rope_theta,
        head=result.head,
        token_label=result.token_label,
        labels=result.token_labels,
        period=table.period,
        inv_freq=table.inv_freq,
        wraps=table.wraps_in_prompt,
        prompt_length=table.prompt_length,
        max_positions=max_positions,
        cos_angle=np.cos(result.angle),
        reference_slowest=reference.slowest_period,
        yarn_active=result.yarn_active,
    )
