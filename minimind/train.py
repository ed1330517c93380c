"""Train the embedded default model: corpus, tokenizer, a small minimind-3 model, evaluation.

Run `python -m minimind.train` (see `--help`). With the defaults it rebuilds every file in
`minimind/assets/default/`: `tokenizer.json`, `tokenizer_config.json`, `model.safetensors`
(fp16), `config.json`, and `training.json`, which records the recipe, the measured times, the
held-out loss next to a unigram baseline, and greedy sample continuations.

The run is seeded and uses a fixed number of CPU threads. Two short runs with the same
options on one machine and torch build gave bit-identical files; other CPUs or torch builds
may round differently.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from minimind import DEFAULT_MODEL_DIR
from minimind.checkpoint import load_checkpoint, save_checkpoint
from minimind.config import MINIMIND3, MiniMindConfig
from minimind.data import HELDOUT_SEED, TRAIN_SEED, generate_stories, generate_story_records
from minimind.model import MiniMindForCausalLM
from minimind.tokenizer import (
    SPECIAL_TOKENS,
    TOKENIZER_CONFIG_FILE,
    TOKENIZER_FILE,
    MiniMindTokenizer,
    load_tokenizer,
    tokenizer_config,
    train_tokenizer,
)

logger = logging.getLogger(__name__)

MODEL_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
TRAINING_RECORD_FILE = "training.json"
OUTPUT_FILES = (TOKENIZER_FILE, TOKENIZER_CONFIG_FILE, MODEL_FILE, CONFIG_FILE, TRAINING_RECORD_FILE)
MAX_POSITION_EMBEDDINGS = 2048
MIN_VOCAB_SIZE = 256 + len(SPECIAL_TOKENS)
IGNORE_INDEX = -100

# Prompts for the greedy samples stored in training.json; both follow the corpus templates.
SAMPLE_PROMPTS = {
    "en": "Lily had a red kite. One day, Lily took the kite to the park.",
    "zh": "小红有一只红色的风筝。有一天，小红带着风筝去了公园。",
}
SAMPLE_NEW_TOKENS = 48

# config.json keys written besides minimind_version; all are upstream MiniMindConfig arguments.
CONFIG_KEYS = (
    "hidden_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "head_dim",
    "intermediate_size", "vocab_size", "max_position_embeddings", "rms_norm_eps", "rope_theta",
    "hidden_act", "dropout", "bos_token_id", "eos_token_id", "tie_word_embeddings", "use_moe",
    "inference_rope_scaling",
)


class _OneLineErrorParser(argparse.ArgumentParser):
    """Argument parser that reports a bad option in one line and exits with status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: use a positive integer") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: use a positive integer")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: use an integer of 0 or more") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: use an integer of 0 or more")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: use a positive number") from None
    if not value > 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: use a positive number")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineErrorParser(
        prog="python -m minimind.train",
        description="Train the small default MiniMind model on the built-in story corpus (CPU).",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_MODEL_DIR,
                        help="folder for the model, config and tokenizer files (default: the embedded asset folder)")
    parser.add_argument("--steps", type=_positive_int, default=2000, help="optimizer steps (default: 2000)")
    parser.add_argument("--batch-size", type=_positive_int, default=8, help="sequences per step (default: 8)")
    parser.add_argument("--seq-len", type=_positive_int, default=256, help="tokens per training sequence (default: 256)")
    parser.add_argument("--lr", type=_positive_float, default=2e-3, help="peak AdamW learning rate (default: 2e-3)")
    parser.add_argument("--warmup-steps", type=_non_negative_int, default=100, help="linear warm-up steps before cosine decay (default: 100)")
    parser.add_argument("--seed", type=int, default=0, help="seed for weight init and batch order (default: 0)")
    parser.add_argument("--threads", type=_positive_int, default=2, help="torch CPU threads (default: 2)")
    parser.add_argument("--train-stories", type=_positive_int, default=60000,
                        help=f"stories generated from corpus seed {TRAIN_SEED} for training (default: 60000)")
    parser.add_argument("--eval-stories", type=_positive_int, default=200,
                        help=f"held-out stories generated from seed {HELDOUT_SEED} (default: 200)")
    parser.add_argument("--vocab-size", type=_positive_int, default=2048,
                        help="maximum BPE vocabulary; training stops early when no pair is left to merge (default: 2048)")
    parser.add_argument("--hidden-size", type=_positive_int, default=256, help="model width (default: 256)")
    parser.add_argument("--num-hidden-layers", type=_positive_int, default=4, help="transformer blocks (default: 4)")
    parser.add_argument("--num-attention-heads", type=_positive_int, default=8, help="query heads (default: 8)")
    parser.add_argument("--num-key-value-heads", type=_positive_int, default=4, help="kv heads for GQA (default: 4)")
    return parser


