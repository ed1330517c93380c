"""`mmtrace diff A B`: per-site differences between two traces and the first divergence."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from ..diff import DEFAULT_ATOL, DEFAULT_RTOL, SiteDiff, TraceDiff, diff_traces
from ..errors import TraceError
from ..i18n import t
from ..tracefile import open_trace

_LIST_LIMIT = 5


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("diff", help=t("diff.help"), description=t("diff.description"))
    parser.add_argument("a", type=Path, metavar="A", help=t("diff.a"))
    parser.add_argument("b", type=Path, metavar="B", help=t("diff.b"))
    parser.add_argument("--atol", type=float, default=DEFAULT_ATOL, help=t("diff.atol", default=DEFAULT_ATOL))
    parser.add_argument("--rtol", type=float, default=DEFAULT_RTOL, help=t("diff.rtol", default=DEFAULT_RTOL))
    parser.add_argument("--only-diverging", action="store_true", help=t("diff.only_diverging"))
    return parser


def run(args: argparse.Namespace) -> int:
    for name, value in (("--atol", args.atol), ("--rtol", args.rtol)):
        if not value >= 0:
            raise TraceError(f"{name} {value} is invalid: pass a tolerance of 0 or more", key="diff.error.tolerance", option=name, value=value)
    with open_trace(args.a) as a, open_trace(args.b) as b:
        result = diff_traces(a, b, atol=args.atol, rtol=args.rtol)
        multi_pass = len(a.passes) > 1 or len(b.passes) > 1
    for line in format_diff(result, multi_pass, args.only_diverging):
        print(line)
    return 1 if result.diverged else 0


def format_diff(result: TraceDiff, multi_pass: bool, only_diverging: bool = False) -> list[str]:
    """Return the lines `mmtrace diff` prints: notes, one row per site, and the verdict."""
    lines = []
    dtype_a, dtype_b = result.compute_dtypes
    if dtype_a != dtype_b and dtype_a and dtype_b:
        lines.append(t("diff.note_dtypes", a=dtype_a, b=dtype_b))
    elif not result.same_weights:
        lines.append(t("diff.note_weights"))
    if not result.same_tokens:
        lines.append(t("diff.note_tokens"))
    if any(d.compared == "stats" for d in result.sites):
        lines.append(t("diff.note_stats"))
    for label, names in ((t("diff.only_in_a"), result.only_in_a), (t("diff.only_in_b"), result.only_in_b)):
        if names:
            shown = ", ".join(names[:_LIST_LIMIT]) + (" …" if len(names) > _LIST_LIMIT else "")
            lines.append(t("diff.only_in", label=label, count=len(names), names=shown))

    rows = [d for d in result.sites if not (only_diverging and d.within_tolerance)]
    header = [t("diff.col_index"), t("diff.col_site"), t("diff.col_max_abs"), t("diff.col_max_rel"), ""]
    table = [header] + [[str(d.index), _label(d, multi_pass), _number(d.max_abs), _number(d.max_rel), _verdict(d)] for d in rows]
    widths = [max(_width(row[i]) for row in table) for i in range(len(header))]
    for row in table if rows else []:
        cells = [cell + " " * (widths[i] - _width(cell)) if i in (1, 4) else " " * (widths[i] - _width(cell)) + cell for i, cell in enumerate(row)]
        lines.append("  ".join(cells).rstrip())

    first = result.first_divergence
    if first is None:
        lines.append(t("diff.same", count=len(result.sites), atol=result.atol, rtol=result.rtol))
    else:
        lines.append(t("diff.first", site=_label(first, multi_pass), max_abs=_number(first.max_abs), max_rel=_number(first.max_rel), atol=result.atol, rtol=result.rtol))
        if first.compared == "shape":
            lines.append(t("diff.shape", a="x".join(map(str, first.shape_a)), b="x".join(map(str, first.shape_b))))
    return lines


def _label(d: SiteDiff, multi_pass: bool) -> str:
    return f"{d.site}@{d.pass_index}" if multi_pass else d.site


def _verdict(d: SiteDiff) -> str:
    if d.within_tolerance:
        return ""
    return t("diff.mark_shape") if d.compared == "shape" else t("diff.mark_diverged")


def _number(value: float) -> str:
    return "inf" if math.isinf(value) else f"{value:.3g}"


def _width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)
