"""The lecture's model: --checkpoint, --tokenizer and --config, checked once and named by content.

Every worker loads the model itself (models are not sent between processes), so the parent
passes the options on as absolute paths. The parent loads the model once too: a bad file
fails before any clip starts, and the weights hash, config and tokenizer file hash become
part of every clip's input key, so changing the model renders the clips again.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .manifest import file_sha256

OPTION_NAMES = ("checkpoint", "tokenizer", "config")


def model_options(args: argparse.Namespace) -> dict[str, str]:
    """Return the model options that were given, as absolute path strings ({} for the embedded model)."""
    return {name: str(Path(getattr(args, name)).resolve()) for name in OPTION_NAMES if getattr(args, name, None) is not None}


def model_identity(options: dict[str, str]) -> dict | None:
    """Load the model of `options` and return what identifies it; None when no option was given.

    Returns the SHA-256 of the weights (as the clips' footers show it), the config the
    model was built with, and the SHA-256 of the tokenizer file. Raises MiniMindError with
    the loader's one-line message for a missing or unreadable file.
    """
    if not options:
        return None
    from scenes.inputs import load_model_and_tokenizer
    from tracer.fingerprint import weights_sha256

    model, tokenizer = load_model_and_tokenizer(**options)
    return {
        "weights": weights_sha256(model),
        "config": model.config.to_dict(),
        "tokenizer": file_sha256(Path(tokenizer.path)),
    }
