"""Golden digests of sampling: the population fingerprint and the sample's content hash of a
small fixed population, pinned as literal hex (computed once, equal under numpy 1.26/pandas
2.2/pyarrow 15 and numpy 2.2/pandas 3.1/pyarrow 24). A change here means past samples can no
longer be proven identical: that needs a new algorithm version, not new digests."""

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from samplers import ImportanceSampler, StratifiedSampler
from samplers.base import SAMPLE_PACKAGES, package_version

POP = pa.table({"item_id": [f"trk_{i:03d}" for i in range(40)],
                "market": ["SE", "BR", "US", "IS"] * 10,
                "popularity": [float(i % 7) + 0.25 for i in range(40)]})

GOLDEN = {
    "stratified": (lambda: StratifiedSampler(n=8, seed=42, strata="market"),
                   "9da0771c382068cce9778e35541a1fe2",
                   "5e0b507c993955d4678c2158617976176bcad6c5d7f8d7b16e0c4aa6ba930cdb"),
    "priority": (lambda: ImportanceSampler(n=5, seed=42, size="popularity"),
                 "a3d0fad937172522088d70c9b4893074",
                 "57c43d6777babe323ad478a843f06ff24336a411e00a678088e9fb69c1d8c43a"),
}


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_fingerprint_and_sample_hash_are_pinned(name, tmp_path, kernel_path):
    make, fingerprint, sample_hash = GOLDEN[name]
    path = tmp_path / "pop.parquet"
    pq.write_table(POP, path, row_group_size=7)  # small dictionaries, several row groups
    for data in (POP, POP.to_pandas(), POP.to_batches(max_chunksize=3), str(path)):
        m = make().sample(data).manifest
        assert m.population["rows"] == 40
        assert m.population["fingerprint"] == fingerprint
        assert m.content_hash == sample_hash


def test_the_manifest_records_the_versions_that_can_change_a_sample():
    from importlib.metadata import version

    m = StratifiedSampler(n=8, seed=42, strata="market").sample(POP).manifest
    assert m.packages["audit-curation"] == package_version() == m.package_version
    for name in ("numpy", "pandas", "pyarrow", "scikit-learn", "scipy", "dask"):
        assert name in SAMPLE_PACKAGES and m.packages[name] == version(name)
