"""The streaming engine: same sample from memory, files and directories at any batch size; column
pruning; bounded duplicate detection; corrupt or disagreeing files named."""

import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from curation.cli.main import cli
from samplers import ImportanceSampler, StratifiedSampler, source
from samplers import passes as passes_module
from samplers.duplicates import DuplicateFinder, bucketize
from samplers.source import Piece, Source
from schemas import DesignError, SchemaError, read_manifest

from ..terminal import on_a_terminal
from .conftest import DESIGNS, population


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    pop = population(4000, seed=3)
    root = tmp_path_factory.mktemp("stream")
    one = root / "pop.parquet"
    pq.write_table(pop, one, row_group_size=900)
    hive = root / "hive"
    markets = pop.column("market").to_numpy(zero_copy_only=False)
    for m in np.unique(markets):
        part = hive / f"market={m}"
        part.mkdir(parents=True)
        rows = pop.filter(pa.array(markets == m)).drop_columns(["market"])
        half = rows.num_rows // 2
        pq.write_table(rows.slice(0, half), part / "a.parquet", row_group_size=300)
        pq.write_table(rows.slice(half), part / "b.parquet")
    return pop, one, hive


@pytest.mark.parametrize("batch_rows", [97, 1000, 1 << 18])
def test_file_and_directory_give_the_in_memory_sample(design, files, batch_rows, kernel_path):
    _, make = design
    pop, one, hive = files
    memory = make(n=150, seed=21).sample(pop.to_pandas())
    from_file = make(n=150, seed=21).sample(one, batch_rows=batch_rows)
    assert from_file.manifest.content_hash == memory.manifest.content_hash
    assert from_file.manifest.population["fingerprint"] == \
        memory.manifest.population["fingerprint"]
    # the hive directory holds the same rows, partition column last, in another order
    reordered = pop.select([c for c in pop.column_names if c != "market"] + ["market"])
    from_dir = make(n=150, seed=21).sample(hive, batch_rows=batch_rows)
    assert from_dir.manifest.content_hash == \
        make(n=150, seed=21).sample(reordered).manifest.content_hash


def test_small_dictionary_columns_are_read_as_dictionaries(tmp_path):
    pq.write_table(population(20_000, seed=2), tmp_path / "pop.parquet")
    piece = Source(tmp_path / "pop.parquet").pieces()[0]
    assert piece.dictionary == ("market", "genre")  # not the unique ids
    _, batch = next(piece.scan(["item_id", "market"], 1000))
    assert pa.types.is_dictionary(batch.schema.field("market").type)
    rows = piece.take(np.array([3, 19_999]), None)
    assert rows.schema == piece.schema  # fetched rows come back with the file's types


@pytest.mark.parametrize("name", ["stratified", "priority", "poisson"])
def test_dictionary_reads_give_the_in_memory_sample(tmp_path, monkeypatch, name):
    """Every string column read as a dictionary (ids too), nulls and a partition column."""
    monkeypatch.setattr(source, "DICTIONARY_SHARE", 1.0)
    pop = population(3000, seed=5)
    genre = pop.column("genre").to_pylist()
    pop = pop.set_column(pop.schema.get_field_index("genre"), "genre",
                         pa.array([None if i % 7 == 0 else g for i, g in enumerate(genre)]))
    pq.write_table(pop, tmp_path / "pop.parquet", row_group_size=700)
    assert {"item_id", "genre"} <= set(Source(tmp_path / "pop.parquet").pieces()[0].dictionary)
    for m in ("SE", "US"):
        (tmp_path / "hive" / f"market={m}").mkdir(parents=True)
        part = pop.filter(pc.equal(pop.column("market"), m)).drop_columns(["market"])
        pq.write_table(part, tmp_path / "hive" / f"market={m}" / "part.parquet")
    hive = pop.filter(pc.is_in(pop.column("market"), pa.array(["SE", "US"])))
    hive = hive.select([c for c in hive.column_names if c != "market"] + ["market"])
    make = lambda: DESIGNS[name](n=90, seed=3)  # noqa: E731
    for path, table in [(tmp_path / "pop.parquet", pop), (tmp_path / "hive", hive)]:
        got = make().sample(path, batch_rows=256)
        assert got.manifest.content_hash == make().sample(table).manifest.content_hash
        assert got.table.schema.field("genre").type == pa.string()


