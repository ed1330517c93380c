"""The recorded trace: steps in execution order, tokens, passes, and lazily read tensors.

A `Trace` comes from a `Tracer` (in memory) or from `open_trace` (a file, read lazily). Both
behave the same: `trace["layers.0.attn.probs"]` returns a tensor, `trace.step(site)` its
metadata and statistics, and `for step in trace` walks the forward pass in the order it ran.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch

from .errors import TraceError
from .sites import matches, site_info, suggest, template
from .stats import Stats


@dataclass(frozen=True)
class Step:
    """One recorded site in one forward pass.

    `index` is the position in execution order over the whole trace. `shape` and `dtype`
    describe the tensor as the model computed it, whatever dtype the trace stores.
    """

    index: int  # position in execution order, 0-based, across all passes
    site: str  # site name, e.g. "layers.3.attn.probs"
    pass_index: int  # which forward pass: 0 for a prompt, k for the k-th generated token
    layer: int | None  # block index, None for embed, final_norm and logits
    sublayer: str  # embed, resid, attn_norm, attn, ffn_norm, ffn, moe, final_norm or logits
    shape: tuple[int, ...]  # shape as computed, e.g. (1, 8, 12, 12)
    dims: tuple[str, ...]  # one label per dimension, e.g. ("batch", "head", "query", "key")
    dtype: str  # dtype as computed, e.g. "float32"
    stats: Stats  # statistics of the tensor as computed (before any storage cast); see Tracer on when
    derived: bool = False  # True when the tracer recomputed it instead of observing it (plugin mode)
    tensor_key: str | None = None  # key of the stored tensor; None in stats mode
    grad_stats: Stats | None = None  # statistics of d(loss)/d(tensor), when gradients were recorded
    grad_key: str | None = None  # key of the stored gradient, when stored

    @classmethod
    def fast(cls, **fields) -> "Step":
        """Build a Step from every field by keyword, skipping the frozen dataclass's slower __init__.

        A trace builds one Step per site and pass right after the forward pass, inside the
        time a Tracer adds, so this matters for the tracing overhead.
        """
        step = object.__new__(cls)
        step.__dict__.update(fields)
        return step

    @property
    def leaf(self) -> str:
        """Last part of the site name, e.g. "probs"."""
        return self.site.rsplit(".", 1)[-1]

    @property
    def extra(self) -> bool:
        """True for sites beyond the core list: attn.heads, q/k norm internals, MoE experts."""
        return site_info(self.site).extra

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form stored in trace files."""
        return {
            "index": self.index,
            "site": self.site,
            "pass": self.pass_index,
            "layer": self.layer,
            "sublayer": self.sublayer,
            "shape": list(self.shape),
            "dims": list(self.dims),
            "dtype": self.dtype,
            "stats": self.stats.to_dict(),
            "derived": self.derived,
            "tensor": self.tensor_key,
            "grad_stats": self.grad_stats.to_dict() if self.grad_stats else None,
            "grad_tensor": self.grad_key,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Step":
        """Rebuild a Step from `to_dict` output."""
        return cls(
            index=int(data["index"]),
            site=str(data["site"]),
            pass_index=int(data["pass"]),
            layer=None if data["layer"] is None else int(data["layer"]),
            sublayer=str(data["sublayer"]),
            shape=tuple(int(n) for n in data["shape"]),
            dims=tuple(str(d) for d in data["dims"]),
            dtype=str(data["dtype"]),
            stats=Stats.from_dict(data["stats"]),
            derived=bool(data.get("derived", False)),
            tensor_key=data.get("tensor"),
            grad_stats=Stats.from_dict(data["grad_stats"]) if data.get("grad_stats") else None,
            grad_key=data.get("grad_tensor"),
        )


@dataclass(frozen=True)
class PassInfo:
    """One forward pass: which positions it fed and how long the KV cache was before it."""

    index: int  # 0 for the prompt; in a generation trace, k for the pass that fed generated token k
    start: int  # cache length before the pass, which is also the position of its first new token
    length: int  # number of new tokens fed in this pass

    @property
    def cache_length(self) -> int:
        """Keys cached before this pass (the same number as `start`)."""
        return self.start

    @property
    def key_length(self) -> int:
        """Keys each query of this pass can attend to at most: cached plus new."""
        return self.start + self.length

    @property
    def positions(self) -> range:
        """Positions of the tokens fed in this pass."""
        return range(self.start, self.start + self.length)


@dataclass(frozen=True)
class Tokens:
    """The token sequence the trace covers, over all its passes."""

    ids: tuple[tuple[int, ...], ...]  # (batch, position) token ids
    labels: tuple[tuple[str, ...], ...]  # (batch, position) readable token texts (the id as text without a tokenizer)
    positions: tuple[int, ...]  # position of each column: 0 .. len - 1

    def __len__(self) -> int:
        return len(self.positions)


@dataclass
class TraceInfo:
    """Everything about a trace except its steps and tensors."""

    mode: str  # "full" (tensors stored) or "stats" (statistics only)
    tokens: Tokens
    passes: list[PassInfo]
    config: dict[str, Any]  # the model config as keyword arguments (MiniMindConfig.to_dict() form)
    weights_sha256: str  # hash of the weights' names, dtypes, shapes and bytes (tracer.fingerprint)
    prompt: str | None = None  # the prompt text, when known
    storage_dtype: str | None = None  # dtype tensors were cast to for storage; None keeps each as computed
    source: str = "minimind"  # "minimind" (this package's model) or "upstream" (plugin mode)
    grads: bool = False  # gradients were requested
    generation: dict[str, Any] | None = None  # generation settings and results, for generation traces
    warnings: list[str] = field(default_factory=list)  # problems found while recording, one line each


class TensorStore(Protocol):
    """Storage of a trace's tensors: a dict in memory, or a memory-mapped file."""

    def get(self, key: str) -> torch.Tensor: ...

    def keys(self) -> Sequence[str]: ...


class MemoryStore:
    """Tensors held in memory, as a Tracer records them."""

    def __init__(self, tensors: dict[str, torch.Tensor]):
        self.tensors = tensors

    def get(self, key: str) -> torch.Tensor:
        return self.tensors[key]

    def keys(self) -> Sequence[str]:
        return list(self.tensors)

    def close(self) -> None:
        self.tensors = {}


class Trace:
    """A recorded forward pass (or several, for generation): steps, tokens and tensors.

    Look-ups take a site name and a pass index (default 0, the prompt pass):
    `trace["layers.0.attn.q"]`, `trace["layers.0.attn.probs", 3]`, `trace.step(site)`,
    `trace.stats(site)`, `trace.grad(site)`. A name the trace lacks raises TraceError naming
    it and suggesting close matches. Iterating yields the steps in execution order.
    """

    def __init__(self, steps: Sequence[Step], info: TraceInfo, store: TensorStore, path: str | None = None):
        self.steps: list[Step] = list(steps)  # every recorded step, in execution order
        self.info = info
        self.path = path  # the file this trace was opened from, if any
        self._store = store
        self._by_key = {(step.pass_index, step.site): step for step in self.steps}
        self._sites = list(dict.fromkeys(step.site for step in self.steps))

    # --- metadata -------------------------------------------------------------------------

    @property
    def mode(self) -> str:
        """"full" when tensors are stored, "stats" when only statistics are."""
        return self.info.mode

    @property
    def tokens(self) -> Tokens:
        """Token ids, labels and positions over all passes."""
        return self.info.tokens

    @property
    def passes(self) -> list[PassInfo]:
        """The forward passes, in order; one for a plain trace, 1 + n for n generated tokens."""
        return self.info.passes

    @property
    def config(self) -> dict[str, Any]:
        """The model config, as keyword arguments."""
        return self.info.config

    @property
    def weights_sha256(self) -> str:
        """SHA-256 over the model weights, to tell whether two traces used the same weights."""
        return self.info.weights_sha256

    @property
    def prompt(self) -> str | None:
        """The prompt text, when the tracer was given or could decode it."""
        return self.info.prompt

    @property
    def warnings(self) -> list[str]:
        """Problems found while recording, such as a failed consistency check in plugin mode."""
        return self.info.warnings

    def sites(self) -> list[str]:
        """Recorded site names, each once, in the order of their first step."""
        return list(self._sites)

    # --- look-ups --------------------------------------------------------------------------

    def step(self, site: str, pass_index: int = 0) -> Step:
        """Return the step of `site` in pass `pass_index`; raises TraceError when there is none."""
        step = self._by_key.get((pass_index, site))
        if step is None:
            self._raise_missing(site, pass_index)
        return step

    def steps_of(self, site: str) -> list[Step]:
        """Return the steps of `site` in every pass, in pass order."""
        found = [step for step in self.steps if step.site == site]
        if not found:
            self._raise_missing(site, 0)
        return found

    def find(self, pattern: str, pass_index: int | None = None) -> list[Step]:
        """Return the steps whose site matches a glob or prefix (see sites.matches), optionally in one pass."""
        return [
            step
            for step in self.steps
            if matches(step.site, pattern) and (pass_index is None or step.pass_index == pass_index)
        ]

    def stats(self, site: str, pass_index: int = 0) -> Stats:
        """Return the statistics of `site`; available in both modes."""
        return self.step(site, pass_index).stats

    def tensor(self, site: str, pass_index: int = 0) -> torch.Tensor:
        """Return the tensor recorded at `site` in pass `pass_index`, read from storage on demand.

        The tensor has the storage dtype (see `info.storage_dtype`). Raises TraceError for an
        unknown site or a trace recorded in stats mode.
        """
        step = self.step(site, pass_index)
        if step.tensor_key is None:
            raise TraceError(
                f"site {site!r} has statistics but no tensor: the trace was recorded in {self.mode!r} mode; "
                f"record with mode='full' (mmtrace trace --mode full) to keep tensors",
                key="trace.error.no_tensor",
                site=site,
                mode=self.mode,
            )
        return self._store.get(step.tensor_key)

    def grad(self, site: str, pass_index: int = 0) -> torch.Tensor:
        """Return d(loss)/d(tensor) at `site`; raises TraceError when no gradient was stored there."""
        step = self.step(site, pass_index)
        if step.grad_key is None:
            raise TraceError(
                f"site {site!r} has no stored gradient: record with grads=True and mode='full' "
                f"and call loss.backward() inside the Tracer block",
                key="trace.error.no_grad",
                site=site,
            )
        return self._store.get(step.grad_key)

    def __getitem__(self, key: str | tuple[str, int]) -> torch.Tensor:
        """`trace[site]` or `trace[site, pass_index]`: the same as `tensor`."""
        if isinstance(key, tuple):
            site, pass_index = key
            return self.tensor(site, pass_index)
        return self.tensor(key)

    def __contains__(self, site: object) -> bool:
        return site in self._sites

    def __iter__(self) -> Iterator[Step]:
        return iter(self.steps)

    def __len__(self) -> int:
        return len(self.steps)

    def __repr__(self) -> str:
        where = f", path={self.path!r}" if self.path else ""
        return (
            f"Trace(mode={self.mode!r}, steps={len(self.steps)}, sites={len(self._sites)}, "
            f"passes={len(self.passes)}, tokens={len(self.tokens)}{where})"
        )

    # --- files -----------------------------------------------------------------------------

    def save(self, path) -> None:
        """Write the trace to `path` (see tracer.tracefile.save_trace)."""
        from .tracefile import save_trace

        save_trace(self, path)

    def tensor_items(self) -> Iterator[tuple[str, torch.Tensor]]:
        """Yield (key, tensor) for every stored tensor and gradient, each key once."""
        for key in self._store.keys():
            yield key, self._store.get(key)

    def close(self) -> None:
        """Release stored tensors or the open file; the trace's metadata stays readable."""
        for step in self.steps:
            step.stats.numel  # noqa: B018 - computes statistics that a full-mode trace deferred
        close = getattr(self._store, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> "Trace":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _raise_missing(self, site: str, pass_index: int) -> None:
        if site in self._sites:
            raise TraceError(
                f"site {site!r} has no step in pass {pass_index}: the trace has passes 0 to {len(self.passes) - 1}",
                key="trace.error.no_pass",
                site=site,
                pass_index=pass_index,
                last=len(self.passes) - 1,
            )
        known = site_info(site).dims != () or template(site) in {template(s) for s in self._sites}
        reason = "was not recorded in this trace" if known else "is not a site name"
        raise TraceError(
            f"site {site!r} {reason}{suggest(site, self._sites)}: pass one of the recorded sites "
            f"(trace.sites(), or mmtrace info TRACE)",
            key="trace.error.unknown_site",
            site=site,
        )
