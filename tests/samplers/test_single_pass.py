"""The single-pass mode: the first pass keeps the candidates' rows of the carried columns, so
the selected rows are not fetched again; the sample's bytes are those of the fetch."""

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import samplers.engine as engine_module
import samplers.passes as passes_module
from samplers import ImportanceSampler, PoissonSampler, StratifiedSampler
from samplers.kernels import readplan
from samplers.kernels.readplan import ENV as SINGLE_PASS_ENV
from samplers.source import Source
from schemas import DesignError
from tests.samplers.conftest import population

MODES = ("on", "off")


def catalogue(N: int = 6000, seed: int = 4) -> pa.Table:
    """The conftest population plus a date, a nullable integer and a long text column."""
    pop = population(N, seed)
    rng = np.random.default_rng(seed)
    days = rng.integers(0, 3000, N)
    release = [dt.date(2000, 1, 1) + dt.timedelta(days=int(d)) for d in days]
    plays = pa.array([None if i % 17 == 0 else int(v) for i, v in
                      enumerate(rng.integers(0, 10**6, N))], pa.int64())
    notes = [f"note {i} " + "x" * int(k) for i, k in enumerate(rng.integers(0, 40, N))]
    return pop.append_column("release", pa.array(release, pa.date32())) \
        .append_column("plays", plays).append_column("notes", pa.array(notes))


DESIGNS = {
    "stratified": lambda: StratifiedSampler(n=80, seed=5, strata="market",
                                            allocation="equal"),
    "stratified_power": lambda: StratifiedSampler(n=120, seed=6, strata=["market", "genre"],
                                                  allocation="power", min_per_stratum=2),
    "priority": lambda: ImportanceSampler(n=80, seed=5, size="popularity", strata="market"),
}


class FetchCount:
    """Counts the stream engine's fetches (a single-pass draw makes none)."""

    def __init__(self, monkeypatch):
        self.calls = 0
        fetch = engine_module.StreamEngine.fetch

        def counted(engine, *args):
            self.calls += 1
            return fetch(engine, *args)

        monkeypatch.setattr(engine_module.StreamEngine, "fetch", counted)


def draw(make, data, monkeypatch, mode: str, **kw):
    """The sample drawn with ``AUDIT_CURATION_SINGLE_PASS=mode`` and the fetches it made."""
    with monkeypatch.context() as patch:
        patch.setenv(SINGLE_PASS_ENV, mode)
        count = FetchCount(patch)
        sample = make().sample(data, **kw)
    return sample, count.calls


def assert_same(a, b):
    assert a.manifest.content_hash == b.manifest.content_hash
    assert a.table.equals(b.table) and a.table.schema == b.table.schema
    drop = ("source",)  # a file's path or 'input' (in memory)
    assert {k: v for k, v in a.manifest.population.items() if k not in drop} == \
        {k: v for k, v in b.manifest.population.items() if k not in drop}
    assert a.manifest.design == b.manifest.design


@pytest.mark.parametrize("row_group", [6000, 1500, 100])  # one, several, many row groups
@pytest.mark.parametrize("name", sorted(DESIGNS))
@pytest.mark.parametrize("columns", [None, "notes,release"])
def test_single_pass_gives_the_bytes_of_the_fetch(tmp_path, monkeypatch, kernel_path,
                                                  row_group, name, columns):
    pop = catalogue()
    path = tmp_path / "pop.parquet"
    pq.write_table(pop, path, row_group_size=row_group)
    make = DESIGNS[name]
    once, fetched_once = draw(make, path, monkeypatch, "on", batch_rows=700, columns=columns)
    twice, fetched_twice = draw(make, path, monkeypatch, "off", batch_rows=700,
                                columns=columns)
    memory, _ = draw(make, pop, monkeypatch, "off", columns=columns)
    assert (fetched_once, fetched_twice) == (0, 1)
    assert_same(once, twice)
    assert_same(once, memory)


@pytest.mark.parametrize("name", ["stratified", "priority"])
def test_a_stratum_whose_candidates_arrive_last(tmp_path, monkeypatch, name):
    """The rare market's rows all come after every other row: its candidates enter the
    kept rows in the last batches, after the other strata's thresholds have tightened."""
    pop = catalogue()
    rare = np.asarray(pop.column("market").to_pylist()) == "IS"
    order = np.r_[np.flatnonzero(~rare), np.flatnonzero(rare)]
    pop = pop.take(pa.array(order))
    path = tmp_path / "sorted.parquet"
    pq.write_table(pop, path, row_group_size=500)
    once, calls = draw(DESIGNS[name], path, monkeypatch, "on", batch_rows=256)
    twice, _ = draw(DESIGNS[name], path, monkeypatch, "off", batch_rows=256)
    assert calls == 0
    assert_same(once, twice)
    assert "IS" in set(once.table.column("stratum").to_pylist())


