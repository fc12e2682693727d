"""The bottom-k states: exactly each stratum's best rows, whatever the batches."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from samplers.selection import BestK, GrowingBestK


def brute_force(codes, keys, ties, k):
    """The rows of each code's ``k`` smallest ``(key, tie)``, sorted by (code, key, tie)."""
    order = np.lexsort((ties, keys, codes))
    out = [i for c in range(len(k)) for i in order[codes[order] == c][:k[c]]]
    return np.array(out, np.int64)


@pytest.mark.parametrize("batch", [7, 300, 5000])  # smaller and larger than all k together
@pytest.mark.parametrize("growing", [False, True])
def test_best_k_keeps_each_strata_smallest_keys_with_ties_broken(batch, growing):
    rng = np.random.default_rng(batch)
    n, k = 20_000, np.array([3, 0, 50, 1, 400])
    codes = rng.choice(5, n, p=[0.4, 0.2, 0.3, 0.005, 0.095])
    keys = rng.integers(0, 200, n).astype(np.float64)  # many equal keys: ties decide
    ties = rng.permutation(n).astype(np.uint64)
    best = GrowingBestK(400) if growing else BestK(k)
    if growing:
        k = np.where(np.isin(np.arange(5), np.unique(codes)), 400, 0)
    for start in range(0, n, batch):
        part = slice(start, start + batch)
        best.offer(pa.table({"row": np.arange(n)[part]}), codes[part], keys[part], ties[part])
        assert best._size <= 2 * k.sum() + (1 << 16)  # bounded by the k, not by the input
    rows, kept_codes, kept_keys, kept_ties = best.result()
    expected = brute_force(codes, keys, ties, k)
    assert rows.column("row").to_numpy().tolist() == expected.tolist()
    assert kept_codes.tolist() == codes[expected].tolist()
    assert kept_ties.tolist() == ties[expected].tolist()


def test_a_first_batch_larger_than_the_sketch_is_cut_before_it_is_kept():
    best = BestK(np.array([10, 10]))
    n = 50_000  # fewer than the pruning budget: without the cut all would be kept
    codes = np.arange(n) % 2
    keys = np.random.default_rng(1).random(n)
    best.offer(pa.table({"row": np.arange(n)}), codes, keys, np.arange(n, dtype=np.uint64))
    assert best._size == 20  # only the batch's own best rows, and the thresholds are set
    assert np.isfinite(best.threshold).all()
