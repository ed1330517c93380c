"""`mmtrace trace`: record a forward pass (or a generation) and write a .mmtrace file."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import torch

from minimind import load_tokenizer

from ..errors import TraceError
from ..generation import trace_generation, trace_prompt
from ..i18n import t, tn
from ..recorder import MODES
from ..tracefile import save_trace
from ..upstream import load_upstream_model
from .common import add_model_options, load_model, load_model_and_tokenizer

logger = logging.getLogger(__name__)

DTYPES = ("float32", "float16", "bfloat16")
COMPUTE_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("trace", help=t("trace.help"), description=t("trace.help"))
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--prompt", help=t("cli.prompt"))
    source.add_argument("--ids", help=t("trace.ids"))
    add_model_options(parser)
    parser.add_argument("--upstream", type=Path, metavar="CHECKOUT", help=t("trace.upstream"))
    parser.add_argument("--generate", type=int, default=0, metavar="N", help=t("trace.generate"))
    parser.add_argument("--sites", action="append", metavar="GLOB", help=t("trace.sites"))
    parser.add_argument("--mode", choices=MODES, default="full", help=t("trace.mode"))
    parser.add_argument("--dtype", choices=DTYPES, help=t("trace.dtype"))
    parser.add_argument("--compute-dtype", choices=DTYPES, default="float32", help=t("trace.compute_dtype"))
    parser.add_argument("--grads", action="store_true", help=t("trace.grads"))
    parser.add_argument("--no-bos", action="store_true", help=t("trace.no_bos"))
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="FILE", help=t("trace.output"))
    return parser


def run(args: argparse.Namespace) -> int:
    if args.generate < 0:
        raise TraceError(f"--generate {args.generate} is negative: pass a count of 0 or more", key="trace.error.bad_count", count=args.generate)
    if args.grads and args.generate:
        raise TraceError("--grads works on a single pass: drop --generate or --grads", key="trace.error.grads_generate")
    if args.grads and args.upstream:
        raise TraceError("--grads is not available with --upstream: trace a minimind checkpoint instead", key="trace.error.grads_upstream")
    if args.compute_dtype != "float32" and args.upstream:
        raise TraceError(
            "--compute-dtype is not available with --upstream: trace the checkpoint without --upstream to run it in another dtype",
            key="trace.error.compute_dtype_upstream",
        )
    model, tokenizer = _load(args)
    prompt = args.prompt if args.prompt is not None else _parse_ids(args.ids)
    options = dict(sites=args.sites, mode=args.mode, dtype=args.dtype, add_bos=not args.no_bos)

    if args.generate:
        trace = trace_generation(model, tokenizer, prompt, args.generate, **options)
    else:
        trace = trace_prompt(model, tokenizer, prompt, grads=args.grads, **options)
    save_trace(trace, args.output)

    size_mb = args.output.stat().st_size / 1e6
    print(tn("trace.written", len(trace.passes), path=str(args.output), steps=len(trace.steps), sites=len(trace.sites()), passes=len(trace.passes), size=size_mb))
    for warning in trace.warnings:
        print(t("trace.warning", message=warning))
    return 0


def _load(args: argparse.Namespace):
    """Return (model, tokenizer); the tokenizer is None when the prompt is given as --ids."""
    if args.upstream is None:
        dtype = COMPUTE_DTYPES[args.compute_dtype]
        if args.ids is not None:
            return load_model(args, dtype=dtype), (load_tokenizer(args.tokenizer) if args.tokenizer else None)
        return load_model_and_tokenizer(args, dtype=dtype)

    if args.checkpoint is None:
        raise TraceError("--upstream needs --checkpoint: pass the .pth the checkout trained, such as out/full_sft_512.pth", key="trace.error.upstream_checkpoint")
    overrides = _read_config(args.config) if args.config else None
    model = load_upstream_model(args.upstream, args.checkpoint, config=overrides)
    if args.ids is not None and args.tokenizer is None:
        return model, None
    tokenizer_path = args.tokenizer
    if tokenizer_path is None and (args.upstream / "model" / "tokenizer.json").is_file():
        tokenizer_path = args.upstream / "model"
    return model, load_tokenizer(tokenizer_path)


def _parse_ids(text: str) -> list[int]:
    try:
        ids = [int(part) for part in text.replace(",", " ").split()]
    except ValueError:
        ids = []
    if not ids:
        raise TraceError(f"--ids {text!r} is not a list of token ids: pass integers such as --ids 1,42,7", key="trace.error.bad_ids", ids=text)
    return ids


def _read_config(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise TraceError(f"cannot read --config {path} ({error}): pass a JSON object of MiniMindConfig keyword arguments", key="trace.error.bad_config", path=str(path)) from None
    if not isinstance(data, dict):
        raise TraceError(f"--config {path} is not a JSON object: pass a JSON object of MiniMindConfig keyword arguments", key="trace.error.bad_config", path=str(path))
    return data
