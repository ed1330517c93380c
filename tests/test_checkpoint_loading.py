"""Checkpoint formats the loader accepts, and one-line errors for the ones it rejects."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import save_file

from minimind import CheckpointError, MiniMindConfig, MiniMindForCausalLM, load_checkpoint, save_checkpoint

from .conftest import PARITY

M3 = PARITY / "m3_dense"


def _logits(model):
    ids = torch.arange(3, 15)[None]
    with torch.no_grad():
        return model(ids).logits


def test_own_format_round_trip(tmp_path):
    model = load_checkpoint(M3 / "model.pth")
    path = tmp_path / "model.safetensors"
    save_checkpoint(model, path)
    again = load_checkpoint(path)
    assert again.config.to_dict() == model.config.to_dict()
    assert torch.equal(_logits(again), _logits(model))


def test_hf_style_folder_with_safetensors(tmp_path):
    state = torch.load(M3 / "model.pth", weights_only=True)
    del state["lm_head.weight"]
    save_file({k: v.contiguous() for k, v in state.items()}, str(tmp_path / "model.safetensors"))
    shutil.copy(M3 / "config.json", tmp_path / "config.json")
    model = load_checkpoint(tmp_path)
    assert torch.allclose(_logits(model), _logits(load_checkpoint(M3 / "model.pth")))


def test_folder_with_pytorch_model_bin(tmp_path):
    shutil.copy(M3 / "model.pth", tmp_path / "pytorch_model.bin")
    shutil.copy(M3 / "config.json", tmp_path / "config.json")
    assert load_checkpoint(tmp_path).config.num_hidden_layers == 2


def test_config_argument_fills_unknown_sizes(tmp_path):
    # A minimind2 head count is not visible in any shape, so it comes from config.
    shutil.copy(PARITY / "m2_dense" / "model.pth", tmp_path / "full_sft_64.pth")
    model = load_checkpoint(tmp_path / "full_sft_64.pth", config={"num_attention_heads": 4, "max_position_embeddings": 512})
    assert model.config.num_attention_heads == 4
    assert model.config.num_key_value_heads == 2


def test_fp16_dtype_keeps_rope_tables_fp32():
    model = load_checkpoint(M3 / "model.pth", dtype=torch.float16)
    assert model.lm_head.weight.dtype == torch.float16
    assert model.model.freqs_cos.dtype == torch.float32


def test_missing_path_names_path(tmp_path):
    with pytest.raises(CheckpointError, match="not found.*nothing.pth"):
        load_checkpoint(tmp_path / "nothing.pth")


def test_foreign_file_rejected(tmp_path):
    path = tmp_path / "notes.pth"
    path.write_text("not a checkpoint")
    with pytest.raises(CheckpointError, match="notes.pth"):
        load_checkpoint(path)


def test_png_is_foreign_not_unsafe(tmp_path):
    # Garbage bytes also fail torch's safe unpickler; only a disallowed class is "Python objects".
    path = tmp_path / "picture.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    with pytest.raises(CheckpointError, match="cannot read .*picture.png as a PyTorch state dict"):
        load_checkpoint(path)


def test_pickled_object_not_unpickled(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"model.embed_tokens.weight": torch.zeros(2, 2), "extra": object()}, path)
    with pytest.raises(CheckpointError, match="Python objects"):
        load_checkpoint(path)


def test_state_dict_of_other_model_rejected(tmp_path):
    path = tmp_path / "other.pth"
    torch.save({"encoder.weight": torch.zeros(4, 4)}, path)
    with pytest.raises(CheckpointError, match="not a MiniMind checkpoint"):
        load_checkpoint(path)


def test_shape_mismatch_names_key_and_shapes(tmp_path):
    state = torch.load(M3 / "model.pth", weights_only=True)
    state["model.layers.1.mlp.up_proj.weight"] = torch.zeros(128, 64, dtype=torch.float16)
    path = tmp_path / "bad.pth"
    torch.save(state, path)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert "model.layers.1.mlp.up_proj.weight" in message
    assert "(128, 64)" in message
    assert "(256, 64)" in message
    assert "\n" not in message


def test_config_contradicting_weights_rejected(tmp_path):
    shutil.copy(M3 / "model.pth", tmp_path / "model.pth")
    (tmp_path / "config.json").write_text(json.dumps({"hidden_size": 128}))
    with pytest.raises(CheckpointError, match="hidden_size=128"):
        load_checkpoint(tmp_path / "model.pth")


def test_v1_layout_rejected(tmp_path):
    path = tmp_path / "v1.pth"
    torch.save({"tok_embeddings.weight": torch.zeros(4, 4)}, path)
    with pytest.raises(CheckpointError, match="v1 layout"):
        load_checkpoint(path)


def test_prompt_longer_than_positions_rejected():
    config = MiniMindConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1, vocab_size=16, max_position_embeddings=8)
    model = MiniMindForCausalLM(config)
    with pytest.raises(ValueError, match="max_position_embeddings is 8"):
        model(torch.zeros(1, 9, dtype=torch.long))


def test_load_warnings_follow_cli_language(tmp_path):
    import subprocess
    import sys

    state = torch.load(M3 / "model.pth", weights_only=True)
    state["lm_head.weight"] = state["lm_head.weight"] + 1.0  # untie the output head
    path = tmp_path / "untied.pth"
    torch.save(state, path)

    def info_stderr(lang: str) -> str:
        # A child process, because pytest's own log handlers replace the CLI's formatter.
        command = [sys.executable, "-m", "tracer.cli.main", "--lang", lang, "info", "--checkpoint", str(path)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stderr

    assert "lm_head.weight differs from model.embed_tokens.weight" in info_stderr("en")
    chinese = info_stderr("zh")
    assert "lm_head.weight 与 model.embed_tokens.weight 不同" in chinese
    assert "differs from" not in chinese


@pytest.mark.parametrize("settings, fragment", [
    ({"rope_theta": "abc"}, "rope_theta='abc' is not a number"),
    ({"inference_rope_scaling": "no"}, "inference_rope_scaling='no' is not true or false"),
    ({"max_position_embeddings": 512.5}, "max_position_embeddings=512.5 is not an integer"),
])
def test_config_value_of_wrong_type_rejected(tmp_path, settings, fragment):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(settings), encoding="utf-8")
    with pytest.raises(CheckpointError, match="invalid config") as caught:
        load_checkpoint(M3 / "model.pth", config=path)
    assert fragment in str(caught.value)
    assert "\n" not in str(caught.value)
