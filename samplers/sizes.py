"""Size measures for importance designs: a column, exposure by position, a defensive mixture."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from schemas import DesignError
from schemas.validate import rows_where

EXPOSURE = "exposure"


@dataclass(frozen=True)
class SizeMeasure:
    """``w_i`` of a unit.

    ``column='exposure'`` means the position discount ``1/log2(position+1)`` of an impression.
    With ``mixture=α`` the column is a score ``s ≥ 0`` and ``w = (1-α)·s/mean(s) + α``, so no
    unit has zero probability while high scores are favoured.
    """

    column: str
    mixture: float | None = None
    position_column: str = "position"

    @property
    def input_column(self) -> str:
        return self.position_column if self.column == EXPOSURE else self.column

    def check(self) -> None:
        if self.mixture is not None and not 0 < self.mixture <= 1:
            raise DesignError(f"defensive mixture α must be in (0, 1], got {self.mixture}")

    def raw(self, batch: pa.RecordBatch, row0: int, source: str) -> np.ndarray:
        """The raw measure (score or size) of each row, validated; ``row0`` numbers the rows."""
        col = self.input_column
        values = batch.column(col)
        try:
            x = np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64)
        except (TypeError, ValueError) as exc:
            typ = getattr(values.type, "value_type", values.type)  # a dictionary's values
            raise DesignError(f"{source}: size column {col!r} is not numeric ({typ})") from exc
        bad_null = np.isnan(x)
        if self.column == EXPOSURE:
            bad = bad_null | (x < 1)
            what = "positions must be integers ≥ 1"
            x = 1.0 / np.log2(x + 1.0)
        elif self.mixture is not None:
            bad = bad_null | (x < 0) | ~np.isfinite(x)
            what = "scores must be finite and ≥ 0"
        else:
            bad = bad_null | (x <= 0) | ~np.isfinite(x)
            what = "sizes must be finite and > 0"
        if bad.any():
            rows = rows_where(np.concatenate([np.zeros(row0, bool), bad]))
            raise DesignError(f"{source}: column {col!r}: {int(bad.sum())} invalid value(s) "
                              f"({what}) at {rows}")
        return x

    def weights(self, raw: np.ndarray, score_mean: float | None) -> np.ndarray:
        """Final sizes ``w`` from raw values (applies the mixture given the population mean)."""
        if self.mixture is None:
            return raw
        a = self.mixture
        return (1.0 - a) * raw / score_mean + a
