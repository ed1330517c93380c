"""Pieces shared by the experiments: input checks, prompt ids and probe hooks."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

from minimind.errors import MiniMindError

DEFAULT_PROMPT_TOKENS = 12


class ExperimentError(MiniMindError):
    """An experiment argument is out of range or does not fit the model."""


@dataclass(frozen=True)
class Prompt:
    """Token ids fed to an experiment, with one readable label per id."""

    ids: list[int]
    labels: list[str]

    def tensor(self) -> torch.Tensor:
        """Return the ids as a (1, T) long tensor."""
        return torch.tensor([self.ids], dtype=torch.long)


def resolve_prompt(
    model: nn.Module,
    tokenizer=None,
    prompt: str | Sequence[int] | None = None,
    length: int = DEFAULT_PROMPT_TOKENS,
    seed: int = 0,
    distinct: bool = False,
) -> Prompt:
    """Turn the caller's prompt into ids and labels.

    `prompt` may be text (which needs `tokenizer`, and gets bos prepended), a sequence of
    ids (used as given), or None. None gives `length` ids: `<|im_start|>` and held-out
    stories from `minimind.data` when a tokenizer is given, else ids drawn from the
    vocabulary with `seed`. Those are distinct while the vocabulary allows.
    `distinct` keeps only the first occurrence of each id, for experiments that need
    distinct tokens.
    """
    vocab = model.config.vocab_size
    if isinstance(prompt, str):
        if tokenizer is None:
            raise ExperimentError("a text prompt needs a tokenizer: pass tokenizer=minimind.load_tokenizer(None)")
        if not prompt.strip():
            raise ExperimentError("the prompt is empty: pass some text or None for the default prompt")
        ids = [tokenizer.bos_token_id] + tokenizer.encode(prompt)
    elif prompt is not None:
        ids = [int(i) for i in prompt]
    elif tokenizer is not None:
        ids = _story_ids(tokenizer, length)
    else:
        ids = _random_ids(vocab, length, seed)

    if distinct:
        ids = list(dict.fromkeys(ids))
    if len(ids) < 2:
        raise ExperimentError(f"the prompt has {len(ids)} usable tokens: pass a prompt with at least 2 distinct tokens")
    bad = [i for i in ids if not 0 <= i < vocab]
    if bad:
        raise ExperimentError(f"token id {bad[0]} is outside the vocabulary of {vocab}: pass ids below {vocab}")

    labels = tokenizer.token_labels(ids) if tokenizer is not None else [f"#{i}" for i in ids]
    return Prompt(ids=ids, labels=labels)


def _story_ids(tokenizer, length: int) -> list[int]:
    from minimind.data import HELDOUT_SEED, generate_stories

    ids = [tokenizer.bos_token_id]
    count = 1
    while len(ids) < length:
        # Stories average about a hundred tokens, so few rounds are needed even for long prompts.
        story = generate_stories(count, HELDOUT_SEED, lang="en")[-1]
        ids += tokenizer.encode(story) + [tokenizer.eos_token_id, tokenizer.bos_token_id]
        count += 1
    return ids[:length]


def _random_ids(vocab: int, length: int, seed: int) -> list[int]:
    # Ids 0-2 are the special tokens, so ordinary tokens start at 3. Distinct ids while the
    # vocabulary allows, so short prompts have no repeats; long prompts repeat some ids.
    generator = torch.Generator().manual_seed(seed)
    if length <= vocab - 3:
        return (torch.randperm(vocab - 3, generator=generator)[:length] + 3).tolist()
    return torch.randint(3, vocab, (length,), generator=generator).tolist()


def check_index(name: str, value: int, size: int) -> int:
    """Return `value` if it indexes a sequence of `size`, else raise ExperimentError."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < size:
        raise ExperimentError(f"{name}={value!r} is out of range: pass an integer from 0 to {size - 1}")
    return value


HookFn = Callable[[torch.Tensor], torch.Tensor | None]


@contextmanager
def probe_hooks(model: nn.Module, hooks: dict[str, HookFn]) -> Iterator[None]:
    """Attach forward hooks by module name; a hook that returns a tensor replaces the output."""
    handles = []
    try:
        for name, fn in hooks.items():
            module = model.get_submodule(name)
            handles.append(module.register_forward_hook(lambda _m, _i, out, fn=fn: fn(out)))
        yield
    finally:
        for handle in handles:
            handle.remove()


@contextmanager
def record_probes(
    model: nn.Module,
    names: Sequence[str],
    select: Callable[[str, torch.Tensor], torch.Tensor] | None = None,
    keep_graph: bool = False,
) -> Iterator[dict[str, torch.Tensor]]:
    """Record each named module's latest output into the yielded dict.

    `select(name, tensor)` may cut a tensor down before it is kept (a long prompt's
    attention rows, say). Without `keep_graph` the kept tensors are detached copies.
    """
    store: dict[str, torch.Tensor] = {}

    def saver(name: str) -> HookFn:
        def save(out: torch.Tensor) -> None:
            value = select(name, out) if select is not None else out
            store[name] = value if keep_graph else value.detach().clone()

        return save

    with probe_hooks(model, {name: saver(name) for name in names}):
        yield store
