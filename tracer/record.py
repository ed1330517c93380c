"""`Tracer`: record every probe of a `minimind` model during a forward pass."""

from __future__ import annotations

import weakref
from collections.abc import Iterable

import torch
from torch import nn

from minimind.probe import Probe

from .errors import TraceError
from .fingerprint import module_ids, structure_changed, structure_epoch
from .recorder import Recorder, pass_inputs
from .sites import select, site_for_probe


# model -> [structure epoch, module ids, {site: probe}]; walking the module tree on every trace costs time.
_site_tables: "weakref.WeakKeyDictionary[nn.Module, list]" = weakref.WeakKeyDictionary()


def model_sites(model: nn.Module) -> dict[str, Probe]:
    """Return {site name: probe module} for every probe of a MiniMindForCausalLM, in module order."""
    cached = _site_tables.get(model)
    if cached is not None and not structure_changed(cached[0], cached[1]):
        cached[0] = structure_epoch()
        return dict(cached[2])

    epoch = structure_epoch()
    sites = {}
    for path, module in model.named_modules():
        if isinstance(module, Probe):
            site = site_for_probe(path)
            if site is not None:
                sites[site] = module
    _site_tables[model] = [epoch, module_ids(model), sites]
    return dict(sites)


class Tracer(Recorder):
    """Record the intermediate tensors of a `minimind` model while it runs.

    ```
    with Tracer(model, tokenizer=tok, sites="layers.*.attn.*", mode="full") as tracer:
        model(ids)
    trace = tracer.trace
    trace["layers.0.attn.probs"]  # (batch, head, query, key)
    ```

    Arguments:
      model: a `minimind.MiniMindForCausalLM` (for upstream MiniMind code use UpstreamTracer).
      tokenizer: gives token labels (`token_labels`) and the prompt text (`decode`); None
        labels tokens by id.
      sites: None for every site, or a glob, a comma-separated list of globs, or a list of
        them. Each must select at least one site (see docs/sites.md and sites.matches).
      mode: "full" keeps every tensor; "stats" keeps only the statistics (mean, std, RMS, min,
        max, NaN and Inf counts), which are recorded in both modes.
      dtype: storage dtype in full mode ("bfloat16", torch.float16, ...); None keeps each
        tensor as computed. Statistics always use the computed tensor.
      grads: also record d(loss)/d(tensor) at the same sites; call `loss.backward()` inside
        the `with` block, with gradients enabled.
      prompt: the prompt text to store; by default it is decoded from the first pass's ids.
      copy: store copies instead of references (see below).

    In full mode the statistics of a tensor stored as computed (no `dtype` cast) are
    computed from the stored tensor when first read, which keeps the traced forward pass
    about as fast as the model's own. Stats mode computes them during the pass, since it
    keeps no tensors to compute them from later.

    Each call of the model inside the block is one pass (`trace.passes`). Hooks are removed
    when the block ends, also after an exception. Hooks never return a value, so the model's
    outputs are bitwise the same as without tracing. In full mode the trace keeps references
    to the model's own tensors, not copies, because the model never edits a probed tensor in
    place. Code that edits the model's outputs in place afterwards (say, masking `logits`)
    would change the trace too, so pass `copy=True` (or a `dtype`, which casts) for that.
    """

    def __init__(
        self,
        model: nn.Module,
        tokenizer=None,
        sites: str | Iterable[str] | None = None,
        mode: str = "full",
        dtype: torch.dtype | str | None = None,
        grads: bool = False,
        prompt: str | None = None,
        copy: bool = False,
    ):
        super().__init__(model, tokenizer=tokenizer, mode=mode, dtype=dtype, grads=grads, prompt=prompt, copy=copy)
        self._probes = model_sites(model)
        if not self._probes:
            raise TraceError(
                f"{type(model).__name__} has no minimind probes: pass a minimind.MiniMindForCausalLM, "
                f"or use tracer.UpstreamTracer for upstream MiniMind code",
                key="trace.error.no_probes",
                model=type(model).__name__,
            )
        self.sites: list[str] = select(sites, list(self._probes))  # the selected site names

    def _install_hooks(self) -> None:
        self._handles.append(self.model.register_forward_pre_hook(self._on_pass_start, with_kwargs=True))
        self._handles.append(self.model.register_forward_hook(self._on_pass_end, always_call=True))
        for site in self.sites:
            probe = self._probes[site]
            if probe.tap is None:
                # A tap reads the output without the cost of a module hook; see Probe.
                probe.set_tap(_probe_tap(self._record, site))
                self._handles.append(_TapHandle(probe))
            else:
                # Another tracer already set this probe's tap, so this one records through a forward hook.
                self._handles.append(probe.register_forward_hook(_probe_hook(self._record, site)))

    def _on_pass_start(self, module, args, kwargs) -> None:
        input_ids, start = pass_inputs(module.forward, args, kwargs)
        self._begin_pass(input_ids, start)

    def _on_pass_end(self, module, args, output) -> None:
        self._end_pass()


class _TapHandle:
    """Removes a tap, like the handle `register_forward_hook` returns removes a hook."""

    def __init__(self, probe: Probe):
        self.probe = probe

    def remove(self) -> None:
        self.probe.set_tap(None)


def _probe_tap(record, site: str):
    """Return a probe tap that records the output as `site`."""

    def tap(output):
        record(site, output)

    return tap


def _probe_hook(record, site: str):
    """Return a forward hook that records a probe's output as `site` (one call, no extra frames)."""

    def hook(module, inputs, output):
        record(site, output)

    return hook
