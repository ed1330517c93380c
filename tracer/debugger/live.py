"""Live debugging: pause a real forward pass inside a probe's hook, inspect and edit the tensor.

```
with LiveDebugger(model, breaks=["layers.0.attn.probs"], handler=lambda pause: pause.zero_head(1)):
    model(ids)  # head 1 of layer 0 contributes nothing to the rest of this pass

with pause_at(model, "layers.*.attn.scores", show, condition="max > 30"):
    model(ids)  # `show(pause)` runs at every block whose scores exceed 30
```

A handler receives a `Pause` with the live tensor. When the handler edits it (`zero_head`,
`scale`, `set`, `replace`) or returns a tensor, the hook returns the edited tensor, so the
rest of the forward pass computes with it. A pause without edits returns nothing from the
hook, and the outputs stay bitwise identical to a pass without the debugger.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial

import torch
from torch import nn

from ..record import model_sites
from ..recorder import pass_inputs
from ..sites import matches, site_info, suggest
from ..stats import Stats, tensor_stats
from .conditions import Condition, parse_condition
from .errors import DebuggerError
from .numbered import remove_numbered
from .slicing import Index, apply_index, format_index, parse_index

logger = logging.getLogger(__name__)

# Probes the model only observes (it ignores their return value), so an edit there changes nothing downstream.
DISPLAY_ONLY_LEAVES = ("rms_in", "rms_out")


@dataclass
class LiveBreakpoint:
    """Pause at probes whose site matches `pattern` (a glob or name prefix), if `condition` holds."""

    number: int
    pattern: str
    condition: Condition | None = None
    hits: int = 0

    def __str__(self) -> str:
        return self.pattern + (f" if {self.condition}" if self.condition else "")


class Pause:
    """A forward pass stopped at one probe: the live tensor, its site, and the edits made to it.

    `original` is the tensor the model computed, and it is never changed. `tensor` is the
    value the rest of the pass will use, a private copy once any edit is made.
    """

    def __init__(self, site: str, tensor: torch.Tensor, step: int, pass_index: int, breakpoint: LiveBreakpoint | None):
        self.site = site
        self.original = tensor
        self.tensor = tensor
        self.step = step  # 0-based index of this probe call in the pass
        self.pass_index = pass_index  # 0-based index of the model call since the debugger started
        self.breakpoint = breakpoint  # None when the pause came from `next`
        self.dims = site_info(site, tensor.dim()).dims
        self.edits: list[str] = []  # one description per edit, in order

    @property
    def edited(self) -> bool:
        return bool(self.edits)

    @property
    def stats(self) -> Stats:
        """Statistics of the current value, edits included."""
        return tensor_stats(self.tensor)

    @property
    def display_only(self) -> bool:
        """True for probes whose value the model does not use, where edits have no effect downstream."""
        return site_info(self.site).leaf in DISPLAY_ONLY_LEAVES

    # --- edits -----------------------------------------------------------------------------

    def zero_head(self, head: int) -> None:
        """Set one attention head (query or kv head, whichever the site has) to zero."""
        self._writable()[self._head_index(head)] = 0
        self.edits.append(f"zero head {head}")

    def scale_head(self, factor: float, head: int) -> None:
        """Multiply one attention head by `factor`."""
        index = self._head_index(head)
        self.scale(factor, index)
        self.edits[-1] = f"scale {factor:g} head {head}"

    def zero(self, index: Index | str = ()) -> None:
        """Set the indexed part (all of it by default) to zero."""
        self.set(index, 0.0, description="zero")

    def scale(self, factor: float, index: Index | str = ()) -> None:
        """Multiply the indexed part (all of it by default) by `factor`."""
        if not self.tensor.is_floating_point():
            raise DebuggerError(
                f"cannot scale {self.site}: it contains integers ({self.tensor.dtype}); scale floating-point sites, or change ids with set",
                key="debug.error.scale_int",
                site=self.site,
                dtype=str(self.tensor.dtype),
            )
        index = self._index(index)
        target = self._writable()
        target[index] = target[index] * factor
        self.edits.append(f"scale {factor:g}{_suffix(index)}")

    def set(self, index: Index | str, value: float, description: str = "set") -> None:
        """Assign `value` to the indexed part, as in `tensor[index] = value`."""
        index = self._index(index)
        apply_index(self.tensor, self.dims, index)  # checks the index against the shape, with a readable error
        target = self._writable()
        target[index] = value
        self.edits.append(f"{description}{_suffix(index)}" + ("" if description == "zero" else f" = {value:g}"))

    def replace(self, tensor: torch.Tensor) -> None:
        """Use `tensor` (same shape) in place of the current value."""
        if tuple(tensor.shape) != tuple(self.original.shape):
            raise DebuggerError(
                f"replacement for {self.site} has shape {tuple(tensor.shape)}, not {tuple(self.original.shape)}: return a tensor of the same shape",
                key="debug.error.replace_shape",
                site=self.site,
                got=str(tuple(tensor.shape)),
                expected=str(tuple(self.original.shape)),
            )
        self.tensor = tensor.to(self.original.dtype)
        self.edits.append("replace")

    def reset(self) -> None:
        """Undo every edit."""
        self.tensor = self.original
        self.edits = []

    def _writable(self) -> torch.Tensor:
        if self.tensor is self.original:
            self.tensor = self.original.detach().clone()
        return self.tensor

    def _index(self, index: Index | str) -> Index:
        return parse_index(index) if isinstance(index, str) else tuple(index)

    def _head_index(self, head: int) -> tuple:
        """Return the index that selects `head` on the site's head (or kv_head) dimension."""
        axis = None
        for name in ("head", "kv_head"):
            if name in self.dims:
                axis = self.dims.index(name)
                break
        if axis is None:
            raise DebuggerError(
                f"{self.site} has no heads dimension (its dimensions are {', '.join(self.dims)}): "
                f"head edits work at attention sites such as layers.0.attn.probs or layers.0.attn.heads",
                key="debug.error.no_heads",
                site=self.site,
                dims=", ".join(self.dims),
            )
        size = self.tensor.shape[axis]
        if not -size <= head < size:
            raise DebuggerError(
                f"head {head} does not exist at {self.site}: it has {size} heads, 0 to {size - 1}",
                key="debug.error.head_range",
                head=head,
                site=self.site,
                size=size,
                last=size - 1,
            )
        index = [slice(None)] * self.tensor.dim()
        index[axis] = head
        return tuple(index)


