"""The effect of live edits on the model's output: next-token predictions without and with them."""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..i18n import t
from .live import LiveResult
from .text import Style
from .views import format_number, table


def effect_lines(result: LiveResult, label: Callable[[int], str], top_k: int = 5, batch: int = 0, style: Style | None = None) -> list[str]:
    """Compare the top-k next-token predictions at the last position without and with the edits."""
    style = style or Style()
    lines = []
    if result.edits:
        lines.append(style.bold(t("debug.effect_edits")))
        lines.extend(f"  {site}: {edit}" for site, edit in result.edits)
    else:
        lines.append(style.bold(t("debug.effect_no_edits")))

    before = torch.softmax(result.before[batch, -1].float(), dim=-1)  # (vocab,)
    after = torch.softmax(result.after[batch, -1].float(), dim=-1)
    position = result.before.shape[1] - 1
    lines.append(t("debug.effect_title", position=position, k=top_k))
    rows = [["#", t("debug.effect_before"), "", t("debug.effect_after"), ""]]
    top_before = torch.topk(before, top_k)
    top_after = torch.topk(after, top_k)
    for rank in range(top_k):
        b_id, a_id = int(top_before.indices[rank]), int(top_after.indices[rank])
        rows.append([
            str(rank + 1),
            f"{b_id} {label(b_id)!r}",
            f"{float(before[b_id]):.4f}",
            f"{a_id} {label(a_id)!r}",
            f"{float(after[a_id]):.4f}",
        ])
    lines.extend("  " + line for line in table(rows, ("right", "left", "right", "left", "right"), gap=3))

    if result.identical:
        lines.append(t("debug.effect_identical"))
    else:
        logits_delta = (result.after[batch, -1].float() - result.before[batch, -1].float()).abs().max().item()
        kl = torch.sum(before * (torch.log(before.clamp_min(1e-30)) - torch.log(after.clamp_min(1e-30)))).item()
        lines.append(t("debug.effect_changed", delta=format_number(logits_delta, 4), kl=format_number(kl, 4)))
    return lines
