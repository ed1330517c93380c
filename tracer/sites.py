"""Site names: the public, stable names of the intermediate tensors a trace records.

A site is named after where it sits in the model, not after the Python module that made it:
`layers.3.attn.probs` is the attention pattern of block 3, whichever code computed it. The
full table is in docs/sites.md. Probe modules of `minimind` map onto sites here, and the
plugin mode for upstream MiniMind code (tracer/upstream.py) emits the same names.
"""

from __future__ import annotations

import difflib
import fnmatch
import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .errors import TraceError

# Probe module path -> site name. Order matters: the first matching rule wins.
_PROBE_RULES: tuple[tuple[re.Pattern, str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"^model\.embed$", "embed"),
        (r"^model\.layers\.(\d+)\.(resid_pre|resid_mid|resid_post)$", r"layers.\1.\2"),
        (r"^model\.layers\.(\d+)\.input_layernorm\.(out|rms_in|rms_out)$", r"layers.\1.attn_norm.\2"),
        (r"^model\.layers\.(\d+)\.post_attention_layernorm\.(out|rms_in|rms_out)$", r"layers.\1.ffn_norm.\2"),
        (r"^model\.layers\.(\d+)\.self_attn\.(q_norm|k_norm)\.(out|rms_in|rms_out)$", r"layers.\1.attn.\2.\3"),
        (r"^model\.layers\.(\d+)\.self_attn\.(\w+)$", r"layers.\1.attn.\2"),
        (r"^model\.layers\.(\d+)\.mlp\.(router_probs|topk_ids|topk_weights)$", r"layers.\1.moe.\2"),
        (r"^model\.layers\.(\d+)\.mlp\.(experts|shared_experts)\.(\d+)\.(\w+)$", r"layers.\1.moe.\2.\3.\4"),
        (r"^model\.layers\.(\d+)\.mlp\.(\w+)$", r"layers.\1.ffn.\2"),
        (r"^model\.norm\.(out|rms_in|rms_out)$", r"final_norm.\1"),
        (r"^logits$", "logits"),
    )
)

_HIDDEN = ("batch", "pos", "hidden")
_PER_TOKEN = ("batch", "pos")
_Q_HEADS = ("batch", "pos", "head", "head_dim")
_KV_HEADS = ("batch", "pos", "kv_head", "head_dim")
_PATTERN = ("batch", "head", "query", "key")
_FFN = ("batch", "pos", "intermediate")

# Site name with layer numbers replaced by `*` -> dimension labels, for every site kind.
_DIMS: dict[str, tuple[str, ...]] = {
    "embed": _HIDDEN,
    "logits": ("batch", "pos", "vocab"),
    **{f"layers.*.{name}": _HIDDEN for name in ("resid_pre", "resid_mid", "resid_post")},
    **{f"{norm}.out": _HIDDEN for norm in ("layers.*.attn_norm", "layers.*.ffn_norm", "final_norm")},
    **{f"{norm}.{rms}": _PER_TOKEN for norm in ("layers.*.attn_norm", "layers.*.ffn_norm", "final_norm") for rms in ("rms_in", "rms_out")},
    **{f"layers.*.attn.{name}": _Q_HEADS for name in ("q", "q_normed", "q_rot", "heads", "q_norm.out")},
    **{f"layers.*.attn.{name}": _KV_HEADS for name in ("k", "v", "k_normed", "k_rot", "k_norm.out")},
    **{f"layers.*.attn.q_norm.{rms}": ("batch", "pos", "head") for rms in ("rms_in", "rms_out")},
    **{f"layers.*.attn.k_norm.{rms}": ("batch", "pos", "kv_head") for rms in ("rms_in", "rms_out")},
    "layers.*.attn.scores": _PATTERN,
    "layers.*.attn.probs": _PATTERN,
    "layers.*.attn.out": _HIDDEN,
    **{f"layers.*.ffn.{name}": _FFN for name in ("gate", "act", "up", "hidden")},
    "layers.*.ffn.out": _HIDDEN,
    "layers.*.moe.router_probs": ("token", "expert"),
    "layers.*.moe.topk_ids": ("token", "k"),
    "layers.*.moe.topk_weights": ("token", "k"),
    # A routed expert receives only the tokens that chose it, flattened over batch and position.
    **{f"layers.*.moe.experts.*.{name}": ("routed_token", "intermediate") for name in ("gate", "act", "up", "hidden")},
    "layers.*.moe.experts.*.out": ("routed_token", "hidden"),
    **{f"layers.*.moe.shared_experts.*.{name}": _FFN for name in ("gate", "act", "up", "hidden")},
    "layers.*.moe.shared_experts.*.out": _HIDDEN,
}

