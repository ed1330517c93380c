"""Record, inside a worker process, what a trace scene shows and when: caption cues and progress.

The render API returns only the video, so the worker wraps the scene base class's caption
methods (`TraceScene.say`, `clear_screen`, `open_with_claim`) and manim's CairoRenderer.play
for the duration of one render. A worker renders one scene, so the cues go to one list.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator

from .subtitles import Cue


@dataclass
class CaptionLog:
    """The caption cues of one render, in order, and the claim sentence as the card showed it."""

    cues: list[Cue] = field(default_factory=list)
    claim: str | None = None


@contextmanager
def recording_captions() -> Iterator[CaptionLog]:
    """Yield a CaptionLog that fills with the captions of the scene rendered inside the block.

    A caption lasts from the `say` that shows it to the next `say` or `clear_screen`, or to
    the end of the scene. The claim card counts as a caption for the time it is on screen.
    """
    from scenes.kit.base import TraceScene

    log = CaptionLog()
    cues = log.cues
    open_cue: dict = {}
    names = ("say", "clear_screen", "open_with_claim", "tear_down")
    originals = {name: getattr(TraceScene, name) for name in names}
    # tear_down may be inherited from manim's Scene; only what TraceScene itself defines is put back.
    own = {name: TraceScene.__dict__[name] for name in names if name in TraceScene.__dict__}

    def close(scene) -> None:
        if open_cue:
            cues.append(Cue(open_cue.pop("start"), scene.renderer.time, open_cue.pop("text")))

    def say(self, content, *args, **kwargs):
        close(self)
        open_cue.update(start=self.renderer.time, text=content)
        return originals["say"](self, content, *args, **kwargs)

    def clear_screen(self, *args, **kwargs):
        close(self)
        return originals["clear_screen"](self, *args, **kwargs)

    def open_with_claim(self, *args, **kwargs):
        close(self)
        start = self.renderer.time
        result = originals["open_with_claim"](self, *args, **kwargs)
        log.claim = self.s("claim", **self.claim_params())
        cues.append(Cue(start, self.renderer.time, log.claim))
        return result

    def tear_down(self, *args, **kwargs):
        close(self)
        return originals["tear_down"](self, *args, **kwargs)

    replacements = {"say": say, "clear_screen": clear_screen, "open_with_claim": open_with_claim, "tear_down": tear_down}
    for name, function in replacements.items():
        setattr(TraceScene, name, function)
    try:
        yield log
    finally:
        for name in names:
            if name in own:
                setattr(TraceScene, name, own[name])
            else:
                delattr(TraceScene, name)


@contextmanager
def reporting_progress(report: Callable[[float], None]) -> Iterator[None]:
    """Call `report(seconds rendered)` after every animation of a Cairo-rendered scene."""
    from manim.renderer.cairo_renderer import CairoRenderer

    original = CairoRenderer.play

    def play(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        report(self.time)
        return result

    CairoRenderer.play = play
    try:
        yield
    finally:
        CairoRenderer.play = original
