"""Reading rendered videos with PyAV (manim's own encoder library): duration, size, last frame."""

from __future__ import annotations

from pathlib import Path

import av

# Seek this far before the end, then decode forward. x264's default keyframe interval is
# 250 frames, so decoding starts at most that many frames before the seek target.
_TAIL_SECONDS = 1.0


def probe(path: Path) -> dict:
    """Return `duration` (seconds), `width`, `height` and `frames` of the first video stream.

    Reads the container's metadata only. Raises av.error.FFmpegError, or ValueError when there is
    no video stream, for a file that is not a readable video.
    """
    with av.open(str(path)) as container:
        if not container.streams.video:
            raise ValueError(f"{path} has no video stream")
        stream = container.streams.video[0]
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        else:
            duration = float(container.duration or 0) / av.time_base
        return {"duration": duration, "width": stream.width, "height": stream.height, "frames": stream.frames}


def save_last_frame(video: Path, png: Path) -> None:
    """Write the last frame of `video` to `png` (RGB, the video's own size)."""
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        if container.duration is not None:
            target = max(container.duration / av.time_base - _TAIL_SECONDS, 0.0)
            container.seek(int(target * av.time_base), any_frame=False, backward=True)
        last = None
        for last in container.decode(stream):
            pass
    if last is None:
        raise ValueError(f"{video} has no frames")
    last.to_image().save(png, format="PNG")
