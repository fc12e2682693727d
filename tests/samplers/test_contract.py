"""The contract every sampler keeps: reproducible, batch-invariant, nested, valid π."""

import numpy as np
import pyarrow.parquet as pq
import pytest

from samplers import DESIGN_COLUMNS, StratifiedSampler
from schemas import read_manifest, validate


def test_same_seed_gives_a_byte_identical_file(design, pop, tmp_path):
    _, make = design
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    make(n=200, seed=11).sample(pop).write(a)
    make(n=200, seed=11).sample(pop).write(b)
    assert a.read_bytes() == b.read_bytes()
    assert make(n=200, seed=12).sample(pop).manifest.content_hash != \
        read_manifest(a).content_hash


@pytest.mark.parametrize("batches", [1, 7, 50])
def test_batching_never_changes_the_sample(design, pop, batches):
    _, make = design
    whole = make(n=200, seed=5).sample(pop)
    rows = -(-pop.num_rows // batches)
    split = make(n=200, seed=5).sample(pop.to_batches(max_chunksize=rows))
    assert len(pop.to_batches(max_chunksize=rows)) == batches
    assert split.manifest.content_hash == whole.manifest.content_hash
    assert split.manifest.population == whole.manifest.population | {"source": "input"}


def test_larger_n_contains_the_smaller_sample(design, pop):
    name, make = design
    if name == "stratified":  # nesting holds per stratum where n_h grows
        make = lambda **kw: StratifiedSampler(strata=["market"], **kw)  # noqa: E731
    small = set(make(n=100, seed=3).sample(pop).table.column("unit_id").to_pylist())
    large = set(make(n=300, seed=3).sample(pop).table.column("unit_id").to_pylist())
    assert small <= large


def test_rows_carry_design_columns_and_valid_probabilities(design, pop):
    name, make = design
    s = make(n=300, seed=1, unit_col="item_id").sample(pop)
    validate(s.table, "sample")
    for col in DESIGN_COLUMNS:
        assert col in s.table.column_names
    assert set(pop.column_names) <= set(s.table.column_names)
    pi = s.table.column("inclusion_prob").to_numpy()
    assert np.all((pi > 0) & (pi <= 1))
    if name in ("stratified", "priority", "priority_mixture", "priority_exposure"):
        assert len(s) == 300
    m = s.manifest
    assert m.seed == 1 and m.prn == {"name": "acprn", "version": 1}
    assert m.population["rows"] == pop.num_rows
    assert sum(a["n_h"] for a in m.allocation) == 300
    assert sum(a["N_h"] for a in m.allocation) == pop.num_rows


def test_manifest_travels_in_parquet_and_sidecar(pop, tmp_path):
    out = tmp_path / "s.parquet"
    s = StratifiedSampler(n=50, seed=2, strata="market").sample(pop)
    s.write(out)
    assert read_manifest(out).to_dict(with_created=False) == s.manifest.to_dict(False)
    import json

    sidecar = json.loads((tmp_path / "s.manifest.json").read_text())
    assert sidecar["content_hash"] == s.manifest.content_hash and sidecar["created_at"]
    assert pq.read_table(out).num_rows == 50


def test_constructor_only_stores(pop):
    s = StratifiedSampler(n=-5, strata="no_such_column", allocation="bogus")
    assert s.get_params()["n"] == -5  # validation happens in sample(), not here
    assert "StratifiedSampler(n=-5" in repr(s)
