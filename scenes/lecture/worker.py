"""One render in one worker process: the scene's video, then its sections, still and subtitles.

Everything is written inside the job's staging folder. The parent process moves the files
into the lecture folder only after the worker has exited successfully, so a worker that is
stopped halfway leaves nothing behind but its staging folder.
"""

from __future__ import annotations

import json
import logging
import multiprocessing.util
import os
import signal
import sys
import traceback
from pathlib import Path

from .media import probe, save_last_frame
from .sections import default_index, read_sections
from .source import RenderedClip, load_source
from .subtitles import to_srt

RESULT_FILE = "result.json"
ERROR_FILE = "error.txt"

logger = logging.getLogger(__name__)


def run_job(job: dict, progress_queue) -> None:
    """Process entry point: render `job` and write result.json, or error.txt and exit 1.

    The worker leads a process group of its own, so that the parent can stop it together with
    the LaTeX processes manim starts. SIGINT is ignored: the parent decides what stops.
    """
    os.setpgid(0, 0)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The parent stops a worker with SIGTERM. SIGTERM's default action skips multiprocessing's
    # finalizers, which unlink the semaphores this process created (tqdm's lock, for one), and
    # resource_tracker then warns about "leaked semaphore objects" when the parent exits.
    signal.signal(signal.SIGTERM, _exit_on_terminate)
    # manim's import installs a root handler; the parent's verbosity decides what reaches it.
    logging.getLogger().setLevel(job.get("log_level", logging.WARNING))
    staging = Path(job["staging"])
    _share_cores(job.get("threads", 1))
    try:
        source = load_source(job["source"])

        def report(seconds: float) -> None:
            progress_queue.put((job["scene"], float(seconds)))

        trace = Path(job["trace"]) if job.get("trace") else None
        rendered = source.render(job["scene"], trace, job["options"], staging / "render", report)
        result = collect_outputs(rendered, staging / "out")
        result.update(scene=job["scene"], key=job["key"])
        _write_json(staging / RESULT_FILE, result)
    except BaseException:  # noqa: BLE001 - the parent reports whatever stopped the render
        (staging / ERROR_FILE).write_text(traceback.format_exc(), encoding="utf-8")
        sys.exit(1)


def _exit_on_terminate(signum, frame) -> None:
    """Run multiprocessing's finalizers, then exit at once with status 128 + signum.

    Raising SystemExit here instead can land in a weakref callback, where Python only prints it.
    """
    # NOTE: _run_finalizers is private to multiprocessing.util (checked on CPython 3.11);
    # minimum priority 0 runs the semaphore clean-ups and leaves queue joins out.
    multiprocessing.util._run_finalizers(0)
    os._exit(128 + signum)


def _share_cores(threads: int) -> None:
    # Several workers run at once; each letting torch use every core would oversubscribe them.
    # The variable covers a torch imported later in this process.
    os.environ["OMP_NUM_THREADS"] = str(max(1, threads))
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(max(1, threads))


def collect_outputs(rendered: RenderedClip, out: Path) -> dict:
    """Move the clip and its sections into `out`, add the closing still and subtitles, describe them.

    Returns the clip record: duration, size, sections (file, start, duration), caption cues and
    the render's sidecar. File names in it are relative to `out`.
    """
    out.mkdir(parents=True, exist_ok=True)
    info = probe(rendered.video)
    sections = read_sections(rendered.sections_index or default_index(rendered.video))

    clip = out / "clip.mp4"
    os.replace(rendered.video, clip)
    save_last_frame(clip, out / "still.png")
    (out / "captions.srt").write_text(to_srt(rendered.cues), encoding="utf-8")

    # One section is the clip itself; keep one file instead of two copies.
    records = []
    if len(sections) > 1:
        (out / "sections").mkdir()
        for number, section in enumerate(sections):
            name = f"sections/{number:02d}.mp4"
            os.replace(section.video, out / name)
            records.append({"name": section.name, "file": name, "start": round(section.start, 6), "duration": round(section.duration, 6)})
    else:
        name = sections[0].name if sections else ""
        records.append({"name": name, "file": "clip.mp4", "start": 0.0, "duration": round(info["duration"], 6)})

    return {
        "duration": round(info["duration"], 6),
        "width": info["width"],
        "height": info["height"],
        "sections": records,
        "cues": [{"start": round(c.start, 6), "end": round(c.end, 6), "text": c.text} for c in rendered.cues],
        "claim": rendered.claim,
        "render": rendered.sidecar,
    }


def _write_json(path: Path, data: dict) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(temporary, path)
