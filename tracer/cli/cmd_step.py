"""`mmtrace step`: step through a recorded trace like a debugger."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from ..debugger.repl import read_commands, run_session
from ..debugger.step_shell import StepShell
from ..debugger.text import Style, supports_color
from ..i18n import t
from ..tracefile import open_trace

COLOR_CHOICES = ("auto", "always", "never")


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("step", help=t("step.help"), description=t("step.help"))
    parser.add_argument("trace", type=Path, help=t("step.trace_arg"))
    add_session_options(parser)
    return parser


def add_session_options(parser: argparse.ArgumentParser) -> None:
    """Add --commands and --color, shared with `mmtrace debug`."""
    parser.add_argument("--commands", type=Path, metavar="FILE", help=t("step.commands_opt"))
    parser.add_argument("--color", choices=COLOR_CHOICES, default="auto", help=t("step.color_opt"))


def make_style(choice: str) -> Style:
    """Return the Style for a --color choice; auto colours only a 256-colour terminal."""
    return Style(color=choice == "always" or (choice == "auto" and supports_color(sys.stdout)))


def terminal_width() -> int:
    return shutil.get_terminal_size((100, 24)).columns


def run(args: argparse.Namespace) -> int:
    lines = read_commands(args.commands) if args.commands is not None else None
    trace = open_trace(args.trace)
    try:
        shell = StepShell(trace, style=make_style(args.color), width=terminal_width())
        shell.start()
        return run_session(shell, lines, history="step")
    finally:
        trace.close()
