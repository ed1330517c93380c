"""`TraceScene`: the base class of every scene that explains a trace.

A scene subclass sets `scene_id`, `color` and `beats`, implements `extract` (trace -> data
object, no drawing) and `construct` (a sequence of beats, each opened with `self.beat`).
"""

from __future__ import annotations

import sys
import unicodedata
from typing import Any, Callable, ClassVar

from manim import Mobject, Scene, config

from minimind.errors import MiniMindError
from tracer.i18n import has, resolve_lang, t

from ..data import source
from ..data.focus import Focus
from ..inputs import inputs_from_env, load_trace
from .animations import OpacityFadeIn, OpacityFadeOut
from .cards import ClosingStill, claim_card
from .style import BACKGROUND, CLAIM_HOLD, MARGIN, READ_PER_CHAR_CJK, READ_PER_CHAR_LATIN, SIZE_SMALL, STILL_HOLD
from .text import caption, shorten_to_width, text

ProgressCallback = Callable[[str, int, int], None]  # (beat name, beats started, beats in total)


class TraceScene(Scene):
    """A scene drawn from one trace, in one language, around one focus (layer, head, token).

    Arguments (all optional, so manim's own CLI can build the scene; see scenes.inputs):
      trace: a tracer.Trace or the path of a .mmtrace file.
      focus: the requested layer, head and token; None fields are picked by `extract`.
      lang: "en" or "zh" for captions.
      prompt: text to trace on the embedded model when no trace is given.
      labeler: ids -> token labels, for tokens outside the prompt (predictions).
      progress: called when each beat starts, with (beat, beats started, beats in total).
      still_only: draw only the closing still, skipping the beats; by default True when
        manim's format is png, which keeps only the last frame anyway.
    """

    scene_id: ClassVar[str] = ""
    color: ClassVar[str] = "#ffffff"
    beats: ClassVar[tuple[str, ...]] = ()

    def __init__(self, trace=None, focus: Focus | None = None, lang: str | None = None, prompt: str | None = None,
                 labeler=None, progress: ProgressCallback | None = None, still_only: bool | None = None, **kwargs: Any):
        # manim's CLI builds a scene with no arguments and prints a traceback for any exception.
        self.built_by_manim_cli = not kwargs and all(
            value is None for value in (trace, focus, lang, prompt, labeler, progress, still_only))
        env = inputs_from_env()
        self.trace_source = trace if trace is not None else env.trace
        self.prompt = prompt if prompt is not None else env.prompt
        self.focus_request = focus if focus is not None else env.focus
        self.lang = resolve_lang(lang) if lang else env.lang
        self.labeler = labeler
        self.progress = progress
        self.beats_done: list[str] = []
        self.caption_mobject: Mobject | None = None
        self.caption_cues: list[tuple[float, float, str]] = []  # (start s, end s, text) of each caption and the claim
        self._open_caption: tuple[float, str] | None = None
        # manim's scene cache hashes every mobject on every play, which grows quadratically with
        # a data-driven scene's length; `manim scenes/x.py` would otherwise have it on.
        config.disable_caching = True
        super().__init__(**kwargs)
        if still_only is None:
            still_only = config.format == "png"
        if still_only:
            self.construct = self.construct_still

    def render(self, preview: bool = False) -> bool:
        """Render the scene. Under manim's CLI a bad input (a MiniMindError such as a missing trace
        file) prints one line to stderr and exits with status 2 instead of a traceback."""
        if not self.built_by_manim_cli:
            return super().render(preview)
        try:
            return super().render(preview)
        except MiniMindError as error:
            sys.stderr.write(self.k("error", scene=type(self).__name__, message=self.localise(error)) + "\n")
            raise SystemExit(2) from None

    def localise(self, error: MiniMindError) -> str:
        """Return the error's message in the scene's language when the catalogue has its key (English messages are the exceptions' own text)."""
        if self.lang != "en" and error.key and has(error.key, self.lang):
            try:
                return t(error.key, lang=self.lang, **error.params)
            except (KeyError, IndexError, ValueError):
                pass
        return str(error)

    # --- data ------------------------------------------------------------------------------

    @classmethod
    def extract(cls, trace, focus: Focus, labeler=None):
        """Return the scene's data object for `trace`; subclasses implement it without drawing."""
        raise NotImplementedError

    def setup(self) -> None:
        self.camera.background_color = BACKGROUND
        self.trace = load_trace(self.trace_source, prompt=self.prompt, lang=self.lang)
        if self.labeler is None:
            from ..data.labels import labeler_for

            self.labeler = labeler_for(self.trace)
        self.data = self.extract(self.trace, self.focus_request, labeler=self.labeler)

    # --- words -----------------------------------------------------------------------------

    def s(self, name: str, /, **params: Any) -> str:
        """Return this scene's catalogue string `scene.<id>.<key>` in the scene's language."""
        return t(f"scene.{self.scene_id}.{name}", lang=self.lang, **params)

    def k(self, name: str, /, **params: Any) -> str:
        """Return a catalogue string shared by all scenes, `scene.kit.<key>`."""
        return t(f"scene.kit.{name}", lang=self.lang, **params)

    def reading_time(self, content: str, minimum: float = 1.5) -> float:
        """Return how long a caption stays up: long enough to read it once."""
        seconds = sum(READ_PER_CHAR_CJK if unicodedata.east_asian_width(c) in ("W", "F") else READ_PER_CHAR_LATIN for c in content)
        return max(minimum, seconds)

    def prompt_part(self, prompt: str) -> str:
        """Return the footer's "prompt: …" piece: the whole prompt when it fits one footer line, else shortened with "…"."""
        prompt = " ".join(prompt.split())  # newlines become spaces, because the footer gives the prompt one line
        label_width = text(self.k("prompt", prompt=""), SIZE_SMALL).width
        # fit_text wraps the footer by an average character width, so a prompt filling the whole
        # line would spill its last word onto the next; 90% of the line keeps it on one.
        width = 0.9 * (config.frame_width - 2 * MARGIN) - label_width
        return self.k("prompt", prompt=shorten_to_width(prompt, width, SIZE_SMALL))

    def focus_line(self, **parts: Any) -> str:
        """Return the card's provenance line: prompt (shortened only where it would not fit) and the focus the scene picked."""
        prompt = source.prompt_text(self.trace) or " ".join(source.token_labels(self.trace))
        pieces = [self.prompt_part(prompt)]
        for name in ("layer", "head", "token"):
            if name in parts and parts[name] is not None:
                pieces.append(self.k(name, value=parts[name]))
        return "   ".join(pieces)

    def provenance(self, **parts: Any) -> str:
        """Return the closing still's footer: focus line, model shape and weights hash."""
        model_config = source.model_config(self.trace)
        model = self.k("model", layers=model_config.num_hidden_layers, hidden=model_config.hidden_size, version=model_config.minimind_version)
        digest = source.weights_hash(self.trace)[:12]
        return f"{self.focus_line(**parts)}   {model}   {self.k('weights', digest=digest)}"

    # --- beats -----------------------------------------------------------------------------

    def beat(self, name: str) -> None:
        """Start beat `name`: a manim section (clips can be split there) and a progress tick.

        Beats must come in the order of `beats`, so that the list is the scene's outline.
        """
        expected = self.beats[len(self.beats_done)] if len(self.beats_done) < len(self.beats) else None
        if name != expected:
            raise RuntimeError(f"{type(self).__name__}: beat {name!r} started, expected {expected!r} (see its `beats`)")
        self.next_section(name)
        self.beats_done.append(name)
        if self.progress is not None:
            self.progress(name, len(self.beats_done), len(self.beats))

    def say(self, content: str, hold: bool = True) -> None:
        """Replace the caption with `content` and, by default, hold it long enough to read."""
        new = caption(content)
        self._close_caption()
        self._open_caption = (self.time, content)
        # Out, then in: two captions cross-fading in one band are unreadable.
        if self.caption_mobject is not None:
            self.play(OpacityFadeOut(self.caption_mobject), run_time=0.25)
        self.play(OpacityFadeIn(new), run_time=0.35)
        self.caption_mobject = new
        if hold:
            self.wait(self.reading_time(content))

    def _close_caption(self) -> None:
        if self._open_caption is not None:
            start, content = self._open_caption
            self.caption_cues.append((start, self.time, content))
            self._open_caption = None

    def tear_down(self) -> None:
        self._close_caption()
        super().tear_down()

    def clear_screen(self, run_time: float = 0.5) -> None:
        """Fade out everything on screen, caption included."""
        self._close_caption()
        if self.mobjects:
            self.play(*[OpacityFadeOut(m) for m in self.mobjects], run_time=run_time)
        self.caption_mobject = None

    def open_with_claim(self) -> None:
        """Show the claim card (concept name, claim sentence, what the trace shows), then clear it."""
        claim = self.s("claim", **self.claim_params())
        card = claim_card(self.s("title"), claim, self.focus_line(**self.focus_parts()), self.color)
        self._close_caption()
        start = self.time
        self.play(OpacityFadeIn(card), run_time=0.8)
        self.wait(self.reading_time(claim, minimum=CLAIM_HOLD))
        self.play(OpacityFadeOut(card), run_time=0.5)
        self.caption_cues.append((start, self.time, claim))

    def claim_params(self) -> dict[str, Any]:
        """Return the computed values the claim sentence is formatted with (none by default)."""
        return {}

    def focus_parts(self) -> dict[str, Any]:
        """Return the focus the scene shows, as keyword arguments of `focus_line`; subclasses override."""
        return {}

    def still(self) -> tuple[Mobject, list[str]]:
        """Return the closing still's figure and takeaway lines, built from `self.data` alone."""
        raise NotImplementedError

    def closing_still(self) -> ClosingStill:
        """Build the closing still: title, figure, takeaways, provenance."""
        figure, takeaways = self.still()
        return ClosingStill(self.s("title"), figure, takeaways, self.provenance(**self.focus_parts()), self.color)

    def end_on_still(self) -> ClosingStill:
        """Clear the screen and show the closing still, held long enough to read."""
        still = self.closing_still()
        self.clear_screen()
        self.play(OpacityFadeIn(still), run_time=0.8)
        self.wait(STILL_HOLD)
        return still

    def construct_still(self) -> None:
        """Draw only the closing still, as the last frame of the full scene shows it."""
        self.add(self.closing_still())

