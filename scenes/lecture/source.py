"""Scene sources: the catalogues a lecture's clips come from, which list scene ids and render one.

The lecture builder only talks to a source, so its workers, manifest and page can be tested
against a small stand-in scene, and the real catalogue plugs in through `RegistrySource`.
Workers are separate processes, so a source is named by an import path, "module:attribute".
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

from .subtitles import Cue

# Called by a render with the seconds of video rendered so far, for the progress bar.
ProgressCallback = Callable[[float], None]


@dataclass
class RenderedClip:
    """The files and records that one render left in its staging folder.

    `video` is the whole clip. `sections_index` is manim's section index (written with
    save_sections=True); None means manim's own place, `<video folder>/sections/<stem>.json`.
    `cues` are the captions with their times, `claim` the claim sentence as shown (None: use
    the source's description), and `sidecar` the render's description of itself (scene id,
    trace hash, options, tool versions).
    """

    video: Path
    sections_index: Path | None = None
    cues: list[Cue] = field(default_factory=list)
    claim: str | None = None
    sidecar: dict = field(default_factory=dict)


@dataclass(frozen=True)
class SceneInfo:
    """The title of a scene and the one-sentence claim it makes, in one language."""

    scene_id: str
    title: str
    claim: str


class SceneSource(Protocol):
    """A catalogue of scenes that a lecture can be built from."""

    def scene_ids(self) -> list[str]:
        """Return every scene id, in curriculum order."""

    def describe(self, scene_id: str, lang: str) -> SceneInfo:
        """Return the title and claim of `scene_id` in `lang`."""

    def position(self, scene_id: str) -> int:
        """Return the 1-based place of `scene_id` in the curriculum, used in file names."""

    def qualities(self) -> list[str]:
        """Return the accepted --quality names."""

    def default_quality(self) -> str:
        """Return the quality used when none is requested."""

    def resolve_options(self, quality: str, lang: str) -> dict:
        """Return the complete render options for a quality and language (JSON values only)."""

    def render(self, scene_id: str, trace: Path | None, options: dict, staging: Path, progress: ProgressCallback) -> RenderedClip:
        """Render `scene_id` into the folder `staging` and return what was written."""

    # Optional: `fingerprint() -> str`, a hash of the code and strings that draw the clips.
    # It is part of every clip's input key, so editing a scene renders it again.
    # Optional: `preload_modules() -> list[str]`, modules the workers' fork server imports once.


def load_source(reference: str) -> SceneSource:
    """Import the source named "package.module:attribute" (an instance, or a class to instantiate)."""
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"scene source {reference!r} is not of the form 'module:attribute'")
    value = getattr(importlib.import_module(module_name), attribute)
    return value() if isinstance(value, type) else value
