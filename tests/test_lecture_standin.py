"""The lecture builder against a small stand-in scene source: workers, manifest, reuse, subtitles.

The stand-in renders real manim clips (128x72, 10 fps) with two sections and two captions
each, so these tests exercise the whole pipeline without the trace scenes' cost.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from manim import Circle, Create, FadeIn, FadeOut, Scene, Square, Text, tempconfig

from scenes.lecture.build import LectureRequest, build_lecture
from scenes.lecture.manifest import file_sha256
from scenes.lecture.media import probe
from scenes.lecture.source import RenderedClip, SceneInfo
from scenes.lecture.subtitles import Cue, parse_srt

SOURCE = "tests.test_lecture_standin:StandInSource"


class StandInScene(Scene):
    """Two sections, each opened by a caption; records its caption cues as it plays."""

    def __init__(self, name: str, seconds: float, report, **kwargs):
        self.name = name
        self.seconds = seconds
        self.report = report
        self.cues: list[Cue] = []
        super().__init__(**kwargs)

    def caption(self, content: str) -> None:
        start = self.renderer.time
        label = Text(content, font_size=28).to_edge([0, -1, 0])
        self.play(FadeIn(label), run_time=0.2)
        self.wait(self.seconds / 2 - 0.4)
        self.play(FadeOut(label), run_time=0.2)
        self.cues.append(Cue(start, self.renderer.time, content))
        self.report(self.renderer.time)

    def construct(self):
        self.next_section("first")
        self.play(Create(Circle()), run_time=0.3)
        self.caption(f"{self.name}: one")

        self.next_section("second")
        self.play(Create(Square()), run_time=0.3)
        self.caption(f"{self.name}: two")
        # A filled square only in the last frame, so a test can tell the closing still apart.
        self.add(Square(side_length=4).set_fill("#ffffff", 1.0))
        self.wait(0.1)


class StandInSource:
    """Three stand-in scenes; `options["seconds"]` sets each clip's length, `fail` names one that raises."""

    def scene_ids(self) -> list[str]:
        return ["alpha", "beta", "gamma"]

    def describe(self, scene_id: str, lang: str) -> SceneInfo:
        if lang == "zh":
            return SceneInfo(scene_id, f"替身场景 {scene_id}", f"{scene_id} 的一句话结论。")
        return SceneInfo(scene_id, f"Stand-in {scene_id}", f"The claim of {scene_id}, in one sentence.")

    def position(self, scene_id: str) -> int:
        return self.scene_ids().index(scene_id) + 1

    def qualities(self) -> list[str]:
        return ["tiny", "small"]

    def default_quality(self) -> str:
        return "tiny"

    def resolve_options(self, quality: str, lang: str) -> dict:
        width, height = (128, 72) if quality == "tiny" else (256, 144)
        return {
            "quality": quality,
            "lang": lang,
            "pixel_width": width,
            "pixel_height": height,
            "frame_rate": 10,
            "seconds": float(os.environ.get("STANDIN_SECONDS", "1.2")),
            "fail": os.environ.get("STANDIN_FAIL", ""),
        }

    def fingerprint(self) -> str:
        return file_sha256(Path(__file__))

    def render(self, scene_id, trace, options, staging: Path, progress) -> RenderedClip:
        if options["fail"] == scene_id:
            raise RuntimeError(f"stand-in scene {scene_id} failed on purpose")
        config = {
            "media_dir": str(staging),
            "pixel_width": options["pixel_width"],
            "pixel_height": options["pixel_height"],
            "frame_rate": options["frame_rate"],
            "output_file": scene_id,
            "save_sections": True,
            "disable_caching": True,
            "progress_bar": "none",
            "verbosity": "WARNING",
        }
        with tempconfig(config):
            scene = StandInScene(scene_id, options["seconds"], progress)
            scene.render()
            video = Path(scene.renderer.file_writer.movie_file_path)
        sidecar = {"scene": scene_id, "trace": str(trace) if trace else None, "options": options}
        return RenderedClip(video=video, cues=scene.cues, sidecar=sidecar)


def build(out: Path, **request):
    request.setdefault("jobs", 2)
    return build_lecture(LectureRequest(out_dir=out, trace=None, source=SOURCE, show_progress=False, **request))


def test_lecture_folder_layout(tmp_path):
    report = build(tmp_path, scene_ids=["gamma", "alpha"])

    assert sorted(report.rendered) == ["alpha", "gamma"]
    manifest = json.loads((tmp_path / "lecture.json").read_text(encoding="utf-8"))
    assert manifest["order"] == ["alpha", "gamma"]
    for stem in ("01-alpha", "03-gamma"):
        for suffix in (".mp4", ".png", ".srt", ".json"):
            assert (tmp_path / f"{stem}{suffix}").is_file(), stem + suffix
        assert sorted(p.name for p in (tmp_path / "sections" / stem).iterdir()) == ["00.mp4", "01.mp4"]
    assert not (tmp_path / "02-beta.mp4").exists()
    assert not (tmp_path / ".staging").exists()
    assert sorted(p.name for p in tmp_path.glob(".*")) == []


def test_sections_add_up_to_clip(tmp_path):
    build(tmp_path, scene_ids=["alpha"])
    sidecar = json.loads((tmp_path / "01-alpha.json").read_text(encoding="utf-8"))
    clip = probe(tmp_path / "01-alpha.mp4")

    assert [s["name"] for s in sidecar["sections"]] == ["first", "second"]
    total = 0.0
    for section in sidecar["sections"]:
        info = probe(tmp_path / section["file"])
        assert section["start"] == pytest.approx(total, abs=1e-6)
        assert info["duration"] == pytest.approx(section["duration"], abs=0.11)
        assert (info["width"], info["height"]) == (128, 72)
        total += section["duration"]
    assert clip["duration"] == pytest.approx(total, abs=0.11)
    assert sidecar["duration"] == pytest.approx(clip["duration"], abs=1e-6)


