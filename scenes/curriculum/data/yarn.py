"""Data for the yarn scene: MiniMind's YaRN constants, per-pair scale, and which angles are new ground."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scenes.experiments import YarnResult


@dataclass
class YarnData:
    """Per-pair ramp and scale, and per-position "unseen angle" maps without and with YaRN."""

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

    def beyond(self, yarn: bool) -> np.ndarray:
        """(len(positions), D/2) in [0, 1]: log(reach) / log(factor) where the angle is unseen, else 0.

        0 means within the angles of training, 1 means `factor` times the largest trained angle.
        """
        unseen, reach = (self.unseen_yarn, self.reach_yarn) if yarn else (self.unseen_plain, self.reach_plain)
        scaled = np.log(np.maximum(reach, 1.0)) / np.log(self.factor)
        return np.where(unseen, np.clip(scaled, 0.0, 1.0), 0.0)

    def max_reach(self, yarn: bool) -> float:
        """Return the largest angle reached by a pair that did not wrap in training, over its largest trained angle."""
        unseen, reach = (self.unseen_yarn, self.reach_yarn) if yarn else (self.unseen_plain, self.reach_plain)
        wrapped = self.turns_in_training >= 1.0
        return float(reach[:, ~wrapped].max()) if (~wrapped).any() else 0.0

    @property
    def last(self) -> int:
        """Row of the farthest position."""
        return len(self.positions) - 1


def yarn_data(result: YarnResult) -> YarnData:
    """Collect the ramp and turn the experiment's `seen` maps into `unseen` ones for the heatmaps."""
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
