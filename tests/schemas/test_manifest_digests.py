"""Golden digests: the content hash of a fixed table, pinned as literal hex.

The content hash is how a redraw proves a sample identical, years later and on another
machine; an accidental change of its encoding (a new pyarrow cast, a changed byte order, nulls
encoded otherwise) would make every past sample look unreproduced. These digests were computed
once and checked equal under numpy 1.26/pandas 2.2/pyarrow 15 and numpy 2.2/pandas 3.1/pyarrow
24: if one changes, the hashing changed, which needs a new hash version, not a new digest.
"""

import datetime as dt
import json

import pyarrow as pa
import pytest

from schemas import Manifest, content_hash, read_manifest, write_with_manifest

#: Every type family of the encoding, with nulls, empty and non-ASCII strings, -0.0, NaN,
#: a large integer, a timestamp in ms and a dictionary column.
TABLE = pa.table({
    "unit_id": pa.array(["a", "bé", "", None, "ü€"], pa.string()),
    "n": pa.array([1, -2, None, 2**40, 0], pa.int64()),
    "x": pa.array([0.5, -0.0, None, 1e300, float("nan")], pa.float64()),
    "f": pa.array([True, False, None, True, False]),
    "t": pa.array([dt.datetime(2026, 1, 2, 3, 4, 5, 6), None, dt.datetime(1970, 1, 1),
                   dt.datetime(2000, 2, 29, 12), dt.datetime(2026, 12, 1)], pa.timestamp("ms")),
    "c": pa.array(["x", "y", "x", None, "y"]).dictionary_encode(),
})
TABLE_HASH = "cb7f58a14eeea8345f6733c683edfdea430aa2d65e4a154bd1868a6501c6825d"
EMPTY_HASH = "d1eba35b4691b491d8ec6d4ad8479cd06f745729b24068300a74fa0066851b22"


def test_content_hash_of_a_fixed_table_is_pinned():
    assert content_hash(TABLE) == TABLE_HASH
    assert content_hash(TABLE.slice(0, 0)) == EMPTY_HASH


@pytest.mark.parametrize("change", [
    lambda t: t.cast(pa.schema([f.with_type(pa.large_string()) if f.name == "unit_id" else f
                                for f in t.schema])),
    lambda t: t.set_column(5, "c", t["c"].cast(pa.string())),
    lambda t: t.set_column(4, "t", t["t"].cast(pa.timestamp("us"))),
    lambda t: pa.Table.from_batches(t.to_batches(max_chunksize=2)),
])
def test_the_pinned_hash_ignores_encoding(change):
    assert content_hash(change(TABLE)) == TABLE_HASH


def test_manifest_records_package_versions_and_older_ones_read(tmp_path):
    m = Manifest(kind="sample", design={"name": "stratified"}, seed=1, prn={},
                 population={"rows": 5}, allocation=[], content_hash=TABLE_HASH,
                 package_version="0.1.0", packages={"numpy": "2.2.6", "scikit-learn": "1.9.1"})
    write_with_manifest(tmp_path / "s.parquet", TABLE, m)
    assert read_manifest(tmp_path / "s.parquet") == m
    sidecar = json.loads((tmp_path / "s.manifest.json").read_text())
    assert sidecar["packages"] == {"numpy": "2.2.6", "scikit-learn": "1.9.1"}
    old = m.to_dict()
    del old["packages"]  # a manifest written before packages were recorded
    assert Manifest.from_dict(old).packages == {}
