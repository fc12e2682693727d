"""Mergeable selection states for the second pass: the best ``k_h`` rows per stratum."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from . import kernels


def rank_within(codes_sorted: np.ndarray) -> np.ndarray:
    """0-based rank of each element within its run of equal codes (input sorted by code)."""
    n = len(codes_sorted)
    if n == 0:
        return np.zeros(0, np.int64)
    starts = np.r_[0, np.flatnonzero(np.diff(codes_sorted)) + 1]
    run_start = np.repeat(starts, np.diff(np.r_[starts, n]))
    return np.arange(n) - run_start


def best_positions(codes: np.ndarray, keys: np.ndarray, ties: np.ndarray,
                   k: np.ndarray) -> np.ndarray:
    """Positions of the ``k[code]`` rows of smallest ``(key, tie)`` of each code, ordered by
    (code, key, tie; equal triples in input order)."""
    order = np.lexsort((ties, keys, codes))
    rank = rank_within(codes[order])
    return order[rank < k[codes[order]]]


class BestK:
    """Keeps, per stratum code, the ``k[code]`` rows of smallest ``(key, tie)``.

    A bottom-k sketch: a row whose key exceeds its stratum's current k-th key can never be
    selected and is dropped at once, so memory stays near ``Σ k`` rows plus one batch.
    """

    def __init__(self, k: np.ndarray):
        self.k = np.asarray(k, dtype=np.int64)
        self.threshold = np.full(len(self.k), np.inf)
        self._parts: list[tuple[pa.Table, np.ndarray, np.ndarray, np.ndarray]] = []
        self._size = 0
        self._budget = 2 * int(self.k.sum()) + (1 << 16)
        self._stale = False

    def offer(self, rows: pa.Table, codes: np.ndarray, keys: np.ndarray,
              ties: np.ndarray) -> None:
        idx = self._admitted(codes, keys, ties)
        if idx.size:
            self._keep(rows.take(idx), codes[idx], keys[idx], ties[idx])

    def _admitted(self, codes: np.ndarray, keys: np.ndarray, ties: np.ndarray) -> np.ndarray:
        """Positions (ascending) of the rows that may still be among their stratum's best:
        under its threshold and, when a batch admits more rows than all the ``k`` together
        (the first batches, before the thresholds are set), among the batch's own best."""
        compiled = kernels.compiled()
        if compiled is not None:  # the same test in one sweep
            idx = compiled.admitted(np.ascontiguousarray(codes, np.int64),
                                    np.ascontiguousarray(keys, np.float64), self.threshold,
                                    self.k)
        else:
            idx = np.flatnonzero((keys <= self.threshold[codes]) & (self.k[codes] > 0))
        if idx.size > self.k.sum():  # none of the others can outlive the next pruning
            idx = np.sort(idx[best_positions(codes[idx], keys[idx], ties[idx], self.k)])
            self._stale = True  # the thresholds: set them once these rows are kept
        return idx

    def _keep(self, rows: pa.Table, codes: np.ndarray, keys: np.ndarray,
              ties: np.ndarray) -> None:
        self._parts.append((rows, codes, keys, ties))
        self._size += len(codes)
        if self._size > self._budget or self._stale:
            self._prune()

    def merge(self, other: BestK) -> BestK:
        """Fold in another partition's kept rows (the result is the same in any order)."""
        self._parts.extend(other._parts)
        self._size += other._size
        self._prune()
        return self

    def _prune(self) -> None:
        if not self._parts:
            return
        table = pa.concat_tables([p[0] for p in self._parts]).combine_chunks()
        codes = np.concatenate([p[1] for p in self._parts])
        keys = np.concatenate([p[2] for p in self._parts])
        ties = np.concatenate([p[3] for p in self._parts])
        keep = best_positions(codes, keys, ties, self.k)
        kept_codes = codes[keep]
        full = np.bincount(kept_codes, minlength=len(self.k)) >= self.k
        last = np.full(len(self.k), -np.inf)
        np.maximum.at(last, kept_codes, keys[keep])
        self.threshold = np.where(full & (self.k > 0), last, np.inf)
        self._parts = [(table.take(keep), kept_codes, keys[keep], ties[keep])]
        self._size, self._stale = keep.size, False

    def result(self) -> tuple[pa.Table | None, np.ndarray, np.ndarray, np.ndarray]:
        """Kept rows sorted by (code, key, tie), with their codes, keys and ties."""
        self._prune()
        if not self._parts:
            return None, np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.uint64)
        return self._parts[0]


class GrowingBestK(BestK):
    """A :class:`BestK` keeping the same ``k`` rows in every stratum, for strata codes that
    appear as the input is read (the first pass), with ``remap`` to another pass's codes."""

    def __init__(self, k: int):
        super().__init__(np.zeros(0, np.int64))
        self.k_all = int(k)

    def _grow(self, n_codes: int) -> None:
        if n_codes > len(self.k):
            extra = n_codes - len(self.k)
            self.k = np.r_[self.k, np.full(extra, self.k_all, np.int64)]
            self.threshold = np.r_[self.threshold, np.full(extra, np.inf)]
            self._budget = 2 * int(self.k.sum()) + (1 << 16)

    def offer(self, rows: pa.Table, codes: np.ndarray, keys: np.ndarray,
              ties: np.ndarray) -> None:
        if codes.size:
            self._grow(int(codes.max()) + 1)
        super().offer(rows, codes, keys, ties)

    def remap(self, mapping: np.ndarray) -> GrowingBestK:
        """The same rows with stratum codes ``mapping[code]``."""
        self._parts = [(t, mapping[c], k, ti) for t, c, k, ti in self._parts]
        self._grow(int(mapping.max()) + 1 if mapping.size else 0)
        self.threshold = np.full(len(self.k), np.inf)
        return self

    def merge(self, other: BestK) -> BestK:
        self._grow(len(other.k))
        return super().merge(other)


def payload_name(i: int) -> str:
    """The kept-rows column holding carried input column ``i`` (never an input's name)."""
    return f"__payload{i}"


class CarryingBestK(GrowingBestK):
    """A :class:`GrowingBestK` of the single-pass mode: the admitted rows also keep the
    ``carry`` columns of the batch being offered (set in ``batch`` before each offer), as
    ``payload_name(i)`` columns, dictionaries decoded to their values; so the selected rows'
    content needs no second read of the input."""

    def __init__(self, k: int, carry: list[str]):
        super().__init__(k)
        self.carry = list(carry)
        self.batch: pa.RecordBatch | None = None

    def offer(self, rows: pa.Table, codes: np.ndarray, keys: np.ndarray,
              ties: np.ndarray) -> None:
        if codes.size:
            self._grow(int(codes.max()) + 1)
        idx = self._admitted(codes, keys, ties)
        if not idx.size:
            return
        taken = pa.array(idx)
        rows = rows.take(taken)
        for i, name in enumerate(self.carry):
            col = self.batch.column(name).take(taken)
            if pa.types.is_dictionary(col.type):
                col = col.cast(col.type.value_type)
            rows = rows.append_column(payload_name(i), col)
        self._keep(rows, codes[idx], keys[idx], ties[idx])
