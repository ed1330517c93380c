"""Labels for token ids that are not in the trace (a scene's predicted next tokens)."""

from __future__ import annotations

import logging
from pathlib import Path

from minimind import load_tokenizer
from minimind.errors import MiniMindError

from . import source

logger = logging.getLogger(__name__)


def labeler_for(trace, tokenizer_path: str | Path | None = None):
    """Return `token_labels` of a tokenizer that labels the trace's own tokens exactly as recorded, or None.

    The trace stores labels for its prompt only. A tokenizer that reproduces every one of
    them (the one given, else the embedded default) is taken to be the tokenizer the trace
    was made with; otherwise predictions are labelled by id.
    """
    try:
        tokenizer = load_tokenizer(tokenizer_path)
    except (MiniMindError, OSError) as error:
        logger.debug("no tokenizer for prediction labels: %s", error)
        return None
    ids = source.token_ids(trace)
    if tokenizer.vocab_size > source.model_config(trace).vocab_size:
        return None
    if max(ids, default=0) >= tokenizer.vocab_size or tokenizer.token_labels(ids) != source.token_labels(trace):
        logger.debug("tokenizer %s does not reproduce the trace's token labels; predictions are labelled by id", tokenizer.path)
        return None
    return tokenizer.token_labels
