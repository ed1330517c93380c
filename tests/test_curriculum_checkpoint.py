"""Curriculum scenes on the reader's own checkpoint: `mmtrace render` and `mmtrace lecture` with --checkpoint.

The checkpoint is a small random minimind-3 MoE model (2 blocks, hidden_size 64) with the
embedded tokenizer's vocabulary, saved with `minimind.save_checkpoint`, so the stills render
in seconds and the moe scene has MoE layers of its own.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from minimind import MiniMindConfig, MiniMindForCausalLM, load_checkpoint, load_tokenizer, save_checkpoint
from minimind.errors import MiniMindError
from scenes.curriculum.base import default_model_and_tokenizer
from scenes.experiments import run_moe
from scenes.kit.colormap import hex_to_rgb
from scenes.kit.style import BACKGROUND
from scenes.registry import get_scene
from scenes.render import sidecar_path
from tracer import save_trace, trace_prompt
from tracer.cli.main import main
from tracer.fingerprint import weights_sha256

ROOT = Path(__file__).resolve().parents[1]
PROMPT = "Lily had a red kite."


def tiny_config(**overrides) -> MiniMindConfig:
    settings = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                    vocab_size=load_tokenizer(None).vocab_size, max_position_embeddings=512)
    settings.update(overrides)
    return MiniMindConfig(**settings)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    """A random-weight MoE checkpoint file in the project's safetensors format."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("checkpoint") / "moe.safetensors"
    save_checkpoint(MiniMindForCausalLM(tiny_config(use_moe=True)).eval(), path)
    return path


@pytest.fixture(scope="module")
def checkpoint_hash(checkpoint) -> str:
    return weights_sha256(load_checkpoint(checkpoint))


@pytest.fixture(scope="module")
def checkpoint_trace(checkpoint, tmp_path_factory) -> Path:
    """A trace of PROMPT recorded with the checkpoint."""
    path = tmp_path_factory.mktemp("trace") / "mine.mmtrace"
    save_trace(trace_prompt(load_checkpoint(checkpoint), load_tokenizer(None), PROMPT), path)
    return path


def read_sidecar(still: Path) -> dict:
    return json.loads(sidecar_path(still).read_text(encoding="utf-8"))


def content_mask(path: Path) -> np.ndarray:
    pixels = np.asarray(Image.open(path).convert("RGB"), dtype=np.float64) / 255.0
    return np.abs(pixels - hex_to_rgb(BACKGROUND)).max(axis=-1) > 0.08


# --- mmtrace render --checkpoint ---------------------------------------------------------------


@pytest.mark.parametrize("scene_id", ["moe", "why-norm"])
def test_render_runs_on_checkpoint(scene_id, checkpoint, checkpoint_hash, tmp_path):
    status = main(["--lang", "en", "render", scene_id, "--checkpoint", str(checkpoint), "--format", "png",
                   "--quality", "draft", "-o", str(tmp_path), "--no-progress"])
    assert status == 0

    still = tmp_path / f"{scene_id}-en-draft.png"
    record = read_sidecar(still)
    embedded_hash = weights_sha256(default_model_and_tokenizer()[0])
    assert checkpoint_hash != embedded_hash
    assert record["model"] == {"checkpoint": str(checkpoint.resolve()), "weights_sha256": checkpoint_hash}
    assert record["trace"]["weights_sha256"] == checkpoint_hash
    assert record["options"]["checkpoint"] == str(checkpoint.resolve())

    # The figure sits left of the takeaways; a NaN coordinate anywhere in it used to blank it all.
    mask = content_mask(still)
    height, width = mask.shape
    assert mask[int(0.15 * height):int(0.8 * height), :int(0.62 * width)].mean() > 0.02


