"""`ExperimentScene`: a scene drawn from an experiment run on a model at render time.

The curriculum scenes need weights, not only a recorded trace: they switch norms off,
rotate vectors to other positions, or run prompts longer than the training length. So
`setup` takes the model it is given (`mmtrace render --checkpoint` loads the reader's
model; without one it is the embedded default), runs the scene's experiment from
`scenes.experiments`, and turns its result into the scene's data object. A trace, when
given, supplies the prompt's token ids, and its weights must be the model's. Claim card,
beats, captions and closing still work as in `TraceScene`.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any, ClassVar

from minimind.errors import MiniMindError
from tracer.fingerprint import weights_sha256
from tracer.i18n import t

from ..data import source
from ..data.focus import Focus, check_index, is_special
from ..inputs import DEFAULT_PROMPTS, load_model_and_tokenizer, load_trace
from ..kit import TraceScene
from ..kit.style import BACKGROUND

logger = logging.getLogger(__name__)

# Scenes whose experiment computes RoPE angles from the model's rope_theta.
ROPE_SCENES = frozenset({"rope-basics", "rope-frequencies", "rope-precision", "yarn"})


def default_model_and_tokenizer():
    """Return the embedded default model and tokenizer, loading them on first use."""
    return load_model_and_tokenizer()


def prompt_ids(tokenizer, content: str) -> list[int]:
    """Encode `content` as `mmtrace trace` does: bos, then the text's ids."""
    return [tokenizer.bos_token_id] + tokenizer.encode(content)


def prompt_display(labels: list[str]) -> str:
    """Return the prompt's tokens as one readable line, special tokens dropped (TraceScene.prompt_part shortens it to fit)."""
    return "".join(label for label in labels if not is_special(label)).strip()


def _error(key: str, **params: Any) -> MiniMindError:
    return MiniMindError(t(key, lang="en", **params), key=key, **params)


def check_weights(scene_id: str, trace, model, checkpoint: str | None = None) -> None:
    """Raise MiniMindError when `trace` was recorded with other weights than `model`'s.

    `checkpoint` is where `model` came from (None: the embedded model). The message names it
    and gives the fix: pass the checkpoint that recorded the trace, or leave --checkpoint out
    when the trace came from the embedded model.
    """
    recorded, loaded = source.weights_hash(trace), weights_sha256(model)
    if recorded != loaded:
        params = {"scene": scene_id, "trace": recorded[:12], "model": loaded[:12]}
        if checkpoint is None:
            raise _error("scene.curriculum.error_weights", **params)
        embedded, _ = default_model_and_tokenizer()
        if recorded == weights_sha256(embedded):
            # The trace came from the embedded model, which has no file to pass.
            raise _error("scene.curriculum.error_weights_embedded", checkpoint=str(checkpoint), **params)
        raise _error("scene.curriculum.error_weights_checkpoint", checkpoint=str(checkpoint), **params)


def check_model(scene_id: str, model) -> None:
    """Raise MiniMindError when `model` lacks a setting the experiment of `scene_id` needs."""
    if scene_id in ROPE_SCENES:
        theta = float(model.config.rope_theta)
        # theta = 1 makes every pair turn at the same speed, and YaRN divides by log(theta).
        if not (math.isfinite(theta) and theta > 1):
            raise _error("scene.curriculum.error_rope_theta", scene=scene_id, value=repr(theta))


