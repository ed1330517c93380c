"""The commands that show tensors: print, heatmap, rms and tokens.

They work on a `TensorSource`: the recorded trace in the step debugger, the tensors
computed so far in the live debugger. Both give sites by name, the tensor of each, and
token labels by position.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import torch

from minimind.errors import MiniMindError

from ..i18n import t
from ..stats import Stats, tensor_stats
from .commands import COMPLETE_SITE, Command, Shell, parse_int, split_words
from .errors import DebuggerError
from .slicing import apply_index, format_index, parse_index, split_target
from .views import bar_chart, heatmap, tensor_summary, tokens_table

MAX_HEATMAP_ROWS = 32  # query rows shown unless `queries a:b` selects others
ROW_LABEL_AREA = 24  # columns left of a heatmap's cells: position, label, gap


@dataclass
class Entry:
    """A site's tensor as a view needs it; `load()` reads the tensor (raises in stats-mode traces)."""

    site: str
    pass_index: int
    shape: tuple[int, ...]
    dims: tuple[str, ...]
    dtype: str
    stats: Stats
    load: Callable[[], torch.Tensor]
    derived: bool = False  # recomputed by the tracer (upstream plugin mode), not observed in the module


class TensorSource(Protocol):
    """The data the tensor commands read: sites, their tensors and token labels."""

    def entry(self, target: str | None) -> Entry:
        """Return the entry of the current site for None, else of a site name, `SITE@PASS` or a step number."""

    def labels(self, batch: int) -> list[str]:
        """Token label of every position of batch row `batch`."""

    def ids(self, batch: int) -> list[int]:
        """Token id of every position of batch row `batch`."""

    def pass_span(self, pass_index: int) -> tuple[int, int]:
        """(first position, number of positions) fed in pass `pass_index`."""

    def current_layer(self) -> int:
        """Return the block to show when a command names none."""

    def multi_pass(self) -> bool:
        """True when the data has several passes, so names show `@PASS`."""


