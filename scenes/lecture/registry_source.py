"""The real scene catalogue as a lecture source: scenes.registry for ids, scenes.render for clips.

Importing this module does not import manim (the command line builds its parser from it).
"""

from __future__ import annotations

import json
from pathlib import Path

from tracer.i18n import has, t

from .manifest import file_sha256, input_key
from .source import ProgressCallback, RenderedClip, SceneInfo

# The quality of a lecture without --quality, the same as the default of `mmtrace render`.
DEFAULT_QUALITY = "720p"


def quality_names() -> list[str]:
    """Return the render API's quality names, lowest first."""
    from scenes.render import QUALITIES

    return list(QUALITIES)


class RegistrySource:
    """Every registered scene, in curriculum order, rendered with `scenes.render.render_scene`."""

    def scene_ids(self) -> list[str]:
        from scenes.registry import list_scenes

        return [entry.id for entry in list_scenes()]

    def position(self, scene_id: str) -> int:
        # The curriculum's own numbering, so file names stay put as more scenes are registered.
        from scenes.registry import CURRICULUM

        if scene_id in CURRICULUM:
            return CURRICULUM.index(scene_id) + 1
        return len(CURRICULUM) + self.scene_ids().index(scene_id) + 1

    def describe(self, scene_id: str, lang: str) -> SceneInfo:
        # The claim shown in the clip may carry computed values; the render records that text,
        # and this one-line summary is the fallback.
        title = t(f"scene.{scene_id}.title", lang=lang) if has(f"scene.{scene_id}.title") else scene_id
        summary = t(f"scene.{scene_id}.summary", lang=lang) if has(f"scene.{scene_id}.summary") else ""
        return SceneInfo(scene_id, title, summary)

    def qualities(self) -> list[str]:
        return quality_names()

    def default_quality(self) -> str:
        return DEFAULT_QUALITY

    def quality_for(self, width: int, height: int, fps: int) -> str:
        """Return the quality name that renders at `width`x`height` and `fps`."""
        from scenes.render import QUALITIES

        for name, preset in QUALITIES.items():
            if preset == (width, height, fps):
                return name
        raise ValueError(f"no render quality gives {width}x{height} at {fps} fps: choose one of {', '.join(QUALITIES)}")

    def resolve_options(self, quality: str, lang: str) -> dict:
        from scenes.render import QUALITIES

        width, height, fps = QUALITIES[quality]
        return {"quality": quality, "lang": lang, "pixel_width": width, "pixel_height": height, "frame_rate": fps}

    def fingerprint(self) -> str:
        """Return a hash of what draws the clips: the scene code and the scenes' catalogue strings.

        Only `scene.*` strings count, so editing command-line help does not re-render clips.
        """
        import scenes
        from tracer.i18n import en, zh

        root = Path(scenes.__file__).parent
        lecture = Path(__file__).parent
        code = {path.relative_to(root).as_posix(): file_sha256(path) for path in sorted(root.rglob("*.py")) if lecture not in path.parents}
        strings = {lang: {k: v for k, v in catalogue.STRINGS.items() if k.startswith("scene.")} for lang, catalogue in (("en", en), ("zh", zh))}
        return input_key({"code": code, "strings": strings})

    def preload_modules(self) -> list[str]:
        """Return manim, the render API and every scene module, imported once by the fork server."""
        from scenes.registry import list_scenes

        return ["manim", "scenes.render", *(entry.module for entry in list_scenes())]

    def render(self, scene_id: str, trace: Path | None, options: dict, staging: Path, progress: ProgressCallback) -> RenderedClip:
        from scenes.render import RenderOptions, manim_cache_dir, render_scene, sidecar_path

        from ..manim_cache import private_cache
        from .capture import recording_captions, reporting_progress

        staging.mkdir(parents=True, exist_ok=True)
        render_options = RenderOptions(
            quality=options["quality"],
            lang=options["lang"],
            format="mp4",
            output=str(staging / f"{scene_id}.mp4"),
            sections=True,
            progress=False,
            checkpoint=options.get("checkpoint"),
            tokenizer=options.get("tokenizer"),
            config=options.get("config"),
        )
        with private_cache(manim_cache_dir, staging / "cache"), recording_captions() as captions, reporting_progress(progress):
            video = render_scene(scene_id, str(trace) if trace else None, render_options)

        sections = video.with_name(video.stem + ".sections")
        indexes = sorted(sections.glob("*.json"))
        return RenderedClip(
            video=video,
            sections_index=indexes[0] if indexes else None,
            cues=captions.cues,
            claim=captions.claim,
            sidecar=json.loads(sidecar_path(video).read_text(encoding="utf-8")),
        )
