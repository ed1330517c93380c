"""Synthetic story corpus that the embedded default model is trained on."""

from minimind.data.corpus import (
    HELDOUT_SEED,
    LANGUAGES,
    TRAIN_SEED,
    Story,
    generate_stories,
    generate_story_records,
)

__all__ = [
    "HELDOUT_SEED",
    "LANGUAGES",
    "TRAIN_SEED",
    "Story",
    "generate_stories",
    "generate_story_records",
]