def test_partition_columns_are_carried_as_the_fetch_carries_them(tmp_path, monkeypatch):
    pop = catalogue(3000)
    root = tmp_path / "parts"
    pq.write_to_dataset(pop, root, partition_cols=["genre"], row_group_size=400)
    make = DESIGNS["stratified"]
    once, calls = draw(make, root, monkeypatch, "on", batch_rows=300)
    twice, _ = draw(make, root, monkeypatch, "off", batch_rows=300)
    assert calls == 0
    assert_same(once, twice)


def falls_back_to_the_fetch(make, tmp_path, monkeypatch) -> None:
    """Forced on, the draw still fetches once, and gives the sample of the fetch."""
    path = tmp_path / "pop.parquet"
    pq.write_table(catalogue(), path, row_group_size=1000)
    forced, calls = draw(make, path, monkeypatch, "on")
    off, _ = draw(make, path, monkeypatch, "off")
    assert calls == 1
    assert_same(forced, off)


@pytest.mark.parametrize("make", [
    lambda: PoissonSampler(n=80, seed=5, size="popularity", strata="market"),
    lambda: ImportanceSampler(n=80, seed=5, size="risk_score", mixture=0.2, strata="market")])
def test_designs_that_need_the_profile_first_fetch(tmp_path, monkeypatch, make):
    falls_back_to_the_fetch(make, tmp_path, monkeypatch)


def test_too_many_strata_for_the_first_pass_fall_back_to_the_fetch(tmp_path, monkeypatch):
    monkeypatch.setattr(passes_module, "FIRST_PASS_ROWS", 300)  # 12 strata x 120 > 300
    falls_back_to_the_fetch(DESIGNS["stratified_power"], tmp_path, monkeypatch)


def test_coordination_fetches(tmp_path, monkeypatch):
    path = tmp_path / "pop.parquet"
    pq.write_table(catalogue(), path, row_group_size=1000)
    first = DESIGNS["stratified"]().sample(path)
    first.write(tmp_path / "w1.parquet")

    def make():
        return StratifiedSampler(n=80, strata="market", allocation="equal",
                                 coordinate_with=str(tmp_path / "w1.parquet"), overlap="min")

    forced, calls = draw(make, path, monkeypatch, "on")
    off, _ = draw(make, path, monkeypatch, "off")
    assert calls == 1
    assert_same(forced, off)


class TestAutoRule:
    """'auto' (the default) reads once when nearly every row group will hold a selected row,
    the DuckDB row-number fetch does not apply and the candidates' rows fit in memory."""

    @pytest.fixture
    def files(self, tmp_path):
        pop = catalogue()
        one, many = tmp_path / "one.parquet", tmp_path / "many.parquet"
        pq.write_table(pop, one)
        pq.write_table(pop, many, row_group_size=600)
        return pop, one, many

    def test_in_memory_input_is_taken_not_read_once(self, files, monkeypatch):
        monkeypatch.delenv(SINGLE_PASS_ENV, raising=False)
        assert not Source(files[0]).reads_once(None, 80, 1000, ["item_id"])

    def test_one_row_group_reads_once(self, files, monkeypatch):
        monkeypatch.delenv(SINGLE_PASS_ENV, raising=False)
        assert Source(files[1]).reads_once(None, 80, 1000, ["item_id"])

    def test_many_row_groups_read_once_only_without_the_duckdb_fetch(self, files,
                                                                     monkeypatch):
        monkeypatch.delenv(SINGLE_PASS_ENV, raising=False)
        monkeypatch.setenv("AUDIT_CURATION_FETCH", "pyarrow")
        assert Source(files[2]).reads_once(None, 80, 1000, ["item_id"])
        pytest.importorskip("duckdb")
        monkeypatch.delenv("AUDIT_CURATION_FETCH")
        assert not Source(files[2]).reads_once(None, 80, 1000, ["item_id"])

    def test_few_selected_rows_over_many_row_groups_are_fetched(self, files, monkeypatch):
        monkeypatch.delenv(SINGLE_PASS_ENV, raising=False)
        monkeypatch.setenv("AUDIT_CURATION_FETCH", "pyarrow")
        assert not Source(files[2]).reads_once(None, 3, 1000, ["item_id"])

    def test_candidates_over_the_memory_bound_are_fetched(self, files, monkeypatch):
        monkeypatch.delenv(SINGLE_PASS_ENV, raising=False)
        monkeypatch.setattr(readplan, "SINGLE_PASS_BYTES", 1000)
        assert not Source(files[1]).reads_once(None, 80, 1000, ["item_id"])

    def test_off_forces_the_fetch(self, files, monkeypatch):
        monkeypatch.setenv(SINGLE_PASS_ENV, "off")
        assert not Source(files[1]).reads_once(None, 80, 1000, ["item_id"])

    def test_an_unknown_mode_is_a_one_line_error(self, files, monkeypatch):
        monkeypatch.setenv(SINGLE_PASS_ENV, "sometimes")
        with pytest.raises(DesignError, match="AUDIT_CURATION_SINGLE_PASS='sometimes'"):
            StratifiedSampler(n=10, strata="market").sample(files[1])