def _suffix(index: Index) -> str:
    return f" {format_index(index)}" if index else ""


@dataclass
class LiveResult:
    """The outputs of one `LiveDebugger.run`: logits without and with the pauses' edits."""

    before: torch.Tensor  # (B, T, vocab) logits of a plain forward pass
    after: torch.Tensor  # (B, T, vocab) logits of the debugged pass
    pauses: list[Pause] = field(default_factory=list)

    @property
    def edits(self) -> list[tuple[str, str]]:
        """(site, edit description) for every edit, in the order they were made."""
        return [(pause.site, edit) for pause in self.pauses for edit in pause.edits]

    @property
    def identical(self) -> bool:
        """True when the debugged pass gave bitwise the same logits as the plain one."""
        return torch.equal(self.before, self.after)


Handler = Callable[[Pause], "torch.Tensor | None"]


class LiveDebugger:
    """Pause a `minimind` model's forward pass at breakpoints and hand each pause to `handler`.

    Arguments:
      model: a `minimind.MiniMindForCausalLM`.
      tokenizer: gives token labels for views; None labels tokens by id.
      breaks: breakpoints, each a site or glob, `"SITE if CONDITION"`, or a (site, condition) pair.
      handler: called with each `Pause`; it may edit the pause or return a replacement
        tensor. The command-line debugger passes an interactive shell here.

    Hooks are attached for the `with` block (or `attach()` / `detach()`), on every probe,
    so that breakpoints added during a pause and `next` work anywhere.
    """

    def __init__(self, model: nn.Module, tokenizer=None, breaks: Iterable | None = None, handler: Handler | None = None):
        self.model = model
        self.tokenizer = tokenizer
        self.handler = handler
        self.probes = model_sites(model)
        if not self.probes:
            raise DebuggerError(
                f"{type(model).__name__} has no minimind probes: pass a minimind.MiniMindForCausalLM",
                key="debug.error.no_probes",
                model=type(model).__name__,
            )
        self.breakpoints: list[LiveBreakpoint] = []
        self._next_number = 1
        for item in breaks or ():
            if isinstance(item, tuple):
                self.add_breakpoint(*item)
            else:
                pattern, condition = split_break(str(item))
                self.add_breakpoint(pattern, condition)
        self.pauses: list[Pause] = []  # every pause so far, in order
        self.computed: dict[str, torch.Tensor] = {}  # site -> value used downstream, in the current pass
        self.pause_next = False  # pause at the next probe, regardless of the breakpoints
        self.running = True  # False after `quit`: the pass finishes without pausing
        self._handles: list = []
        self._pass = -1
        self._step = 0
        self._ids: torch.Tensor | None = None  # (B, S) ids of every position seen in this sequence
        self._start = 0

    # --- breakpoints -------------------------------------------------------------------------

    def add_breakpoint(self, pattern: str, condition: str | Condition | None = None) -> LiveBreakpoint:
        """Add a breakpoint; raises DebuggerError when no probe of the model matches `pattern`."""
        pattern = pattern.strip()
        if not any(matches(site, pattern) for site in self.probes):
            raise DebuggerError(
                f"no site of the model matches {pattern!r}{suggest(pattern, self.probes)}: "
                f"give a site or a glob such as layers.*.attn.probs",
                key="debug.error.break_no_match",
                pattern=pattern,
            )
        if isinstance(condition, str):
            condition = parse_condition(condition) if condition.strip() else None
        breakpoint = LiveBreakpoint(self._next_number, pattern, condition)
        self._next_number += 1
        self.breakpoints.append(breakpoint)
        return breakpoint

    def delete_breakpoint(self, number: int | None) -> list[LiveBreakpoint]:
        missing = DebuggerError(
            f"no breakpoint number {number}: list them with info breakpoints",
            key="step.error.no_breakpoint",
            number=number,
        )
        return remove_numbered(self.breakpoints, number, missing)

    # --- hooks -------------------------------------------------------------------------------

    def attach(self) -> "LiveDebugger":
        if self._handles:
            return self
        self._handles.append(self.model.register_forward_pre_hook(self._on_pass_start, with_kwargs=True))
        for site, probe in self.probes.items():
            self._handles.append(probe.register_forward_hook(partial(self._on_probe, site)))
        return self

    def detach(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def __enter__(self) -> "LiveDebugger":
        return self.attach()

    def __exit__(self, *exc) -> None:
        self.detach()

    def _on_pass_start(self, module, args, kwargs) -> None:
        input_ids, start = pass_inputs(module.forward, args, kwargs)
        self._pass += 1
        self._step = 0
        self.computed = {}
        self._start = start
        if input_ids is not None:
            ids = input_ids.detach().to("cpu", torch.long)
            ids = ids[None, :] if ids.dim() == 1 else ids
            if start == 0 or self._ids is None or self._ids.shape[0] != ids.shape[0]:
                self._ids = ids
            else:
                self._ids = torch.cat([self._ids[:, :start], ids], dim=1)

    def _on_probe(self, site: str, module, inputs, output):
        if not isinstance(output, torch.Tensor):
            return None
        step = self._step
        self._step += 1
        self.computed[site] = output
        breakpoint = self._triggered(site, output)
        if breakpoint is None and not (self.pause_next and self.running):
            return None

        self.pause_next = False
        pause = Pause(site, output, step, self._pass, breakpoint)
        self.pauses.append(pause)
        if self.handler is not None:
            replacement = self.handler(pause)
            if isinstance(replacement, torch.Tensor) and replacement is not pause.tensor:
                pause.replace(replacement)
        if not pause.edited:
            return None
        if pause.display_only:
            logger.warning("%s is computed for display only; the edit does not change the rest of the pass", site)
        self.computed[site] = pause.tensor
        return pause.tensor

    def _triggered(self, site: str, output: torch.Tensor) -> LiveBreakpoint | None:
        if not self.running:
            return None
        stats = None
        for breakpoint in self.breakpoints:
            if not matches(site, breakpoint.pattern):
                continue
            if breakpoint.condition is not None:
                stats = stats or tensor_stats(output)
                if not breakpoint.condition(stats):
                    continue
            breakpoint.hits += 1
            return breakpoint
        return None

    # --- token information for views -------------------------------------------------------------

    def token_ids(self, batch: int = 0) -> list[int]:
        """Ids of every position of the current sequence, batch row `batch`."""
        if self._ids is None:
            return []
        return [int(token) for token in self._ids[batch]]

    def token_labels(self, batch: int = 0) -> list[str]:
        ids = self.token_ids(batch)
        labeller = getattr(self.tokenizer, "token_labels", None)
        return list(labeller(ids)) if labeller is not None else [str(token) for token in ids]

    def pass_span(self) -> tuple[int, int]:
        """(first position, number of positions) of the current pass."""
        total = 0 if self._ids is None else self._ids.shape[1]
        return self._start, total - self._start

    # --- one debugged run ---------------------------------------------------------------------------

    @torch.no_grad()
    def run(self, input_ids: torch.Tensor | Sequence[int]) -> LiveResult:
        """Run the model twice on `input_ids`: once plain, once with pauses; return both logits."""
        ids = torch.as_tensor(input_ids, dtype=torch.long)
        ids = ids[None, :] if ids.dim() == 1 else ids
        attached = bool(self._handles)
        self.detach()
        before = self.model(ids).logits
        first_pause = len(self.pauses)
        self.attach()
        try:
            after = self.model(ids).logits
        finally:
            if not attached:
                self.detach()
        return LiveResult(before, after, self.pauses[first_pause:])


def pause_at(model: nn.Module, site: str, handler: Handler, condition: str | None = None, tokenizer=None) -> LiveDebugger:
    """Return a LiveDebugger (use it in `with`) that calls `handler(pause)` at every probe matching `site`."""
    return LiveDebugger(model, tokenizer=tokenizer, breaks=[(site, condition)], handler=handler)


def split_break(text: str) -> tuple[str, str | None]:
    """Split `"SITE if CONDITION"` into its parts; the condition is None when absent."""
    words = text.split()
    if "if" in words:
        at = words.index("if")
        return " ".join(words[:at]), " ".join(words[at + 1 :])
    return text.strip(), None