def test_from_sidecar_reloads_checkpoint(checkpoint, checkpoint_hash, tmp_path, monkeypatch):
    # A relative --checkpoint must still be found when the sidecar is used from another folder.
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(checkpoint, work / checkpoint.name)
    monkeypatch.chdir(work)
    assert main(["--lang", "en", "render", "rope-precision", "--checkpoint", checkpoint.name, "--format", "png",
                 "--quality", "draft", "-o", "first.png", "--no-progress"]) == 0

    monkeypatch.chdir(tmp_path)
    again = tmp_path / "again.png"
    assert main(["render", "--from-sidecar", str(work / "first.png.json"), "-o", str(again), "--no-progress"]) == 0
    record = read_sidecar(again)
    assert record["model"]["checkpoint"] == str((work / checkpoint.name).resolve())
    assert record["model"]["weights_sha256"] == checkpoint_hash


def test_footer_names_checkpoint(checkpoint, checkpoint_hash):
    model, tokenizer = load_checkpoint(checkpoint), load_tokenizer(None)
    scene = get_scene("rope-precision").load()(lang="en", model=model, tokenizer=tokenizer, checkpoint=str(checkpoint))
    scene.setup()

    footer = scene.provenance(**scene.focus_parts())
    assert "checkpoint moe.safetensors" in footer
    assert f"weights {checkpoint_hash[:12]}" in footer
    assert "2 layers, hidden_size 64" in footer
    assert scene.data.positions[-1] < 512  # the checkpoint's max_position_embeddings, not the embedded 2048


def test_moe_scene_uses_checkpoint_experts(checkpoint):
    model, tokenizer = load_checkpoint(checkpoint), load_tokenizer(None)
    scene = get_scene("moe").load()(lang="en", model=model, tokenizer=tokenizer, checkpoint=str(checkpoint))
    scene.setup()

    assert not scene.built_copy
    expected = run_moe(model, tokenizer, prompt=scene.experiment_prompt())
    assert [routing.layer for routing in scene.result.layers] == [0, 1]
    np.testing.assert_array_equal(scene.result.layers[0].router_probs, expected.layers[0].router_probs)
    assert scene.s("source_copy", experts=scene.data.num_experts) not in scene.input_line()


def test_moe_scene_copies_dense_model():
    torch.manual_seed(1)
    model = MiniMindForCausalLM(tiny_config()).eval()
    scene = get_scene("moe").load()(lang="en", model=model, tokenizer=load_tokenizer(None))
    scene.setup()

    assert scene.built_copy
    assert scene.s("source_copy", experts=model.config.routed_experts) in scene.input_line()


# --- errors that name the value and the fix -----------------------------------------------------


@pytest.mark.parametrize("lang, words", [("en", "pass the checkpoint that recorded the trace with --checkpoint"),
                                         ("zh", "请用 --checkpoint 传入记录这份追踪的检查点")])
def test_trace_from_checkpoint_needs_it(lang, words, checkpoint_trace, checkpoint_hash, tmp_path, capsys):
    status = main(["--lang", lang, "render", "rope-precision", "--trace", str(checkpoint_trace), "--format", "png",
                   "--quality", "draft", "-o", str(tmp_path), "--no-progress"])

    assert status == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1
    assert words in error
    assert checkpoint_hash[:12] in error
    assert list(tmp_path.iterdir()) == []


def test_trace_from_other_checkpoint_named(checkpoint_trace, tmp_path, capsys):
    other = tmp_path / "other.safetensors"
    torch.manual_seed(2)
    save_checkpoint(MiniMindForCausalLM(tiny_config()).eval(), other)
    status = main(["--lang", "en", "render", "kv-cache", "--trace", str(checkpoint_trace), "--checkpoint", str(other),
                   "--format", "png", "-o", str(tmp_path), "--no-progress"])

    assert status == 2
    error = capsys.readouterr().err.strip()
    assert f"runs its experiment on {other}" in error
    assert "--checkpoint" in error


def test_embedded_trace_with_checkpoint_says_leave_it_out(checkpoint, tmp_path, capsys):
    embedded_trace = tmp_path / "embedded.mmtrace"
    assert main(["trace", "--prompt", "Lily had a red kite.", "-o", str(embedded_trace)]) == 0
    capsys.readouterr()
    status = main(["--lang", "en", "render", "rope-precision", "--trace", str(embedded_trace), "--checkpoint", str(checkpoint),
                   "--format", "png", "-o", str(tmp_path / "out") + "/", "--no-progress"])

    assert status == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1
    assert "recorded with the embedded model" in error
    assert "leave out --checkpoint" in error