class ExperimentScene(TraceScene):
    """A scene whose data come from an experiment run at render time on a model.

    Arguments beyond TraceScene's:
      model, tokenizer: a loaded MiniMindForCausalLM and its tokenizer; by default the
        embedded model and tokenizer. A model given without a tokenizer works while the
        prompt comes from a trace; encoding a text prompt then raises MiniMindError.
      checkpoint: where `model` was loaded from, shown in errors and on the closing still;
        None for the embedded model or a model built in memory.
      trace: optional; its token ids become the prompt of experiments that read one. It
        must come from the same weights as the model.
    Subclasses implement `run_experiment` (model, tokenizer -> experiment result) and
    `build` (result -> data object), both free of drawing.
    """

    # Most prompt tokens the scene feeds its experiment; None means the whole prompt.
    max_prompt_tokens: ClassVar[int | None] = None
    # Focus fields the scene reads, each with the config attribute that counts its choices.
    focus_fields: ClassVar[dict[str, str]] = {}

    def __init__(self, *args: Any, model=None, tokenizer=None, checkpoint: str | Path | None = None, **kwargs: Any):
        self.model_given = (model, tokenizer)
        self.checkpoint = str(checkpoint) if checkpoint is not None else None
        super().__init__(*args, **kwargs)

    # --- data ------------------------------------------------------------------------------

    @classmethod
    def extract(cls, trace, focus: Focus, labeler=None, model=None, tokenizer=None, checkpoint: str | Path | None = None) -> Focus:
        """Check `trace`, `focus` and the model before rendering starts; the data come from `run_experiment` later.

        The render API calls this before manim starts, so a bad focus, a trace from other
        weights or a model the experiment cannot use fails with a one-line error. `model`
        (default: the embedded model) and `checkpoint` are what the scene will be given.
        Returns the focus.
        """
        config = source.model_config(trace)
        cls.check_focus(focus, config)
        if model is None:
            model, _ = default_model_and_tokenizer()
            checkpoint = None
        check_weights(cls.scene_id, trace, model, checkpoint)
        check_model(cls.scene_id, model)
        return focus

    @classmethod
    def check_focus(cls, focus: Focus | None, config) -> dict[str, int]:
        """Return the requested focus fields the scene reads, each checked against `config`."""
        checked = {}
        for name, attribute in cls.focus_fields.items():
            value = getattr(focus or Focus(), name)
            if value is not None:
                checked[name] = check_index(value, getattr(config, attribute), name)
        return checked

    def setup(self) -> None:
        self.camera.background_color = BACKGROUND
        model, tokenizer = self.model_given
        if model is None:
            model, default_tokenizer = default_model_and_tokenizer()
            tokenizer = tokenizer if tokenizer is not None else default_tokenizer
        self.model, self.tokenizer = model, tokenizer
        if self.model_given[0] is None:
            self.checkpoint = None
        self.trace = None
        if self.trace_source is not None:
            self.trace = load_trace(self.trace_source)
            check_weights(self.scene_id, self.trace, model, self.checkpoint)
        check_model(self.scene_id, model)
        self.focus = self.check_focus(self.focus_request, model.config)
        self.result = self.run_experiment(model, tokenizer)
        self.data = self.build(self.result)

    def run_experiment(self, model, tokenizer):
        """Run the scene's experiment and return its result dataclass."""
        raise NotImplementedError

    def build(self, result):
        """Return the scene's data object built from the experiment result (no drawing)."""
        raise NotImplementedError

    def prompt_token_ids(self) -> list[int]:
        """Return the prompt's ids: the trace's tokens when a trace was given, else the requested
        prompt (or the default prompt of the scene's language) encoded with bos first."""
        if self.trace is not None:
            return source.token_ids(self.trace)
        if self.tokenizer is None:
            raise _error("scene.curriculum.error_tokenizer", scene=self.scene_id)
        return prompt_ids(self.tokenizer, self.prompt or DEFAULT_PROMPTS.get(self.lang, DEFAULT_PROMPTS["en"]))

    def experiment_prompt(self) -> list[int]:
        """Return the prompt ids for the experiment, cut to `max_prompt_tokens`."""
        ids = self.prompt_token_ids()
        return ids[: self.max_prompt_tokens] if self.max_prompt_tokens is not None else ids

    # --- words -----------------------------------------------------------------------------

    def c(self, name: str, /, **params: Any) -> str:
        """Return a catalogue string shared by the curriculum scenes, `scene.curriculum.<key>`."""
        return t(f"scene.curriculum.{name}", lang=self.lang, **params)

    def input_line(self) -> str:
        """Return what the evidence was computed from: the whole prompt (shortened only where it
        would not fit) and, when the experiment ran fewer of its tokens, how many it ran."""
        labels = self.prompt_labels()
        if not labels:
            return ""
        line = self.prompt_part(self.full_prompt())
        if len(labels) < len(self.prompt_token_ids()):
            line += "   " + self.tokens_used(len(labels))
        return line

    def full_prompt(self) -> str:
        """Return the text of the whole prompt that the experiment's tokens come from."""
        if self.trace is not None:
            return source.prompt_text(self.trace) or prompt_display(source.token_labels(self.trace))
        return self.prompt or DEFAULT_PROMPTS.get(self.lang, DEFAULT_PROMPTS["en"])

    def tokens_used(self, count: int) -> str:
        """Return the footer's note that the experiment ran only the prompt's first `count` tokens."""
        return self.c("tokens_used", count=count)

    def prompt_labels(self) -> list[str]:
        """Return the labels of the prompt the experiment ran (empty when it runs no prompt)."""
        return []

    def focus_line(self, **parts: Any) -> str:
        pieces = [self.input_line()]
        for name in ("layer", "head", "token"):
            if name in parts and parts[name] is not None:
                pieces.append(self.k(name, value=parts[name]))
        return "   ".join(piece for piece in pieces if piece)

    def provenance(self, **parts: Any) -> str:
        """Return the closing still's footer: input, model shape, weights hash, and that it ran at render time."""
        config = self.model.config
        model = self.k("model", layers=config.num_hidden_layers, hidden=config.hidden_size, version=config.minimind_version)
        if self.checkpoint is not None:
            model = f"{self.c('checkpoint', name=Path(self.checkpoint).name)}   {model}"
        digest = weights_sha256(self.model)[:12]
        return f"{self.focus_line(**parts)}   {model}   {self.k('weights', digest=digest)}   {self.c('computed_now')}"


__all__ = ["ExperimentScene", "check_model", "check_weights", "default_model_and_tokenizer", "prompt_display", "prompt_ids"]
