"""Bad input to a sampler: one clear error naming the column, rows or stratum."""

import numpy as np
import pyarrow as pa
import pytest

from samplers import ImportanceSampler, PoissonSampler, StratifiedSampler
from schemas import DesignError, SchemaError


def test_null_ids_are_named_by_row():
    t = pa.table({"item_id": ["a", None, "c", None]})
    with pytest.raises(SchemaError, match=r"'item_id': 2 null id\(s\) at rows 1, 3"):
        StratifiedSampler(n=1).sample(t)


def test_duplicate_ids_are_named_with_rows_even_across_batches():
    t = pa.table({"item_id": ["a", "b", "c", "b", "e", "a"]})
    with pytest.raises(SchemaError, match=r"2 duplicate id\(s\).*'b' at rows 1, 3"):
        StratifiedSampler(n=1).sample(t.to_batches(max_chunksize=2))


@pytest.mark.parametrize(("values", "what"), [
    ([1.0, 0.0, 2.0], "sizes must be finite and > 0"),
    ([1.0, -3.0, 2.0], "sizes must be finite and > 0"),
    ([1.0, None, 2.0], "sizes must be finite and > 0"),
])
def test_non_positive_or_null_sizes(values, what):
    t = pa.table({"item_id": ["a", "b", "c"], "w": pa.array(values, pa.float64())})
    with pytest.raises(DesignError, match=rf"column 'w': 1 invalid value\(s\) \({what}\) at row 1"):
        ImportanceSampler(n=1, size="w").sample(t)


def test_negative_scores_with_mixture_and_bad_alpha():
    t = pa.table({"item_id": ["a", "b"], "s": [0.0, -0.5]})
    with pytest.raises(DesignError, match="scores must be finite and ≥ 0"):
        ImportanceSampler(n=1, size="s", mixture=0.1).sample(t)
    with pytest.raises(DesignError, match=r"mixture α must be in \(0, 1\]"):
        ImportanceSampler(n=1, size="s", mixture=1.5).sample(t)


def test_impossible_allocations_name_strata():
    t = pa.table({"item_id": [f"i{k}" for k in range(30)], "m": ["a"] * 25 + ["b"] * 5})
    with pytest.raises(DesignError, match="n=40 exceeds the population size N=30 by 10"):
        StratifiedSampler(n=40, strata="m").sample(t)
    with pytest.raises(DesignError, match="min_per_stratum=10 over 2 strata needs 15"):
        StratifiedSampler(n=12, strata="m", min_per_stratum=10).sample(t)


@pytest.mark.parametrize(("params", "message"), [
    ({"n": -1}, "n must be a non-negative integer"),
    ({"n": 2.5}, "n must be a non-negative integer"),
    ({"n": 2, "seed": -4}, "seed must be an integer"),
    ({"n": 2, "allocation": "fair"}, "unknown allocation 'fair'"),
    ({"n": 2, "allocation": "neyman"}, "neyman allocation needs neyman_col"),
])
def test_bad_parameters(params, message):
    t = pa.table({"item_id": ["a", "b", "c"]})
    with pytest.raises(DesignError, match=message):
        StratifiedSampler(**params).sample(t)


def test_wrong_unit_column_and_design_column_clash():
    t = pa.table({"x": ["a", "b"]})
    with pytest.raises(SchemaError, match="no unit id column"):
        PoissonSampler(n=1).sample(t)
    with pytest.raises(SchemaError, match="missing column"):
        PoissonSampler(n=1, unit_col="id").sample(t)
    t2 = pa.table({"item_id": ["a", "b"], "stratum": ["x", "y"]})
    with pytest.raises(SchemaError, match=r"already has design column\(s\) \['stratum'\]"):
        PoissonSampler(n=1).sample(t2)


def test_neyman_uses_the_root_mean_square_of_the_column():
    rng = np.random.default_rng(0)
    t = pa.table({"item_id": [f"i{k}" for k in range(200)],
                  "m": ["a"] * 100 + ["b"] * 100,
                  "sd": np.r_[np.full(100, 1.0), np.full(100, 3.0)]})
    s = StratifiedSampler(n=40, strata="m", allocation="neyman", neyman_col="sd").sample(t)
    assert [a["n_h"] for a in s.manifest.allocation] == [10, 30]
    assert [a["S_h"] for a in s.manifest.allocation] == [1.0, 3.0]
    del rng
