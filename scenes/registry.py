"""The scene registry: stable scene ids, in curriculum order, mapped to their scene classes.

Importing this module does not import manim, so `mmtrace scenes` stays fast. To add a scene,
write a `TraceScene` subclass in its own module and add one `register_scene` line below, or
call `register_scene` at run time. Its one-line description is the catalogue key
`scene.<id>.summary` in tracer/i18n/en.py and zh.py.
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass

from minimind.errors import MiniMindError
from tracer.i18n import t

# Every concept the clips teach, in teaching order: normalisation, position encoding,
# attention, feed-forward, the whole pass. `list_scenes` sorts registered ids by this list.
CURRICULUM = (
    "why-norm",
    "rmsnorm",
    "norm-compare",
    "pre-post-norm",
    "rope-basics",
    "rope-rotation",
    "rope-frequencies",
    "rope-precision",
    "yarn",
    "attention",
    "gqa",
    "kv-cache",
    "swiglu",
    "moe",
    "residual-stream",
    "forward",
)


@dataclass(frozen=True)
class SceneEntry:
    """One registered scene."""

    id: str  # stable id, used on the command line and in file names
    module: str  # importable module that defines the class
    class_name: str  # a scenes.kit.TraceScene subclass

    def summary(self, lang: str | None = None) -> str:
        """Return the one-line description in `lang`."""
        return t(f"scene.{self.id}.summary", lang=lang)

    def load(self):
        """Import and return the scene class."""
        return getattr(importlib.import_module(self.module), self.class_name)


_REGISTRY: dict[str, SceneEntry] = {}


def register_scene(scene_id: str, module: str, class_name: str) -> SceneEntry:
    """Register (or replace) the scene `scene_id` and return its entry."""
    entry = SceneEntry(scene_id, module, class_name)
    _REGISTRY[scene_id] = entry
    return entry


def list_scenes() -> list[SceneEntry]:
    """Return the registered scenes, curriculum order first, then any others by id."""
    rank = {scene_id: index for index, scene_id in enumerate(CURRICULUM)}
    return sorted(_REGISTRY.values(), key=lambda entry: (rank.get(entry.id, len(rank)), entry.id))


def get_scene(scene_id: str) -> SceneEntry:
    """Return the entry of `scene_id`; raise MiniMindError naming the known ids when it is unknown."""
    entry = _REGISTRY.get(scene_id)
    if entry is not None:
        return entry
    known = [e.id for e in list_scenes()]
    close = difflib.get_close_matches(scene_id, known, n=1)
    key = "render.error.unknown_scene_close" if close else "render.error.unknown_scene"
    params = {"scene": scene_id, "close": close[0] if close else "", "known": ", ".join(known)}
    raise MiniMindError(t(key, lang="en", **params), key=key, **params)


register_scene("rmsnorm", "scenes.rmsnorm", "RMSNormScene")
register_scene("rope-rotation", "scenes.rope_rotation", "RopeRotationScene")
register_scene("attention", "scenes.attention", "AttentionScene")
register_scene("gqa", "scenes.gqa", "GQAScene")
register_scene("swiglu", "scenes.swiglu", "SwiGLUScene")
register_scene("forward", "scenes.forward", "ForwardScene")

# The curriculum scenes (one per experiment in scenes.experiments) list themselves.
from scenes.curriculum import register_curriculum  # noqa: E402

register_curriculum(register_scene)
