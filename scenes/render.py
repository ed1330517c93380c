"""Render a registered scene to a file, with a JSON sidecar from which the clip can be rendered again.

`render_scene(scene_id, trace, options)` renders in the calling process. manim's config is
global to a process, so to render several clips at once call it from separate processes
(a multiprocessing pool with the "spawn" start method), passing trace paths rather than
in-memory traces.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from minimind.errors import MiniMindError
from tracer.errors import TraceError
from tracer.i18n import LANGUAGES, resolve_lang, t
from tracer.sites import site_info, template

from .data.focus import Focus
from .registry import get_scene

logger = logging.getLogger(__name__)

# name -> (width, height, frames per second); every size is 16:9 and even, as H.264 requires.
QUALITIES = {
    "draft": (854, 480, 15),
    "720p": (1280, 720, 30),
    "1080p": (1920, 1080, 60),
    "4k": (3840, 2160, 60),
}
FORMATS = ("mp4", "webm", "gif", "png")
DEFAULT_OUTPUT_DIR = Path("renders")
SIDECAR_VERSION = 1


@dataclass
class RenderOptions:
    """How to render a scene. Every field is recorded in the sidecar."""

    quality: str = "720p"  # a key of QUALITIES
    fps: int | None = None  # frames per second; None takes the quality's rate
    lang: str | None = None  # "en" or "zh"; None resolves MMTRACE_LANG, then the locale
    format: str = "mp4"  # a value of FORMATS; png writes the closing still only
    layer: int | None = None  # focus; None lets the scene pick
    head: int | None = None
    token: int | None = None  # position; negative counts from the end
    output: str | None = None  # output file or folder; None: renders/<scene>-<lang>-<quality>.<format>
    trace: str | None = None  # .mmtrace file, used when render_scene gets no trace
    prompt: str | None = None  # text to trace when there is no trace file
    checkpoint: str | None = None  # model for --prompt and the curriculum experiments; None: the embedded default model
    tokenizer: str | None = None
    config: str | None = None
    sections: bool = False  # also write one clip per beat (manim sections) beside the output
    encoder_preset: str | None = "ultrafast"  # H.264 preset for mp4; None keeps the encoder's default
    progress: bool = True  # show a progress bar on stderr

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RenderOptions":
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})


def _error(key: str, **params: Any) -> MiniMindError:
    return MiniMindError(t(key, lang="en", **params), key=key, **params)


def check_options(options: RenderOptions) -> RenderOptions:
    """Raise MiniMindError for an unknown quality, format or language, or a bad frame rate."""
    if options.quality not in QUALITIES:
        raise _error("render.error.quality", value=options.quality, choices=", ".join(QUALITIES))
    if options.format not in FORMATS:
        raise _error("render.error.format", value=options.format, choices=", ".join(FORMATS))
    if options.fps is not None and not 1 <= int(options.fps) <= 240:
        raise _error("render.error.fps", value=options.fps)
    if options.lang is not None and options.lang not in LANGUAGES:
        raise _error("render.error.lang", value=options.lang, choices=", ".join(LANGUAGES))
    return options


def output_path(scene_id: str, options: RenderOptions, lang: str) -> Path:
    """Return where the clip goes: options.output (a file, or a folder to put the default name in) or renders/.

    An output ending in a slash names a folder, created when missing.
    """
    name = f"{scene_id}-{lang}-{options.quality}.{options.format}"
    if options.output is None:
        path = DEFAULT_OUTPUT_DIR / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return path
    path = Path(options.output)
    if options.output.endswith(("/", os.sep)) and not path.exists():
        path.mkdir(parents=True)
    if path.is_dir():
        return path / name
    if not path.parent.is_dir():
        raise _error("render.error.output_folder", path=str(path), folder=str(path.parent))
    if path.suffix.lower() != f".{options.format}":
        raise _error("render.error.output_suffix", path=str(path), format=options.format)
    return path


def sidecar_path(output: Path) -> Path:
    """Return the sidecar of an output file: the same name plus .json."""
    return output.with_name(output.name + ".json")


def trace_digest(trace) -> str:
    """Return a SHA-256 of the trace's content: tokens, config, weights hash and every step's statistics.

    A trace in memory and the same trace saved and reopened give the same digest.
    """
    from tracer.tracefile import trace_to_json

    text = json.dumps(trace_to_json(trace), sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def tool_versions() -> dict[str, str]:
    """Return the versions of the tools that shape the pixels."""
    versions = {"python": platform.python_version()}
    for package in ("minimind-trace", "manim", "torch", "numpy", "av", "pillow", "manimpango"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def manim_cache_dir() -> Path:
    """Return the folder for manim's LaTeX and text caches, kept between renders."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "minimind-trace" / "manim"


def _model_options(options: RenderOptions) -> dict[str, str | None]:
    return {"checkpoint": options.checkpoint, "tokenizer": options.tokenizer, "config": options.config}


def _resolve_trace(trace, options: RenderOptions, lang: str):
    from .inputs import load_trace

    source = trace if trace is not None else options.trace
    return load_trace(source, prompt=options.prompt, lang=lang, **_model_options(options))


