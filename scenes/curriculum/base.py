"""`ExperimentScene`: a scene drawn from an experiment run on a model at render time.

The curriculum scenes need weights, not only a recorded trace: they switch norms off,
rotate vectors to other positions, or run prompts longer than the training length. So
`setup` loads the model (the embedded default unless one is given), runs the scene's
experiment from `scenes.experiments`, and turns its result into the scene's data object.
A trace, when given, supplies the prompt's token ids, and its weights must be the model's.
Claim card, beats, captions and closing still work as in `TraceScene`.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from minimind.errors import MiniMindError
from tracer.fingerprint import weights_sha256
from tracer.i18n import t

from ..data import source
from ..data.focus import Focus, check_index, is_special
from ..inputs import DEFAULT_PROMPTS, load_trace
from ..kit import TraceScene
from ..kit.style import BACKGROUND

logger = logging.getLogger(__name__)

_DEFAULT: dict[str, Any] = {}  # the embedded model and tokenizer, loaded once per process


def default_model_and_tokenizer():
    """Return the embedded default model and tokenizer, loading them on first use."""
    if not _DEFAULT:
        from minimind import load_default_model, load_tokenizer

        _DEFAULT["model"] = load_default_model()
        _DEFAULT["tokenizer"] = load_tokenizer(None)
    return _DEFAULT["model"], _DEFAULT["tokenizer"]


def prompt_ids(tokenizer, content: str) -> list[int]:
    """Encode `content` as `mmtrace trace` does: bos, then the text's ids."""
    return [tokenizer.bos_token_id] + tokenizer.encode(content)


def prompt_display(labels: list[str], max_chars: int = 60) -> str:
    """Return the prompt's tokens as one readable line, special tokens dropped."""
    line = "".join(label for label in labels if not is_special(label)).strip()
    return line if len(line) <= max_chars else line[: max_chars - 1] + "…"


def check_weights(scene_id: str, trace, model) -> None:
    """Raise MiniMindError when `trace` was recorded with other weights than `model`'s."""
    recorded, loaded = source.weights_hash(trace), weights_sha256(model)
    if recorded != loaded:
        key = "scene.curriculum.error_weights"
        params = {"scene": scene_id, "trace": recorded[:12], "model": loaded[:12]}
        raise MiniMindError(t(key, lang="en", **params), key=key, **params)


class ExperimentScene(TraceScene):
    """A scene whose data come from an experiment run at render time on a model.

    Arguments beyond TraceScene's:
      model, tokenizer: a loaded MiniMindForCausalLM and its tokenizer; by default the
        embedded model and tokenizer.
      trace: optional; its token ids become the prompt of experiments that read one. It
        must come from the same weights as the model.
    Subclasses implement `run_experiment` (model, tokenizer -> experiment result) and
    `build` (result -> data object), both free of drawing.
    """

    # Most prompt tokens the scene feeds its experiment; None means the whole prompt.
    max_prompt_tokens: ClassVar[int | None] = None
    # Focus fields the scene reads, each with the config attribute that counts its choices.
    focus_fields: ClassVar[dict[str, str]] = {}

    def __init__(self, *args: Any, model=None, tokenizer=None, **kwargs: Any):
        self.model_given = (model, tokenizer)
        super().__init__(*args, **kwargs)

    # --- data ------------------------------------------------------------------------------

    @classmethod
    def extract(cls, trace, focus: Focus, labeler=None) -> Focus:
        """Check `trace` and `focus` before rendering starts; the data come from `run_experiment` later.

        The render API calls this before manim starts, so a bad focus or a trace from other
        weights fails with a one-line error. Returns the focus.
        """
        config = source.model_config(trace)
        cls.check_focus(focus, config)
        model, _ = default_model_and_tokenizer()
        check_weights(cls.scene_id, trace, model)
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
        self.trace = None
        if self.trace_source is not None:
            self.trace = load_trace(self.trace_source)
            check_weights(self.scene_id, self.trace, model)
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
        """Return what the evidence was computed from; by default the prompt's tokens."""
        labels = self.prompt_labels()
        return self.k("prompt", prompt=prompt_display(labels)) if labels else ""

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
        digest = weights_sha256(self.model)[:12]
        return f"{self.focus_line(**parts)}   {model}   {self.k('weights', digest=digest)}   {self.c('computed_now')}"


__all__ = ["ExperimentScene", "check_weights", "default_model_and_tokenizer", "prompt_display", "prompt_ids"]