@pytest.mark.parametrize("first_pass_rows", [1, 1 << 20])
def test_selecting_on_the_first_pass_or_on_a_second_gives_the_same_sample(
        design, files, monkeypatch, first_pass_rows):
    """Stratified and priority designs keep each stratum's best n rows while profiling and read
    the input once; with too many strata for that (here: any) a second pass selects."""
    name, make = design
    pop, one, _ = files
    expected = make(n=150, seed=21).sample(pop).manifest.content_hash
    monkeypatch.setattr(passes_module, "FIRST_PASS_ROWS", first_pass_rows)
    scans = []
    real_scan = Piece.scan

    def scan(self, columns, batch_rows):
        scans.append(self.index)
        return real_scan(self, columns, batch_rows)

    monkeypatch.setattr(Piece, "scan", scan)
    assert make(n=150, seed=21).sample(one, batch_rows=500).manifest.content_hash == expected
    one_pass = name in ("stratified", "priority", "priority_exposure") and first_pass_rows > 1
    assert scans.count(0) == (1 if one_pass else 2)  # reads of the first row group


def test_passes_read_only_design_columns_and_fetch_only_selected_rows(files, monkeypatch):
    pop, one, _ = files
    scans, takes = [], []
    real_scan, real_take = Piece.scan, Piece.take

    def scan(self, columns, batch_rows):
        scans.append(columns)
        return real_scan(self, columns, batch_rows)

    def take(self, rows, columns):
        takes.append(len(rows))
        return real_take(self, rows, columns)

    monkeypatch.setattr(Piece, "scan", scan)
    monkeypatch.setattr(Piece, "take", take)
    s = ImportanceSampler(n=40, size="popularity", strata="market", seed=2).sample(one)
    assert all(cols is not None for cols in scans)
    assert {c for cols in scans for c in cols} == {"item_id", "market", "popularity"}
    assert sum(takes) == 40 and len(s) == 40
    assert set(pop.column_names) <= set(s.table.column_names)  # other columns fetched


