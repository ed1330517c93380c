"""A weight-compatible re-implementation of MiniMind with probe points for tracing.

Public API: `MiniMindConfig`, `MiniMindForCausalLM`, `load_checkpoint`, `load_tokenizer`,
`load_default_model`. The package contains no tracing logic; the probes are identity modules.
"""

from pathlib import Path

from .checkpoint import load_checkpoint, save_checkpoint
from .config import MINIMIND2, MINIMIND3, MiniMindConfig
from .errors import CheckpointError, MiniMindError, SequenceTooLongError
from .model import CausalLMOutput, MiniMindForCausalLM
from .probe import Probe

DEFAULT_MODEL_DIR = Path(__file__).parent / "assets" / "default"


def load_tokenizer(path=None):
    """Load a MiniMind tokenizer: a tokenizer.json, a folder holding one, or the default (None)."""
    from .tokenizer import load_tokenizer as _load

    return _load(path)


def load_default_model(dtype=None, config=None):
    """Load the small MiniMind model that ships with the package, in eval mode.

    `config` overrides settings the weights do not fix (such as `inference_rope_scaling`),
    as in `load_checkpoint`.
    """
    import torch

    return load_checkpoint(DEFAULT_MODEL_DIR, config=config, dtype=dtype or torch.float32)


__all__ = [
    "CausalLMOutput",
    "CheckpointError",
    "DEFAULT_MODEL_DIR",
    "MINIMIND2",
    "MINIMIND3",
    "MiniMindConfig",
    "MiniMindError",
    "MiniMindForCausalLM",
    "Probe",
    "SequenceTooLongError",
    "load_checkpoint",
    "load_default_model",
    "load_tokenizer",
    "save_checkpoint",
]
