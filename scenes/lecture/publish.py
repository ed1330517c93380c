"""Move a finished clip from its staging folder into the lecture folder and record it.

The caller holds off interrupts around `publish_clip`, so a clip's files change together.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from .manifest import Manifest
from .pool import JobOutcome
from .source import SceneSource


def publish_clip(out: Path, outcome: JobOutcome, manifest: Manifest, source: SceneSource, lang: str) -> None:
    """Move a finished clip's files into the folder and record them in the manifest."""
    job, result = outcome.job, outcome.result
    scene, stem = job["scene"], job["stem"]
    produced = Path(job["staging"]) / "out"

    # Forget the old clip first: if this process dies while moving, the next run re-renders.
    old = manifest.clips.pop(scene, None)
    manifest.save()

    sections_dir = out / "sections" / stem
    if sections_dir.exists():
        shutil.rmtree(sections_dir)
    renames = {"clip.mp4": f"{stem}.mp4", "still.png": f"{stem}.png", "captions.srt": f"{stem}.srt"}
    section_names = {}
    if (produced / "sections").is_dir():
        sections_dir.parent.mkdir(exist_ok=True)
        os.replace(produced / "sections", sections_dir)
        section_names = {f"sections/{path.name}": f"sections/{stem}/{path.name}" for path in sections_dir.iterdir()}
    for name, target in renames.items():
        os.replace(produced / name, out / target)

    renames.update(section_names)
    sections = [dict(section, file=renames[section["file"]]) for section in result["sections"]]
    info = source.describe(scene, lang)
    sidecar = {
        "scene": scene,
        "title": info.title,
        "claim": result.get("claim") or info.claim,
        "inputs": job["inputs"],
        "key": job["key"],
        "duration": result["duration"],
        "width": result["width"],
        "height": result["height"],
        "sections": sections,
        "cues": result["cues"],
        "render": result["render"],
    }
    _write_json_atomic(out / f"{stem}.json", sidecar)

    files = [f"{stem}.mp4", f"{stem}.png", f"{stem}.srt", f"{stem}.json", *section_names.values()]
    entry = {key: sidecar[key] for key in ("scene", "title", "claim", "key", "duration", "width", "height", "sections", "cues")}
    entry["stem"] = stem
    # The render API records the traced prompt; the page shows it under the lecture's title.
    entry["prompt"] = (result["render"].get("trace") or {}).get("prompt")
    entry["files"] = {name: (out / name).stat().st_size for name in files}
    manifest.clips[scene] = entry
    manifest.save()

    # Files of the old clip that the new one did not overwrite (another stem after a
    # curriculum change) would otherwise linger unreferenced.
    for name in (old or {}).get("files", {}):
        if name not in entry["files"] and (out / name).is_file():
            (out / name).unlink()
    old_stem = (old or {}).get("stem")
    if old_stem and old_stem != stem:
        shutil.rmtree(out / "sections" / old_stem, ignore_errors=True)


def _write_json_atomic(path: Path, data: dict) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(temporary, path)
