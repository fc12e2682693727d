"""Atomic writes, content hashes and manifests."""

import os

import pyarrow as pa
import pytest

from schemas import Manifest, SchemaError, content_hash, read_manifest, write_with_manifest
from schemas.io import atomic_path, read_parquet, write_json, write_table


def test_a_failed_write_leaves_the_previous_file_intact(tmp_path):
    target = tmp_path / "out.json"
    write_json(target, {"v": 1})
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash")
    assert target.read_text().strip().endswith("}")
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_secret_files_get_mode_600(tmp_path):
    write_json(tmp_path / "s.json", {"k": "v"}, mode=0o600)
    assert oct(os.stat(tmp_path / "s.json").st_mode & 0o777) == "0o600"


def test_content_hash_covers_values_order_and_names_not_encoding():
    t = pa.table({"a": ["x", "y", None], "b": [1.0, 2.0, 3.0]})
    assert content_hash(t) == content_hash(pa.table({"a": pa.array(["x", "y", None],
                                                                   pa.large_string()),
                                                     "b": [1.0, 2.0, 3.0]}))
    assert content_hash(t) == content_hash(t.cast(pa.schema([("a", pa.string()),
                                                             ("b", pa.float64())])))
    assert content_hash(t) != content_hash(t.take([1, 0, 2]))
    assert content_hash(t) != content_hash(t.rename_columns(["a", "c"]))
    assert content_hash(t) != content_hash(pa.table({"a": ["x", "y", ""], "b": [1.0, 2, 3]}))


def test_manifest_round_trip(tmp_path):
    m = Manifest(kind="sample", design={"name": "stratified", "n": 3}, seed=1, prn={},
                 population={"rows": 3}, allocation=[], content_hash="abc",
                 package_version="0")
    t = pa.table({"x": [1, 2, 3]})
    write_with_manifest(tmp_path / "t.parquet", t, m)
    assert read_manifest(tmp_path / "t.parquet") == m
    assert (tmp_path / "t.manifest.json").exists()
    pa.parquet.write_table(t, tmp_path / "plain.parquet")
    with pytest.raises(SchemaError, match="no audit-curation manifest"):
        read_manifest(tmp_path / "plain.parquet")


def test_read_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet at all")
    with pytest.raises(SchemaError, match=r"bad.parquet: cannot read Parquet"):
        read_parquet(bad)
    with pytest.raises(SchemaError, match="unsupported output extension '.xls'"):
        write_table(tmp_path / "x.xls", pa.table({"a": [1]}))
