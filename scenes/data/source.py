"""Read what scenes need from a trace: tensors of batch element 0, tokens, config, provenance.

Scenes read a `tracer.Trace` only through these functions, so the data classes hold plain
numpy arrays and Python numbers and the drawing code never touches torch. Scenes show the
first forward pass (the prompt); the passes of generated tokens are not drawn.
"""

from __future__ import annotations

import numpy as np
import torch

from minimind import MiniMindConfig


def site(trace, name: str) -> np.ndarray:
    """Return the tensor recorded at site `name` in the prompt pass, batch element 0, as float64 numpy.

    Raises tracer.TraceError naming the site when the trace lacks it.
    """
    value = trace[name]
    if isinstance(value, torch.Tensor):
        value = value.detach().to(torch.float64).cpu().numpy()
    return np.asarray(value, dtype=np.float64)[0]


def has_site(trace, name: str) -> bool:
    """Return True when the trace recorded `name`."""
    return name in trace


def _prompt_positions(trace) -> range:
    return trace.passes[0].positions if trace.passes else range(len(trace.tokens))


def token_ids(trace) -> list[int]:
    """Return the token ids of the prompt pass, in order."""
    ids = trace.tokens.ids[0]
    return [int(ids[i]) for i in _prompt_positions(trace)]


def token_labels(trace) -> list[str]:
    """Return one readable label per token of the prompt pass."""
    labels = trace.tokens.labels[0]
    return [str(labels[i]) for i in _prompt_positions(trace)]


def model_config(trace) -> MiniMindConfig:
    """Return the config of the model that produced the trace."""
    return MiniMindConfig.from_dict(dict(trace.config))


def prompt_text(trace) -> str:
    """Return the traced prompt text (empty when the trace was recorded from ids alone)."""
    return str(trace.prompt or "")


def weights_hash(trace) -> str:
    """Return the SHA-256 of the weights that produced the trace."""
    return str(trace.weights_sha256 or "")
