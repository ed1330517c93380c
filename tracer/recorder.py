"""The recording machinery shared by `Tracer` (this package's model) and `UpstreamTracer`.

A subclass installs hooks; the hooks call `_begin_pass`, `_record` and `_end_pass`. This
module turns those calls into a `Trace`: statistics for every site, tensors in full mode,
gradients when asked, token ids and labels, and the model's config and weights hash.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import torch
from torch import nn

from .errors import TraceError
from .fingerprint import weights_sha256
from .sites import site_info
from .stats import LazyStats, Stats, tensor_stats
from .trace import MemoryStore, PassInfo, Step, Tokens, Trace, TraceInfo

logger = logging.getLogger(__name__)

MODES = ("full", "stats")
_DTYPE_NAMES = {
    "float32": torch.float32,
    "fp32": torch.float32,
    "float16": torch.float16,
    "fp16": torch.float16,
    "half": torch.float16,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
    "float64": torch.float64,
}
# A tensor object seen again arrives at most three probes later: q, then k, v, and q_normed without q_norm.
_IDENTITY_CACHE_SIZE = 4


def parse_dtype(dtype: torch.dtype | str | None) -> torch.dtype | None:
    """Return the storage dtype for a torch dtype, a name such as "bfloat16", or None."""
    if dtype is None or isinstance(dtype, torch.dtype):
        return dtype
    found = _DTYPE_NAMES.get(str(dtype).lower().removeprefix("torch."))
    if found is None:
        raise TraceError(
            f"unknown storage dtype {dtype!r}: use one of float32, float16, bfloat16",
            key="trace.error.bad_dtype",
            dtype=str(dtype),
        )
    return found


def check_mode(mode: str) -> str:
    """Return `mode` when it is "full" or "stats"; raise TraceError otherwise."""
    if mode not in MODES:
        raise TraceError(
            f"unknown trace mode {mode!r}: use 'full' (store tensors) or 'stats' (statistics only)",
            key="trace.error.bad_mode",
            mode=str(mode),
        )
    return mode


@dataclass
class _Record:
    """A step while recording; gradients may still arrive."""

    site: str
    pass_index: int
    shape: tuple[int, ...]
    dtype: str
    stats: Stats
    derived: bool
    tensor_key: str | None
    grad_stats: Stats | None = None
    grad_key: str | None = None


class Recorder:
    """Hook-agnostic recording state; see `Tracer` for the public interface."""

    def __init__(
        self,
        model: nn.Module,
        tokenizer=None,
        mode: str = "full",
        dtype: torch.dtype | str | None = None,
        grads: bool = False,
        prompt: str | None = None,
        copy: bool = False,
    ):
        self.model = model
        self.tokenizer = tokenizer
        self.mode = check_mode(mode)
        self.dtype = parse_dtype(dtype)
        self.grads = bool(grads)
        self.prompt = prompt
        self._copy = copy  # clone observed tensors; for model code that may edit them in place later
        self._handles: list[Any] = []
        self._active = False
        self._trace: Trace | None = None
        self._reset()

    def _reset(self) -> None:
        self._records: list[_Record] = []
        self._seen: set[tuple[int, str]] = set()
        self._tensors: dict[str, torch.Tensor] = {}
        self._passes: list[PassInfo] = []
        self._pass_ids: list[torch.Tensor] = []
        self._pass: int | None = None
        self._recent: list[tuple[weakref.ref, int, Stats, str | None]] = []
        self._warnings: list[str] = []
        self._grad_count = 0
        self._trace = None

    # --- context manager -------------------------------------------------------------------

    def __enter__(self):
        if self._active:
            raise TraceError("this Tracer is already recording: use one `with` block per Tracer at a time", key="trace.error.nested")
        self._reset()
        self._active = True
        try:
            self._install_hooks()
        except BaseException:
            self._remove_hooks()
            self._active = False
            raise
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self._remove_hooks()
        self._active = False
        self._pass = None
        if exc is not None:
            self._warnings.append(f"recording stopped by {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": "))
        if self.grads and self._records and self._grad_count == 0 and exc is None:
            message = "grads=True but no gradient reached any site: call loss.backward() inside the Tracer block, with gradients enabled"
            logger.warning(message)
            self._warnings.append(message)
        self._trace = self._build_trace() if self._records else None

    @property
    def trace(self) -> Trace:
        """The recorded Trace, available after the `with` block ends."""
        if self._active:
            raise TraceError("the trace is ready only after the `with Tracer(...)` block ends", key="trace.error.still_recording")
        if self._trace is None:
            raise TraceError(
                "nothing was recorded: call the model inside the `with Tracer(...)` block",
                key="trace.error.empty",
            )
        return self._trace

    def _install_hooks(self) -> None:
        raise NotImplementedError

    def _remove_hooks(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    # --- passes ----------------------------------------------------------------------------

    def _begin_pass(self, input_ids: torch.Tensor | None, start: int) -> None:
        index = len(self._passes)
        if input_ids is None:
            length = 0
        else:
            input_ids = input_ids.detach().to("cpu", torch.long)
            if input_ids.dim() == 1:
                input_ids = input_ids[None, :]
            length = input_ids.shape[1]
        self._passes.append(PassInfo(index=index, start=int(start), length=int(length)))
        self._pass_ids.append(input_ids)
        self._pass = index
        self._recent = []

    def _end_pass(self) -> None:
        self._pass = None
        self._recent = []

    # --- steps -----------------------------------------------------------------------------

    def _record(self, site: str, tensor: torch.Tensor, derived: bool = False) -> None:
        """Record `tensor` at `site` in the current pass: statistics always, the tensor in full mode.

        This runs once per site and pass inside the forward pass, so it is kept short.
        """
        if not isinstance(tensor, torch.Tensor):
            return
        if self._pass is None:
            # A submodule called on its own, outside a forward pass of the whole model.
            self._begin_pass(None, 0)
        key = (self._pass, site)
        if key in self._seen:
            self._warn_repeat(site)
            return
        self._seen.add(key)

        # The same tensor object often reaches several probes, so its statistics and storage are
        # shared. A block's resid_post is the next block's resid_pre, and q_normed is q without q_norm.
        # Weak references, so that stats mode keeps no tensor alive longer than the model does.
        version = tensor._version
        for seen, seen_version, stats, tensor_key in self._recent:
            if seen() is tensor and seen_version == version:
                break
        else:
            tensor_key = None
            if self.mode == "full":
                tensor_key = f"p{self._pass}/{site}"
                stored = self._tensors[tensor_key] = self._stored(tensor)
                # The stored tensor has the computed values unless it was cast for storage.
                stats = LazyStats.of(stored) if stored.dtype == tensor.dtype else tensor_stats(tensor)
            else:
                stats = tensor_stats(tensor)
            self._recent.insert(0, (weakref.ref(tensor), version, stats, tensor_key))
            del self._recent[_IDENTITY_CACHE_SIZE:]

        record = _Record(site, self._pass, tuple(tensor.shape), _dtype_name(tensor.dtype), stats, derived, tensor_key)
        self._records.append(record)
        if self.grads and tensor.requires_grad:
            tensor.register_hook(partial(self._on_grad, record))

    def _warn_repeat(self, site: str) -> None:
        message = f"site {site} ran twice in pass {self._pass}; kept the first"
        if message not in self._warnings:
            logger.warning(message)
            self._warnings.append(message)

    def _stored(self, tensor: torch.Tensor) -> torch.Tensor:
        tensor = tensor.detach()
        if self.dtype is not None and tensor.is_floating_point() and tensor.dtype != self.dtype:
            return tensor.to(self.dtype)
        return tensor.clone() if self._copy else tensor

    def _on_grad(self, record: _Record, grad: torch.Tensor) -> None:
        if not self._active or grad is None:
            return  # a backward pass after the `with` block must not change a finished trace
        self._grad_count += 1
        record.grad_stats = tensor_stats(grad)
        if self.mode == "full":
            record.grad_key = f"p{record.pass_index}/grad/{record.site}"
            self._tensors[record.grad_key] = self._stored(grad)

    # --- the finished trace ----------------------------------------------------------------

    def _build_trace(self) -> Trace:
        steps = []
        for index, record in enumerate(self._records):
            info = site_info(record.site, len(record.shape))
            steps.append(
                Step.fast(
                    index=index,
                    site=record.site,
                    pass_index=record.pass_index,
                    layer=info.layer,
                    sublayer=info.sublayer,
                    shape=record.shape,
                    dims=info.dims,
                    dtype=record.dtype,
                    stats=record.stats,
                    derived=record.derived,
                    tensor_key=record.tensor_key,
                    grad_stats=record.grad_stats,
                    grad_key=record.grad_key,
                )
            )
        info = TraceInfo(
            mode=self.mode,
            tokens=self._tokens(),
            passes=list(self._passes),
            config=self._config_dict(),
            weights_sha256=weights_sha256(self.model),
            prompt=self.prompt if self.prompt is not None else self._decoded_prompt(),
            storage_dtype=_dtype_name(self.dtype) if self.dtype is not None else None,
            source=self._source,
            grads=self.grads,
            warnings=list(self._warnings),
        )
        return Trace(steps, info, MemoryStore(self._tensors))

    _source = "minimind"

    def _tokens(self) -> Tokens:
        columns: dict[int, list[int]] = {}
        batch = None
        for info, ids in zip(self._passes, self._pass_ids):
            if ids is None:
                continue
            if batch is not None and ids.shape[0] != batch:
                self._warnings.append(f"pass {info.index} has batch size {ids.shape[0]}, not {batch}; tokens show the first")
                continue
            if info.start == 0 and columns:
                self._warnings.append(f"pass {info.index} starts again at position 0; tokens show the later pass")
                columns = {}
            batch = ids.shape[0]
            for offset, column in enumerate(ids.t().tolist()):
                columns[info.start + offset] = column
        positions = tuple(sorted(columns))
        rows = tuple(tuple(columns[p][row] for p in positions) for row in range(batch or 0))
        labels = tuple(tuple(self._labels(row)) for row in rows)
        return Tokens(ids=rows, labels=labels, positions=positions)

    def _labels(self, ids: Sequence[int]) -> list[str]:
        labeller = getattr(self.tokenizer, "token_labels", None)
        if labeller is None:
            return [str(token_id) for token_id in ids]
        return list(labeller(list(ids)))

    def _decoded_prompt(self) -> str | None:
        decode = getattr(self.tokenizer, "decode", None)
        if decode is None or not self._pass_ids or self._pass_ids[0] is None:
            return None
        return decode(self._pass_ids[0][0].tolist())

    def _config_dict(self) -> dict[str, Any]:
        config = getattr(self.model, "config", None)
        if config is None:
            return {}
        data = config.to_dict() if hasattr(config, "to_dict") else dict(vars(config))
        return {key: _json_value(value) for key, value in data.items() if not key.startswith("_")}


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return str(value)


@functools.lru_cache(maxsize=None)
def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def pass_inputs(forward, args: tuple, kwargs: dict) -> tuple[torch.Tensor | None, int]:
    """Return the input ids and the cached length from the arguments of a causal LM's forward.

    Works for this package's model and upstream MiniMind, whose forwards both take
    `(input_ids, attention_mask, past_key_values, ...)` with a per-layer list of (k, v).
    """
    try:
        bound = inspect.signature(forward).bind_partial(*args, **kwargs).arguments
    except TypeError:
        bound = dict(kwargs)
    input_ids = bound.get("input_ids", args[0] if args else None)
    past = bound.get("past_key_values")
    start = 0
    try:
        if past and past[0] is not None:
            start = int(past[0][0].shape[1])  # cached keys are (B, S, kv_heads, D)
    except (TypeError, IndexError, AttributeError, KeyError):
        start = 0  # a cache object this code does not know; positions then start at 0
    return (input_ids if isinstance(input_ids, torch.Tensor) else None), start
