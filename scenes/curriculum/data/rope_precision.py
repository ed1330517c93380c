"""Data for the rope-precision scene: one slow pair's angle at neighbouring positions, per dtype."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scenes.experiments import RopePrecisionResult


def angle_text(value: float) -> str:
    """Format an angle with nine decimals: enough to show every bit of a float32 angle near 0.002."""
    return f"{value:.9f}"


@dataclass
class DtypeColumn:
    """One dtype's column of the table."""

    dtype: str
    inv_freq: float
    inv_freq_hex: str
    subnormal: bool
    stored_positions: list[int]  # each position as this dtype stores it (bfloat16 rounds above 256)
    values: list[str]  # each stored angle, formatted with angle_text
    bits: list[str]  # each stored angle's bit pattern
    repeated: list[bool]  # the angle equals the previous position's
    first_collision: int | None
    distinct: int


@dataclass
class RopePrecisionData:
    """The pair, its exact angles, and one column per dtype."""

    head_dim: int
    rope_theta: float
    pair: int
    exact_inv_freq: float
    positions: list[int]
    exact: list[str]  # exact angles, formatted with angle_text
    scan_limit: int
    columns: list[DtypeColumn]

    def column(self, dtype: str) -> DtypeColumn:
        return next(c for c in self.columns if c.dtype == dtype)

    @property
    def period(self) -> float:
        return float(2 * np.pi / self.exact_inv_freq)


def rope_precision_data(result: RopePrecisionResult) -> RopePrecisionData:
    """Format every stored angle and its bits for the table."""
    columns = [
        DtypeColumn(
            dtype=row.dtype,
            inv_freq=row.inv_freq,
            inv_freq_hex=row.inv_freq_hex,
            subnormal=row.inv_freq_subnormal,
            stored_positions=[int(p) for p in row.positions],
            values=[angle_text(a) for a in row.angle],
            bits=list(row.angle_hex),
            repeated=[bool(s) for s in row.same_as_previous],
            first_collision=row.first_collision,
            distinct=row.distinct_angles,
        )
        for row in result.rows
    ]
    return RopePrecisionData(
        head_dim=result.head_dim,
        rope_theta=result.rope_theta,
        pair=result.pair,
        exact_inv_freq=result.exact_inv_freq,
        positions=result.positions,
        exact=[angle_text(a) for a in result.exact_angle],
        scan_limit=result.scan_limit,
        columns=columns,
    )
