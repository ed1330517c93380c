"""Data for the swiglu scene: gate, up, SiLU, product and down projection on one token."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minimind.errors import MiniMindError
from tracer.errors import TraceError
from tracer.i18n import t

from . import source
from .focus import Focus, check_index, content_positions

# A unit is "near zero" when |SiLU(gate)| is below this share of the token's 99th-percentile
# |SiLU(gate)|. The percentile, not the maximum, because trained models have a few units
# with activations a hundred times the rest, which would make almost every unit "near zero".
NEAR_ZERO_FRACTION = 0.1
TOP_UNITS = 5


@dataclass
class SwiGLUData:
    """What the swiglu scene draws; per-unit arrays are (intermediate,), vectors (hidden,)."""

    layer: int
    token: int
    labels: list[str]
    x: np.ndarray  # recorded ffn_norm.out[token], the feed-forward input
    gate: np.ndarray  # recorded ffn.gate = gate_proj(x)
    act: np.ndarray  # recorded ffn.act = SiLU(gate)
    up: np.ndarray  # recorded ffn.up = up_proj(x)
    hidden: np.ndarray  # recorded ffn.hidden = act * up
    out: np.ndarray  # recorded ffn.out = down_proj(hidden)
    silu_check: float  # max |SiLU(gate) - act|, computed here
    product_check: float  # max |act * up - hidden|, computed here
    near_zero_threshold: float  # NEAR_ZERO_FRACTION * the 99th percentile of |act|
    near_zero: int  # units with |act| below the threshold
    negative_gate: int  # units with gate < 0, which SiLU squeezes into (-0.28, 0)
    top_units: list[int]  # units with the largest |hidden|, largest first

    @property
    def label(self) -> str:
        return self.labels[self.token]

    @property
    def intermediate(self) -> int:
        return len(self.gate)


def silu(x: np.ndarray) -> np.ndarray:
    """SiLU(x) = x * sigmoid(x), written to stay finite for large |x|."""
    return x * (0.5 * (1.0 + np.tanh(0.5 * x)))


def require_dense(trace, layer: int) -> None:
    """Raise MiniMindError when block `layer` has no dense SwiGLU in the trace.

    In a dense model's trace the site is missing only because `mmtrace trace --sites` left it
    out, so that raises the trace's missing-site error, which render_scene turns into re-trace advice.
    """
    site = f"layers.{layer}.ffn.gate"
    if source.has_site(trace, site):
        return
    if not source.model_config(trace).use_moe:
        key = "trace.error.unknown_site"
        raise TraceError(t(key, lang="en", site=site), key=key, site=site)
    key = "render.error.swiglu_needs_dense"
    raise MiniMindError(t(key, lang="en", layer=layer), key=key, layer=layer)


def pick_focus(trace, focus: Focus) -> tuple[int, int]:
    """Return (layer, token): by default the middle block and the content token its FFN changes most."""
    config = source.model_config(trace)
    labels = source.token_labels(trace)
    layers = config.num_hidden_layers
    layer = check_index(focus.layer, layers, "layer") if focus.layer is not None else layers // 2
    require_dense(trace, layer)
    if focus.token is not None:
        return layer, check_index(focus.token, len(labels), "token")
    out = source.site(trace, f"layers.{layer}.ffn.out")  # (T, hidden)
    size = np.sqrt(np.mean(out**2, axis=-1))
    return layer, max(content_positions(labels), key=lambda i: size[i])


def swiglu_data(trace, focus: Focus = Focus()) -> SwiGLUData:
    """Extract the swiglu scene's values from `trace`."""
    layer, token = pick_focus(trace, focus)
    prefix = f"layers.{layer}"
    values = {name: source.site(trace, f"{prefix}.ffn.{name}")[token] for name in ("gate", "act", "up", "hidden", "out")}
    x = source.site(trace, f"{prefix}.ffn_norm.out")[token]
    gate, act, up, hidden = values["gate"], values["act"], values["up"], values["hidden"]

    threshold = NEAR_ZERO_FRACTION * float(np.percentile(np.abs(act), 99))
    order = np.argsort(-np.abs(hidden))
    return SwiGLUData(
        layer=layer,
        token=token,
        labels=source.token_labels(trace),
        x=x,
        gate=gate,
        act=act,
        up=up,
        hidden=hidden,
        out=values["out"],
        silu_check=float(np.abs(silu(gate) - act).max()),
        product_check=float(np.abs(act * up - hidden).max()),
        near_zero_threshold=threshold,
        near_zero=int(np.sum(np.abs(act) < threshold)),
        negative_gate=int(np.sum(gate < 0)),
        top_units=[int(i) for i in order[:TOP_UNITS]],
    )
