"""Data for the residual-stream scene: the last token's stream, block by block, and what each sublayer added."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scenes.experiments import ResidualStreamResult


@dataclass
class ResidualStreamData:
    """The last prompt token's stream norms and each part's share of the final stream.

    Norms are L2 norms over hidden_size. The shares are projections onto the last block's
    output and sum to 1 (see scenes.experiments.residual_stream).
    """

    hidden_size: int
    labels: list[str]
    token: int  # the last prompt position, whose stream predicts the next token
    stream_norm: np.ndarray  # (L+1,) embedding, then after each block
    attn_norm: np.ndarray  # (L,) what each attention sublayer added
    ffn_norm: np.ndarray  # (L,) what each feed-forward sublayer added
    part_names: list[str]  # "embed", "attn 0", "ffn 0", ...
    final_share: np.ndarray  # (2L+1,) each part's share of the last block's output
    attn_share: np.ndarray  # (L, T) attention's share of each block's output, every token
    ffn_share: np.ndarray  # (L, T)
    final_rms_in: float
    final_rms_out: float
    top_labels: list[str]
    top_probs: list[float]

    @property
    def layers(self) -> int:
        return len(self.attn_norm)

    @property
    def largest_part(self) -> int:
        """Index into part_names of the part with the largest share of the final stream."""
        return int(np.argmax(self.final_share))


def residual_stream_data(result: ResidualStreamResult) -> ResidualStreamData:
    """Take the last token's column of every per-token array."""
    token = len(result.token_labels) - 1
    return ResidualStreamData(
        hidden_size=result.hidden_size,
        labels=result.token_labels,
        token=token,
        stream_norm=np.concatenate([[result.embed_norm[token]], result.resid_post_norm[:, token]]),
        attn_norm=result.attn_out_norm[:, token],
        ffn_norm=result.ffn_out_norm[:, token],
        part_names=result.contribution_names,
        final_share=result.final_share[:, token],
        attn_share=result.attn_share,
        ffn_share=result.ffn_share,
        final_rms_in=float(result.final_norm_rms_in[token]),
        final_rms_out=float(result.final_norm_rms_out[token]),
        top_labels=[candidate.label for candidate in result.top_next],
        top_probs=[candidate.prob for candidate in result.top_next],
    )