def test_subtitles_match_captions(tmp_path):
    build(tmp_path, scene_ids=["beta"])
    cues = parse_srt((tmp_path / "02-beta.srt").read_text(encoding="utf-8"))
    sections = json.loads((tmp_path / "02-beta.json").read_text(encoding="utf-8"))["sections"]

    assert [c.text for c in cues] == ["beta: one", "beta: two"]
    # Each caption lies inside the section it was shown in.
    for cue, section in zip(cues, sections):
        assert section["start"] <= cue.start < cue.end <= section["start"] + section["duration"] + 1e-3


def test_closing_still_is_last_frame(tmp_path):
    from PIL import Image

    build(tmp_path, scene_ids=["alpha"])
    still = Image.open(tmp_path / "01-alpha.png")
    assert still.size == (128, 72)
    # Only the stand-in's last frame has a white square in the middle.
    gray = still.convert("L")
    assert gray.getpixel((64, 36)) > 200
    assert gray.getpixel((2, 2)) < 30


def test_rerun_reuses_every_clip(tmp_path):
    build(tmp_path, scene_ids=["alpha", "beta"])
    stamps = {p.name: p.stat().st_mtime_ns for p in tmp_path.rglob("*.mp4")}

    again = build(tmp_path, scene_ids=["alpha", "beta"])

    assert again.rendered == []
    assert sorted(again.reused) == ["alpha", "beta"]
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.rglob("*.mp4")} == stamps


def test_changed_input_renders_again(tmp_path):
    build(tmp_path, scene_ids=["alpha", "beta"])

    forced = build(tmp_path, scene_ids=["alpha"], force=True)
    assert forced.rendered == ["alpha"]

    other_language = build(tmp_path, scene_ids=["alpha", "beta"], lang="zh")
    assert sorted(other_language.rendered) == ["alpha", "beta"]
    assert json.loads((tmp_path / "01-alpha.json").read_text(encoding="utf-8"))["title"] == "替身场景 alpha"


def test_damaged_clip_renders_again(tmp_path):
    build(tmp_path, scene_ids=["alpha", "beta"])
    (tmp_path / "sections" / "02-beta" / "01.mp4").write_bytes(b"truncated")

    again = build(tmp_path, scene_ids=["alpha", "beta"])

    assert again.rendered == ["beta"]
    assert again.reused == ["alpha"]
    assert probe(tmp_path / "sections" / "02-beta" / "01.mp4")["width"] == 128


def test_failed_scene_keeps_others(tmp_path, monkeypatch):
    monkeypatch.setenv("STANDIN_FAIL", "beta")
    report = build(tmp_path)

    assert sorted(report.rendered) == ["alpha", "gamma"]
    assert list(report.failed) == ["beta"]
    assert "failed on purpose" in report.failed["beta"]
    assert not (tmp_path / "02-beta.mp4").exists()
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "Stand-in alpha" in page
    assert "Stand-in beta" not in page


def test_unknown_scene_rejected(tmp_path):
    from minimind.errors import MiniMindError

    with pytest.raises(MiniMindError, match="unknown scene 'delta'"):
        build(tmp_path, scene_ids=["alpha", "delta"])
    assert list(tmp_path.iterdir()) == []


INTERRUPTIBLE = """
import sys
from pathlib import Path
from scenes.lecture.build import LectureRequest, build_lecture
try:
    build_lecture(LectureRequest(out_dir=Path(sys.argv[1]), trace=None, source=sys.argv[2], jobs=1, show_progress=False))
except KeyboardInterrupt:
    sys.exit(130)
"""


def wait_until(condition, timeout: float = 120.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the build did not reach the expected point"
        time.sleep(0.05)


def finished_clips(folder: Path) -> dict:
    try:
        return json.loads((folder / "lecture.json").read_text(encoding="utf-8"))["clips"]
    except (OSError, ValueError, KeyError):
        return {}


def test_interrupted_build_resumes(tmp_path, monkeypatch):
    import signal
    import subprocess
    import sys

    import av

    monkeypatch.setenv("STANDIN_SECONDS", "6")
    process = subprocess.Popen([sys.executable, "-c", INTERRUPTIBLE, str(tmp_path), SOURCE], cwd=Path(__file__).parents[1])
    try:
        # Interrupt while the second clip renders, after the first is published.
        wait_until(lambda: "alpha" in finished_clips(tmp_path) and (tmp_path / ".staging" / "beta").is_dir())
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 130
    finally:
        if process.poll() is None:
            process.kill()

    assert not (tmp_path / ".staging").exists()
    leftovers = [p for p in tmp_path.rglob("*") if p.name.startswith(".") or p.name.endswith(".tmp")]
    assert leftovers == []
    clips = finished_clips(tmp_path)
    assert list(clips) == ["alpha"]
    for name in clips["alpha"]["files"]:
        assert (tmp_path / name).is_file()
        if name.endswith(".mp4"):
            with av.open(str(tmp_path / name)) as container:
                assert sum(1 for _ in container.decode(video=0)) > 0
    assert not (tmp_path / "02-beta.mp4").exists()

    resumed = build(tmp_path, jobs=1)
    assert resumed.reused == ["alpha"]
    assert sorted(resumed.rendered) == ["beta", "gamma"]