class TensorCommands:
    """Registers print, heatmap, rms and tokens on a shell."""

    def __init__(self, shell: Shell, source: TensorSource):
        self.shell = shell
        self.source = source
        shell.add(Command("print", self.do_print, "print [SITE][INDEX]", "debug.cmd.print", ("p",), COMPLETE_SITE))
        shell.add(Command("heatmap", self.do_heatmap, "heatmap [LAYER|SITE] [HEAD] [batch B] [queries A:B] [keys A:B]", "debug.cmd.heatmap", ("hm",), COMPLETE_SITE))
        shell.add(Command("rms", self.do_rms, "rms [SITE] [batch B]", "debug.cmd.rms", (), COMPLETE_SITE))
        shell.add(Command("tokens", self.do_tokens, "tokens [batch B]", "debug.cmd.tokens", ("tok",)))

    # --- print ---------------------------------------------------------------------------

    def do_print(self, args: str) -> None:
        target, index_text = split_target(args)
        entry = self.source.entry(target or None)
        name = self._name(entry)
        if index_text is None:
            tensor = _load_or_none(entry)
            lines = tensor_summary(name, entry.shape, entry.dims, entry.dtype, entry.stats, tensor, self.shell.style, self.shell.width)
        else:
            index = parse_index(index_text)
            part, dims = apply_index(entry.load(), entry.dims, index)
            dtype = str(part.dtype).removeprefix("torch.")
            lines = tensor_summary(name + format_index(index), tuple(part.shape), dims, dtype, tensor_stats(part), part, self.shell.style, self.shell.width)
        if entry.derived:
            lines = [lines[0], t("step.derived_note"), *lines[1:]]
        self.shell.write_lines(lines)

    # --- heatmap -------------------------------------------------------------------------

    def do_heatmap(self, args: str) -> None:
        options, positional = _options(split_words(args), ("head", "batch", "queries", "keys"))
        site = None
        numbers = []
        for word in positional:
            if word.lstrip("-").isdigit():
                numbers.append(parse_int(word, "number"))
            elif site is None:
                site = word
            else:
                raise _usage("heatmap", args)
        if site is None and numbers:
            site = f"layers.{numbers.pop(0)}.attn.probs"
        if len(numbers) > 1 or (numbers and "head" in options):
            raise _usage("heatmap", args)
        head = numbers[0] if numbers else parse_int(options.get("head", "0"), "head")
        batch = parse_int(options.get("batch", "0"), "batch")

        entry = self._attention_entry(site)
        tensor = entry.load()  # (B, H, T, S)
        _check_range(batch, tensor.shape[0], "batch")
        _check_range(head, tensor.shape[1], "head")
        matrix = tensor[batch, head]  # (T, S)
        start, _ = self.source.pass_span(entry.pass_index)
        labels = self.source.labels(batch)
        queries, keys = matrix.shape

        # Fit the key columns to the terminal, two columns per key. When keys are cut, the
        # default window is the bottom-right square, so the diagonal stays in view.
        fit = max((self.shell.width - ROW_LABEL_AREA) // 2, 8)
        query_count = min(MAX_HEATMAP_ROWS, fit) if keys > fit else MAX_HEATMAP_ROWS
        first_query, last_query = _range(options.get("queries"), start, start + queries, "queries", query_count)
        rows = range(first_query - start, last_query - start)
        columns = range(*_range(options.get("keys"), 0, keys, "keys", fit))
        title = t("debug.view.heatmap_title", site=self._name(entry), head=head, batch=batch)
        lines = heatmap(
            matrix[rows.start : rows.stop, columns.start : columns.stop],
            [_label(labels, start + i) for i in rows],
            [_label(labels, j) for j in columns],
            title,
            probabilities=entry.site.endswith("probs"),
            style=self.shell.style,
            row_offset=start + rows.start,
            column_offset=columns.start,
        )
        if len(rows) < queries or len(columns) < keys:
            window = t("debug.view.window", q0=start + rows.start, q1=start + rows.stop - 1, k0=columns.start, k1=columns.stop - 1)
            lines.insert(1, self.shell.style.dim(window))
        self.shell.write_lines(lines)

    def _attention_entry(self, site: str | None) -> Entry:
        if site is None:
            current = self.source.entry(None)
            if current.dims[-2:] == ("query", "key"):
                return current
            site = f"layers.{self.source.current_layer()}.attn.probs"
        entry = self.source.entry(site)
        if entry.dims[-2:] != ("query", "key") or len(entry.dims) != 4:
            raise DebuggerError(
                f"{entry.site} is not an attention pattern (its dimensions are {', '.join(entry.dims)}): "
                f"give a layer number or a site such as layers.0.attn.probs or layers.0.attn.scores",
                key="debug.error.not_attention",
                site=entry.site,
                dims=", ".join(entry.dims),
            )
        return entry

    # --- rms -----------------------------------------------------------------------------

    def do_rms(self, args: str) -> None:
        options, positional = _options(split_words(args), ("batch",))
        if len(positional) > 1:
            raise _usage("rms", args)
        entry = self.source.entry(positional[0] if positional else None)
        batch = parse_int(options.get("batch", "0"), "batch")
        values, labels, offset, reduced = self._per_token(entry, batch)
        if reduced:
            title = t("debug.view.rms_title", site=self._name(entry), dims=" × ".join(reduced))
        else:
            title = t("debug.view.values_title", site=self._name(entry))
        self.shell.write_lines(bar_chart(values, labels, title, self.shell.style, self.shell.width, offset))

    def _per_token(self, entry: Entry, batch: int) -> tuple[list[float], list[str], int, tuple[str, ...]]:
        start, length = self.source.pass_span(entry.pass_index)
        labels = self.source.labels(batch)
        dims = entry.dims
        if dims[:2] == ("batch", "pos"):
            tensor = entry.load()
            _check_range(batch, tensor.shape[0], "batch")
            rows = tensor[batch].float()  # (T, ...)
            reduced = dims[2:]
            offset = start
            row_labels = [_label(labels, start + i) for i in range(rows.shape[0])]
        elif dims[:1] == ("token",):
            # MoE sites flatten (batch, pos) into tokens, batch-major.
            rows = entry.load().float()
            reduced = dims[1:]
            offset = 0
            batches = rows.shape[0] // max(length, 1)
            row_labels = [_label(self.source.labels(b), start + p) for b in range(batches) for p in range(length)]
        else:
            raise DebuggerError(
                f"{entry.site} has no position dimension (its dimensions are {', '.join(dims)}): "
                f"give a site such as layers.0.resid_post or layers.0.attn.out",
                key="debug.error.no_positions",
                site=entry.site,
                dims=", ".join(dims),
            )
        if reduced:
            values = rows.reshape(rows.shape[0], -1).pow(2).mean(-1).sqrt()
        else:
            values = rows
        return [float(v) for v in values], row_labels, offset, reduced

    # --- tokens --------------------------------------------------------------------------

    def do_tokens(self, args: str) -> None:
        options, positional = _options(split_words(args), ("batch",))
        if positional:
            raise _usage("tokens", args)
        batch = parse_int(options.get("batch", "0"), "batch")
        ids = self.source.ids(batch)
        self.shell.write_lines(tokens_table(ids, self.source.labels(batch)))

    def _name(self, entry: Entry) -> str:
        return f"{entry.site}@{entry.pass_index}" if self.source.multi_pass() else entry.site


def _load_or_none(entry: Entry) -> torch.Tensor | None:
    try:
        return entry.load()
    except MiniMindError:
        return None  # a stats-mode trace, for which the summary states that values were not stored


def _label(labels: Sequence[str], position: int) -> str:
    return labels[position] if 0 <= position < len(labels) else "?"


def _options(words: list[str], keywords: tuple[str, ...]) -> tuple[dict[str, str], list[str]]:
    """Split `head 3 batch 0 layers.1.attn.probs` into ({"head": "3", "batch": "0"}, ["layers.1.attn.probs"])."""
    options: dict[str, str] = {}
    positional: list[str] = []
    iterator = iter(words)
    for word in iterator:
        if word in keywords:
            value = next(iterator, None)
            if value is None:
                raise DebuggerError(f"{word} needs a value, such as {word} 0", key="debug.error.option_value", option=word)
            options[word] = value
        else:
            positional.append(word)
    return options, positional


def _range(text: str | None, lowest: int, end: int, label: str, default_count: int) -> tuple[int, int]:
    """Parse positions `A:B` into a half-open range inside [lowest, end); by default the last `default_count`."""
    if text is None:
        return max(end - default_count, lowest), end
    first, sep, last = text.partition(":")
    try:
        low = int(first) if first else lowest
        high = int(last) if last else end
    except ValueError:
        low, high = lowest - 1, lowest - 1
    if not sep or not lowest <= low < high <= end:
        raise DebuggerError(
            f"invalid {label} range {text!r}: give positions A:B with {lowest} <= A < B <= {end}",
            key="debug.error.range",
            what=label,
            value=text,
            lowest=lowest,
            end=end,
        )
    return low, high


def _check_range(value: int, size: int, label: str) -> None:
    if not 0 <= value < size:
        raise DebuggerError(
            f"{label} {value} does not exist: use 0 to {size - 1}",
            key="debug.error.out_of_range",
            what=label,
            value=value,
            last=size - 1,
        )


def _usage(command: str, args: str) -> DebuggerError:
    return DebuggerError(
        f"invalid arguments for {command}: {args!r}; see help {command}",
        key="debug.error.usage",
        command=command,
        args=args,
    )
