"""Data for the rmsnorm scene: one token's vector through `x / rms(x) * g`, and every token's RMS per layer."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import source
from .focus import Focus, check_index, content_positions


@dataclass
class RMSNormData:
    """What the rmsnorm scene draws. Arrays are float64; per-vector values are (hidden,)."""

    layer: int  # block whose attention-input norm (attn_norm) is shown
    token: int  # position of the focus token
    labels: list[str]  # every traced token's label
    eps: float  # rms_norm_eps from the config
    x: np.ndarray  # the norm's input: layers.L.resid_pre[token]
    rms_in: float  # recorded layers.L.attn_norm.rms_in[token]
    normalized: np.ndarray  # x / sqrt(mean(x^2) + eps), computed here
    rms_normalized: float  # RMS of `normalized`: 1 up to eps
    gain: np.ndarray  # learned weight g, recovered from the recorded output (see `recover_gain`)
    out: np.ndarray  # recorded layers.L.attn_norm.out[token] = g * normalized
    rms_out: float  # recorded layers.L.attn_norm.rms_out[token]
    rms_in_table: np.ndarray  # (layers, tokens) recorded attn_norm.rms_in
    rms_out_table: np.ndarray  # (layers, tokens) recorded attn_norm.rms_out

    @property
    def label(self) -> str:
        return self.labels[self.token]

    @property
    def scale(self) -> float:
        """The factor the division multiplies by: 1 / sqrt(mean(x^2) + eps)."""
        return float(1.0 / np.sqrt(np.mean(self.x**2) + self.eps))


def recover_gain(normalized: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Return g from out = g * normalized over all tokens (T, hidden), by least squares per dimension.

    The trace records activations, not weights; since every token shares g, the per-dimension
    fit is exact up to rounding and needs no token whose normalised entry is far from zero.
    """
    denominator = np.sum(normalized**2, axis=0)
    return np.sum(out * normalized, axis=0) / np.maximum(denominator, 1e-30)


def pick_focus(trace, focus: Focus) -> tuple[int, int]:
    """Return (layer, token): by default the middle block and its content token with the largest input RMS."""
    config = source.model_config(trace)
    labels = source.token_labels(trace)
    layers = config.num_hidden_layers
    layer = check_index(focus.layer, layers, "layer") if focus.layer is not None else layers // 2
    if focus.token is not None:
        return layer, check_index(focus.token, len(labels), "token")
    rms_in = source.site(trace, f"layers.{layer}.attn_norm.rms_in")  # (T,)
    candidates = content_positions(labels)
    return layer, max(candidates, key=lambda i: rms_in[i])


def rmsnorm_data(trace, focus: Focus = Focus()) -> RMSNormData:
    """Extract the rmsnorm scene's values from `trace`."""
    config = source.model_config(trace)
    layer, token = pick_focus(trace, focus)
    prefix = f"layers.{layer}"

    x_all = source.site(trace, f"{prefix}.resid_pre")  # (T, hidden)
    out_all = source.site(trace, f"{prefix}.attn_norm.out")  # (T, hidden)
    eps = float(config.rms_norm_eps)
    normalized_all = x_all / np.sqrt(np.mean(x_all**2, axis=-1, keepdims=True) + eps)
    normalized = normalized_all[token]

    layers = config.num_hidden_layers
    rms_in_table = np.stack([source.site(trace, f"layers.{i}.attn_norm.rms_in") for i in range(layers)])
    rms_out_table = np.stack([source.site(trace, f"layers.{i}.attn_norm.rms_out") for i in range(layers)])
    return RMSNormData(
        layer=layer,
        token=token,
        labels=source.token_labels(trace),
        eps=eps,
        x=x_all[token],
        rms_in=float(rms_in_table[layer, token]),
        normalized=normalized,
        rms_normalized=float(np.sqrt(np.mean(normalized**2))),
        gain=recover_gain(normalized_all, out_all),
        out=out_all[token],
        rms_out=float(rms_out_table[layer, token]),
        rms_in_table=rms_in_table,
        rms_out_table=rms_out_table,
    )