# Sites outside the core list of the issue: per-head outputs, q/k norm internals, expert internals.
_EXTRA = re.compile(r"\.attn\.heads$|\.attn\.[qk]_norm\.|\.moe\.(shared_)?experts\.")
_LAYER = re.compile(r"^layers\.(\d+)\.")
_NUMBERS = re.compile(r"(?<=\.)\d+(?=\.)")


@dataclass(frozen=True)
class SiteInfo:
    """Facts a site name encodes about its tensor."""

    name: str  # the site, e.g. "layers.3.attn.probs"
    layer: int | None  # block index, None for embed, final_norm and logits
    sublayer: str  # embed, resid, attn_norm, attn, ffn_norm, ffn, moe, final_norm or logits
    leaf: str  # the last part of the name, e.g. "probs" or "rms_in"
    dims: tuple[str, ...]  # dimension labels, e.g. ("batch", "head", "query", "key")
    extra: bool  # an extra site beyond the core list (attn.heads, q/k norm internals, experts)


@functools.lru_cache(maxsize=65536)
def site_for_probe(module_path: str) -> str | None:
    """Return the site name of a `minimind` probe module path, or None when it is not a probe path."""
    for pattern, replacement in _PROBE_RULES:
        if pattern.match(module_path):
            return pattern.sub(replacement, module_path)
    return None


def template(site: str) -> str:
    """Return `site` with its layer and expert numbers replaced by `*`: "layers.*.attn.q"."""
    return _NUMBERS.sub("*", site)


@functools.lru_cache(maxsize=65536)
def site_info(site: str, ndim: int | None = None) -> SiteInfo:
    """Describe `site`. Unknown kinds get generic labels `dim0 .. dim{ndim-1}`."""
    match = _LAYER.match(site)
    layer = int(match.group(1)) if match else None
    parts = site.split(".")
    if layer is None:
        sublayer = parts[0]
    elif parts[2].startswith("resid_"):
        sublayer = "resid"
    else:
        sublayer = parts[2]
    dims = _DIMS.get(template(site))
    if dims is None or (ndim is not None and len(dims) != ndim):
        dims = tuple(f"dim{i}" for i in range(ndim or 0))
    return SiteInfo(site, layer, sublayer, parts[-1], dims, bool(_EXTRA.search(site)))


def split_patterns(patterns: str | Iterable[str] | None) -> list[str] | None:
    """Normalise a site selection: None (all), one string with commas, or several strings."""
    if patterns is None:
        return None
    if isinstance(patterns, str):
        patterns = [patterns]
    result = [part.strip() for pattern in patterns for part in pattern.split(",") if part.strip()]
    return result or None


def matches(site: str, pattern: str) -> bool:
    """Return True when `pattern` selects `site`.

    A pattern is a shell-style glob over the whole name (`*` also crosses dots, so
    `*.probs` selects every layer's probs), or a name prefix ending at a dot boundary
    (`layers.3.attn` selects everything under it).
    """
    return fnmatch.fnmatchcase(site, pattern) or fnmatch.fnmatchcase(site, pattern + ".*")


def select(patterns: str | Iterable[str] | None, available: Sequence[str]) -> list[str]:
    """Return the sites of `available` that any pattern selects, in `available`'s order.

    Raises TraceError naming the first pattern that selects nothing, with close matches.
    """
    selected = split_patterns(patterns)
    if selected is None:
        return list(available)
    for pattern in selected:
        if not any(matches(site, pattern) for site in available):
            raise TraceError(
                f"no site matches {pattern!r}{suggest(pattern, available)}: "
                f"pass a site name or glob from docs/sites.md, such as 'layers.*.attn.probs'",
                key="trace.error.no_site_match",
                pattern=pattern,
            )
    return [site for site in available if any(matches(site, pattern) for pattern in selected)]


def suggest(name: str, available: Iterable[str], limit: int = 3) -> str:
    """Return " (did you mean 'a' or 'b'?)" for the names in `available` closest to `name`, or ""."""
    available = list(dict.fromkeys(available))
    pool = available + sorted({template(site) for site in available} - set(available))
    close = difflib.get_close_matches(name, pool, n=limit, cutoff=0.6)
    if not close:
        # A wrong layer number defeats the ratio above; compare the layer-free shapes instead.
        shape = template(name)
        close = [site for site in available if template(site) == shape][:limit]
    if not close:
        return ""
    quoted = [repr(c) for c in close]
    listed = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
    return f" (did you mean {listed}?)"