def test_duplicates_found_exactly_when_hashes_spill_to_disk():
    rng = np.random.default_rng(0)
    h = rng.integers(0, 2**63, 50_000, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    dup = h[[5, 77, 40_000]]
    finder = DuplicateFinder(memory_rows=4_000)
    for part in np.array_split(np.r_[h, dup], 30):
        finder.add(part)
    assert finder._dir is not None  # it did spill
    clone = pickle.loads(pickle.dumps(finder))  # a Dask state: what is still buffered, too
    assert clone.repeated().tolist() == sorted(dup.tolist())
    assert finder.repeated().tolist() == sorted(dup.tolist())
    assert finder._dir is None  # and cleaned up
    assert sum(len(b) for b in bucketize(h, 8)) == h.size


def test_spilled_finders_merge_bucket_files_and_find_duplicates_across_them():
    rng = np.random.default_rng(1)
    h = rng.integers(0, 2**63, 30_000, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    a, b, c = (DuplicateFinder(memory_rows=2_000) for _ in range(3))
    for part in np.array_split(h[:15_000], 10):
        a.add(part)
    for part in np.array_split(np.r_[h[15_000:], h[[3, 14_999]]], 10):
        b.add(part)
    c.add(h[[20_000]])  # in memory only
    assert a._dir is not None and b._dir is not None
    assert a.merge(b).merge(c).repeated().tolist() == sorted(h[[3, 14_999, 20_000]].tolist())
    assert b._dir is None  # its files were taken in and removed


def test_duplicate_ids_in_different_files_are_named(tmp_path):
    pq.write_table(pa.table({"item_id": ["a", "b", "c"]}), tmp_path / "1.parquet")
    pq.write_table(pa.table({"item_id": ["d", "b"]}), tmp_path / "2.parquet")
    with pytest.raises(SchemaError, match=r"1 duplicate id\(s\).*'b' at rows 1, 4"):
        StratifiedSampler(n=2).sample(tmp_path)


def _population_dir(tmp_path):
    d = tmp_path / "pop"
    d.mkdir()
    pop = population(300, seed=1)
    pq.write_table(pop.slice(0, 150), d / "part-0.parquet")
    pq.write_table(pop.slice(150), d / "part-1.parquet")
    return d, pop


def test_corrupt_file_in_a_directory_is_named(tmp_path):
    d, _ = _population_dir(tmp_path)
    (d / "part-1.parquet").write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(SchemaError, match=r"part-1\.parquet: cannot read Parquet"):
        StratifiedSampler(n=10, strata="market").sample(d)


@pytest.mark.parametrize("change", ["type", "missing"])
def test_file_whose_schema_disagrees_is_named(tmp_path, change):
    d, pop = _population_dir(tmp_path)
    bad = pop.slice(150)
    if change == "type":
        bad = bad.set_column(bad.schema.get_field_index("risk_score"), "risk_score",
                             pa.array([str(x) for x in bad.column("risk_score").to_pylist()]))
        message = r"part-1\.parquet: schema disagrees .*column 'risk_score' is string here"
    else:
        bad = bad.drop_columns(["genre"])
        message = r"part-1\.parquet: schema disagrees .*lacks column\(s\) \['genre'\]"
    pq.write_table(bad, d / "part-1.parquet")
    with pytest.raises(SchemaError, match=message):
        StratifiedSampler(n=10, strata="market").sample(d)


@pytest.mark.parametrize("bad", ["corrupt", "type", "missing"])
def test_cli_names_the_bad_file_and_writes_nothing(tmp_path, bad):
    d, pop = _population_dir(tmp_path)
    if bad == "corrupt":
        (d / "part-0.parquet").write_bytes(b"garbage")
    else:
        part = pop.slice(150)
        part = part.drop_columns(["genre"]) if bad == "missing" else part.set_column(
            part.schema.get_field_index("y"), "y", pc.cast(part.column("y"), pa.float32()))
        pq.write_table(part, d / "part-1.parquet")
    out = tmp_path / "s.parquet"
    result = CliRunner().invoke(cli, ["sample", str(d), "-o", str(out), "--n", "5",
                                      "--strata", "market"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and result.output.count("\n") == 1
    assert ("part-0.parquet" if bad == "corrupt" else "part-1.parquet") in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pop"]  # nothing written


def test_cli_samples_a_hive_directory_reading_only_design_columns_first(files, tmp_path,
                                                                       monkeypatch):
    pop, _, hive = files
    scans = []
    real_scan = Piece.scan

    def scan(self, columns, batch_rows):
        scans.append(tuple(columns))
        return real_scan(self, columns, batch_rows)

    monkeypatch.setattr(Piece, "scan", scan)
    out = tmp_path / "s.parquet"
    args = ["sample", str(hive), "-o", str(out), "--design", "importance", "--size",
            "popularity", "--strata", "market", "--n", "60", "--seed", "4"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert set(scans) == {("item_id", "market", "popularity")}  # one pass, 3 of 7 columns
    sample = pq.read_table(out)
    assert set(pop.column_names) <= set(sample.column_names)  # all columns in the output
    reordered = pop.select([c for c in pop.column_names if c != "market"] + ["market"])
    expected = ImportanceSampler(n=60, size="popularity", strata="market", seed=4).sample(
        reordered)
    assert read_manifest(out).content_hash == expected.manifest.content_hash


def test_unknown_engine_and_stray_scheduler(files):
    pop, _, _ = files
    with pytest.raises(DesignError, match="unknown engine 'spark'"):
        StratifiedSampler(n=5).sample(pop, engine="spark")
    with pytest.raises(DesignError, match="engine='dask' only"):
        StratifiedSampler(n=5).sample(pop, scheduler="tcp://127.0.0.1:1")



def test_encoded_strata_equal_the_string_labels(files):
    from samplers import Strata
    from samplers.strata import FitSample, fit_on

    pop, _, _ = files
    spec = Strata(columns=("market", "genre"), bins="y", n_bins=5, clusters=("risk_score",),
                  n_clusters=3)
    state = FitSample(spec, "item_id")
    state.update(pop.to_batches()[0])
    fitted = fit_on(state)
    for batch in pop.slice(0, 700).to_batches(max_chunksize=250):
        codes, names = fitted.encode(batch)
        assert len(set(names)) == len(names) and set(codes.tolist()) == set(range(len(names)))
        assert (np.asarray(names, object)[codes] == fitted.labels(batch)).all()


@pytest.mark.parametrize("ci", [None, "1"])
def test_progress_bar_on_a_terminal_only_and_never_under_ci(files, tmp_path, ci):
    _, one, _ = files
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci:
        env["CI"] = ci
    args = ["sample", str(one), "-o", str(tmp_path / "s.parquet"), "--n", "20",
            "--strata", "market", "--batch-rows", "500"]
    shown = on_a_terminal([str(Path(sys.executable).parent / "curate"), *args], env)
    assert "wrote" in shown
    assert ("profile and select" in shown and "rows" in shown) == (ci is None)
    piped = subprocess.run([str(Path(sys.executable).parent / "curate"), *args[:3],
                            str(tmp_path / "p.parquet"), *args[4:]], capture_output=True,
                           text=True, env=env, check=True)
    assert "profile" not in piped.stderr + piped.stdout  # not a terminal: quiet
