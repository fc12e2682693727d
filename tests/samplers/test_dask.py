"""The Dask engine returns the identical sample (content hash) as streaming and in memory,
whatever the partitioning, on a threaded and on a real multi-process LocalCluster."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from curation.cli.main import cli
from samplers import StratifiedSampler
from schemas import SchemaError, read_manifest

from .conftest import DESIGNS, population

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                       dashboard_address=":0")
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    pop = population(3000, seed=8)
    root = tmp_path_factory.mktemp("dask")
    one = root / "pop.parquet"
    pq.write_table(pop, one, row_group_size=400)  # 8 row groups → 8 partitions
    many = root / "many"
    many.mkdir()
    for i, start in enumerate(range(0, 3000, 700)):
        pq.write_table(pop.slice(start, 700), many / f"part-{i}.parquet", row_group_size=250)
    return pop, one, many


@pytest.mark.parametrize("name", ["stratified", "poisson", "poisson_pps", "priority",
                                  "priority_mixture"])
def test_dask_gives_the_streaming_and_in_memory_sample(name, data, client, kernel_path):
    make = DESIGNS[name]
    pop, one, many = data
    expected = make(n=120, seed=4).sample(pop.to_pandas()).manifest
    for src, batch_rows in [(one, 1 << 18), (many, 100), (pop, 333), (pop, 3000)]:
        got = make(n=120, seed=4).sample(src, engine="dask", scheduler=client,
                                         batch_rows=batch_rows).manifest
        assert got.content_hash == expected.content_hash, (src, batch_rows)
        assert got.allocation == expected.allocation
        assert got.population["fingerprint"] == expected.population["fingerprint"]
    streamed = make(n=120, seed=4).sample(many, batch_rows=100).manifest
    assert streamed.content_hash == expected.content_hash


def test_dask_reports_duplicates_and_bad_files(data, client, tmp_path):
    pop, _, _ = data
    dup = pa.concat_tables([pop, pop.slice(10, 1)])
    with pytest.raises(SchemaError, match=r"1 duplicate id\(s\) over 2 rows .* rows 10, 3000"):
        StratifiedSampler(n=5).sample(dup, engine="dask", scheduler=client, batch_rows=500)
    d = tmp_path / "d"
    d.mkdir()
    pq.write_table(pop, d / "good.parquet")
    (d / "zbad.parquet").write_bytes(b"nope")
    with pytest.raises(SchemaError, match=r"zbad\.parquet: cannot read Parquet"):
        StratifiedSampler(n=5).sample(d, engine="dask", scheduler=client)


def test_cli_dask_engine_on_a_two_process_local_cluster(data, tmp_path):
    _, one, many = data
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    args = ["--design", "importance", "--size", "popularity", "--strata", "market",
            "--n", "80", "--seed", "6"]
    r = CliRunner().invoke(cli, ["sample", str(one), "-o", str(a), *args])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(cli, ["sample", str(many), "-o", str(b), "--engine", "dask", *args])
    assert r.exit_code == 0, r.output
    assert read_manifest(a).content_hash == read_manifest(b).content_hash
    assert np.isclose(sum(x["n_h"] for x in read_manifest(b).allocation), 80)
    r = CliRunner().invoke(cli, ["sample", str(one), "-o", str(tmp_path / "c.parquet"),
                                 "--scheduler", "tcp://127.0.0.1:9", "--n", "5"])
    assert r.exit_code == 2 and "--scheduler needs --engine dask" in r.output
