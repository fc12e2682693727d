"""Tables where the data lives: every verb reads (and writes) ``s3://`` URIs as it does local
files, against a local S3-compatible server, with the same content hashes (issue 17, item 5)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from schemas import read_manifest, write_with_manifest
from tests.cli import run

from .conftest import keys, refused

SAMPLE = ("--design", "stratified", "--n", 120, "--seed", 3, "--strata", "market",
          "--min-per-stratum", 2)


def _sample(source, out, *extra):
    code, text = run("sample", source, "-o", out, *SAMPLE, *extra)
    assert code == 0, text
    return read_manifest(out)


def test_a_sample_of_an_s3_object_is_the_sample_of_the_local_file(bucket, demo, s3, tmp_path):
    local = _sample(demo / "catalogue.parquet", tmp_path / "local.parquet")
    uri = f"s3://{bucket}/catalogue.parquet"
    remote = _sample(uri, tmp_path / "remote.parquet")
    assert remote.content_hash == local.content_hash
    assert remote.population["fingerprint"] == local.population["fingerprint"]
    assert remote.population["source"] == uri
    etag = s3.head_object(Bucket=bucket, Key="catalogue.parquet")["ETag"].strip('"')
    size = (demo / "catalogue.parquet").stat().st_size
    assert remote.population["objects"] == [{"uri": uri, "etag": etag, "size": size}]
    assert "objects" not in local.population  # a local file: its fingerprint identifies it
    text = json.dumps(json.loads((tmp_path / "remote.manifest.json").read_text()))
    assert "testing-secret-key" not in text and "AWS_" not in text


def test_a_hive_partitioned_prefix_reads_as_the_local_folder(bucket, demo, tmp_path):
    folder = tmp_path / "catalogue"
    for part in demo.glob("part-*.parquet"):
        market = part.stem.removeprefix("part-")
        (folder / f"market={market}").mkdir(parents=True)
        shutil.copy(part, folder / f"market={market}" / "part-0.parquet")
    local = _sample(folder, tmp_path / "local.parquet")
    remote = _sample(f"s3://{bucket}/catalogue/", tmp_path / "remote.parquet")
    assert remote.content_hash == local.content_hash
    assert len(remote.population["objects"]) == len(list(folder.rglob("*.parquet")))


def test_a_sample_written_to_s3_is_one_finished_object_and_its_manifest(bucket, demo, s3,
                                                                     tmp_path):
    local = _sample(f"s3://{bucket}/catalogue.parquet", tmp_path / "local.parquet")
    code, text = run("sample", f"s3://{bucket}/catalogue.parquet", "-o",
                     f"s3://{bucket}/samples/s.parquet", *SAMPLE)
    assert code == 0, text
    assert keys(s3, bucket)[-2:] == ["samples/s.manifest.json", "samples/s.parquet"]
    body = s3.get_object(Bucket=bucket, Key="samples/s.parquet")["Body"].read()
    assert body == (tmp_path / "local.parquet").read_bytes()  # the file, byte for byte
    assert read_manifest(f"s3://{bucket}/samples/s.parquet").content_hash == local.content_hash
    code, text = run("validate", "sample", f"s3://{bucket}/samples/s.parquet")
    assert code == 0 and "valid sample table, 120 rows" in text, text


def test_the_dask_engine_hands_its_workers_the_uri(bucket, demo, tmp_path, s3_env):
    distributed = pytest.importorskip("distributed")
    local = _sample(demo / "catalogue.parquet", tmp_path / "local.parquet")
    # worker processes started now inherit the environment (endpoint, credentials) and share
    # no disk with the client: they can only read what the URI names
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster:
        remote = _sample(f"s3://{bucket}/catalogue.parquet", tmp_path / "dask.parquet",
                         "--engine", "dask", "--scheduler", cluster.scheduler_address,
                         "--batch-rows", 500)
    assert remote.content_hash == local.content_hash


def test_validate_reads_objects_and_prefixes(bucket, demo):
    code, local = run("validate", "catalogue", demo / "catalogue.parquet")
    assert code == 0, local
    code, text = run("validate", "catalogue", f"s3://{bucket}/catalogue.parquet")
    assert code == 0, text
    assert text.split(": ", 1)[1] == local.split(": ", 1)[1]
    code, text = run("validate", "catalogue", f"s3://{bucket}/catalogue/")
    assert code == 0 and "valid catalogue table, 3000 rows" in text, text


def test_estimate_of_an_s3_sample_is_the_estimate_of_the_local_file(bucket, demo, s3, tmp_path):
    manifest = _sample(demo / "catalogue.parquet", tmp_path / "s.parquet")
    table = pq.read_table(tmp_path / "s.parquet")
    rng = np.random.default_rng(0)
    labeled = table.append_column("sens", pa.array(rng.random(table.num_rows) < 0.1))
    write_with_manifest(tmp_path / "labeled.parquet", labeled.replace_schema_metadata(None),
                        manifest)
    s3.upload_file(str(tmp_path / "labeled.parquet"), bucket, "labeled.parquet")
    outs = []
    for source, population, name in [
            (tmp_path / "labeled.parquet", demo / "catalogue.parquet", "local"),
            (f"s3://{bucket}/labeled.parquet", f"s3://{bucket}/catalogue.parquet", "remote")]:
        out = tmp_path / f"est-{name}.parquet"
        code, text = run("estimate", source, "-o", out, "--y", "sens", "--domain", "market",
                         "--population", population)
        assert code == 0 and "manifest: Parquet metadata" in text, text
        assert "domain sizes N_d" in text, text
        outs.append(pd.read_parquet(out))
    pd.testing.assert_frame_equal(outs[0], outs[1])
    code, text = run("estimate", f"s3://{bucket}/labeled.parquet", "-o",
                     f"s3://{bucket}/est.csv", "--y", "sens")
    assert code == 0, text
    assert b"proportion" in s3.get_object(Bucket=bucket, Key="est.csv")["Body"].read()


@pytest.mark.parametrize("verb", ["sample", "validate", "estimate"])
def test_a_missing_object_or_bucket_is_one_line_and_writes_nothing(verb, bucket, s3,
                                                                    tmp_path):
    before = keys(s3, bucket)
    for uri, wanted in [(f"s3://{bucket}/nope.parquet", "no such object"),
                        ("s3://no-such-bucket-x1/catalogue.parquet", "no such bucket")]:
        out = tmp_path / "out.parquet"
        args = {"sample": ("sample", uri, "-o", out, *SAMPLE),
                "validate": ("validate", "catalogue", uri),
                "estimate": ("estimate", uri, "-o", out, "--y", "sens")}[verb]
        refused(*run(*args), uri, wanted)
        assert list(tmp_path.iterdir()) == []
    code, text = run("sample", f"s3://{bucket}/catalogue.parquet", "-o",
                     "s3://no-such-bucket-x1/s.parquet", *SAMPLE)
    refused(code, text, "s3://no-such-bucket-x1/s.parquet", "no such bucket")
    assert keys(s3, bucket) == before


def test_bad_credentials_are_one_line_that_names_where_to_look(bucket, s3, tmp_path,
                                                              monkeypatch):
    import moto.settings

    before = keys(s3, bucket)
    monkeypatch.setattr(moto.settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)  # keys checked now
    code, text = run("sample", f"s3://{bucket}/catalogue.parquet", "-o",
                     tmp_path / "s.parquet", *SAMPLE)
    refused(code, text, f"s3://{bucket}/catalogue.parquet", "AWS_ACCESS_KEY_ID")
    assert "testing-secret-key" not in text
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(moto.settings, "INITIAL_NO_AUTH_ACTION_COUNT", float("inf"))
    assert keys(s3, bucket) == before


def test_a_refused_connection_is_one_line(bucket, tmp_path, monkeypatch):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    code, text = run("validate", "catalogue", f"s3://{bucket}/catalogue.parquet")
    refused(code, text, f"s3://{bucket}/catalogue.parquet")
    assert list(tmp_path.iterdir()) == []


def test_a_redraw_from_a_replaced_object_names_it(bucket, demo, s3, tmp_path):
    from curation.versions.tablediff import provenance_differences

    uri = f"s3://{bucket}/catalogue.parquet"
    stored = _sample(uri, tmp_path / "a.parquet")
    assert provenance_differences(stored, _sample(uri, tmp_path / "b.parquet")) == []
    table = pq.read_table(demo / "catalogue.parquet")
    pq.write_table(table, tmp_path / "rewritten.parquet", compression="gzip")  # same rows
    s3.upload_file(str(tmp_path / "rewritten.parquet"), bucket, "catalogue.parquet")
    redrawn = _sample(uri, tmp_path / "c.parquet")
    assert redrawn.content_hash == stored.content_hash  # the same rows give the same sample
    lines = provenance_differences(stored, redrawn)
    assert len(lines) == 1 and "not the bytes the sample was drawn from" in lines[0]
    assert uri in lines[0]