def test_trace_with_its_checkpoint_renders(checkpoint, checkpoint_trace, checkpoint_hash, tmp_path):
    status = main(["--lang", "en", "render", "residual-stream", "--trace", str(checkpoint_trace), "--checkpoint", str(checkpoint),
                   "--format", "png", "--quality", "draft", "-o", str(tmp_path), "--no-progress"])

    assert status == 0
    record = read_sidecar(tmp_path / "residual-stream-en-draft.png")
    assert record["model"]["weights_sha256"] == checkpoint_hash
    assert record["trace"]["file"] == str(checkpoint_trace.resolve())


def test_rope_theta_not_above_one_rejected(checkpoint, tmp_path, capsys):
    config = tmp_path / "theta.json"
    config.write_text(json.dumps({"rope_theta": 1.0}), encoding="utf-8")
    status = main(["--lang", "en", "render", "yarn", "--checkpoint", str(checkpoint), "--config", str(config),
                   "--format", "png", "-o", str(tmp_path), "--no-progress"])

    assert status == 2
    error = capsys.readouterr().err.strip()
    assert "rope_theta=1.0" in error
    assert "--config" in error
    assert sorted(path.name for path in tmp_path.iterdir()) == ["theta.json"]


def test_text_prompt_without_tokenizer_rejected(checkpoint):
    scene = get_scene("kv-cache").load()(lang="en", model=load_checkpoint(checkpoint), prompt=PROMPT)

    with pytest.raises(MiniMindError) as raised:
        scene.setup()
    assert raised.value.key == "scene.curriculum.error_tokenizer"
    assert "tokenizer" in str(raised.value)


# --- mmtrace lecture --checkpoint --------------------------------------------------------------


def lecture(*args: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key != "MMTRACE_LANG"}
    env["LANG"] = "C.UTF-8"
    return subprocess.run([sys.executable, "-m", "tracer.cli.main", "--lang", "en", "lecture", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


def test_lecture_renders_on_checkpoint(checkpoint, checkpoint_trace, checkpoint_hash, tmp_path):
    out = tmp_path / "lecture"
    common = ["--trace", str(checkpoint_trace), "--scenes", "rope-precision", "--quality", "draft", "--jobs", "1", "-o", str(out)]

    first = lecture(*common, "--checkpoint", str(checkpoint))
    assert first.returncode == 0, first.stderr
    manifest = json.loads((out / "lecture.json").read_text(encoding="utf-8"))
    entry = manifest["clips"]["rope-precision"]
    sidecar = json.loads((out / f"{entry['stem']}.json").read_text(encoding="utf-8"))
    assert sidecar["render"]["model"]["weights_sha256"] == checkpoint_hash
    assert sidecar["render"]["options"]["checkpoint"] == str(checkpoint.resolve())

    # The same weights in another file are the same input; another config is not.
    moved = tmp_path / "moved.safetensors"
    shutil.copy(checkpoint, moved)
    same = lecture(*common, "--checkpoint", str(moved))
    assert same.returncode == 0, same.stderr
    assert "clips rendered: 0, reused: 1," in same.stdout

    config = tmp_path / "shorter.json"
    config.write_text(json.dumps({"max_position_embeddings": 256}), encoding="utf-8")
    changed = lecture(*common, "--checkpoint", str(moved), "--config", str(config))
    assert changed.returncode == 0, changed.stderr
    assert "clips rendered: 1, reused: 0," in changed.stdout


def test_lecture_missing_checkpoint_one_line(tmp_path):
    out = tmp_path / "lecture"
    result = lecture("--scenes", "moe", "--quality", "draft", "--checkpoint", str(tmp_path / "absent.pth"), "-o", str(out))

    assert result.returncode == 2
    assert result.stderr.strip() == f"mmtrace: error: checkpoint not found: {tmp_path / 'absent.pth'}: pass an existing .pth, .safetensors or model folder"
    assert not out.exists()
