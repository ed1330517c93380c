"""`mmtrace lecture` end to end on real scenes: folder contents, reuse, interruption, bad input.

The trace comes from a small upstream-built parity checkpoint (2 blocks, hidden_size 64), so
two real scenes render at draft quality in well under a minute on two cores.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import pytest
from PIL import Image

from scenes.lecture.subtitles import parse_srt

from .conftest import PARITY

ROOT = Path(__file__).resolve().parents[1]
SCENES = "attention,rmsnorm"  # given out of order on purpose: the lecture plays curriculum order
ORDER = ["rmsnorm", "attention"]


@pytest.fixture(scope="module")
def toy_trace(tmp_path_factory) -> Path:
    from minimind import load_checkpoint
    from tracer import save_trace, trace_prompt

    model = load_checkpoint(PARITY / "m3_dense" / "model.pth")
    path = tmp_path_factory.mktemp("trace") / "toy.mmtrace"
    save_trace(trace_prompt(model, None, [1, 5, 9, 20, 33, 7, 12, 40]), path)
    return path


def mmtrace(*args: str, **popen) -> subprocess.Popen:
    env = {key: value for key, value in os.environ.items() if key != "MMTRACE_LANG"}
    env["LANG"] = "C.UTF-8"
    return subprocess.Popen(
        [sys.executable, "-m", "tracer.cli.main", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def run(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    process = mmtrace(*args)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def lecture_args(trace: Path, out: Path, jobs: int) -> list[str]:
    return ["lecture", "--trace", str(trace), "--scenes", SCENES, "--quality", "draft", "--jobs", str(jobs), "-o", str(out)]


def manifest_clips(folder: Path) -> dict:
    try:
        return json.loads((folder / "lecture.json").read_text(encoding="utf-8"))["clips"]
    except (OSError, ValueError, KeyError):
        return {}


def decodes(video: Path) -> int:
    with av.open(str(video)) as container:
        return sum(1 for _ in container.decode(video=0))


def assert_clip_complete(folder: Path, entry: dict) -> None:
    for name, size in entry["files"].items():
        assert (folder / name).stat().st_size == size, name
        if name.endswith(".mp4"):
            assert decodes(folder / name) > 0, name


def assert_no_leftovers(folder: Path) -> None:
    assert not (folder / ".staging").exists()
    hidden = [p for p in folder.rglob("*") if p.name.startswith(".") or p.name.endswith(".tmp")]
    assert hidden == []


def test_lecture_renders_and_reuses(toy_trace, tmp_path):
    out = tmp_path / "lecture"
    first = run(*lecture_args(toy_trace, out, jobs=2))
    assert first.returncode == 0, first.stderr

    manifest = json.loads((out / "lecture.json").read_text(encoding="utf-8"))
    assert manifest["order"] == ORDER
    for scene in ORDER:
        entry = manifest["clips"][scene]
        stem = entry["stem"]
        assert_clip_complete(out, entry)
        sidecar = json.loads((out / f"{stem}.json").read_text(encoding="utf-8"))

        # One section per beat of the scene, adding up to the whole clip.
        assert [s["name"] for s in entry["sections"]] == sidecar["render"]["beats"]
        assert sum(s["duration"] for s in entry["sections"]) == pytest.approx(entry["duration"], abs=0.2)

        # The still is the clip's size; the subtitles open with the claim the page shows.
        assert Image.open(out / f"{stem}.png").size == (854, 480)
        cues = parse_srt((out / f"{stem}.srt").read_text(encoding="utf-8"))
        assert len(cues) >= 3
        assert cues[0].text == entry["claim"]
        assert all(a.end <= b.start + 1e-3 for a, b in zip(cues, cues[1:]))
        assert cues[-1].end <= entry["duration"] + 1e-3
    page = (out / "index.html").read_text(encoding="utf-8")
    assert page.index("02-rmsnorm") < page.index("10-attention")
    assert_no_leftovers(out)

    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*.mp4")}
    again = run(*lecture_args(toy_trace, out, jobs=2))
    assert again.returncode == 0, again.stderr
    assert "clips rendered: 0, reused: 2," in again.stdout
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.mp4")} == stamps


def test_interrupted_lecture_resumes(toy_trace, tmp_path):
    out = tmp_path / "lecture"
    # A session of its own, so SIGINT can go to the whole process group as Ctrl-C in a terminal sends it.
    process = mmtrace(*lecture_args(toy_trace, out, jobs=1), start_new_session=True)
    try:
        # Interrupt while the second clip renders, after the first is in place.
        deadline = time.monotonic() + 300
        while not ("rmsnorm" in manifest_clips(out) and (out / ".staging" / "attention").is_dir()):
            assert process.poll() is None, process.communicate()[1]
            assert time.monotonic() < deadline, "the first clip did not finish"
            time.sleep(0.05)
        os.killpg(process.pid, signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()

    assert process.returncode == 130, stderr
    assert "interrupted" in stderr
    assert "Traceback" not in stderr
    assert "leaked" not in stderr, stderr
    assert_no_leftovers(out)
    clips = manifest_clips(out)
    assert list(clips) == ["rmsnorm"]
    assert_clip_complete(out, clips["rmsnorm"])
    assert not (out / "10-attention.mp4").exists()

    resumed = run(*lecture_args(toy_trace, out, jobs=1))
    assert resumed.returncode == 0, resumed.stderr
    assert "clips rendered: 1, reused: 1," in resumed.stdout
    assert list(manifest_clips(out)) == ["rmsnorm", "attention"]
    assert_clip_complete(out, manifest_clips(out)["attention"])


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--jobs", "0"], "--jobs must be at least 1, got 0"),
        (["--trace", "missing.mmtrace"], "trace file not found: missing.mmtrace"),
        (["--scenes", "rmsnorm,nope"], "unknown scene 'nope'"),
        (["--quality", "8k"], "invalid choice: '8k'"),
        (["--prompt", " "], "the prompt is empty"),
    ],
)
def test_lecture_bad_option(tmp_path, args, expected):
    out = tmp_path / "lecture"
    result = run("lecture", *args, "-o", str(out))

    assert result.returncode == 2
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_lecture_bad_files(toy_trace, tmp_path):
    garbage = tmp_path / "garbage.mmtrace"
    garbage.write_bytes(b"not a trace")
    blocker = tmp_path / "a-file"
    blocker.write_text("in the way", encoding="utf-8")

    bad_trace = run("lecture", "--trace", str(garbage), "-o", str(tmp_path / "lecture"))
    assert bad_trace.returncode == 2
    assert str(garbage) in bad_trace.stderr
    assert len(bad_trace.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "lecture").exists()

    bad_folder = run("lecture", "--trace", str(toy_trace), "--scenes", "rmsnorm", "-o", str(blocker / "lecture"))
    assert bad_folder.returncode == 2
    assert f"cannot create the lecture folder {blocker / 'lecture'}" in bad_folder.stderr
    assert len(bad_folder.stderr.strip().splitlines()) == 1


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> tuple[Path, Path]:
    """A random-weight MiniMind (2 blocks, hidden_size 64) with a small tokenizer of its own."""
    import torch

    from minimind import MiniMindConfig, MiniMindForCausalLM, load_tokenizer, save_checkpoint
    from minimind.tokenizer import train_tokenizer

    folder = tmp_path_factory.mktemp("tiny")
    tokenizer_path = folder / "tokenizer.json"
    train_tokenizer(["Lily had a red kite. One day, Lily took the kite to the park."] * 4, vocab_size=300).save(str(tokenizer_path))
    vocab = load_tokenizer(tokenizer_path).vocab_size
    torch.manual_seed(0)
    config = MiniMindConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, vocab_size=vocab)
    checkpoint = folder / "model.safetensors"
    save_checkpoint(MiniMindForCausalLM(config), checkpoint)
    return checkpoint, tokenizer_path


def test_prompt_traced_once_and_kept(tiny_model, tmp_path):
    checkpoint, tokenizer = tiny_model
    out = tmp_path / "lecture"
    args = ["lecture", "--prompt", "Lily had a red kite.", "--checkpoint", str(checkpoint), "--tokenizer", str(tokenizer),
            "--scenes", "rmsnorm", "--quality", "draft", "-o", str(out)]

    first = run(*args)
    assert first.returncode == 0, first.stderr
    assert "tracing 'Lily had a red kite.'" in first.stderr
    trace = out / "trace.mmtrace"
    assert trace.is_file()
    manifest = json.loads((out / "lecture.json").read_text(encoding="utf-8"))
    assert manifest["trace"]["prompt"] == "Lily had a red kite."
    assert manifest["clips"]["rmsnorm"]["cues"][0]["text"] == manifest["clips"]["rmsnorm"]["claim"]
    stamp = trace.stat().st_mtime_ns

    again = run(*args)
    assert again.returncode == 0, again.stderr
    assert "tracing" not in again.stderr
    assert trace.stat().st_mtime_ns == stamp
    assert "clips rendered: 0, reused: 1," in again.stdout
