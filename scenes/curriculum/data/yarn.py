"""Data for the yarn scene: MiniMind's YaRN constants, per-pair scale, and which angles are new ground."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scenes.experiments import YarnResult


@dataclass
class YarnData:
    """Per-pair ramp and scale, and per position how far the slow pairs turn without and with YaRN."""

    head_dim: int
    rope_theta: float
    factor: float
    original_max: int
    beta_fast: float
    beta_slow: float
    low: int
    high: int
    ramp: np.ndarray  # (D/2,)
    scale: np.ndarray  # (D/2,) multiplier on each inv_freq
    turns_in_training: np.ndarray  # (D/2,) full turns each pair makes within the original length, plain RoPE
    positions: list[int]
    unseen_plain: np.ndarray  # (len(positions), D/2) bool: the angle exceeds everything seen in training
    unseen_yarn: np.ndarray  # (len(positions), D/2) bool, with YaRN
    reach_plain: np.ndarray  # (len(positions), D/2) angle / largest trained angle
    reach_yarn: np.ndarray
    prompt_length: int
    loss_within: tuple[float, float]  # mean next-token loss before original_max: plain, YaRN
    loss_beyond: tuple[float, float]  # at or after original_max: plain, YaRN

    @property
    def slow_pairs(self) -> np.ndarray:
        """Indices of the pairs that made less than one full turn within the original length."""
        return np.flatnonzero(self.turns_in_training < 1.0)

    def slow_reach(self, yarn: bool) -> np.ndarray:
        """Return, per shown position, the largest ratio of a slow pair's angle to its largest trained angle, (len(positions),).

        Above 1 a slow pair is at an angle it never reached in training. Pairs that turned
        fully in training have seen every angle, so they are left out. All zeros when every
        pair turned fully.
        """
        reach = self.reach_yarn if yarn else self.reach_plain
        slow = self.slow_pairs
        return reach[:, slow].max(axis=1) if slow.size else np.zeros(len(self.positions))

    def max_reach(self, yarn: bool) -> float:
        """Return the largest angle reached by a slow pair at any shown position, over its largest trained angle."""
        return float(self.slow_reach(yarn).max(initial=0.0))

    @property
    def last(self) -> int:
        """Row of the farthest position."""
        return len(self.positions) - 1


def yarn_data(result: YarnResult) -> YarnData:
    """Collect the ramp, the turns each pair makes in training, and the angles beyond the trained length."""
    turns = (result.original_max_position_embeddings - 1) * result.base_inv_freq / (2 * np.pi)
    return YarnData(
        head_dim=result.head_dim,
        rope_theta=result.rope_theta,
        factor=result.factor,
        original_max=result.original_max_position_embeddings,
        beta_fast=result.beta_fast,
        beta_slow=result.beta_slow,
        low=result.low,
        high=result.high,
        ramp=result.ramp,
        scale=result.scale,
        turns_in_training=turns,
        positions=result.positions,
        unseen_plain=~result.seen_plain,
        unseen_yarn=~result.seen_yarn,
        reach_plain=result.reach_plain,
        reach_yarn=result.reach_yarn,
        prompt_length=result.prompt_length,
        loss_within=(result.plain.loss_within, result.yarn.loss_within),
        loss_beyond=(result.plain.loss_beyond, result.yarn.loss_beyond),
    )
