"""Time `render_scene` per scene: seconds of rendering per second of video, at draft and at 1080p60.

Targets: a core clip at 1080p60 renders in at most 2 s per second of video, and a draft in at
most 0.25 s per second (4x faster than real time). Every render is a full mp4 through the
same API as `mmtrace render`, from one trace of the English default prompt on the embedded
model (or --trace). The numbers go into the "Render speed" section of docs/benchmarks.md,
replacing that section only, and are printed.

    .venv/bin/python benchmarks/render_speed.py [--scenes a,b] [--qualities draft,1080p] [--trace FILE]

Long: the six core scenes at 1080p60 take several minutes on a two-core machine.
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

from docs_section import write_section  # noqa: E402
from scenes.render import QUALITIES, RenderOptions, render_scene, sidecar_path  # noqa: E402

CORE = ("rmsnorm", "rope-rotation", "attention", "gqa", "swiglu", "forward")
TARGETS = {"draft": 0.25, "1080p": 2.0}  # seconds of rendering per second of video


def default_trace(folder: Path) -> Path:
    """Trace the English default prompt on the embedded model and save it in `folder`."""
    from scenes.inputs import DEFAULT_PROMPTS, trace_prompt_text
    from tracer import save_trace

    return save_trace(trace_prompt_text(DEFAULT_PROMPTS["en"]), folder / "default-en.mmtrace")


def time_render(scene_id: str, trace: Path, quality: str, folder: Path, preset: str | None) -> dict:
    """Render one clip and return its wall time, video duration and their ratio."""
    options = RenderOptions(quality=quality, format="mp4", lang="en", output=str(folder), progress=False, encoder_preset=preset)
    started = time.perf_counter()
    path = render_scene(scene_id, str(trace), options)
    wall = time.perf_counter() - started
    record = json.loads(sidecar_path(path).read_text(encoding="utf-8"))
    path.unlink()
    duration = record["duration_s"]
    return {"scene": scene_id, "quality": quality, "fps": record["fps"], "wall_s": wall, "video_s": duration, "ratio": wall / duration}


def markdown(rows: list[dict], preset: str | None, load: tuple[float, float]) -> str:
    """Return the docs section: machine, settings, one table row per render."""
    lines = [
        "## Render speed",
        "",
        f"`benchmarks/render_speed.py`, {time.strftime('%Y-%m-%d')}: {os.cpu_count()} CPU cores "
        f"({platform.processor() or platform.machine()}), Python {platform.python_version()}, Cairo renderer, "
        f"H.264 preset {preset or 'default'}. Each clip is the full scene as `mmtrace render` writes it, "
        "from the English default prompt; the ratio is wall-clock seconds of rendering per second of video "
        "(below 1 is faster than real time). The wall time covers data extraction, every frame and the encoding; "
        f"the trace is recorded once, before timing. One-minute load average {load[0]:.1f} at the start and "
        f"{load[1]:.1f} at the end (other jobs may share the cores).",
        "",
        "| scene | quality | fps | video s | render s | ratio | target |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        target = TARGETS.get(row["quality"])
        verdict = ""
        if target is not None:
            verdict = f"≤ {target} " + ("met" if row["ratio"] <= target else "missed")
        lines.append(f"| {row['scene']} | {row['quality']} | {row['fps']} | {row['video_s']:.1f} | {row['wall_s']:.1f} | {row['ratio']:.2f} | {verdict} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", default=",".join(CORE), help="comma-separated scene ids (default: the six core scenes)")
    parser.add_argument("--qualities", default="draft,1080p", help=f"comma-separated qualities from {', '.join(QUALITIES)} (default: draft,1080p)")
    parser.add_argument("--trace", type=Path, help=".mmtrace file to render (default: trace the English default prompt on the embedded model)")
    parser.add_argument("--preset", default="ultrafast", help="H.264 preset, or 'default' for the encoder's own (default: ultrafast)")
    parser.add_argument("--no-docs", action="store_true", help="print the table without writing docs/benchmarks.md")
    args = parser.parse_args()
    preset = None if args.preset == "default" else args.preset

    rows = []
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="render-speed-") as root:
        root = Path(root)
        trace = args.trace or default_trace(root)
        # A still first, so imports and the LaTeX cache do not land on the first timed clip.
        render_scene("attention", str(trace), RenderOptions(quality="draft", format="png", output=str(root), progress=False))
        for quality in args.qualities.split(","):
            for scene_id in args.scenes.split(","):
                row = time_render(scene_id, trace, quality, root, preset)
                print(f"{scene_id:14s} {quality:6s} {row['video_s']:6.1f} s video  {row['wall_s']:6.1f} s render  ratio {row['ratio']:.2f}", flush=True)
                rows.append(row)
    section = markdown(rows, preset, (load_start, os.getloadavg()[0]))
    print(section)
    if not args.no_docs:
        write_section("render_speed", section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
