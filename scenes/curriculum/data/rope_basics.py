"""Data for the rope-basics scene: scores with RoPE off before and after a shuffle, and the relative table."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scenes.experiments import RopeBasicsResult


@dataclass
class RopeBasicsData:
    """Values the rope-basics scene draws. Score matrices are (T, T), rows queries, columns keys."""

    head: int
    labels: list[str]
    permuted_labels: list[str]
    permutation: list[int]  # shuffled position i contains original token permutation[i]
    scores: np.ndarray  # RoPE off, original order
    scores_permuted: np.ndarray  # RoPE off, shuffled tokens
    scores_rope: np.ndarray  # RoPE on, original order
    scores_rope_permuted: np.ndarray  # RoPE on, shuffled tokens
    equivariance_error: float
    rope_equivariance_error: float
    follow: tuple[int, int]  # a cell (query, key) of `scores` with a large score, followed through the shuffle
    follow_permuted: tuple[int, int]  # where that query and key sit after the shuffle
    query_label: str
    key_label: str
    starts: list[int]
    offsets: list[int]
    relative_table: np.ndarray  # (starts, offsets)
    relative_spread: float
    unrotated_score: float

    @property
    def limit(self) -> float:
        """One colour scale for every score matrix, RoPE off and on."""
        matrices = (self.scores, self.scores_permuted, self.scores_rope, self.scores_rope_permuted)
        return float(max(max(np.abs(m).max() for m in matrices), 1e-12))


def rope_basics_data(result: RopeBasicsResult) -> RopeBasicsData:
    """Pick the cell to follow (the largest off-diagonal |score|) and collect the rest."""
    scores = result.scores_no_rope
    off_diagonal = np.abs(scores) - np.diag(np.full(len(scores), np.inf))
    query, key = np.unravel_index(int(np.argmax(off_diagonal)), scores.shape)
    position = {original: new for new, original in enumerate(result.permutation)}
    return RopeBasicsData(
        head=result.head,
        labels=result.token_labels,
        permuted_labels=result.permuted_labels,
        permutation=result.permutation,
        scores=scores,
        scores_permuted=result.scores_no_rope_permuted,
        scores_rope=result.scores_rope,
        scores_rope_permuted=result.scores_rope_permuted,
        equivariance_error=result.equivariance_error,
        rope_equivariance_error=result.rope_equivariance_error,
        follow=(int(query), int(key)),
        follow_permuted=(position[int(query)], position[int(key)]),
        query_label=result.token_labels[result.query_token],
        key_label=result.token_labels[result.key_token],
        starts=result.starts,
        offsets=result.offsets,
        relative_table=result.relative_table,
        relative_spread=result.relative_spread,
        unrotated_score=result.unrotated_score,
    )
