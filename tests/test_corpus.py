"""The synthetic story corpus: determinism, languages and the recurring-character structure."""

import re

import pytest

from minimind.data import HELDOUT_SEED, TRAIN_SEED, generate_stories, generate_story_records
from minimind.data import wordlists_en, wordlists_zh

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_same_seed_same_stories():
    assert generate_stories(50, seed=7) == generate_stories(50, seed=7)


def test_different_seeds_differ():
    first = generate_stories(50, seed=7)
    second = generate_stories(50, seed=8)
    assert len(set(first) & set(second)) == 0


def test_prefix_is_stable():
    # Asking for more stories must not change the earlier ones.
    assert generate_stories(60, seed=3)[:20] == generate_stories(20, seed=3)


def test_heldout_stories_not_in_training_set():
    from minimind.train import build_parser

    train_count = build_parser().get_default("train_stories")
    training = set(generate_stories(train_count, TRAIN_SEED))
    heldout = generate_stories(200, HELDOUT_SEED)
    assert TRAIN_SEED != HELDOUT_SEED
    assert not [story for story in heldout if story in training]


def test_english_stories_are_ascii():
    stories = generate_stories(40, seed=1, lang="en")
    assert all(story.isascii() for story in stories)


def test_chinese_stories_are_chinese():
    for story in generate_stories(40, seed=1, lang="zh"):
        assert len(CJK.findall(story)) > 0.6 * len(story)
        assert not re.search(r"[A-Za-z]", story)


def test_both_alternates_languages():
    records = generate_story_records(10, seed=2, lang="both")
    assert [record.lang for record in records] == ["en", "zh"] * 5


def test_no_unfilled_placeholders():
    for story in generate_stories(400, seed=4):
        assert "{" not in story
        assert "}" not in story


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_names_recur_in_every_story(lang):
    for record in generate_story_records(300, seed=5, lang=lang):
        assert record.text.count(record.cast["A"]) >= 3, record.text
        assert record.text.count(record.cast["B"]) >= 2, record.text


@pytest.mark.parametrize("pack", [wordlists_en, wordlists_zh], ids=["en", "zh"])
def test_cast_has_one_girl_and_one_boy(pack):
    lang = "en" if pack is wordlists_en else "zh"
    for record in generate_story_records(200, seed=6, lang=lang):
        a_is_girl = record.cast["A"] in pack.GIRL_NAMES
        b_is_girl = record.cast["B"] in pack.GIRL_NAMES
        assert a_is_girl != b_is_girl
        assert record.cast["A"] in pack.GIRL_NAMES + pack.BOY_NAMES
        assert record.cast["B"] in pack.GIRL_NAMES + pack.BOY_NAMES


def test_english_pronouns_match_gender():
    for record in generate_story_records(200, seed=9, lang="en"):
        expected = "she" if record.cast["A"] in wordlists_en.GIRL_NAMES else "he"
        assert record.cast["a_he"] == expected
        assert record.cast["b_he"] == ("he" if expected == "she" else "she")


def test_chinese_pronouns_match_gender():
    for record in generate_story_records(200, seed=9, lang="zh"):
        expected = "她" if record.cast["A"] in wordlists_zh.GIRL_NAMES else "他"
        assert record.cast["a_ta"] == expected
        assert record.cast["b_ta"] != expected


def test_name_lists_do_not_overlap():
    for pack in (wordlists_en, wordlists_zh):
        names = pack.GIRL_NAMES + pack.BOY_NAMES + pack.PET_NAMES
        assert len(names) == len(set(names))


@pytest.mark.parametrize("pack", [wordlists_en, wordlists_zh], ids=["en", "zh"])
def test_every_plot_is_used(pack):
    lang = "en" if pack is wordlists_en else "zh"
    plots_seen = {record.plot for record in generate_story_records(300, seed=10, lang=lang)}
    assert plots_seen == set(range(len(pack.PLOTS)))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"count": 3, "seed": 0, "lang": "fr"}, "unknown story language 'fr'"),
        ({"count": -1, "seed": 0}, "story count -1 is invalid"),
        ({"count": 2.5, "seed": 0}, "story count 2.5 is invalid"),
        ({"count": 3, "seed": "0"}, "seed '0' is invalid"),
    ],
)
def test_invalid_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        generate_stories(**kwargs)


def test_zero_stories():
    assert generate_stories(0, seed=0) == []
