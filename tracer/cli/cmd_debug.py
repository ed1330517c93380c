"""`mmtrace debug`: run a real forward pass and pause inside a probe, to inspect and edit the live tensor."""

from __future__ import annotations

import argparse

from minimind import load_tokenizer

from ..debugger.effect import effect_lines
from ..debugger.errors import DebuggerError
from ..debugger.live import LiveDebugger, split_break
from ..debugger.live_shell import ShellHandler
from ..debugger.repl import ScriptReader, make_reader, read_commands
from ..generation import encode_prompt
from ..i18n import t
from .cmd_step import add_session_options, make_style, terminal_width
from .common import add_model_options, load_model, load_model_and_tokenizer

DEFAULT_TOP_K = 5


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("debug", help=t("debug.help"), description=t("debug.description"))
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--prompt", help=t("cli.prompt"))
    source.add_argument("--ids", help=t("debug.ids_opt"))
    parser.add_argument("--break", dest="breaks", action="append", required=True, metavar="SITE", help=t("debug.break_opt"))
    parser.add_argument("--if", dest="condition", metavar="CONDITION", help=t("debug.if_opt"))
    add_model_options(parser)
    parser.add_argument("--no-bos", action="store_true", help=t("debug.no_bos_opt"))
    parser.add_argument("--top-k", type=int, default=DEFAULT_TOP_K, metavar="K", help=t("debug.top_k_opt", default=DEFAULT_TOP_K))
    add_session_options(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    if args.top_k < 1:
        raise DebuggerError(f"--top-k {args.top_k} is too small: pass 1 or more", key="debug.error.top_k", value=args.top_k)
    lines = read_commands(args.commands) if args.commands is not None else None
    model, tokenizer = _load(args)
    prompt = args.prompt if args.prompt is not None else _parse_ids(args.ids)
    ids = encode_prompt(model, tokenizer, prompt, add_bos=not args.no_bos)
    top_k = min(args.top_k, model.config.vocab_size)

    style = make_style(args.color)
    reader = make_reader(lines, history="debug")
    handler = ShellHandler(reader, style=style, width=terminal_width())
    debugger = LiveDebugger(model, tokenizer=tokenizer, handler=handler)
    handler.debugger = debugger
    for text in args.breaks:
        pattern, condition = split_break(text)
        debugger.add_breakpoint(pattern, condition if condition is not None else args.condition)

    print(t("debug.banner", tokens=ids.shape[1], breaks=", ".join(str(b) for b in debugger.breakpoints)))
    try:
        result = debugger.run(ids)
    finally:
        reader.close()
    if not result.pauses:
        print(t("debug.never_paused"))

    def label(token_id: int) -> str:
        return tokenizer.token_labels([token_id])[0] if tokenizer is not None else str(token_id)

    for line in effect_lines(result, label, top_k=top_k, style=style):
        print(line)
    return 1 if isinstance(reader, ScriptReader) and handler.errors else 0


def _load(args: argparse.Namespace):
    """Return (model, tokenizer); the tokenizer is None when ids are given without --tokenizer."""
    if args.ids is not None:
        return load_model(args), (load_tokenizer(args.tokenizer) if args.tokenizer else None)
    return load_model_and_tokenizer(args)


def _parse_ids(text: str) -> list[int]:
    parts = [part for part in text.replace(",", " ").split()]
    try:
        return [int(part) for part in parts]
    except ValueError:
        raise DebuggerError(
            f"invalid --ids {text!r}: give whole numbers separated by commas or spaces, such as 1,42,7",
            key="debug.error.ids",
            value=text,
        ) from None