def test_auto_picks_the_single_pass_for_one_row_group(tmp_path, monkeypatch):
    path = tmp_path / "pop.parquet"
    pq.write_table(catalogue(), path)
    auto, calls = draw(DESIGNS["priority"], path, monkeypatch, "auto")
    off, _ = draw(DESIGNS["priority"], path, monkeypatch, "off")
    assert calls == 0
    assert_same(auto, off)


def test_wide_rows_are_read_in_proportionally_smaller_batches(tmp_path):
    """The single pass reads every column: its batches hold fewer rows, so the batches the
    reader thread keeps decoded take about the memory of the design columns' batches."""
    from samplers.kernels.readplan import BATCH_WIDTH, MIN_BATCH_ROWS

    pop = catalogue(20000).append_column("blob", pa.array(["b" * 200] * 20000))
    path = tmp_path / "wide.parquet"
    pq.write_table(pop, path, row_group_size=5000, use_dictionary=False)
    source = Source(path)
    assert source.pass_batch_rows(["market"], 1 << 18) == 1 << 18  # narrow: as asked
    wide = source.pass_batch_rows(None, 1 << 18)
    meta = pq.ParquetFile(path).metadata
    width = sum(meta.row_group(g).total_byte_size for g in range(meta.num_row_groups)) / 20000
    assert wide == max(MIN_BATCH_ROWS, int((1 << 18) * BATCH_WIDTH / width))
    assert MIN_BATCH_ROWS <= wide < (1 << 16)
    assert source.pass_batch_rows(None, 700) == 700  # never more, nor below a small ask
    assert Source(pop).pass_batch_rows(None, 1 << 18) == 1 << 18  # in memory: no decoding


@pytest.mark.parametrize("name", ["stratified_power", "priority"])
def test_forced_on_an_in_memory_table_gives_its_sample(monkeypatch, name):
    pop = catalogue()
    once, calls = draw(DESIGNS[name], pop, monkeypatch, "on", batch_rows=500)
    twice, _ = draw(DESIGNS[name], pop, monkeypatch, "off", batch_rows=500)
    assert calls == 0
    assert_same(once, twice)


@pytest.mark.parametrize("name", sorted(DESIGNS))
@pytest.mark.parametrize("columns", [None, "notes,release", "market,notes"])
def test_a_fetch_reads_only_what_the_pass_did_not(tmp_path, monkeypatch, name, columns):
    """When 'auto' fetches (DuckDB's row-number fetch applies), the carried columns the pass
    decoded anyway (the design's) come from the kept candidates; the fetch reads the others."""
    pytest.importorskip("duckdb")
    monkeypatch.delenv(SINGLE_PASS_ENV, raising=False)
    path = tmp_path / "pop.parquet"
    pq.write_table(catalogue(), path, row_group_size=600)
    asked, fetch = [], engine_module.StreamEngine.fetch

    def recorded(engine, source, keys, cols):
        asked.append(cols)
        return fetch(engine, source, keys, cols)

    with monkeypatch.context() as patch:
        patch.setattr(engine_module.StreamEngine, "fetch", recorded)
        auto = DESIGNS[name]().sample(path, batch_rows=700, columns=columns)
    off, calls = draw(DESIGNS[name], path, monkeypatch, "off", batch_rows=700,
                      columns=columns)
    assert calls == 1 and len(asked) == 1
    assert "item_id" not in asked[0] and "market" not in asked[0]
    assert "notes" in asked[0] and (columns is not None or "plays" in asked[0])
    assert_same(auto, off)
