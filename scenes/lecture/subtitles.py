"""SubRip (.srt) subtitles from caption cues: each cue is a text shown from `start` to `end` seconds."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cue:
    """One caption on screen from `start` to `end`, in seconds from the start of the clip."""

    start: float
    end: float
    text: str


def format_timestamp(seconds: float) -> str:
    """Format seconds as SRT's `HH:MM:SS,mmm`, rounded to the millisecond."""
    millis = max(int(round(seconds * 1000)), 0)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d},{millis:03d}"


def to_srt(cues: list[Cue]) -> str:
    """Return the SRT document for `cues`, skipping empty or zero-length ones.

    SRT separates cues by a blank line, so blank lines inside a caption are dropped.
    """
    blocks = []
    for cue in sorted(cues, key=lambda c: (c.start, c.end)):
        lines = [line.strip() for line in cue.text.splitlines() if line.strip()]
        if not lines or cue.end - cue.start < 0.001:
            continue
        index = len(blocks) + 1
        blocks.append(f"{index}\n{format_timestamp(cue.start)} --> {format_timestamp(cue.end)}\n" + "\n".join(lines) + "\n")
    return "\n".join(blocks)


def parse_srt(document: str) -> list[Cue]:
    """Parse an SRT document back into cues (used by tests and to rebuild the index from disk)."""
    cues = []
    for block in document.strip().split("\n\n"):
        lines = block.strip().splitlines()
        if len(lines) < 2 or "-->" not in lines[1]:
            continue
        start, end = (_parse_timestamp(part.strip()) for part in lines[1].split("-->"))
        cues.append(Cue(start, end, "\n".join(lines[2:])))
    return cues


def _parse_timestamp(text: str) -> float:
    clock, millis = text.split(",")
    hours, minutes, seconds = (int(part) for part in clock.split(":"))
    return hours * 3600 + minutes * 60 + seconds + int(millis) / 1000
