"""`mmtrace info`: describe a model checkpoint, or a trace file."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..i18n import t
from .common import add_model_options, load_model


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("info", help=t("info.help"), description=t("info.help"))
    parser.add_argument("target", nargs="?", type=Path, help=t("info.target"))
    add_model_options(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    if args.target is not None:
        from ..summary import describe_trace

        for line in describe_trace(args.target, t):
            print(line)
        return 0

    model = load_model(args)
    for line in describe_model(model, str(args.checkpoint or t("info.embedded"))):
        print(line)
    return 0


def describe_model(model, source: str) -> list[str]:
    """Return aligned `label: value` lines for the model's layout, sizes and parameter count."""
    c = model.config
    if c.use_moe:
        shared = 0 if c.is_v3 else c.n_shared_experts
        width = c.moe_intermediate_size if c.is_v3 else c.intermediate_size
        ffn = t("info.ffn_moe", experts=c.routed_experts, k=c.num_experts_per_tok, shared=shared, size=width)
    else:
        ffn = t("info.ffn_dense", size=c.intermediate_size)
    count = model.num_parameters()
    rows = [
        (t("info.source"), source),
        (t("info.layout"), c.minimind_version),
        (t("info.layers"), str(c.num_hidden_layers)),
        (t("info.hidden"), str(c.hidden_size)),
        (t("info.heads"), t("info.heads_value", q=c.num_attention_heads, kv=c.num_key_value_heads, group=c.queries_per_kv_head, head_dim=c.head_dim)),
        (t("info.ffn"), ffn),
        (t("info.vocab"), str(c.vocab_size)),
        (t("info.positions"), str(c.max_position_embeddings)),
        (t("info.rope"), t("info.rope_value", theta=c.rope_theta, yarn=_yarn_state(c))),
        (t("info.norm"), f"{c.rms_norm_eps:g}"),
        (t("info.params"), t("info.params_value", count=count, millions=count / 1e6)),
    ]
    width = max(_display_width(label) for label, _ in rows)
    lines = [t("info.model_title")]
    for label, value in rows:
        lines.append(f"  {label}{' ' * (width - _display_width(label))}  {value}")
    return lines


def _yarn_state(config) -> str:
    # MiniMind applies YaRN only when the RoPE tables are longer than the original length.
    scaling = config.rope_scaling
    if scaling is None:
        return t("info.off")
    original = scaling["original_max_position_embeddings"]
    if config.max_position_embeddings <= original:
        return t("info.yarn_inactive", original=original)
    return t("info.on")


def _display_width(text: str) -> int:
    # CJK characters take two terminal columns.
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)
