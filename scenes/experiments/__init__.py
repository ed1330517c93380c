"""Experiments behind the curriculum clips: pure functions that return computed numbers.

Each `run_*` function takes a model (and a tokenizer where tokens are shown), runs real
tensors through it, and returns a dataclass that a scene draws and a test checks against an
independent computation. Nothing here imports manim, and no number is typed in. Every
run takes seconds at the default model's size; `run_yarn` is the slowest, with two forward
passes over a prompt longer than 2048 tokens.
"""

from ._common import ExperimentError, Prompt, resolve_prompt
from .kv_cache import DecodeStep, KVCacheResult, run_kv_cache
from .moe import MoELayerRouting, MoEResult, build_moe_model, run_moe
from .norm_compare import NormCompareResult, NormStats, describe_machine, run_norm_compare
from .residual_stream import NextToken, ResidualStreamResult, run_residual_stream
from .rope_basics import RopeBasicsResult, run_rope_basics
from .rope_frequencies import FrequencyTable, RopeFrequenciesResult, frequency_table, run_rope_frequencies
from .rope_precision import DtypeAngles, RopePrecisionResult, run_rope_precision
from .why_norm import StackRun, WhyNormResult, build_stacks, classify_trend, run_why_norm
from .yarn import YarnAttention, YarnResult, run_yarn, with_rope_settings

__all__ = [
    "DecodeStep",
    "DtypeAngles",
    "ExperimentError",
    "FrequencyTable",
    "KVCacheResult",
    "MoELayerRouting",
    "MoEResult",
    "NextToken",
    "NormCompareResult",
    "NormStats",
    "Prompt",
    "ResidualStreamResult",
    "RopeBasicsResult",
    "RopeFrequenciesResult",
    "RopePrecisionResult",
    "StackRun",
    "WhyNormResult",
    "YarnAttention",
    "YarnResult",
    "build_moe_model",
    "build_stacks",
    "classify_trend",
    "describe_machine",
    "frequency_table",
    "resolve_prompt",
    "run_kv_cache",
    "run_moe",
    "run_norm_compare",
    "run_residual_stream",
    "run_rope_basics",
    "run_rope_frequencies",
    "run_rope_precision",
    "run_why_norm",
    "run_yarn",
    "with_rope_settings",
]