def _experiment_model(scene_class, options: RenderOptions) -> dict[str, Any]:
    """Return the model arguments of a scene that runs an experiment (`ExperimentScene`), else {}.

    The model is the one `--prompt` is traced on, loaded once per process: the checkpoint
    of the options, or the embedded default model.
    """
    from .curriculum.base import ExperimentScene
    from .inputs import load_model_and_tokenizer

    if not issubclass(scene_class, ExperimentScene):
        return {}
    model, tokenizer = load_model_and_tokenizer(**_model_options(options))
    return {"model": model, "tokenizer": tokenizer, "checkpoint": options.checkpoint}


class _BeatProgress:
    """A tqdm bar on stderr counting a scene's finished beats, naming the one being drawn."""

    def __init__(self, scene_id: str, total: int, enabled: bool):
        from tqdm import tqdm

        self.bar = tqdm(total=total, desc=scene_id, unit="beat", disable=not enabled, leave=True)

    def __call__(self, beat: str, started: int, total: int) -> None:
        self.bar.set_postfix_str(beat, refresh=False)
        self.bar.update(started - 1 - self.bar.n)

    def finish(self) -> None:
        self.bar.update(self.bar.total - self.bar.n)

    def close(self) -> None:
        self.bar.close()


def _extract_checking_sites(scene_class, trace, focus: Focus, labeler, experiment: dict) -> None:
    """Run the scene's extract, turning a site missing from the trace into a re-trace error.

    A trace lacks a site the scene reads when `mmtrace trace --sites` recorded only some sites,
    so the error asks for a trace without --sites or with a glob that covers the site.
    """
    try:
        scene_class.extract(trace, focus, labeler=labeler, **experiment)
    except TraceError as error:
        site = error.params.get("site") if error.key == "trace.error.unknown_site" else None
        if site is None or site_info(site).dims == ():
            raise  # not a known site name: a scene bug, reported as it is
        parts = template(site).split(".")
        glob = ".".join(parts[:-1] + ["*"]) if len(parts) > 1 else site
        raise _error("render.error.site_not_recorded", scene=scene_class.scene_id, site=site, glob=glob) from None


def render_scene(scene_id: str, trace=None, options: RenderOptions | None = None) -> Path:
    """Render scene `scene_id` and return the output path; write `<output>.json` beside it.

    `trace` is a tracer.Trace, a .mmtrace path, or None (then options.trace, options.prompt,
    or the default prompt of the language, traced on options.checkpoint or the embedded
    model). Curriculum scenes run their experiment on that same model. The clip is
    rendered in a temporary folder next to the output and moved into place when complete,
    so a failed render leaves no partial file. Raises MiniMindError for bad input.
    """
    options = check_options(options or RenderOptions())
    entry = get_scene(scene_id)
    lang = resolve_lang(options.lang)
    target = output_path(scene_id, options, lang)
    scene_class = entry.load()

    loaded = _resolve_trace(trace, options, lang)
    width, height, default_fps = QUALITIES[options.quality]
    fps = int(options.fps or default_fps)
    from .data.labels import labeler_for

    labeler = labeler_for(loaded, options.tokenizer)
    focus = Focus(options.layer, options.head, options.token)
    experiment = _experiment_model(scene_class, options)
    # Data extraction runs before manim starts, so focus errors surface as one-line errors.
    _extract_checking_sites(scene_class, loaded, focus, labeler, experiment)

    try:
        work = Path(tempfile.mkdtemp(prefix=".render-", dir=target.parent))
    except OSError as error:
        raise _error("render.error.output_unwritable", path=str(target), folder=str(target.parent),
                     detail=error.strerror or str(error)) from None
    started = time.perf_counter()
    progress = _BeatProgress(scene_id, len(scene_class.beats), options.progress and options.format != "png")
    try:
        scene = _render_in(work, scene_class, loaded, focus, lang, labeler, options, width, height, fps, progress, experiment)
        progress.finish()
        produced = _produced_file(scene, options.format)
        duration = float(scene.time)
        sections = None
        if options.sections and options.format in ("mp4", "webm"):
            sections = _move_sections(scene, target)
        record = _sidecar(entry, scene, loaded, options, lang, target, width, height, fps, duration, sections,
                          time.perf_counter() - started)
        sidecar_tmp = work / "sidecar.json"
        sidecar_tmp.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(produced, target)
        os.replace(sidecar_tmp, sidecar_path(target))
    finally:
        progress.close()
        shutil.rmtree(work, ignore_errors=True)
    logger.debug("wrote %s", target)
    return target


