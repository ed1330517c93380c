"""Time `mmtrace lecture` on the whole curriculum with one worker process, then with one per core.

Both builds render the same scenes from the same trace into fresh folders (no clip reused),
so the ratio of their wall times is the speed-up that parallel workers give on this machine.
Prints a Markdown section and writes it into docs/benchmarks.md (pass --no-write to skip).
Long: at 1080p60 expect tens of minutes on a small machine.

    .venv/bin/python benchmarks/lecture_speed.py [--quality NAME] [--scenes a,b] [--jobs N] [--trace FILE] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scenes.inputs import DEFAULT_PROMPTS  # noqa: E402
from scenes.lecture.build import LectureRequest, build_lecture  # noqa: E402
from scenes.lecture.registry_source import RegistrySource  # noqa: E402
from scenes.lecture.trace_input import prompt_trace_maker  # noqa: E402
from tracer.cli.cmd_lecture import default_jobs  # noqa: E402

from docs_section import DOCS, write_section  # noqa: E402


def build(folder: Path, trace: Path, scene_ids, quality: str, jobs: int):
    started = time.perf_counter()
    report = build_lecture(
        LectureRequest(out_dir=folder, trace=trace, scene_ids=scene_ids, quality=quality, lang="en", jobs=jobs, force=True, show_progress=False)
    )
    wall = time.perf_counter() - started
    if report.failed:
        raise SystemExit(f"benchmark aborted: scenes failed: {', '.join(report.failed)}")
    return wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quality", help="render quality (default: the one that gives 1080p60)")
    parser.add_argument("--scenes", help="comma-separated scene ids (default: the whole curriculum)")
    parser.add_argument("--jobs", type=int, default=default_jobs(), help="worker processes of the parallel build (default: CPU cores)")
    parser.add_argument("--trace", type=Path, help="a .mmtrace file to draw from (default: trace the default English prompt on the embedded model)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()

    source = RegistrySource()
    quality = args.quality or source.quality_for(1920, 1080, 60)
    scene_ids = args.scenes.split(",") if args.scenes else source.scene_ids()
    options = source.resolve_options(quality, "en")

    with tempfile.TemporaryDirectory(prefix="lecture-speed-") as root:
        root = Path(root)
        trace = args.trace
        if trace is None:
            trace_folder = root / "trace"
            trace_folder.mkdir()
            model_args = argparse.Namespace(checkpoint=None, tokenizer=None, config=None)
            trace, _ = prompt_trace_maker(DEFAULT_PROMPTS["en"], model_args)(trace_folder, {})

        # manim caches LaTeX and text renderings across builds. An untimed draft build fills that
        # cache first, because otherwise the first timed build would pay for it alone.
        build(root / "warmup", trace, scene_ids, "draft", args.jobs)
        load_start = os.getloadavg()[0]
        serial = build(root / "serial", trace, scene_ids, quality, 1)
        parallel = build(root / "parallel", trace, scene_ids, quality, args.jobs)
        load_end = os.getloadavg()[0]

        clips = json.loads((root / "parallel" / "lecture.json").read_text(encoding="utf-8"))["clips"]
        video_seconds = sum(clip["duration"] for clip in clips.values())

    size = f"{options.get('pixel_width', '?')}x{options.get('pixel_height', '?')} at {options.get('frame_rate', '?')} fps"
    drawn_from = f"trace `{args.trace.name}`" if args.trace else "one trace of the default English prompt"
    lines = [
        "## Lecture rendering: parallel workers (benchmarks/lecture_speed.py)",
        "",
        f"{time.strftime('%Y-%m-%d')}: {len(scene_ids)} scenes, {video_seconds:.0f} s of video, quality `{quality}` ({size}), "
        f"{drawn_from}. Both builds render every clip (`--force`) from the same trace, one worker process first, "
        f"then {args.jobs}, after an untimed draft build that fills manim's LaTeX and text cache.",
        f"Machine: {os.cpu_count()} CPU cores, {platform.processor() or platform.machine()}, Python {platform.python_version()}; "
        f"one-minute load average {load_start:.1f} at the start and {load_end:.1f} at the end.",
        "",
        "| workers | wall time | seconds of video per wall second |",
        "|---|---|---|",
        f"| 1 | {serial:.0f} s | {video_seconds / serial:.2f} |",
        f"| {args.jobs} | {parallel:.0f} s | {video_seconds / parallel:.2f} |",
        "",
        f"Speed-up with {args.jobs} workers: {serial / parallel:.2f}x.",
    ]
    print("\n".join(lines))
    if not args.no_write:
        write_section("lecture_speed", "\n".join(lines))
        print(f"\nwrote {DOCS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
