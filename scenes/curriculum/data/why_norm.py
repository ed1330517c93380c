"""Data for the why-norm scene: block-input RMS, stream RMS and gradient norms, norms on and off."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scenes.experiments import WhyNormResult


@dataclass
class WhyNormData:
    """Per-point values of both runs. Points 0..L: the stream after 0..L blocks (0 = embeddings)."""

    layers: int
    hidden_size: int
    init_std: float
    batch_shape: tuple[int, int]
    replaced: int  # RMSNorm modules replaced by identity
    stream_norm: np.ndarray  # (L+1,) stream RMS with RMSNorm
    stream_plain: np.ndarray  # (L+1,) stream RMS without norms; block l reads point l unchanged
    block_input_norm: np.ndarray  # (L,) RMS of what each block's attention reads, with RMSNorm
    grad_norm: np.ndarray  # (L+1,) |d loss / d stream| with RMSNorm
    grad_plain: np.ndarray  # (L+1,) the same without norms
    loss_norm: float
    loss_plain: float
    activation_trend: str  # of the run without norms: "growth", "shrink", "stable" or "overflow"
    gradient_trend: str  # of the run without norms: "exploding", "vanishing", "stable" or "overflow"
    activation_trend_norm: str
    gradient_trend_norm: str

    @property
    def activation_ratio(self) -> float:
        """Stream RMS after the last block over after the first, without norms (the trend's measure)."""
        return float(self.stream_plain[-1] / self.stream_plain[1])

    @property
    def gradient_ratio(self) -> float:
        """Gradient norm after the first block over after the last, without norms (backward growth)."""
        return float(self.grad_plain[1] / self.grad_plain[-1])

    @property
    def gradient_ratio_norm(self) -> float:
        return float(self.grad_norm[1] / self.grad_norm[-1])


def why_norm_data(result: WhyNormResult) -> WhyNormData:
    """Select what the why-norm scene draws from the experiment's result."""
    normed, plain = result.with_norm, result.without_norm
    return WhyNormData(
        layers=result.num_layers,
        hidden_size=result.hidden_size,
        init_std=result.init_std,
        batch_shape=tuple(result.batch.shape),
        replaced=len(result.replaced_modules),
        stream_norm=normed.stream_rms,
        stream_plain=plain.stream_rms,
        block_input_norm=normed.sublayer_input_rms,
        grad_norm=normed.stream_grad_norm,
        grad_plain=plain.stream_grad_norm,
        loss_norm=normed.loss,
        loss_plain=plain.loss,
        activation_trend=plain.activation_trend,
        gradient_trend=plain.gradient_trend,
        activation_trend_norm=normed.activation_trend,
        gradient_trend_norm=normed.gradient_trend,
    )
