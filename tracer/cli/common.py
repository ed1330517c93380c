"""Options and loading steps shared by the subcommands that run a model."""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from minimind import load_checkpoint, load_default_model, load_tokenizer
from minimind.errors import CheckpointError, MiniMindError

from ..i18n import t


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """Add --checkpoint, --tokenizer and --config."""
    parser.add_argument("--checkpoint", type=Path, help=t("cli.checkpoint"))
    parser.add_argument("--tokenizer", type=Path, help=t("cli.tokenizer"))
    parser.add_argument("--config", type=Path, help=t("cli.config"))


def load_model(args: argparse.Namespace, dtype: torch.dtype = torch.float32):
    """Load the checkpoint named by the options, or the embedded default model, with weights in `dtype`."""
    if args.checkpoint is None:
        return load_default_model(config=args.config, dtype=dtype)
    if not args.checkpoint.exists():
        raise CheckpointError(
            f"checkpoint not found: {args.checkpoint}: pass an existing .pth, .safetensors or model folder",
            key="error.checkpoint_not_found",
            path=str(args.checkpoint),
        )
    return load_checkpoint(args.checkpoint, config=args.config, dtype=dtype)


def load_model_and_tokenizer(args: argparse.Namespace, dtype: torch.dtype = torch.float32):
    """Load the model (weights in `dtype`) and its tokenizer and check that their vocabularies fit together."""
    model = load_model(args, dtype=dtype)
    tokenizer_path = args.tokenizer
    if tokenizer_path is None and args.checkpoint is not None:
        # An upstream checkout keeps tokenizer.json in model/, a HF folder beside the weights.
        beside = args.checkpoint if args.checkpoint.is_dir() else args.checkpoint.parent
        if (beside / "tokenizer.json").exists():
            tokenizer_path = beside
    tokenizer = load_tokenizer(tokenizer_path)
    if tokenizer.vocab_size > model.config.vocab_size:
        raise MiniMindError(
            f"tokenizer {tokenizer.path} has {tokenizer.vocab_size} tokens but the model's vocab_size is "
            f"{model.config.vocab_size}: pass the tokenizer that belongs to the checkpoint with --tokenizer",
            key="error.tokenizer_vocab",
            tokenizer=str(tokenizer.path),
            tokenizer_vocab=tokenizer.vocab_size,
            model_vocab=model.config.vocab_size,
        )
    return model, tokenizer
