"""RoPE basics: attention without positions is blind to order; with RoPE it sees offsets.

Part one runs the real model twice, on distinct tokens and on the same tokens shuffled, with
RoPE switched off by hooks (the rotated q and k are replaced by the unrotated ones). Layer
0's scores, taken before the causal mask, are then shuffled exactly like the tokens:
`S_perm = P S P^T`. Deeper layers read causally masked mixtures of earlier tokens, so the
identity holds only at layer 0.

Part two takes one token's query and another token's key from the same pass, places them at
positions m and n, rotates them with the model's own cos/sin tables, and shows that the
score depends only on m - n.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from minimind import MiniMindForCausalLM
from minimind.rope import apply_rope

from ._common import ExperimentError, check_index, probe_hooks, record_probes, resolve_prompt

LAYER = 0
DEFAULT_STARTS = (0, 1, 7, 100, 1000)
DEFAULT_OFFSETS = (0, 1, 2, 4, 8, 16)


@dataclass
class RopeBasicsResult:
    """Order blindness without RoPE and relative-position scores with it, for one head."""

    layer: int  # always 0, see the module docstring
    head: int
    token_ids: list[int]  # distinct tokens, original order
    token_labels: list[str]
    permutation: list[int]  # shuffled position i holds original token permutation[i]
    permuted_labels: list[str]
    permutation_matrix: np.ndarray  # (T, T) P with P[i, permutation[i]] = 1
    scores_no_rope: np.ndarray  # (T, T) scaled q.k scores before the causal mask, RoPE off
    scores_no_rope_permuted: np.ndarray  # (T, T) the same, run on the shuffled tokens
    expected_permuted: np.ndarray  # (T, T) P S P^T from scores_no_rope
    equivariance_error: float  # max |scores_no_rope_permuted - P S P^T|
    scores_rope: np.ndarray  # (T, T) with RoPE, original order
    scores_rope_permuted: np.ndarray  # (T, T) with RoPE, shuffled tokens
    rope_equivariance_error: float  # max |scores_rope_permuted - P S_rope P^T|, far from 0
    query_token: int  # index into token_ids of the token whose query is moved around
    key_token: int  # index into token_ids of the token whose key is moved around
    unrotated_score: float  # q.k / sqrt(D) with no rotation at all
    starts: list[int]  # key positions n
    offsets: list[int]  # m - n; the query sits at n + offset
    relative_table: np.ndarray  # (len(starts), len(offsets)) score of q at n + offset and k at n
    relative_spread: float  # largest max - min within one offset's column; float error only


def run_rope_basics(
    model: MiniMindForCausalLM,
    tokenizer=None,
    prompt: str | Sequence[int] | None = None,
    head: int = 0,
    permutation: Sequence[int] | None = None,
    query_token: int | None = None,
    key_token: int = 0,
    starts: Sequence[int] | None = None,
    offsets: Sequence[int] = DEFAULT_OFFSETS,
    seed: int = 0,
    length: int = 8,
) -> RopeBasicsResult:
    """Show permutation equivariance with RoPE off and relative scores with RoPE on.

    `permutation` defaults to a seeded shuffle that moves at least one token; the query
    token defaults to the last token. Repeated tokens in the prompt are dropped first,
    because swapping two copies of one token would prove nothing. `starts` defaults to
    those of DEFAULT_STARTS whose every offset fits in the model's RoPE tables.
    """
    config = model.config
    if starts is None:
        limit = config.max_position_embeddings
        starts = [n for n in DEFAULT_STARTS if all(0 <= n + d < limit for d in offsets)] or [0]
    head = check_index("head", head, config.num_attention_heads)
    tokens = resolve_prompt(model, tokenizer, prompt, length=length, seed=seed, distinct=True)
    T = len(tokens.ids)
    perm = _permutation(permutation, T, seed)
    query_token = check_index("query_token", T - 1 if query_token is None else query_token, T)
    key_token = check_index("key_token", key_token, T)

    ids = tokens.tensor()
    shuffled = ids[:, perm]
    no_rope, q, k = _layer0_scores(model, ids, head, rope=False)
    no_rope_perm, _, _ = _layer0_scores(model, shuffled, head, rope=False)
    rope, _, _ = _layer0_scores(model, ids, head, rope=True)
    rope_perm, _, _ = _layer0_scores(model, shuffled, head, rope=True)

    P = np.zeros((T, T))
    P[np.arange(T), perm] = 1.0
    expected = P @ no_rope @ P.T
    table = _relative_table(model, q[query_token], k[key_token], starts, offsets)
    return RopeBasicsResult(
        layer=LAYER,
        head=head,
        token_ids=tokens.ids,
        token_labels=tokens.labels,
        permutation=perm,
        permuted_labels=[tokens.labels[i] for i in perm],
        permutation_matrix=P,
        scores_no_rope=no_rope,
        scores_no_rope_permuted=no_rope_perm,
        expected_permuted=expected,
        equivariance_error=float(np.abs(no_rope_perm - expected).max()),
        scores_rope=rope,
        scores_rope_permuted=rope_perm,
        rope_equivariance_error=float(np.abs(rope_perm - P @ rope @ P.T).max()),
        query_token=query_token,
        key_token=key_token,
        unrotated_score=float(q[query_token] @ k[key_token]) / math.sqrt(config.head_dim),
        starts=list(starts),
        offsets=list(offsets),
        relative_table=table,
        relative_spread=float((table.max(axis=0) - table.min(axis=0)).max()),
    )


def _permutation(permutation: Sequence[int] | None, T: int, seed: int) -> list[int]:
    if permutation is not None:
        perm = [int(i) for i in permutation]
        if sorted(perm) != list(range(T)):
            raise ExperimentError(
                f"permutation {perm} does not reorder {T} tokens: pass each index 0..{T - 1} once"
            )
        return perm
    generator = torch.Generator().manual_seed(seed)
    perm = torch.randperm(T, generator=generator).tolist()
    if perm == list(range(T)):
        perm = perm[1:] + perm[:1]
    return perm


@torch.no_grad()
def _layer0_scores(model, ids: torch.Tensor, head: int, rope: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return layer 0's (T, T) scores for `head` and the head's unrotated q (T, D) and k (T, D)."""
    attn = f"model.layers.{LAYER}.self_attn"
    n_rep = model.config.queries_per_kv_head
    unrotated: dict[str, torch.Tensor] = {}
    hooks = {}
    if not rope:
        # Hand the unrotated tensors on in place of the rotated ones, so RoPE is skipped.
        hooks[f"{attn}.q_normed"] = lambda out: unrotated.__setitem__("q", out)
        hooks[f"{attn}.k_normed"] = lambda out: unrotated.__setitem__("k", out)
        hooks[f"{attn}.q_rot"] = lambda out: unrotated["q"]
        hooks[f"{attn}.k_rot"] = lambda out: unrotated["k"]

    with probe_hooks(model, hooks), record_probes(model, [f"{attn}.scores", f"{attn}.q_normed", f"{attn}.k_normed"]) as rec:
        model(ids)
    scores = rec[f"{attn}.scores"][0, head].double().numpy()  # (T, T)
    q = rec[f"{attn}.q_normed"][0, :, head].double().numpy()  # (T, D)
    k = rec[f"{attn}.k_normed"][0, :, head // n_rep].double().numpy()  # (T, D)
    return scores, q, k


def _relative_table(model, q: np.ndarray, k: np.ndarray, starts, offsets) -> np.ndarray:
    cos, sin = model.model.freqs_cos, model.model.freqs_sin  # (P, D) fp32
    limit = cos.shape[0]
    for n in starts:
        for d in offsets:
            if not (0 <= n < limit and 0 <= n + d < limit):
                raise ExperimentError(
                    f"positions {n} and {n + d} must lie in 0..{limit - 1}: pass smaller starts or offsets"
                )

    q_t = torch.tensor(q, dtype=torch.float32)[None, None, None, :]  # (1, 1, 1, D)
    k_t = torch.tensor(k, dtype=torch.float32)[None, None, None, :]
    scale = math.sqrt(q.shape[-1])
    table = np.zeros((len(starts), len(offsets)))
    for i, n in enumerate(starts):
        k_rot = apply_rope(k_t, cos[n : n + 1], sin[n : n + 1], cast_back=True)[0, 0, 0]
        for j, d in enumerate(offsets):
            m = n + d
            q_rot = apply_rope(q_t, cos[m : m + 1], sin[m : m + 1], cast_back=True)[0, 0, 0]
            table[i, j] = float(q_rot.double() @ k_rot.double()) / scale
    return table
