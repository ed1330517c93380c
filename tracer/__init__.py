"""Record, save, compare and read traces of a MiniMind forward pass.

Public API:
  Tracer, model_sites               record a `minimind` model (tracer.record)
  UpstreamTracer, load_upstream_model   record an upstream MiniMind checkout unmodified (tracer.upstream)
  trace_prompt, trace_generation    one-call helpers: a prompt, or a prompt plus generated tokens
  Trace, Step, PassInfo, Tokens, TraceInfo, Stats   the recorded data (tracer.trace, tracer.stats)
  save_trace, open_trace            trace files: safetensors plus JSON metadata (tracer.tracefile)
  diff_traces, TraceDiff, SiteDiff  compare two traces site by site (tracer.diff)
  TraceError                        one-line input errors (a minimind.MiniMindError)
"""

from .diff import SiteDiff, TraceDiff, diff_traces
from .errors import TraceError
from .generation import trace_generation, trace_prompt
from .record import Tracer, model_sites
from .stats import Stats, tensor_stats
from .trace import PassInfo, Step, Tokens, Trace, TraceInfo
from .tracefile import SCHEMA_VERSION, open_trace, save_trace
from .upstream import UpstreamTracer, load_upstream_model

__all__ = [
    "PassInfo",
    "SCHEMA_VERSION",
    "SiteDiff",
    "Stats",
    "Step",
    "Tokens",
    "Trace",
    "TraceDiff",
    "TraceError",
    "TraceInfo",
    "Tracer",
    "UpstreamTracer",
    "diff_traces",
    "load_upstream_model",
    "model_sites",
    "open_trace",
    "save_trace",
    "tensor_stats",
    "trace_generation",
    "trace_prompt",
]
