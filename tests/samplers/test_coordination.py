"""Coordinating audit waves through PRNs: max overlap (panel) and min overlap (fresh units)."""

import numpy as np
import pytest

from samplers import PoissonSampler, StratifiedSampler
from schemas import DesignError, SchemaError


def ids(sample):
    return set(sample.table.column("unit_id").to_pylist())


def test_overlap_max_reuses_previous_units_and_seed(pop, tmp_path):
    prev = StratifiedSampler(n=200, seed=9, strata="market").sample(pop)
    prev.write(tmp_path / "w1.parquet")
    nxt = StratifiedSampler(n=200, seed=0, strata="market",
                            coordinate_with=str(tmp_path / "w1.parquet"),
                            overlap="max").sample(pop)
    assert nxt.manifest.seed == 9
    assert ids(nxt) == ids(prev)
    assert nxt.manifest.design["coordination"]["previous_content_hash"] == \
        prev.manifest.content_hash


def test_overlap_min_avoids_previous_units(pop, tmp_path):
    prev = StratifiedSampler(n=200, seed=9, strata="market").sample(pop)
    prev.write(tmp_path / "w1.parquet")
    nxt = StratifiedSampler(n=200, seed=9, strata="market",
                            coordinate_with=str(tmp_path / "w1.parquet"),
                            overlap="min").sample(pop)
    assert not ids(nxt) & ids(prev)
    assert all("prn_shift" in a for a in nxt.manifest.allocation)
    independent = StratifiedSampler(n=200, seed=10, strata="market").sample(pop)
    assert len(ids(independent) & ids(prev)) > 0  # an independent draw does overlap


def test_overlap_min_keeps_inclusion_probabilities(tmp_path):
    import pyarrow as pa

    N, n, R = 40, 8, 1500
    pop = pa.table({"unit_id": [f"x{i}" for i in range(N)]})
    counts = np.zeros(N)
    for r in range(R):
        path = tmp_path / f"p{r % 2}.parquet"
        StratifiedSampler(n=n, seed=r).sample(pop).write(path)
        got = StratifiedSampler(n=n, seed=r, coordinate_with=str(path),
                                overlap="min").sample(pop)
        counts[[int(u[1:]) for u in got.table.column("unit_id").to_pylist()]] += 1
    pi = n / N
    z = (counts - R * pi) / np.sqrt(R * pi * (1 - pi))
    assert np.max(np.abs(z)) < 4.5


def test_bad_coordination_inputs(pop, tmp_path):
    with pytest.raises(SchemaError, match="no such file"):
        StratifiedSampler(n=10, coordinate_with=str(tmp_path / "nope.parquet")).sample(pop)
    prev = PoissonSampler(n=10, seed=1).sample(pop)
    prev.write(tmp_path / "p.parquet")
    with pytest.raises(DesignError, match="overlap must be one of"):
        StratifiedSampler(n=10, coordinate_with=str(tmp_path / "p.parquet"),
                          overlap="most").sample(pop)
