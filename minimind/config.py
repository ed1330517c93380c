"""MiniMind configuration with upstream field names and per-version defaults."""

from __future__ import annotations

import dataclasses
import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

MINIMIND3 = "minimind-3"
MINIMIND2 = "minimind2"
VERSIONS = (MINIMIND3, MINIMIND2)

# YaRN settings that upstream MiniMind fixes whenever `inference_rope_scaling` is on; any
# `rope_scaling` found in a config file is overwritten by these.
YARN_SCALING = {
    "beta_fast": 32,
    "beta_slow": 1,
    "factor": 16,
    "original_max_position_embeddings": 2048,
    "attention_factor": 1.0,
    "type": "yarn",
}


@dataclass
class MiniMindConfig:
    """Model hyper-parameters, named as upstream `MiniMindConfig` names them.

    Fields left as None get the default of `minimind_version` in `__post_init__`:
    minimind-3 (q_norm/k_norm, 4 kv heads, routed-only MoE) or minimind2 (2 kv heads,
    MoE with a shared expert).
    """

    minimind_version: str = MINIMIND3
    hidden_size: int | None = None  # width of the residual stream; 768 (minimind-3), 512 (minimind2)
    num_hidden_layers: int = 8  # number of transformer blocks
    num_attention_heads: int = 8  # query heads
    num_key_value_heads: int | None = None  # kv heads shared by groups of query heads (GQA); 4 or 2
    head_dim: int | None = None  # per-head width; hidden_size // num_attention_heads unless set (minimind-3 only)
    intermediate_size: int | None = None  # SwiGLU width; version formula unless set
    vocab_size: int = 6400
    max_position_embeddings: int = 32768  # length of the RoPE tables, in tokens
    rms_norm_eps: float | None = None  # 1e-6 (minimind-3), 1e-5 (minimind2)
    rope_theta: float = 1e6  # RoPE base
    inference_rope_scaling: bool = False  # turns on MiniMind's fixed YaRN scaling
    hidden_act: str = "silu"
    dropout: float = 0.0
    flash_attn: bool = True  # accepted for compatibility; attention is always computed explicitly
    tie_word_embeddings: bool = True
    bos_token_id: int = 1
    eos_token_id: int = 2

    # MoE, shared by both versions (ignored unless use_moe).
    use_moe: bool = False
    num_experts_per_tok: int | None = None  # top-k experts per token; 1 (minimind-3), 2 (minimind2)
    norm_topk_prob: bool = True

    # MoE, minimind-3 names.
    num_experts: int = 4
    moe_intermediate_size: int | None = None  # expert width; intermediate_size unless set
    router_aux_loss_coef: float = 5e-4

    # MoE, minimind2 names.
    n_routed_experts: int = 4
    n_shared_experts: int = 1
    scoring_func: str = "softmax"
    aux_loss_alpha: float = 0.01
    seq_aux: bool = True

    # Keys found in a config file that this implementation does not use (kept for round trips).
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._check_types()
        if self.minimind_version not in VERSIONS:
            raise ValueError(
                f"unknown minimind_version {self.minimind_version!r}: use one of {', '.join(VERSIONS)}"
            )
        is_v3 = self.minimind_version == MINIMIND3
        if self.hidden_size is None:
            self.hidden_size = 768 if is_v3 else 512
        if self.num_key_value_heads is None:
            self.num_key_value_heads = 4 if is_v3 else 2
        if self.head_dim is None or not is_v3:
            self.head_dim = self.hidden_size // self.num_attention_heads
        if self.intermediate_size is None:
            self.intermediate_size = default_intermediate_size(self.hidden_size, self.minimind_version)
        if self.rms_norm_eps is None:
            self.rms_norm_eps = 1e-6 if is_v3 else 1e-5
        if self.num_experts_per_tok is None:
            self.num_experts_per_tok = 1 if is_v3 else 2
        if self.moe_intermediate_size is None:
            self.moe_intermediate_size = self.intermediate_size
        self.validate()

    def _check_types(self) -> None:
        """Raise ValueError for a field whose value has the wrong JSON type, such as rope_theta="abc".

        A JSON string "no" would otherwise switch a bool field on, and a string number would
        fail deep inside the model with a traceback.
        """
        for spec in dataclasses.fields(self):
            if spec.name == "extra":
                continue
            value = getattr(self, spec.name)
            kind = str(spec.type)
            if value is None and "None" in kind:
                continue
            if kind.startswith("bool"):
                valid, expected = isinstance(value, bool), "true or false"
            elif kind.startswith("int"):
                valid, expected = isinstance(value, int) and not isinstance(value, bool), "an integer"
            elif kind.startswith("float"):
                valid, expected = isinstance(value, (int, float)) and not isinstance(value, bool), "a number"
            elif kind.startswith("str"):
                valid, expected = isinstance(value, str), "a string"
            else:
                continue
            if not valid:
                raise ValueError(f"{spec.name}={value!r} is not {expected}")

    def validate(self) -> None:
        """Raise ValueError naming the first inconsistent size."""
        if self.num_attention_heads % self.num_key_value_heads:
            raise ValueError(
                f"num_attention_heads={self.num_attention_heads} is not a multiple of "
                f"num_key_value_heads={self.num_key_value_heads}: pick kv heads that divide the query heads"
            )
        if self.head_dim % 2:
            raise ValueError(f"head_dim={self.head_dim} is odd: RoPE needs an even head_dim")
        if self.hidden_act not in ("silu", "gelu", "relu", "gelu_pytorch_tanh"):
            raise ValueError(f"hidden_act={self.hidden_act!r} is not supported: use silu")

    @property
    def is_v3(self) -> bool:
        """True for the minimind-3 layout (q_norm/k_norm, routed-only MoE)."""
        return self.minimind_version == MINIMIND3

    @property
    def rope_scaling(self) -> dict | None:
        """The YaRN settings in force, or None when `inference_rope_scaling` is off."""
        return dict(YARN_SCALING) if self.inference_rope_scaling else None

    @property
    def routed_experts(self) -> int:
        """Number of routed experts under this version's field name."""
        return self.num_experts if self.is_v3 else self.n_routed_experts

    @property
    def queries_per_kv_head(self) -> int:
        """How many query heads share one kv head (the GQA group size)."""
        return self.num_attention_heads // self.num_key_value_heads

    def to_dict(self) -> dict[str, Any]:
        """Return upstream keyword arguments plus `minimind_version`, as in a config.json."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "extra"}
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], **overrides: Any) -> "MiniMindConfig":
        """Build a config from upstream keyword arguments, ignoring keys it does not use."""
        merged = {**data, **overrides}
        known = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        kwargs = {k: v for k, v in merged.items() if k in known}
        extra = {k: v for k, v in merged.items() if k not in known}
        if extra:
            logger.debug("config keys not used by minimind-trace: %s", sorted(extra))
        return cls(**kwargs, extra=extra)

    @classmethod
    def from_json(cls, path: str | Path, **overrides: Any) -> "MiniMindConfig":
        """Read a config.json (upstream keyword arguments) from `path`."""
        with open(path, encoding="utf-8") as handle:
            return cls.from_dict(json.load(handle), **overrides)


def default_intermediate_size(hidden_size: int, version: str) -> int:
    """Return upstream's default SwiGLU width for `hidden_size` under `version`."""
    if version == MINIMIND3:
        return math.ceil(hidden_size * math.pi / 64) * 64
    return 64 * ((int(hidden_size * 8 / 3) + 64 - 1) // 64)
