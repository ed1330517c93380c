"""Scene inputs (trace, focus, language) from arguments, the environment, or defaults.

`manim scenes/attention.py AttentionScene` cannot pass arguments to a scene, so a scene
built without them reads MMTRACE_TRACE (a .mmtrace file), MMTRACE_PROMPT, MMTRACE_LAYER,
MMTRACE_HEAD, MMTRACE_TOKEN and MMTRACE_LANG, and otherwise traces the default prompt of
its language on the embedded default model.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from minimind.errors import MiniMindError
from tracer.i18n import resolve_lang, t

from .data.focus import Focus

logger = logging.getLogger(__name__)

ENV_TRACE = "MMTRACE_TRACE"
ENV_PROMPT = "MMTRACE_PROMPT"
ENV_LAYER = "MMTRACE_LAYER"
ENV_HEAD = "MMTRACE_HEAD"
ENV_TOKEN = "MMTRACE_TOKEN"
ENV_LANG = "MMTRACE_LANG"

# Each names a character twice, so some heads have a real reason to look back, and each
# fits in the 20 positions a heatmap shows (19 tokens plus the bos token).
DEFAULT_PROMPTS = {
    "en": "Lily had a red kite. One day, Lily took the kite to the park.",
    "zh": "小红有一只风筝。小红带着风筝去了公园。",
}


@dataclass(frozen=True)
class SceneInputs:
    """A scene's inputs as the environment gives them."""

    trace: str | None  # path of a .mmtrace file, or None
    prompt: str | None
    focus: Focus
    lang: str


def _env_int(name: str) -> int | None:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        return int(raw)
    except ValueError:
        key = "render.error.env_int"
        raise MiniMindError(t(key, lang="en", name=name, value=raw), key=key, name=name, value=raw) from None


def inputs_from_env() -> SceneInputs:
    """Read the MMTRACE_* variables."""
    return SceneInputs(
        trace=os.environ.get(ENV_TRACE) or None,
        prompt=os.environ.get(ENV_PROMPT) or None,
        focus=Focus(layer=_env_int(ENV_LAYER), head=_env_int(ENV_HEAD), token=_env_int(ENV_TOKEN)),
        lang=resolve_lang(os.environ.get(ENV_LANG)),
    )


# The models loaded in this process, most recent last: (key, (model, tokenizer)). One
# `mmtrace render` loads one model. A process that renders many clips (the test suite, a
# notebook) reuses the last few instead of reading the checkpoint again.
_LOADED: list[tuple[tuple, tuple]] = []
_MAX_LOADED = 2


def _file_key(path: str | Path | None) -> tuple | None:
    """Return what identifies a file or folder option: its resolved path, size and modification time."""
    if not path:
        return None
    resolved = Path(path).resolve()
    try:
        stat = resolved.stat()
    except OSError:
        return (str(resolved),)  # missing: the loader raises its one-line error
    return (str(resolved), stat.st_size, stat.st_mtime_ns)


def load_model_and_tokenizer(checkpoint: str | Path | None = None, tokenizer: str | Path | None = None,
                             config: str | Path | None = None):
    """Return (model, tokenizer) for the --checkpoint, --tokenizer and --config options, loaded once per process.

    None for all three gives the embedded default model and tokenizer. Loading is
    `tracer.cli.common.load_model_and_tokenizer`, so a tokenizer.json beside the checkpoint
    is found and the vocabularies are checked as `mmtrace trace` does. The same objects
    are returned while the files are unchanged, so callers must not modify the model.
    Raises MiniMindError with a one-line message for a missing or unreadable file.
    """
    import argparse

    from tracer.cli.common import load_model_and_tokenizer as load

    key = (_file_key(checkpoint), _file_key(tokenizer), _file_key(config))
    for index, (loaded_key, loaded) in enumerate(_LOADED):
        if loaded_key == key:
            _LOADED.append(_LOADED.pop(index))
            return loaded
    args = argparse.Namespace(
        checkpoint=Path(checkpoint) if checkpoint else None,
        tokenizer=Path(tokenizer) if tokenizer else None,
        config=Path(config) if config else None,
    )
    loaded = load(args)
    _LOADED.append((key, loaded))
    del _LOADED[:-_MAX_LOADED]
    return loaded


def trace_prompt_text(prompt: str, checkpoint: str | Path | None = None, tokenizer: str | Path | None = None, config: str | Path | None = None):
    """Trace `prompt` on a checkpoint (default: the embedded model) and return the in-memory Trace.

    The prompt is encoded the way `mmtrace trace` encodes it (tracer.trace_prompt), so a
    render from --prompt and a render from the saved trace of the same prompt agree.
    """
    from tracer import trace_prompt

    model, tok = load_model_and_tokenizer(checkpoint, tokenizer, config)
    return trace_prompt(model, tok, prompt)


def load_trace(trace=None, prompt: str | None = None, lang: str = "en", **model_options):
    """Return a Trace from a Trace object, a .mmtrace path, a prompt, or the default prompt of `lang`."""
    if trace is not None and not isinstance(trace, (str, Path)):
        return trace
    if trace is not None:
        from tracer import open_trace

        return open_trace(trace)
    # Only a missing prompt means the default one; an empty --prompt is rejected by the tracer.
    text = prompt if prompt is not None else DEFAULT_PROMPTS.get(lang, DEFAULT_PROMPTS["en"])
    logger.debug("tracing %r for the scene", text)
    return trace_prompt_text(text, **model_options)
