"""Seeded generator of short English and Chinese stories, the default model's corpus.

The stories are built from the templates and word lists in `wordlists_en` and
`wordlists_zh` only. Each story keeps returning to the same two characters, one girl and
one boy. A model trained on them therefore has concrete reasons to attend back: to copy a
name it has seen, to resolve he/she (他/她) to the only name of that gender, and to repeat
the toy, food or place introduced earlier.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from types import ModuleType

from minimind.data import wordlists_en, wordlists_zh

# The training run draws its stories from TRAIN_SEED only. Held-out stories come from
# HELDOUT_SEED, which training never uses.
TRAIN_SEED = 0
HELDOUT_SEED = 1

LANGUAGE_PACKS: dict[str, ModuleType] = {"en": wordlists_en, "zh": wordlists_zh}
LANGUAGES = ("en", "zh", "both")


@dataclass(frozen=True)
class Story:
    """One generated story with the cast its templates were filled from."""

    text: str
    lang: str  # "en" or "zh"
    cast: dict[str, str]  # template placeholder -> value, e.g. "A" -> main character's name
    plot: int  # index into the language pack's PLOTS


def generate_story_records(count: int, seed: int, lang: str = "both") -> list[Story]:
    """Generate `count` stories with their casts; the same arguments give the same stories.

    With lang="both" the stories alternate English, Chinese, English, ... starting with
    English, all drawn from one random stream.
    """
    if lang not in LANGUAGES:
        raise ValueError(f"unknown story language {lang!r}: use one of {', '.join(LANGUAGES)}")
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ValueError(f"story count {count!r} is invalid: pass a non-negative integer")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed {seed!r} is invalid: pass an integer")

    rng = random.Random(seed)
    stories = []
    for index in range(count):
        story_lang = lang if lang != "both" else ("en", "zh")[index % 2]
        stories.append(_generate_story(rng, story_lang))
    return stories


def generate_stories(count: int, seed: int, lang: str = "both") -> list[str]:
    """Generate the text of `count` stories; see `generate_story_records`."""
    return [story.text for story in generate_story_records(count, seed, lang)]


def _generate_story(rng: random.Random, lang: str) -> Story:
    pack = LANGUAGE_PACKS[lang]
    cast = pack.make_cast(rng)
    plot_index = rng.randrange(len(pack.PLOTS))

    sentences = []
    for beat in pack.PLOTS[plot_index]:
        options = beat
        if beat[0] == pack.OPTIONAL:
            options = beat[1:]
            if rng.random() < 0.5:
                continue
        sentences.append(rng.choice(options).format(**cast))
    return Story(text=pack.SENTENCE_SEPARATOR.join(sentences), lang=lang, cast=cast, plot=plot_index)
