"""Order-independent exact sums of floats, so that batching or partitioning never changes a
design quantity (a total size, a stratum's S_h) in its last bit."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

_HALF = 1 << 26


class ExactSum:
    """Accumulates float64 values exactly (as a rational); mergeable across partitions."""

    __slots__ = ("_total",)

    def __init__(self) -> None:
        self._total = 0  # an integer multiple of 2**-1200

    def add(self, values: np.ndarray) -> ExactSum:
        x = np.asarray(values, dtype=np.float64).ravel()
        if x.size == 0:
            return self
        if not np.all(np.isfinite(x)):
            raise ValueError("cannot sum non-finite values")
        mant, exp = np.frexp(x)  # x = mant * 2**exp, 0.5 <= |mant| < 1
        m = np.rint(np.ldexp(mant, 53)).astype(np.int64)  # exact 53-bit integer mantissas
        e = exp.astype(np.int64) - 53 + 1200
        for ev in np.unique(e):
            sel = m[e == ev]
            hi, lo = np.divmod(sel, _HALF)
            part = int(hi.sum()) * _HALF + int(lo.sum())
            self._total += part << int(ev)
        return self

    def merge(self, other: ExactSum) -> ExactSum:
        self._total += other._total
        return self

    @property
    def value(self) -> float:
        """The correctly rounded float of the exact sum."""
        return float(Fraction(self._total, 1 << 1200))
