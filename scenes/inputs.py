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


def trace_prompt_text(prompt: str, checkpoint: str | Path | None = None, tokenizer: str | Path | None = None, config: str | Path | None = None):
    """Trace `prompt` on a checkpoint (default: the embedded model) and return the in-memory Trace.

    The prompt is encoded the way `mmtrace trace` encodes it (tracer.trace_prompt), so a
    render from --prompt and a render from the saved trace of the same prompt agree.
    """
    import argparse

    from tracer import trace_prompt
    from tracer.cli.common import load_model_and_tokenizer

    args = argparse.Namespace(
        checkpoint=Path(checkpoint) if checkpoint else None,
        tokenizer=Path(tokenizer) if tokenizer else None,
        config=Path(config) if config else None,
    )
    model, tok = load_model_and_tokenizer(args)
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
