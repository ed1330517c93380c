"""Read the per-section videos that manim writes when a scene is rendered with save_sections=True.

manim 0.22 writes `<movie folder>/sections/<movie stem>.json`, a list with one entry per
non-empty section: its name, its video file (in the same folder as the index) and its
duration. The render API may move that folder, so RenderedClip.sections_index gives its place.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Section:
    """One section of a clip: the name given to `next_section`, its video, and where it sits."""

    name: str
    video: Path
    start: float
    duration: float


def default_index(movie: Path) -> Path:
    """Return where manim writes the section index of `movie`."""
    return movie.parent / "sections" / f"{movie.stem}.json"


def read_sections(index: Path) -> list[Section]:
    """Return the sections listed in manim's index file, in order, or [] when there is no index."""
    if not index.is_file():
        return []
    entries = json.loads(index.read_text(encoding="utf-8"))

    sections, start = [], 0.0
    for entry in entries:
        duration = float(entry["duration"])
        sections.append(Section(str(entry["name"]), index.parent / entry["video"], start, duration))
        start += duration
    return sections
