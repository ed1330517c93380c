"""The byte-level BPE tokenizer: special ids, round trips, labels, training and load errors."""

import json
import re
import shutil

import pytest
from tokenizers import Tokenizer, models, pre_tokenizers

from minimind import load_tokenizer as package_load_tokenizer
from minimind.data import generate_stories
from minimind.errors import MiniMindError
from minimind.tokenizer import (
    DEFAULT_TOKENIZER_DIR,
    MiniMindTokenizer,
    TokenizerLoadError,
    load_tokenizer,
    tokenizer_config,
    train_tokenizer,
)

MOJIBAKE = re.compile("[\u00c0-\u00ff\ufffd]")  # Latin-1 letters or U+FFFD where Chinese should be


@pytest.fixture(scope="module")
def tokenizer() -> MiniMindTokenizer:
    return load_tokenizer()


def test_special_token_ids(tokenizer):
    assert tokenizer.pad_token_id == 0
    assert tokenizer.bos_token_id == 1
    assert tokenizer.eos_token_id == 2
    assert tokenizer.token_labels([0, 1, 2]) == ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def test_default_path_and_package_entry(tokenizer):
    assert tokenizer.path == DEFAULT_TOKENIZER_DIR / "tokenizer.json"
    assert package_load_tokenizer(None).vocab_size == tokenizer.vocab_size


def test_no_normalizer_and_byte_level():
    data = json.loads((DEFAULT_TOKENIZER_DIR / "tokenizer.json").read_text(encoding="utf-8"))
    assert data["normalizer"] is None
    assert data["pre_tokenizer"]["type"] == "ByteLevel"
    assert data["model"]["type"] == "BPE"


@pytest.mark.parametrize(
    "text",
    [
        "Lily had a red kite. She took it to the park.",
        "小红有一只红色的风筝。她说：“谢谢你，小明！”",
        "Mixed 中文 and English, 123 numbers, tabs\tand\nnew lines.",
        "Unseen words: xylophone, 鑫, 🙂, café.",
    ],
)
def test_round_trip(tokenizer, text):
    assert tokenizer.decode(tokenizer.encode(text)) == text


def test_encode_adds_no_special_tokens(tokenizer):
    ids = tokenizer.encode("Tom")
    assert tokenizer.bos_token_id not in ids
    assert tokenizer.eos_token_id not in ids


def test_special_token_text_encodes_to_its_id(tokenizer):
    assert tokenizer.encode("<|im_end|>") == [tokenizer.eos_token_id]


def test_corpus_words_are_single_tokens(tokenizer):
    assert len(tokenizer.encode(" Lily")) == 1
    assert len(tokenizer.encode(" kite")) == 1


def test_chinese_names_split_per_character(tokenizer):
    ids = tokenizer.encode("看见了小红")
    assert tokenizer.token_labels(ids) == ["看", "见", "了", "小", "红"]


def test_labels_for_known_chinese(tokenizer):
    text = "小明带着风筝去了公园。"
    labels = tokenizer.token_labels(tokenizer.encode(text))
    assert "".join(labels) == text
    assert not any(MOJIBAKE.search(label) for label in labels)


def test_labels_for_unseen_chinese_use_byte_markers(tokenizer):
    # 鑫 is in no word list, so it is encoded as bytes E9 91 AB and shown as markers.
    labels = tokenizer.token_labels(tokenizer.encode("鑫"))
    assert "".join(labels) == "<0xE9><0x91><0xAB>"
    assert not any(MOJIBAKE.search(label) for label in labels)


def test_labels_keep_leading_space_and_escape_newline(tokenizer):
    assert tokenizer.token_labels(tokenizer.encode(" Lily")) == [" Lily"]
    assert "\\n" in tokenizer.token_labels(tokenizer.encode("\n"))


def test_folder_and_file_paths_load(tmp_path):
    shutil.copy(DEFAULT_TOKENIZER_DIR / "tokenizer.json", tmp_path / "tokenizer.json")
    from_folder = load_tokenizer(tmp_path)
    from_file = load_tokenizer(str(tmp_path / "tokenizer.json"))
    assert from_folder.path == tmp_path / "tokenizer.json"
    assert from_file.encode("小红") == from_folder.encode("小红")


def test_tokenizer_config_names_special_tokens(tmp_path):
    shutil.copy(DEFAULT_TOKENIZER_DIR / "tokenizer.json", tmp_path / "tokenizer.json")
    config = tokenizer_config(2048)
    config["bos_token"] = "<|endoftext|>"
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    assert load_tokenizer(tmp_path).bos_token_id == 0


def _assert_one_line_error(error: pytest.ExceptionInfo, path) -> None:
    message = str(error.value)
    assert "\n" not in message
    assert str(path) in message


def test_missing_file_raises(tmp_path):
    missing = tmp_path / "nope.json"
    with pytest.raises(TokenizerLoadError) as error:
        load_tokenizer(missing)
    _assert_one_line_error(error, missing)
    assert "pass a tokenizer.json file" in str(error.value)


def test_folder_without_tokenizer_raises(tmp_path):
    with pytest.raises(TokenizerLoadError, match="no tokenizer.json in folder") as error:
        load_tokenizer(tmp_path)
    _assert_one_line_error(error, tmp_path)


def test_invalid_json_raises(tmp_path):
    bad = tmp_path / "tokenizer.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(TokenizerLoadError, match="cannot read") as error:
        load_tokenizer(bad)
    _assert_one_line_error(error, bad)


def test_tokenizer_without_special_tokens_raises(tmp_path):
    plain = Tokenizer(models.BPE())
    plain.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    path = tmp_path / "tokenizer.json"
    plain.save(str(path))
    with pytest.raises(TokenizerLoadError, match=re.escape("has no <|im_start|> token")) as error:
        load_tokenizer(path)
    _assert_one_line_error(error, path)


def test_load_error_is_a_value_error():
    assert issubclass(TokenizerLoadError, MiniMindError)
    assert issubclass(TokenizerLoadError, ValueError)


def test_training_is_deterministic():
    stories = generate_stories(300, seed=11)
    first = train_tokenizer(stories, 600).to_str()
    second = train_tokenizer(stories, 600).to_str()
    assert first == second


def test_trained_tokenizer_layout(tmp_path):
    backend = train_tokenizer(generate_stories(300, seed=12), 800)
    backend.save(str(tmp_path / "tokenizer.json"))
    trained = load_tokenizer(tmp_path)
    assert [trained.pad_token_id, trained.bos_token_id, trained.eos_token_id] == [0, 1, 2]
    assert trained.vocab_size <= 800
    assert trained.token_labels(trained.encode("小红")) == ["小", "红"]


def test_too_small_vocab_rejected():
    with pytest.raises(ValueError, match="vocab_size 100 is too small"):
        train_tokenizer(["abc"], 100)
