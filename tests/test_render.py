"""The render API and commands: errors, sidecars, re-rendering, worker processes, manim's own CLI."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
import torch

from minimind import MiniMindConfig, MiniMindForCausalLM, load_tokenizer
from minimind.errors import MiniMindError
from scenes.registry import CURRICULUM, get_scene, list_scenes, register_scene
from scenes.render import RenderOptions, render_from_sidecar, render_scene, sidecar_path, trace_digest
from tracer import open_trace, save_trace, trace_prompt
from tracer.cli.main import main
from tracer.i18n import en, has, zh

ROOT = Path(__file__).resolve().parents[1]
PROMPT = "Lily had a red kite. Lily took the kite to the park."


def small_model(vocab_size: int, seed: int = 0) -> MiniMindForCausalLM:
    """A seeded random MiniMind: 2 blocks, 4 query / 2 kv heads, hidden_size 64."""
    torch.manual_seed(seed)
    config = MiniMindConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                            vocab_size=vocab_size, max_position_embeddings=256)
    return MiniMindForCausalLM(config).eval()


@pytest.fixture(scope="module")
def trace_file(tmp_path_factory):
    tokenizer = load_tokenizer(None)
    path = tmp_path_factory.mktemp("trace") / "small.mmtrace"
    return save_trace(trace_prompt(small_model(tokenizer.vocab_size), tokenizer, PROMPT), path)


def png_options(folder: Path, **changes) -> RenderOptions:
    return RenderOptions(quality="draft", format="png", lang="en", output=str(folder), progress=False, **changes)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# --- registry and catalogue -------------------------------------------------------------------

def test_registry_lists_curriculum_order():
    ids = [entry.id for entry in list_scenes()]
    ranked = [scene_id for scene_id in ids if scene_id in CURRICULUM]
    assert ranked == sorted(ranked, key=CURRICULUM.index)
    assert ids.index("rmsnorm") < ids.index("attention") < ids.index("forward")


def test_register_scene_adds_entry():
    entry = register_scene("zz-test-scene", "scenes.attention", "AttentionScene")
    try:
        assert list_scenes()[-1] == entry
        assert get_scene("zz-test-scene").load().__name__ == "AttentionScene"
    finally:
        from scenes import registry

        registry._REGISTRY.pop("zz-test-scene")


def test_unknown_scene_suggests_close_id():
    with pytest.raises(MiniMindError) as caught:
        get_scene("atention")
    assert caught.value.key == "render.error.unknown_scene_close"
    assert "attention" in str(caught.value)


@pytest.mark.parametrize("entry", list_scenes(), ids=lambda entry: entry.id)
def test_scene_strings_in_both_languages(entry):
    for field in ("title", "summary", "claim"):
        assert has(f"scene.{entry.id}.{field}", "en")
        assert has(f"scene.{entry.id}.{field}", "zh")


def test_scene_and_render_keys_match_across_languages():
    prefixes = ("scene.", "render.", "scenes.")
    english = {key for key in en.STRINGS if key.startswith(prefixes)}
    chinese = {key for key in zh.STRINGS if key.startswith(prefixes)}
    assert english - chinese == set()
    assert chinese - english == set()


# --- command line -----------------------------------------------------------------------------

def test_cli_scenes_lists_ids(capsys):
    assert main(["--lang", "zh", "scenes"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == [entry.id for entry in list_scenes()]
    assert any("注意力" in line for line in lines)


def test_cli_unknown_scene_exit_2(capsys):
    assert main(["render", "no-such-scene"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "no-such-scene" in err
    assert "attention" in err


def test_cli_bad_layer_leaves_nothing(trace_file, tmp_path, capsys):
    status = main(["render", "attention", "--trace", str(trace_file), "--layer", "7", "-o", str(tmp_path), "--no-progress"])
    assert status == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "--layer 7" in err
    assert list(tmp_path.iterdir()) == []


def test_cli_missing_trace_exit_2(tmp_path, capsys):
    assert main(["render", "gqa", "--trace", str(tmp_path / "absent.mmtrace")]) == 2
    assert "absent.mmtrace" in capsys.readouterr().err


def test_cli_trace_without_scene_sites(tmp_path, capsys):
    tokenizer = load_tokenizer(None)
    model = small_model(tokenizer.vocab_size)
    logits_only = save_trace(trace_prompt(model, tokenizer, PROMPT, sites="logits"), tmp_path / "logits.mmtrace")
    command = ["--lang", "en", "render", "attention", "--format", "png", "--quality", "draft", "-o", str(tmp_path)]

    # The scene cannot be drawn from this trace, so the error names the site and asks for a re-trace.
    assert main([*command, "--trace", str(logits_only)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "'layers.0.attn.probs'" in err
    assert "re-trace without --sites" in err
    assert "'layers.*.attn.*'" in err
    assert "pass one of the recorded sites" not in err

    # The glob the message suggests records enough for the scene.
    attention_only = save_trace(trace_prompt(model, tokenizer, PROMPT, sites="layers.*.attn.*"), tmp_path / "attn.mmtrace")
    assert main([*command, "--trace", str(attention_only)]) == 0
    assert list(tmp_path.glob("attention-en-*.png"))

def test_cli_empty_prompt_exit_2(tmp_path, capsys):
    # An empty --prompt is bad input, not a request for the default prompt.
    assert main(["--lang", "en", "render", "gqa", "--prompt", "", "--format", "png", "-o", str(tmp_path)]) == 2
    assert "the prompt is empty" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_cli_bad_output_suffix(trace_file, tmp_path, capsys):
    status = main(["render", "gqa", "--trace", str(trace_file), "--format", "png", "-o", str(tmp_path / "still.mp4")])
    assert status == 2
    assert ".png" in capsys.readouterr().err


def test_cli_unwritable_folder_exit_2(trace_file, tmp_path, capsys, monkeypatch):
    # Root ignores chmod, so fail the work folder's creation the way a read-only folder would.
    import tempfile

    def deny(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkdtemp", deny)
    status = main(["--lang", "en", "render", "gqa", "--trace", str(trace_file), "--format", "png", "-o", str(tmp_path / "g.png")])
    assert status == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "not writable" in err, err
    assert list(tmp_path.iterdir()) == []


def test_output_folder_with_slash_is_created(trace_file, tmp_path):
    path = render_scene("gqa", str(trace_file), RenderOptions(quality="draft", format="png", lang="en", output=f"{tmp_path}/new/", progress=False))
    assert path == tmp_path / "new" / "gqa-en-draft.png"
    assert path.is_file()


def test_cli_render_png_writes_sidecar(trace_file, tmp_path, capsys):
    out = tmp_path / "gqa.png"
    status = main(["render", "gqa", "--trace", str(trace_file), "--format", "png", "--quality", "draft", "--layer", "1", "-o", str(out), "--no-progress"])
    assert status == 0
    assert str(out) in capsys.readouterr().out
    record = json.loads(sidecar_path(out).read_text(encoding="utf-8"))
    assert record["scene"] == "gqa"
    assert record["focus"] == {"layer": 1}
    assert record["options"]["layer"] == 1
    assert record["trace"]["file"] == str(trace_file.resolve())
    assert record["trace"]["sha256"] == trace_digest(open_trace(trace_file))
    assert set(record["versions"]) >= {"manim", "torch", "python", "minimind-trace"}
    assert leftovers(tmp_path) == []


# --- sidecars ---------------------------------------------------------------------------------

def test_from_sidecar_renders_same_clip(trace_file, tmp_path):
    first = render_scene("rmsnorm", str(trace_file), png_options(tmp_path, layer=1, token=3))
    again = render_from_sidecar(sidecar_path(first), output=str(tmp_path / "again.png"), progress=False)
    one = json.loads(sidecar_path(first).read_text(encoding="utf-8"))
    two = json.loads(sidecar_path(again).read_text(encoding="utf-8"))
    assert again.name == "again.png"
    for key in ("scene", "focus", "trace", "resolution", "format", "beats"):
        assert one[key] == two[key]
    assert one["focus"] == {"layer": 1, "token": 3}
    assert again.read_bytes() == first.read_bytes()


def test_from_sidecar_rejects_changed_trace(trace_file, tmp_path):
    copy = tmp_path / "copy.mmtrace"
    copy.write_bytes(trace_file.read_bytes())
    first = render_scene("gqa", str(copy), png_options(tmp_path))
    tokenizer = load_tokenizer(None)
    save_trace(trace_prompt(small_model(tokenizer.vocab_size, seed=1), tokenizer, PROMPT), copy)
    with pytest.raises(MiniMindError) as caught:
        render_from_sidecar(sidecar_path(first), progress=False)
    assert caught.value.key == "render.error.sidecar_digest"


def test_cli_from_sidecar_missing_file(tmp_path, capsys):
    assert main(["render", "--from-sidecar", str(tmp_path / "none.json")]) == 2
    assert "none.json" in capsys.readouterr().err


# --- processes and the plain manim CLI ----------------------------------------------------------

def _render_in_worker(trace_path: str, folder: str) -> str:
    return str(render_scene("forward", trace_path, png_options(Path(folder))))


def test_render_in_spawned_worker(trace_file, tmp_path):
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        path = Path(pool.submit(_render_in_worker, str(trace_file), str(tmp_path)).result(timeout=300))
    assert path.is_file()
    assert sidecar_path(path).is_file()


def test_plain_manim_cli_reads_env_trace(trace_file, tmp_path):
    env = dict(os.environ, MMTRACE_TRACE=str(trace_file), MMTRACE_LANG="zh", MMTRACE_HEAD="1")
    command = [str(Path(sys.executable).with_name("manim")), "render", "--format", "png", "-r", "320,180",
               "--media_dir", str(tmp_path), "--disable_caching", str(ROOT / "scenes" / "attention.py"), "AttentionScene"]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    stills = list(tmp_path.rglob("AttentionScene*.png"))
    assert len(stills) == 1


def test_plain_manim_cli_missing_trace(tmp_path):
    missing = tmp_path / "missing.mmtrace"
    env = dict(os.environ, MMTRACE_TRACE=str(missing), MMTRACE_LANG="en")
    command = [str(Path(sys.executable).with_name("manim")), "render", "-ql", "--format", "png",
               "--media_dir", str(tmp_path), "--disable_caching", str(ROOT / "scenes" / "attention.py"), "AttentionScene"]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)

    # One line naming the file, not manim's rich traceback.
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr[-2000:]
    assert lines[0].startswith("AttentionScene: error: ")
    assert str(missing) in lines[0]
    assert list(tmp_path.rglob("*.png")) == []
