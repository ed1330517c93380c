"""Text description of a trace file, for `mmtrace info run.mmtrace`."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path

from .trace import Step, Trace
from .tracefile import SCHEMA_VERSION, open_trace

_PREVIEW_TOKENS = 16


def describe_trace(path: str | os.PathLike, t: Callable[..., str]) -> list[str]:
    """Return the lines `mmtrace info` prints for the trace file at `path`.

    `t` is the catalogue lookup (tracer.i18n.t). Raises TraceError for an unreadable file.
    The lines are a header (file, mode, model, tokens, passes, steps, warnings) followed by
    one row per step of the first pass with its shape and statistics.
    """
    path = Path(path)
    with open_trace(path) as trace:
        return _header(path, trace, t) + [""] + _step_table(trace, t)


def _header(path: Path, trace: Trace, t) -> list[str]:
    info = trace.info
    config = info.config
    size_mb = path.stat().st_size / 1e6
    storage = info.storage_dtype or t("trace.info.as_computed")
    derived = sum(step.derived for step in trace.steps)
    grads = sum(step.grad_stats is not None for step in trace.steps)
    batch = len(info.tokens.ids)
    preview = " ".join(info.tokens.labels[0][:_PREVIEW_TOKENS]) if batch else ""
    if len(info.tokens) > _PREVIEW_TOKENS:
        preview += " …"

    rows = [
        (t("trace.info.file"), t("trace.info.file_value", path=str(path), size=size_mb, version=SCHEMA_VERSION)),
        (t("trace.info.mode"), t("trace.info.mode_value", mode=info.mode, storage=storage)),
        (t("trace.info.source"), info.source),
        (t("trace.info.model"), _model_line(config, t)),
        (t("trace.info.weights"), info.weights_sha256[:16]),
    ]
    if info.prompt is not None:
        rows.append((t("trace.info.prompt"), repr(info.prompt)))
    rows.append((t("trace.info.tokens"), t("trace.info.tokens_value", count=len(info.tokens), batch=batch, preview=preview)))
    rows.append((t("trace.info.passes"), _passes_line(trace, t)))
    rows.append((t("trace.info.steps"), t("trace.info.steps_value", steps=len(trace.steps), sites=len(trace.sites()), derived=derived)))
    if info.grads:
        rows.append((t("trace.info.grads"), t("trace.info.grads_value", count=grads)))
    for warning in info.warnings:
        rows.append((t("trace.info.warning"), warning))

    width = max(_display_width(label) for label, _ in rows)
    lines = [t("trace.info.title")]
    for label, value in rows:
        lines.append(f"  {label}{' ' * (width - _display_width(label))}  {value}")
    return lines


def _model_line(config: dict, t) -> str:
    if not config:
        return t("trace.info.model_unknown")
    return t(
        "trace.info.model_value",
        version=config.get("minimind_version", "?"),
        layers=config.get("num_hidden_layers", "?"),
        hidden=config.get("hidden_size", "?"),
        q=config.get("num_attention_heads", "?"),
        kv=config.get("num_key_value_heads", "?"),
        vocab=config.get("vocab_size", "?"),
        moe=t("trace.info.moe") if config.get("use_moe") else "",
    )


def _passes_line(trace: Trace, t) -> str:
    passes = trace.passes
    if len(passes) <= 1:
        return t("trace.info.passes_single", count=len(passes))
    generation = trace.info.generation or {}
    return t(
        "trace.info.passes_generation",
        count=len(passes),
        prompt=passes[0].length,
        generated=len(passes) - 1,
        next_token=generation.get("next_token_label", "?"),
    )


def _step_table(trace: Trace, t) -> list[str]:
    header = [t("trace.info.col_index"), t("trace.info.col_site"), t("trace.info.col_shape"), "mean", "std", "rms", "min", "max", "nan/inf"]
    rows = [[str(step.index), _site_label(step), "x".join(map(str, step.shape)), *_stat_cells(step)] for step in trace.steps if step.pass_index == 0]
    widths = [max(_display_width(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [t("trace.info.table_title", passes=len(trace.passes))]
    for row in [header, *rows]:
        cells = [cell + " " * (widths[i] - _display_width(cell)) if i < 3 else " " * (widths[i] - _display_width(cell)) + cell for i, cell in enumerate(row)]
        lines.append("  " + "  ".join(cells).rstrip())
    return lines


def _site_label(step: Step) -> str:
    return step.site + (" *" if step.derived else "")


def _stat_cells(step: Step) -> list[str]:
    s = step.stats
    return [*(_number(value) for value in (s.mean, s.std, s.rms, s.min, s.max)), f"{s.nan_count}/{s.inf_count}"]


def _number(value: float) -> str:
    return "nan" if math.isnan(value) else f"{value:.4g}"


def _display_width(text: str) -> int:
    # CJK characters take two terminal columns.
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)
