"""Build a lecture folder: pick the clips to render, render them in parallel, publish, write the page.

Layout of the folder (NN is the scene's place in the curriculum, so files sort in order):

    index.html                 the slide player
    lecture.json               manifest: inputs and files of every clip
    NN-scene.mp4 / .png / .srt the clip, its closing still, its subtitles
    NN-scene.json              the clip's sidecar: render details, sections, caption cues
    sections/NN-scene/MM.mp4   one video per section, played one at a time by index.html

Files appear only complete: workers render inside `.staging/`, and the parent moves a clip's
files into place while interrupts are held off, then records them in the manifest.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Callable

from minimind.errors import MiniMindError

from .interrupts import deferred_interrupts, terminate_as_interrupt
from .lock import folder_lock
from .manifest import Manifest, file_sha256, input_key
from .page import write_index
from .pool import JobOutcome, run_jobs
from .progress import RenderProgress
from .publish import publish_clip
from .source import SceneSource, load_source

logger = logging.getLogger(__name__)

DEFAULT_SOURCE = "scenes.lecture.registry_source:RegistrySource"
STAGING = ".staging"


# Given the lecture folder and the manifest's record of the trace used last time, return the
# trace file to draw from and the record to keep (see trace_input.prompt_trace_maker).
TraceMaker = Callable[[Path, dict], "tuple[Path, dict]"]


@dataclass
class LectureRequest:
    """The lecture to build: which scenes (None for all) from which trace and model, how, and where.

    The trace is either a file (`trace`) or made inside the folder by `make_trace`, which
    runs while the folder is locked. The curriculum scenes run their experiments on the
    model of `model_options`.
    """

    out_dir: Path
    trace: Path | None
    make_trace: TraceMaker | None = None
    scene_ids: list[str] | None = None
    quality: str | None = None
    lang: str = "en"
    jobs: int = 1
    force: bool = False
    source: str = DEFAULT_SOURCE
    show_progress: bool = True
    # --checkpoint, --tokenizer, --config as absolute paths, passed to every render ({}: the
    # embedded model), and what identifies that model in the clips' input keys (None: embedded).
    model_options: dict[str, str] = field(default_factory=dict)
    model_identity: dict | None = None


@dataclass
class LectureReport:
    """The outcome of a build: scene ids rendered, reused and failed (with the worker's traceback)."""

    index: Path
    rendered: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


def build_lecture(request: LectureRequest) -> LectureReport:
    """Render the requested clips that are missing or out of date, then write index.html.

    Raises MiniMindError for an unknown scene id or quality, or when another build has locked
    the folder. KeyboardInterrupt propagates after the workers have stopped, the staging folder is
    gone, and the manifest and index describe the clips finished so far.
    """
    started = time.monotonic()
    source = load_source(request.source)
    scene_ids = select_scenes(source, request.scene_ids)
    quality = request.quality or source.default_quality()
    if quality not in source.qualities():
        raise MiniMindError(
            f"unknown quality {quality!r}: pass one of {', '.join(source.qualities())}",
            key="lecture.error.quality",
            quality=quality,
            choices=", ".join(source.qualities()),
        )
    options = source.resolve_options(quality, request.lang)
    out = request.out_dir
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise MiniMindError(
            f"cannot create the lecture folder {out} ({error.strerror or error}): pass a writable folder with -o",
            key="lecture.error.folder",
            folder=str(out),
            reason=str(error.strerror or error),
        ) from None

    with folder_lock(out), terminate_as_interrupt():
        staging = out / STAGING
        shutil.rmtree(staging, ignore_errors=True)
        manifest = Manifest.load(out)
        report = LectureReport(index=out / "index.html")
        trace = request.trace
        if request.make_trace is not None:
            trace, manifest.trace = request.make_trace(out, manifest.trace)
        elif trace is not None:
            manifest.trace = {"file": str(trace.resolve()), "sha256": file_sha256(trace)}
        trace_hash = manifest.trace.get("sha256") if trace is not None else None
        jobs = _plan_jobs(request, trace, trace_hash, source, scene_ids, options, manifest, staging, report)

        progress = RenderProgress(
            [(job["scene"], _expected_seconds(manifest, job["scene"])) for job in jobs],
            enabled=request.show_progress,
        )

        def finished(outcome: JobOutcome) -> None:
            scene = outcome.job["scene"]
            if outcome.error is not None:
                report.failed[scene] = outcome.error
                progress.failed(scene)
                return
            with deferred_interrupts():
                publish_clip(out, outcome, manifest, source, request.lang)
            report.rendered.append(scene)
            progress.finished(scene, outcome.result["duration"])

        try:
            if jobs:
                run_jobs(jobs, max(1, request.jobs), _preload(request.source, source), progress.update, finished)
        finally:
            # A second Ctrl-C must not cut the clean-up short.
            with deferred_interrupts():
                progress.close()
                shutil.rmtree(staging, ignore_errors=True)
                manifest.order = scene_ids
                manifest.save()
                write_index(out, manifest, scene_ids, request.lang)

    report.seconds = time.monotonic() - started
    return report


def select_scenes(source: SceneSource, requested: list[str] | None) -> list[str]:
    """Return the requested scene ids in curriculum order (all when None), rejecting unknown ones."""
    known = source.scene_ids()
    if not requested:
        return list(known)
    unknown = [scene for scene in requested if scene not in known]
    if unknown:
        raise MiniMindError(
            f"unknown scene {unknown[0]!r}: pass ids from `mmtrace scenes`, such as {', '.join(known[:3])}",
            key="lecture.error.unknown_scene",
            scene=unknown[0],
            examples=", ".join(known[:3]),
        )
    wanted = set(requested)
    return [scene for scene in known if scene in wanted]


def _plan_jobs(request, trace, trace_hash, source, scene_ids, options, manifest, staging, report) -> list[dict]:
    code = _code_fingerprint(source)
    version = _package_version()
    jobs = []
    for scene in scene_ids:
        inputs = {"scene": scene, "trace": trace_hash, "options": options, "version": version, "code": code}
        if request.model_identity is not None:
            inputs["model"] = request.model_identity
        key = input_key(inputs)
        stem = clip_stem(source, scene)
        if not request.force and manifest.reusable(scene, key, stem):
            report.reused.append(scene)
            continue
        jobs.append(
            {
                "scene": scene,
                "key": key,
                "inputs": inputs,
                "stem": stem,
                "source": request.source,
                "trace": str(trace.resolve()) if trace else None,
                "options": {**options, **request.model_options},
                "staging": str(staging / scene),
                "threads": max(1, (os.cpu_count() or 1) // max(1, request.jobs)),
                "log_level": logging.getLogger().getEffectiveLevel(),
            }
        )
    return jobs


def clip_stem(source: SceneSource, scene_id: str) -> str:
    """Return the file stem of a clip: its 1-based place in the curriculum, then its id."""
    return f"{source.position(scene_id):02d}-{scene_id}"


def _expected_seconds(manifest: Manifest, scene: str) -> float | None:
    entry = manifest.clips.get(scene)
    return float(entry["duration"]) if entry and entry.get("duration") else None


def _code_fingerprint(source: SceneSource) -> str | None:
    """Return the source's hash of the code and strings that draw its clips, if it has one."""
    fingerprint = getattr(source, "fingerprint", None)
    return fingerprint() if fingerprint is not None else None


def _package_version() -> str:
    try:
        return metadata.version("minimind-trace")
    except metadata.PackageNotFoundError:
        return "unknown"


def _preload(source_reference: str, source: SceneSource) -> list[str]:
    """Return the modules the fork server imports once for all workers."""
    modules = getattr(source, "preload_modules", lambda: [])()
    return [source_reference.partition(":")[0], *modules]
