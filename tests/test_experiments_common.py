"""Tests for the prompt handling shared by the experiments."""

from pathlib import Path

import pytest
import torch

from minimind import MiniMindConfig, MiniMindForCausalLM
from minimind.data import HELDOUT_SEED, generate_stories
from minimind.tokenizer import MiniMindTokenizer, train_tokenizer
from scenes.experiments import ExperimentError, resolve_prompt


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return MiniMindForCausalLM(MiniMindConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                                              num_key_value_heads=1, vocab_size=400, max_position_embeddings=64))


@pytest.fixture(scope="module")
def tokenizer():
    return MiniMindTokenizer(train_tokenizer(generate_stories(40, 0), 400), Path("trained-in-test"))


def test_resolve_prompt_text_gets_bos(model, tokenizer):
    prompt = resolve_prompt(model, tokenizer, "Tom had a kite.")
    assert prompt.ids == [tokenizer.bos_token_id] + tokenizer.encode("Tom had a kite.")
    assert prompt.labels == tokenizer.token_labels(prompt.ids)
    assert prompt.tensor().shape == (1, len(prompt.ids))


def test_resolve_prompt_default_is_heldout_story(model, tokenizer):
    prompt = resolve_prompt(model, tokenizer, None, length=10)
    story = generate_stories(1, HELDOUT_SEED, lang="en")[0]
    assert prompt.ids == ([tokenizer.bos_token_id] + tokenizer.encode(story))[:10]


def test_resolve_prompt_random_ids_are_seeded_and_distinct(model):
    first = resolve_prompt(model, None, None, length=12, seed=5)
    again = resolve_prompt(model, None, None, length=12, seed=5)
    assert first.ids == again.ids
    assert len(set(first.ids)) == 12
    assert all(3 <= i < 400 for i in first.ids)
    assert first.labels[0] == f"#{first.ids[0]}"
    # Longer than the vocabulary: ids repeat but stay ordinary tokens.
    long = resolve_prompt(model, None, None, length=1000)
    assert len(long.ids) == 1000
    assert min(long.ids) >= 3


def test_resolve_prompt_rejects_bad_input(model):
    with pytest.raises(ExperimentError, match="tokenizer"):
        resolve_prompt(model, None, "some text")
    with pytest.raises(ExperimentError, match="outside the vocabulary"):
        resolve_prompt(model, None, [5, 400])
    with pytest.raises(ExperimentError, match="at least 2"):
        resolve_prompt(model, None, [7, 7, 7], distinct=True)
