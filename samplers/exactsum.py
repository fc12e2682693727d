"""Order-independent exact sums of floats, so that batching or partitioning never changes a
design quantity (a total size, a stratum's S_h) in its last bit."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

_HALF = 1 << 26
_CHUNK = 1 << 24


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
        for start in range(0, x.size, _CHUNK):
            mant, exp = np.frexp(x[start:start + _CHUNK])  # x = mant * 2**exp, |mant| in [.5, 1)
            m = np.rint(np.ldexp(mant, 53)).astype(np.int64)  # exact 53-bit integer mantissas
            e = exp.astype(np.int64) - 53 + 1200
            low = int(e.min())
            hi, lo = np.divmod(m, _HALF)  # |hi| <= 2**27, 0 <= lo < 2**26
            # per exponent, sums of at most 2**24 such integers: below 2**53, exact in float64
            hi_sums = np.bincount(e - low, weights=hi)
            lo_sums = np.bincount(e - low, weights=lo)
            for j in np.flatnonzero((hi_sums != 0) | (lo_sums != 0)):
                self._total += (int(hi_sums[j]) * _HALF + int(lo_sums[j])) << (low + int(j))
        return self

    def merge(self, other: ExactSum) -> ExactSum:
        self._total += other._total
        return self

    @property
    def fraction(self) -> Fraction:
        """The exact sum."""
        return Fraction(self._total, 1 << 1200)

    @property
    def value(self) -> float:
        """The correctly rounded float of the exact sum."""
        return float(self.fraction)