def _render_in(work: Path, scene_class, trace, focus, lang, labeler, options, width, height, fps, progress, experiment):
    from manim import tempconfig

    from .manim_cache import private_cache

    # manim writes new LaTeX and text files into a private copy of the cache. They join the
    # shared cache only when the render ends normally, so a render killed mid-write cannot
    # leave there an empty file that would break every later render.
    with private_cache(manim_cache_dir, work / "cache") as cache:
        settings = {
            "pixel_width": width,
            "pixel_height": height,
            "frame_rate": fps,
            "media_dir": str(work),
            "tex_dir": str(cache / "Tex"),
            "text_dir": str(cache / "texts"),
            "format": options.format,
            "output_file": scene_class.scene_id,  # names the section clips, e.g. attention_0003_mask.mp4
            "disable_caching": True,
            "progress_bar": "none",
            "verbosity": "ERROR",
            "save_sections": bool(options.sections),
            "max_inflight_encoders": 2,
        }
        if options.format == "mp4" and options.encoder_preset:
            settings["video_encoder_options"] = {"preset": options.encoder_preset}
        with tempconfig(settings):
            scene = scene_class(trace=trace, focus=focus, lang=lang, labeler=labeler, progress=progress, **experiment)
            scene.render()
    return scene


def _produced_file(scene, fmt: str) -> Path:
    writer = scene.renderer.file_writer
    path = Path(writer.image_file_path if fmt == "png" else writer.movie_file_path)
    if not path.is_file():
        raise RuntimeError(f"manim finished without writing {path}")
    return path


def _move_sections(scene, target: Path) -> str:
    """Move manim's per-section clips and index next to the output; return the folder's name."""
    source = Path(scene.renderer.file_writer.sections_output_dir)
    folder = target.with_name(target.stem + ".sections")
    staging = Path(tempfile.mkdtemp(prefix=".sections-", dir=target.parent))
    shutil.copytree(source, staging, dirs_exist_ok=True)
    if folder.exists():
        shutil.rmtree(folder)
    os.replace(staging, folder)
    return folder.name


def _sidecar(entry, scene, trace, options: RenderOptions, lang: str, target: Path, width: int, height: int, fps: int,
             duration: float, sections: str | None, seconds: float) -> dict[str, Any]:
    from .data import source

    data = scene.data
    picked = {name: getattr(data, name) for name in ("layer", "head", "token", "query") if hasattr(data, name)}
    # Absolute model paths, so --from-sidecar loads the same files from any folder.
    model_paths = {name: str(Path(value).resolve()) if value else None for name, value in _model_options(options).items()}
    recorded = dict(options.to_dict(), lang=lang, output=target.name, progress=False, **model_paths)
    trace_file = getattr(trace, "path", None)
    return {
        "sidecar_version": SIDECAR_VERSION,
        "scene": entry.id,
        "scene_class": f"{entry.module}.{entry.class_name}",
        "output": target.name,
        "format": options.format,
        "resolution": [width, height],
        "fps": fps,
        "duration_s": round(duration, 3),
        "beats": list(scene.beats_done),
        "captions": [{"start": round(a, 3), "end": round(b, 3), "text": text} for a, b, text in scene.caption_cues],
        "sections": sections,
        "focus": picked,
        "trace": {
            "sha256": trace_digest(trace),
            "file": str(Path(trace_file).resolve()) if trace_file else None,
            "prompt": source.prompt_text(trace) or None,
            "weights_sha256": source.weights_hash(trace),
            "tokens": len(source.token_ids(trace)),
        },
        "model": _experiment_record(scene, model_paths["checkpoint"]),
        "options": recorded,
        "versions": tool_versions(),
        "rendered_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "render_seconds": round(seconds, 2),
    }


def _experiment_record(scene, checkpoint: str | None) -> dict[str, Any] | None:
    """Return the model a curriculum scene ran its experiment on; None for scenes drawn from the trace alone."""
    from tracer.fingerprint import weights_sha256

    from .curriculum.base import ExperimentScene

    if not isinstance(scene, ExperimentScene):
        return None
    return {"checkpoint": checkpoint, "weights_sha256": weights_sha256(scene.model)}


def render_from_sidecar(path: str | Path, output: str | None = None, progress: bool = True) -> Path:
    """Render the clip a sidecar describes again; return the new output path.

    The trace is the recorded file when it still exists, else the recorded prompt traced
    again on the recorded model options. Either way its digest must match the sidecar's, or
    MiniMindError names both digests. The output goes beside the
    sidecar under its recorded name unless `output` is given.
    """
    path = Path(path)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        scene_id, recorded_trace = record["scene"], record["trace"]
        options = RenderOptions.from_dict(record["options"])
    except FileNotFoundError:
        raise _error("render.error.sidecar_missing", path=str(path)) from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise _error("render.error.sidecar_invalid", path=str(path), detail=type(error).__name__) from None

    options.progress = progress
    options.output = output if output is not None else str(path.parent / record.get("output", ""))
    trace = None
    file = recorded_trace.get("file")
    if file and Path(file).is_file():
        trace = file
    elif recorded_trace.get("prompt"):
        options.prompt = recorded_trace["prompt"]
        options.trace = None
    else:
        raise _error("render.error.sidecar_trace", path=str(path), file=str(file))
    loaded = _resolve_trace(trace, options, resolve_lang(options.lang))
    digest = trace_digest(loaded)
    if digest != recorded_trace.get("sha256"):
        raise _error("render.error.sidecar_digest", path=str(path), recorded=str(recorded_trace.get("sha256"))[:12], actual=digest[:12])
    return render_scene(scene_id, loaded, options)
