"""Terminal views line up by display width, so Chinese token labels (two columns each) stay aligned."""

from __future__ import annotations

import torch

from tracer.debugger.text import Style, pad, text_width, truncate
from tracer.debugger.views import bar_chart, heatmap, table, tokens_table

LABELS = ["<|im_start|>", "小", "红红", "看见了", " saw", "。", "Tom", "\\n"]


def _strip_ansi(text: str) -> str:
    out, skipping = [], False
    for char in text:
        if char == "\x1b":
            skipping = True
        elif skipping and char == "m":
            skipping = False
        elif not skipping:
            out.append(char)
    return "".join(out)


def _probs(n: int) -> torch.Tensor:
    scores = torch.randn(n, n, generator=torch.Generator().manual_seed(0))
    scores = scores.masked_fill(torch.ones(n, n, dtype=torch.bool).triu(1), float("-inf"))
    return scores.softmax(-1)


def test_text_width_counts_wide_characters():
    assert text_width("abc") == 3
    assert text_width("小红") == 4
    assert text_width("e\u0301") == 1  # a combining accent takes no column
    assert pad("小", 4) == "小  "
    assert text_width(truncate("看见了小红", 5)) <= 5
    assert truncate("看见了小红", 5).endswith("…")


def test_heatmap_rows_align_with_wide_labels():
    n = len(LABELS)
    lines = heatmap(_probs(n), LABELS, LABELS, "title", probabilities=True)
    rows = lines[-1 - n : -1]
    assert [row.split()[0] for row in rows] == [str(i) for i in range(n)]
    # Each row is position, padded label, then 2 columns per key, so equal widths mean the cells line up.
    assert len({text_width(row) for row in rows}) == 1
    assert rows[3].split()[1] == "看见了"


def test_heatmap_column_labels_fill_one_cell_each():
    n = len(LABELS)
    lines = heatmap(_probs(n), LABELS, LABELS, "title", probabilities=True)
    rows = lines[-1 - n : -1]
    cells_start = text_width(rows[0]) - 2 * n
    header = [line for line in lines[1:] if line not in rows and line != lines[-1]]
    first_chars = header[1]  # after the position digits: the first character of each label
    assert first_chars[:cells_start].strip() == ""
    cells = first_chars[cells_start:]
    # "<", "小", "红", "看", "s", "。", "T", "\" each take exactly one two-column cell.
    expected = "".join(char if text_width(char) == 2 else char + " " for char in ["<", "小", "红", "看", "s", "。", "T", "\\"])
    assert cells.rstrip() == expected.rstrip()
    assert all(text_width(line) <= cells_start + 2 * n for line in header)


def test_heatmap_masks_future_keys_and_colours_cells():
    lines = heatmap(_probs(4), list("abcd"), list("abcd"), "t", probabilities=True, style=Style(color=True))
    rows = [_strip_ansi(line) for line in lines[-5:-1]]
    for t, row in enumerate(rows):
        assert row.count("·") == 3 - t
    assert "\x1b[48;5;" in lines[-2]  # 256-colour backgrounds
    assert all(text_width(_strip_ansi(line)) == text_width(rows[0]) for line in lines[-5:-1])


def test_heatmap_scores_scale_uses_visible_range():
    scores = torch.tensor([[1.0, 100.0], [-2.0, 3.0]])  # 100 is masked, so it must not set the scale
    legend = heatmap(scores, ["a", "b"], ["a", "b"], "t", probabilities=False)[-1]
    assert "-2" in legend
    assert "3" in legend
    assert "100" not in legend


def test_bar_chart_aligns_and_scales():
    values = [1.0, 0.5, 0.25, float("nan")]
    labels = ["小红", "a", "看见了", "x"]
    lines = bar_chart(values, labels, "title", width=60)
    rows = lines[1:]
    assert len({text_width(row) for row in rows}) == 1
    assert rows[0].count("█") == 2 * rows[1].count("█")
    assert rows[3].split()[-1] == "nan"


def test_tokens_and_table_align():
    lines = tokens_table([1, 271, 316], ["<|im_start|>", "小", "红"])
    assert lines[1].endswith("<|im_start|>")
    rows = table([["小红", "1"], ["a", "22"]], ("left", "right"))
    assert text_width(rows[0]) == text_width(rows[1])
