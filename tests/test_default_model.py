"""The embedded default model: it loads, matches its recorded held-out loss, and writes stories."""

import json
import re

import pytest
import torch

from minimind import DEFAULT_MODEL_DIR, load_checkpoint, load_default_model, load_tokenizer
from minimind.data import wordlists_en, wordlists_zh
from minimind.train import heldout_loss

RECORD = json.loads((DEFAULT_MODEL_DIR / "training.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def model():
    return load_checkpoint(DEFAULT_MODEL_DIR)


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer()


def test_asset_files_present():
    for name in ("model.safetensors", "config.json", "tokenizer.json", "tokenizer_config.json", "training.json"):
        assert (DEFAULT_MODEL_DIR / name).is_file(), name
    assert (DEFAULT_MODEL_DIR / "model.safetensors").stat().st_size <= 10 * 1024 * 1024


def test_config_is_minimind3_with_gqa(model):
    config_file = json.loads((DEFAULT_MODEL_DIR / "config.json").read_text(encoding="utf-8"))
    assert config_file["minimind_version"] == "minimind-3"
    assert model.config.minimind_version == "minimind-3"
    assert model.config.num_attention_heads // model.config.num_key_value_heads >= 2
    for key, value in config_file.items():
        assert getattr(model.config, key) == value, key


def test_upstream_key_names():
    from safetensors import safe_open

    with safe_open(str(DEFAULT_MODEL_DIR / "model.safetensors"), framework="pt") as handle:
        keys = set(handle.keys())
    assert "model.embed_tokens.weight" in keys
    assert "model.layers.0.self_attn.q_norm.weight" in keys
    assert "model.layers.0.mlp.gate_proj.weight" in keys


def test_load_default_model_matches_checkpoint(model):
    default = load_default_model()
    ids = torch.tensor([[1, 5, 6, 7]])
    assert torch.equal(default(ids).logits, model(ids).logits)


def test_vocab_matches_tokenizer(model, tokenizer):
    assert model.config.vocab_size == tokenizer.vocab_size
    assert model.config.bos_token_id == tokenizer.bos_token_id
    assert model.config.eos_token_id == tokenizer.eos_token_id


def test_heldout_loss_matches_record(model, tokenizer):
    loss = heldout_loss(model, tokenizer, RECORD["corpus"]["heldout_stories"])
    for lang in ("all", "en", "zh"):
        assert loss[lang] == pytest.approx(RECORD["heldout_loss"][lang], abs=0.01), lang


def test_heldout_loss_beats_unigram():
    assert RECORD["heldout_loss"]["all"] < 0.5 * RECORD["unigram_loss"]["all"]


def _greedy(model, tokenizer, prompt: str, new_tokens: int = 40) -> tuple[list[int], str]:
    ids = torch.tensor([[tokenizer.bos_token_id, *tokenizer.encode(prompt)]])
    out = model.generate(ids, max_new_tokens=new_tokens, do_sample=False, eos_token_id=tokenizer.eos_token_id)
    new_ids = out[0, ids.shape[1] :].tolist()
    return new_ids, tokenizer.decode(new_ids, skip_special_tokens=True)


def test_english_continuation_copies_names(model, tokenizer):
    prompt = "Ben had a green boat. On Sunday, Ben took the boat to the lake."
    new_ids, text = _greedy(model, tokenizer, prompt)
    assert new_ids[0] != tokenizer.eos_token_id
    assert "\ufffd" not in text
    assert text.isascii()
    assert "Ben" in text
    words = set(re.findall(r"[A-Za-z]+", text))
    known = set(wordlists_en.GIRL_NAMES + wordlists_en.BOY_NAMES + wordlists_en.OBJECTS + wordlists_en.PLACES)
    assert words & known


def test_chinese_continuation_copies_names(model, tokenizer):
    prompt = "小明有一个蓝色的皮球。星期天，小明带着皮球去了湖边。"
    new_ids, text = _greedy(model, tokenizer, prompt)
    assert new_ids[0] != tokenizer.eos_token_id
    assert "\ufffd" not in text
    assert "小明" in text
    assert re.search(r"[\u4e00-\u9fff]{4}", text)
    assert not re.search(r"[A-Za-z]", text)
    known = wordlists_zh.GIRL_NAMES + wordlists_zh.BOY_NAMES + tuple(noun for noun, _ in wordlists_zh.OBJECTS)
    assert any(word in text for word in known)


def test_recorded_samples_are_nonempty():
    for lang in ("en", "zh"):
        assert RECORD["samples"][lang]["greedy"].strip()


TINY_RUN = [
    "--steps", "2", "--train-stories", "200", "--eval-stories", "4", "--seq-len", "64", "--batch-size", "2",
    "--warmup-steps", "1", "--hidden-size", "32", "--num-hidden-layers", "1",
    "--num-attention-heads", "2", "--num-key-value-heads", "1",
]


def test_training_script_writes_loadable_assets(tmp_path):
    from minimind.train import OUTPUT_FILES, main

    out = tmp_path / "tiny"
    assert main(["--out", str(out), *TINY_RUN]) == 0

    assert sorted(path.name for path in out.iterdir()) == sorted(OUTPUT_FILES)
    assert [path.name for path in tmp_path.iterdir()] == ["tiny"]  # staging folder removed
    record = json.loads((out / "training.json").read_text(encoding="utf-8"))
    assert record["training"]["steps"] == 2
    assert record["model"]["minimind_version"] == "minimind-3"
    tiny = load_checkpoint(out)
    assert tiny.config.hidden_size == 32
    assert tiny.config.vocab_size == load_tokenizer(out).vocab_size


@pytest.mark.parametrize(
    "options, message",
    [
        (["--steps", "0"], "invalid value '0': use a positive integer"),
        (["--lr", "nan"], "invalid value 'nan': use a positive number"),
        (["--vocab-size", "100"], "--vocab-size 100 is too small"),
        (["--seq-len", "4096"], "--seq-len 4096 exceeds max_position_embeddings 2048"),
        (["--num-key-value-heads", "3"], "num_attention_heads=8 is not a multiple of num_key_value_heads=3"),
    ],
)
def test_training_script_rejects_bad_options(tmp_path, capsys, options, message):
    from minimind.train import main

    out = tmp_path / "never"
    try:
        status = main(["--out", str(out), *options])
    except SystemExit as exit_request:  # argparse exits on its own for invalid values
        status = exit_request.code
    assert status == 2
    error = capsys.readouterr().err
    assert message in error
    assert error.count("\n") == 1
    assert not out.exists()