def encode_story(tokenizer: MiniMindTokenizer, text: str) -> list[int]:
    """Return `<|im_start|>` + story + `<|im_end|>` as ids, the form every story is trained in."""
    return [tokenizer.bos_token_id, *tokenizer.encode(text), tokenizer.eos_token_id]


def pack_stories(sequences: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Concatenate encoded stories into one stream; return it and each story's start offset."""
    lengths = torch.tensor([len(seq) for seq in sequences])
    starts = torch.cumsum(lengths, 0) - lengths
    stream = torch.tensor([token for seq in sequences for token in seq], dtype=torch.long)
    return stream, starts


def sample_batch(
    stream: torch.Tensor, starts: torch.Tensor, batch_size: int, seq_len: int, generator: torch.Generator
) -> torch.Tensor:
    """Draw (batch_size, seq_len) windows that each begin at a story's `<|im_start|>`.

    Aligning windows to story starts puts bos at position 0, as in inference. A window runs
    on into the next stories, so the model also learns stories that start mid-sequence.
    """
    usable = starts[starts + seq_len <= len(stream)]
    picks = usable[torch.randint(len(usable), (batch_size,), generator=generator)]
    offsets = picks[:, None] + torch.arange(seq_len)[None, :]  # (B, T)
    return stream[offsets]


def learning_rate(step: int, steps: int, peak: float, warmup: int) -> float:
    """Linear warm-up to `peak`, then cosine decay to a tenth of it at the last step."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(steps - warmup, 1)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


@torch.no_grad()
def sequence_nll(model: MiniMindForCausalLM, sequences: Sequence[Sequence[int]], batch_size: int = 32) -> tuple[float, int]:
    """Return the summed next-token negative log-likelihood (nats) and the number of targets.

    Each sequence is scored on its own, so every token after the first is a target. Shorter
    sequences are right-padded; with causal attention the padding cannot affect real tokens,
    and its targets are ignored.
    """
    total, count = 0.0, 0
    for first in range(0, len(sequences), batch_size):
        chunk = sequences[first : first + batch_size]
        width = max(len(seq) for seq in chunk)
        ids = torch.zeros(len(chunk), width, dtype=torch.long)
        labels = torch.full((len(chunk), width), IGNORE_INDEX, dtype=torch.long)
        for row, seq in enumerate(chunk):
            ids[row, : len(seq)] = torch.tensor(seq)
            labels[row, : len(seq)] = torch.tensor(seq)
        logits = model(ids).logits.float()  # (B, T, vocab)
        targets = labels[:, 1:]
        total += F.cross_entropy(
            logits[:, :-1].reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=IGNORE_INDEX, reduction="sum"
        ).item()
        count += int((targets != IGNORE_INDEX).sum())
    return total, count


def heldout_sequences(tokenizer: MiniMindTokenizer, count: int) -> dict[str, list[list[int]]]:
    """Encode `count` held-out stories (seed HELDOUT_SEED, both languages), grouped by language."""
    groups: dict[str, list[list[int]]] = {"en": [], "zh": []}
    for story in generate_story_records(count, HELDOUT_SEED, "both"):
        groups[story.lang].append(encode_story(tokenizer, story.text))
    return groups


def heldout_loss(model: MiniMindForCausalLM, tokenizer: MiniMindTokenizer, count: int) -> dict[str, float]:
    """Return the mean next-token loss (nats per token) on held-out stories: overall, en, zh."""
    groups = heldout_sequences(tokenizer, count)
    result, grand_total, grand_count = {}, 0.0, 0
    for lang, sequences in groups.items():
        total, n = sequence_nll(model, sequences)
        result[lang] = total / n
        grand_total, grand_count = grand_total + total, grand_count + n
    result["all"] = grand_total / grand_count
    return result


def unigram_loss(train_stream: torch.Tensor, bos_id: int, groups: dict[str, list[list[int]]], vocab_size: int) -> dict[str, float]:
    """Return the loss of add-one-smoothed training token frequencies on the held-out targets.

    bos is excluded from the counts because it is never a target.
    """
    counts = torch.bincount(train_stream[train_stream != bos_id], minlength=vocab_size).double() + 1.0
    log_probs = torch.log(counts / counts.sum())
    result, grand_total, grand_count = {}, 0.0, 0
    for lang, sequences in groups.items():
        targets = torch.tensor([token for seq in sequences for token in seq[1:]])
        total = -log_probs[targets].sum().item()
        result[lang] = total / len(targets)
        grand_total, grand_count = grand_total + total, grand_count + len(targets)
    result["all"] = grand_total / grand_count
    return result


def greedy_samples(model: MiniMindForCausalLM, tokenizer: MiniMindTokenizer) -> dict[str, str]:
    """Return each sample prompt with its greedy continuation (special tokens removed)."""
    samples = {}
    for lang, prompt in SAMPLE_PROMPTS.items():
        ids = torch.tensor([[tokenizer.bos_token_id, *tokenizer.encode(prompt)]])
        out = model.generate(ids, max_new_tokens=SAMPLE_NEW_TOKENS, do_sample=False, eos_token_id=tokenizer.eos_token_id)
        samples[lang] = tokenizer.decode(out[0, ids.shape[1] :].tolist(), skip_special_tokens=True)
    return samples


def train_model(
    config: MiniMindConfig, stream: torch.Tensor, starts: torch.Tensor, args: argparse.Namespace
) -> MiniMindForCausalLM:
    """Run AdamW on random story-aligned windows and return the trained model (fp32)."""
    torch.manual_seed(args.seed)
    model = MiniMindForCausalLM(config)
    model.train()
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
        lr=args.lr, betas=(0.9, 0.95),
    )
    generator = torch.Generator().manual_seed(args.seed)

    progress = tqdm(range(args.steps), desc="train", unit="step", mininterval=5.0, file=sys.stderr)
    for step in progress:
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, args.steps, args.lr, args.warmup_steps)
        batch = sample_batch(stream, starts, args.batch_size, args.seq_len, generator)
        loss = model(batch, labels=batch).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        if step % 10 == 0 or step == args.steps - 1:
            progress.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
        if step % 200 == 0 or step == args.steps - 1:
            logger.info("step %d/%d train loss %.4f", step + 1, args.steps, loss.item())
    model.eval()
    return model


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def run(args: argparse.Namespace) -> dict:
    """Build the corpus, tokenizer and model, write every file into `args.out`, return the record.

    Files are built in a staging folder beside `args.out` and moved in only after the run
    succeeds, so an interrupted run never leaves a model next to a tokenizer it was not
    trained with.
    """
    args.out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{args.out.name}-staging-", dir=args.out.parent))
    try:
        record = _build_assets(args, staging)
        args.out.mkdir(exist_ok=True)
        for name in OUTPUT_FILES:
            os.replace(staging / name, args.out / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return record


def _build_assets(args: argparse.Namespace, out: Path) -> dict:
    started = time.perf_counter()
    torch.set_num_threads(args.threads)

    # The tokenizer is trained on the training stories only, never on held-out ones.
    stories = generate_stories(args.train_stories, TRAIN_SEED, "both")
    backend = train_tokenizer(stories, args.vocab_size)
    backend.save(str(out / TOKENIZER_FILE))
    _write_json(out / TOKENIZER_CONFIG_FILE, tokenizer_config(MAX_POSITION_EMBEDDINGS))
    tokenizer = load_tokenizer(out)
    logger.info("tokenizer: %d ids from %d training stories", tokenizer.vocab_size, len(stories))

    stream, starts = pack_stories([encode_story(tokenizer, text) for text in stories])
    logger.info("training stream: %d tokens", len(stream))

    config = MiniMindConfig(
        minimind_version=MINIMIND3,
        hidden_size=args.hidden_size,
        num_hidden_layers=args.num_hidden_layers,
        num_attention_heads=args.num_attention_heads,
        num_key_value_heads=args.num_key_value_heads,
        vocab_size=tokenizer.vocab_size,
        max_position_embeddings=MAX_POSITION_EMBEDDINGS,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    train_started = time.perf_counter()
    model = train_model(config, stream, starts, args)
    train_seconds = time.perf_counter() - train_started
    fp32_loss = heldout_loss(model, tokenizer, args.eval_stories)

    # Save in fp16, then evaluate the saved file as users will load it.
    save_checkpoint(model, out / MODEL_FILE, dtype=torch.float16)
    config_data = {"minimind_version": config.minimind_version, **{key: getattr(config, key) for key in CONFIG_KEYS}}
    _write_json(out / CONFIG_FILE, config_data)
    shipped = load_checkpoint(out)
    loss = heldout_loss(shipped, tokenizer, args.eval_stories)
    baseline = unigram_loss(stream, tokenizer.bos_token_id, heldout_sequences(tokenizer, args.eval_stories), tokenizer.vocab_size)
    samples = greedy_samples(shipped, tokenizer)

    record = {
        "command": shlex.join(["python", "-m", "minimind.train", *sys.argv[1:]]),
        "corpus": {
            "train_seed": TRAIN_SEED,
            "train_stories": args.train_stories,
            "train_tokens": len(stream),
            "heldout_seed": HELDOUT_SEED,
            "heldout_stories": args.eval_stories,
        },
        "model": {"parameters": shipped.num_parameters(), "storage_dtype": "float16", **config_data},
        "training": {
            "steps": args.steps,
            "batch_size": args.batch_size,
            "seq_len": args.seq_len,
            "tokens_seen": args.steps * args.batch_size * args.seq_len,
            "lr": args.lr,
            "warmup_steps": args.warmup_steps,
            "schedule": "linear warm-up, cosine decay to 0.1 * lr",
            "optimizer": "AdamW betas (0.9, 0.95), weight decay 0.1 on matrices, grad clip 1.0",
            "seed": args.seed,
            "threads": args.threads,
            "train_seconds": round(train_seconds, 1),
            "total_seconds": round(time.perf_counter() - started, 1),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs visible, torch {torch.__version__}",
        },
        "heldout_loss": {k: round(v, 5) for k, v in loss.items()},
        "heldout_loss_fp32_weights": {k: round(v, 5) for k, v in fp32_loss.items()},
        "unigram_loss": {k: round(v, 5) for k, v in baseline.items()},
        "samples": {lang: {"prompt": SAMPLE_PROMPTS[lang], "greedy": text} for lang, text in samples.items()},
    }
    _write_json(out / TRAINING_RECORD_FILE, record)
    return record


def validate_args(args: argparse.Namespace) -> str | None:
    """Return a one-line error for options that would fail only after minutes of work, or None."""
    if args.out.exists() and not args.out.is_dir():
        return f"--out {args.out} is a file: pass a folder"
    if args.vocab_size < MIN_VOCAB_SIZE:
        return f"--vocab-size {args.vocab_size} is too small: use at least {MIN_VOCAB_SIZE} (256 bytes and 3 special tokens)"
    if args.seq_len > MAX_POSITION_EMBEDDINGS:
        return f"--seq-len {args.seq_len} exceeds max_position_embeddings {MAX_POSITION_EMBEDDINGS}: use a shorter sequence"
    try:
        MiniMindConfig(
            minimind_version=MINIMIND3,
            hidden_size=args.hidden_size,
            num_hidden_layers=args.num_hidden_layers,
            num_attention_heads=args.num_attention_heads,
            num_key_value_heads=args.num_key_value_heads,
        )
    except ValueError as error:
        return f"invalid model size: {error}"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    problem = validate_args(args)
    if problem:
        print(f"python -m minimind.train: error: {problem}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    record = run(args)
    logger.info(
        "held-out loss %.4f nats/token (unigram baseline %.4f); training took %.0f s",
        record["heldout_loss"]["all"], record["unigram_loss"]["all"], record["training"]["train_seconds"],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
