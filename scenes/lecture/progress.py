"""One progress bar for all workers, counted in seconds of video rendered.

A clip's length is known only once it has been rendered, so the total starts from estimates
(the previous render's length, else a default) and is corrected as each clip finishes.
"""

from __future__ import annotations

import sys

from tqdm import tqdm

from tracer.i18n import t


# Estimated length of a clip never rendered before, in seconds of video.
DEFAULT_CLIP_SECONDS = 60.0


class RenderProgress:
    """Progress of the clips being rendered, as a bar, or as one line per finished clip when stderr is not a terminal."""

    def __init__(self, clips: list[tuple[str, float | None]], enabled: bool = True):
        self.expected = {scene: seconds or DEFAULT_CLIP_SECONDS for scene, seconds in clips}
        self.current = {scene: 0.0 for scene, _ in clips}
        self.done = 0
        self.interactive = enabled and sys.stderr.isatty()
        self.quiet = not enabled
        self.bar = None
        if self.interactive and clips:
            self.bar = tqdm(
                total=round(sum(self.expected.values()), 1),
                desc=t("lecture.progress", count=len(clips)),
                unit="s",
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} s [{elapsed}<{remaining}]",
                file=sys.stderr,
            )

    def update(self, scene: str, seconds: float) -> None:
        """Record that `scene` has rendered `seconds` of video so far."""
        # Never let a running clip pass its estimate: it would push the bar past the total.
        self.current[scene] = min(seconds, self.expected[scene] * 0.99)
        self._refresh()

    def finished(self, scene: str, seconds: float) -> None:
        """Record that `scene` is complete and `seconds` long."""
        self.expected[scene] = seconds
        self.current[scene] = seconds
        self.done += 1
        self._refresh()
        if not self.interactive and not self.quiet:
            sys.stderr.write(t("lecture.clip_done", scene=scene, seconds=seconds, done=self.done, count=len(self.expected)) + "\n")

    def failed(self, scene: str) -> None:
        """Drop a failed clip from the total."""
        self.expected[scene] = 0.0
        self.current[scene] = 0.0
        self._refresh()

    def close(self) -> None:
        """Close the bar, leaving it on screen."""
        if self.bar is not None:
            self.bar.close()

    def _refresh(self) -> None:
        if self.bar is None:
            return
        self.bar.total = round(sum(self.expected.values()), 1)
        self.bar.n = round(sum(self.current.values()), 1)
        self.bar.refresh()
