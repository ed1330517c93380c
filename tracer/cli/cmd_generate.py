"""`mmtrace generate`: continue a prompt, streaming tokens as they are produced."""

from __future__ import annotations

import argparse
import sys

import torch

from minimind.errors import MiniMindError

from ..i18n import t
from ..generation import encode_prompt
from .common import add_model_options, load_model_and_tokenizer

DEFAULTS = {"max_new_tokens": 64, "temperature": 0.85, "top_k": 50, "top_p": 0.85, "seed": 0, "repetition_penalty": 1.0}


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("generate", help=t("generate.help"), description=t("generate.help"))
    parser.add_argument("--prompt", required=True, help=t("cli.prompt"))
    add_model_options(parser)
    d = DEFAULTS
    parser.add_argument("--max-new-tokens", type=int, default=d["max_new_tokens"], help=t("generate.max_new_tokens", default=d["max_new_tokens"]))
    parser.add_argument("--temperature", type=float, default=d["temperature"], help=t("generate.temperature", default=d["temperature"]))
    parser.add_argument("--top-k", type=int, default=d["top_k"], help=t("generate.top_k", default=d["top_k"]))
    parser.add_argument("--top-p", type=float, default=d["top_p"], help=t("generate.top_p", default=d["top_p"]))
    parser.add_argument("--repetition-penalty", type=float, default=d["repetition_penalty"], help=t("generate.repetition_penalty", default=d["repetition_penalty"]))
    parser.add_argument("--greedy", action="store_true", help=t("generate.greedy"))
    parser.add_argument("--seed", type=int, default=d["seed"], help=t("generate.seed", default=d["seed"]))
    return parser


def check_options(args: argparse.Namespace) -> None:
    """Reject sampling options that would crash the sampler or silently mean something else."""
    rules = (
        ("max_new_tokens", args.max_new_tokens, args.max_new_tokens >= 0, "--max-new-tokens {value} is negative: pass a count of 0 or more"),
        ("temperature", args.temperature, args.greedy or args.temperature > 0, "--temperature {value} is not above 0: pass a positive temperature such as 0.85, or --greedy"),
        ("top_k", args.top_k, args.top_k >= 0, "--top-k {value} is negative: pass 0 for all tokens or a positive count"),
        ("top_p", args.top_p, 0 < args.top_p <= 1, "--top-p {value} is not in (0, 1]: pass a probability such as 0.85"),
        ("repetition_penalty", args.repetition_penalty, args.repetition_penalty > 0, "--repetition-penalty {value} is not above 0: pass a factor such as 1.0 (no penalty) or 1.2"),
    )
    for name, value, ok, message in rules:
        if not ok:
            raise MiniMindError(message.format(value=value), key=f"generate.error.{name}", value=value)


def run(args: argparse.Namespace) -> int:
    check_options(args)
    model, tokenizer = load_model_and_tokenizer(args)
    ids = encode_prompt(model, tokenizer, args.prompt)
    generator = torch.Generator().manual_seed(args.seed)

    # Decode the whole continuation each step, so characters split across byte-level tokens print whole.
    new_ids: list[int] = []
    printed = 0

    def stream(next_id: torch.Tensor) -> None:
        nonlocal printed
        token = int(next_id[0, 0])
        if token == tokenizer.eos_token_id:
            return
        new_ids.append(token)
        text = tokenizer.decode(new_ids)
        if text.endswith("\ufffd"):
            return
        sys.stdout.write(text[printed:])
        sys.stdout.flush()
        printed = len(text)

    sys.stdout.write(args.prompt)
    model.generate(
        ids,
        max_new_tokens=args.max_new_tokens,
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        repetition_penalty=args.repetition_penalty,
        do_sample=not args.greedy,
        eos_token_id=tokenizer.eos_token_id,
        on_token=stream,
        generator=generator,
    )
    sys.stdout.write("\n")
    return 0
