"""The compiled kernels give the numpy reference path's bytes, whatever the ids (any length,
unicode, empty, sliced, chunked, 32- or 64-bit offsets); the id pre-check never clears an id
that breaks a rule; the reader thread keeps order and errors; the DuckDB fetch returns the
pyarrow fetch's rows; ``--columns`` carries only the named columns and refuses unknown ones."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from samplers import ImportanceSampler, StratifiedSampler, kernels
from samplers.duplicates import bucketize, repeated
from samplers.kernels.reader import prefetched
from samplers.prn import hash64, hash_ids, to_unit_interval
from samplers.profile import column_hash, fold
from samplers.selection import BestK
from samplers.source import Source
from schemas import DesignError, SchemaError
from schemas.validate import id_problems

from ..cli import run
from .conftest import population
from .prn_reference import hash64 as ref_hash64

pytest.importorskip("numba")

ALPHABET = list("abcXYZ019_-:.") + ["é", "ß", "ü", "日", "本", "🎵", "\u00a0", " ", "\t", "\x00",
                                     "\u3000", "\u2009", "\u0085", "\x7f"]


def random_ids(n: int, seed: int, max_len: int = 70) -> list[str]:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(0, max_len, n)
    lengths[:3] = [0, 1, 8]  # the empty id and word boundaries
    return ["".join(rng.choice(ALPHABET, k)) for k in lengths]


def both(fn, *args):
    with kernels.use("numba"):
        fast = fn(*args)
    with kernels.use("numpy"):
        slow = fn(*args)
    return fast, slow


@pytest.mark.parametrize("typ", [pa.string(), pa.large_string()])
def test_hash_kernel_gives_the_reference_bytes_on_ids_of_any_length(typ):
    ids = pa.array(random_ids(3000, seed=1), typ)
    for seed in (0, 1, 2**64 - 1):
        fast, slow = both(hash64, ids, seed)
        assert fast.dtype == slow.dtype == np.uint64
        assert fast.tobytes() == slow.tobytes()
    sample = ids.to_pylist()[:300]
    assert [int(x) for x in fast[:300]] == [ref_hash64(i, 2**64 - 1) for i in sample]


def test_hash_kernel_on_sliced_chunked_integer_and_dictionary_ids():
    ids = pa.array(random_ids(2000, seed=2))
    cases = [ids.slice(7), ids.slice(333, 1001), ids.slice(0, 0),
             pa.chunked_array([ids.slice(0, 5), ids.slice(5, 900), ids.slice(905)]),
             pa.chunked_array([], pa.string()),
             pa.array(np.arange(-500, 500)), pa.array(["x", "yy", "x"]).dictionary_encode()]
    for case in cases:
        fast, slow = both(hash64, case, 11)
        assert fast.tobytes() == slow.tobytes()
    whole = hash64(ids, 11)
    assert np.array_equal(hash64(ids.slice(333, 1001), 11), whole[333:1334])


def test_one_sweep_gives_the_keyed_and_the_seed_zero_hash():
    ids = pa.array(random_ids(1000, seed=3))
    with kernels.use("numba"):
        h, h0, _ = hash_ids(ids, 99, zero=True, check=True)
    with kernels.use("numpy"):
        assert h.tobytes() == hash64(ids, 99).tobytes()
        assert h0.tobytes() == hash64(ids, 0).tobytes()


def test_prns_from_hashes_are_the_reference_floats_to_the_last_bit():
    rng = np.random.default_rng(12)
    edges = np.array([0, 1, 2**11 - 1, 2**11, 2**53, 2**63, 2**64 - 2**11, 2**64 - 1],
                     np.uint64)
    h = np.concatenate([edges, rng.integers(0, 2**64 - 1, 100_000, dtype=np.uint64,
                                            endpoint=True)])
    fast, slow = both(to_unit_interval, h)
    assert fast.dtype == slow.dtype == np.float64 and fast.tobytes() == slow.tobytes()
    assert fast.min() > 0.0 and fast[0] == 0.5 / 2**53
    top = (h >> np.uint64(11)) == 2**53 - 1  # + 0.5 rounds up to 2**53: u is exactly 1
    assert top.sum() == 2 and (fast[top] == 1.0).all() and (fast[~top] < 1.0).all()


def test_fingerprint_hashes_of_numeric_columns_and_their_fold_are_the_reference_ones():
    rng = np.random.default_rng(13)
    x = np.r_[rng.normal(size=5000), [0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, 1e-310]]
    nan_bits = np.array([0x7FF0000000000001, 0xFFF8000000000123], np.uint64).view(np.float64)
    cases = [pa.array(np.r_[x, nan_bits]), pa.array([1.5, None, -0.0, None]),
             pa.array(rng.integers(-10**6, 10**6, 3000)), pa.array(x, pa.float64()).slice(13),
             pa.array(x.astype(np.float32))]
    for values in cases:
        fast, slow = both(column_hash, values, 3)
        assert fast.dtype == slow.dtype == np.uint64 and fast.tobytes() == slow.tobytes()
    hashes = both(column_hash, cases[0], 3)[1]
    for path in ("numba", "numpy"):
        fp = np.arange(hashes.size, dtype=np.uint64)
        with kernels.use(path):
            fold(fp, hashes, 7)
        if path == "numba":
            folded = fp
    assert folded.tobytes() == fp.tobytes()
    # every NaN and both zeros hash alike: a fingerprint sees values, not bit patterns
    same = column_hash(pa.array([np.nan, -np.nan, *nan_bits, 0.0, -0.0]), 3)
    assert len(set(same[:4].tolist())) == 1 and same[4] == same[5]


def test_a_remembered_hash_is_never_that_of_another_batch():
    a = pa.array([f"a{i}" for i in range(100)])
    b = pa.array([f"b{i}" for i in range(100)])  # same length and layout, other bytes
    with kernels.use("numba"):
        hash_ids(a, 5, remember=True)
        got = hash64(b, 5)
    with kernels.use("numpy"):
        assert got.tobytes() == hash64(b, 5).tobytes()


def test_the_id_pre_check_clears_only_ids_that_break_no_rule():
    ids = random_ids(4000, seed=4, max_len=12)
    flagged_any = False
    for start in range(0, len(ids), 50):
        batch = pa.array(ids[start:start + 50])
        with kernels.use("numba"):
            _, _, suspects = hash_ids(batch, 0, check=True)
        if id_problems(batch, "item_id"):
            assert suspects > 0, batch.to_pylist()
            flagged_any = True
    assert flagged_any
    clean = pa.array([f"trk_{i:05d}-ü日" for i in range(500)] + ["a" * 1000])
    with kernels.use("numba"):
        assert hash_ids(clean, 0, check=True)[2] == 0
    for bad in ["", " a", "a ", "a\u00a0", "\u3000a", "a\tb", "a\x7f", "x" * 1001, "a\u2028"]:
        with kernels.use("numba"):
            assert hash_ids(pa.array(["ok", bad]), 0, check=True)[2] == 1, repr(bad)


def test_bad_ids_get_the_same_message_on_both_paths(tmp_path):
    pop = population(300, seed=5)
    ids = pop.column("item_id").to_pylist()
    ids[17] = "trk bad "
    bad = pop.set_column(0, "item_id", pa.array(ids))
    messages = []
    for path in ("numba", "numpy"):
        with kernels.use(path), pytest.raises(SchemaError) as err:
            StratifiedSampler(n=10, strata="market").sample(bad)
        messages.append(str(err.value))
    assert messages[0] == messages[1] and "leading or trailing whitespace" in messages[0]


def test_duplicate_bucketing_and_repeats_are_the_reference_ones():
    rng = np.random.default_rng(6)
    h = rng.integers(0, 2**63, 20000, dtype=np.int64).astype(np.uint64) * np.uint64(2) + \
        rng.integers(0, 2, 20000).astype(np.uint64)
    h = np.concatenate([h, h[::97], h[:5]])
    for buckets in (8, 64, 256):
        fast, slow = both(bucketize, h, buckets)
        assert len(fast) == len(slow) == buckets
        assert all(a.tobytes() == b.tobytes() for a, b in zip(fast, slow, strict=True))
    fast, slow = both(repeated, [h[:9000], h[9000:]])
    assert fast.tobytes() == slow.tobytes()
    assert fast.size == np.unique(np.r_[h[::97], h[:5]]).size
    assert both(repeated, [np.zeros(0, np.uint64)])[0].size == 0


def test_bottom_k_admission_is_the_reference_one():
    rng = np.random.default_rng(7)

    def kept(path):
        with kernels.use(path):
            best = BestK(np.array([3, 0, 50, 1]))
            for _ in range(20):
                codes = rng.integers(0, 4, 500)
                keys = rng.random(500)
                best.offer(pa.table({"k": keys}), codes, keys, np.arange(500, dtype=np.uint64))
            rows, codes, keys, _ = best.result()
            return rows.column("k").to_numpy().tobytes(), codes.tobytes()

    state = rng.bit_generator.state
    fast = kept("numba")
    rng.bit_generator.state = state
    assert fast == kept("numpy")


def test_the_kernel_path_is_chosen_by_the_environment(monkeypatch):
    with kernels.use("numpy"):
        assert kernels.active() == "numpy" and kernels.compiled() is None
    monkeypatch.setattr(kernels, "_state", {"path": None, "module": None})
    monkeypatch.setenv(kernels.ENV, "numpy")
    assert kernels.active() == "numpy"
    monkeypatch.setattr(kernels, "_state", {"path": None, "module": None})
    monkeypatch.setenv(kernels.ENV, "fortran")
    with pytest.raises(DesignError, match="AUDIT_CURATION_KERNELS='fortran'"):
        kernels.active()
    with pytest.raises(ValueError, match="kernel path must be one of"):
        kernels.use("fortran").__enter__()


def test_a_kernel_that_cannot_compile_falls_back_to_the_numpy_path(monkeypatch):
    from samplers.kernels import loops

    def broken() -> None:
        raise RuntimeError("no locator available for the cache")

    monkeypatch.setattr(loops, "warm", broken)
    monkeypatch.setattr(kernels, "_state", {"path": "numba", "module": None})
    ids = pa.array(random_ids(100, seed=12))
    with pytest.warns(RuntimeWarning, match="using the numpy path"):
        got = hash64(ids, 3)
    assert kernels.active() == "numpy"
    assert [int(x) for x in got] == [ref_hash64(i, 3) for i in ids.to_pylist()]


def test_reader_thread_keeps_order_raises_errors_and_stops_when_closed():
    assert list(prefetched(iter(range(100)))) == list(range(100))

    def failing():
        yield 1
        raise SchemaError("broken page", source="f.parquet")

    got = []
    with pytest.raises(SchemaError, match="broken page"):
        for item in prefetched(failing()):
            got.append(item)
    assert got == [1]
    produced = []

    def endless():
        i = 0
        while True:
            produced.append(i)
            yield i
            i += 1

    stream = prefetched(endless(), depth=2)
    assert next(stream) == 0
    stream.close()
    assert len(produced) <= 5


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory):
    pop = population(6000, seed=9)
    n = pop.num_rows
    rng = np.random.default_rng(9)
    pop = pop.append_column("title", pa.array(random_ids(n, seed=10, max_len=30)))
    pop = pop.append_column("flag", pa.array(rng.random(n) < 0.5))
    pop = pop.append_column("small", pa.array(rng.integers(0, 9, n), pa.int8()))
    pop = pop.append_column("f32", pa.array(rng.random(n), pa.float32()))
    pop = pop.append_column("maybe", pa.array([None if i % 7 else float(i) for i in range(n)]))
    path = tmp_path_factory.mktemp("kernels") / "pop.parquet"
    pq.write_table(pop, path, row_group_size=1000)
    return pop, path


@pytest.mark.parametrize("split", [False, True])
def test_duckdb_fetch_returns_the_pyarrow_rows(catalogue, monkeypatch, split):
    pytest.importorskip("duckdb")
    _, path = catalogue
    rows = np.sort(np.random.default_rng(11).choice(1000, 40, replace=False))
    fetched = []
    for how in ("duckdb", "pyarrow"):
        monkeypatch.setenv("AUDIT_CURATION_FETCH", how)
        piece = Source(path).pieces(split=split)[3 if split else 0]
        local = rows if split else rows + 3000
        fetched.append(piece.take(local, None))
    assert fetched[0].schema == fetched[1].schema
    assert fetched[0].equals(fetched[1]) and fetched[0].num_rows == 40


def test_a_duckdb_fetch_over_its_memory_limit_falls_back_to_pyarrow(catalogue, monkeypatch):
    pytest.importorskip("duckdb")
    from samplers.kernels import rowfetch

    _, path = catalogue
    rows = np.arange(0, 6000, 37)
    piece = Source(path).pieces()[0]
    schema = piece.schema
    meta = piece.fragment.metadata
    assert rowfetch.duckdb_rows(piece.fragment.filesystem, piece.fragment.path, meta, rows,
                                schema) is not None
    monkeypatch.setattr(rowfetch, "memory_limit", lambda meta, rows: "1KB")
    with pytest.warns(RuntimeWarning, match=r"pop\.parquet: the DuckDB fetch of the selected "
                                            r"rows failed \(.*\); reading them with pyarrow"):
        assert rowfetch.duckdb_rows(piece.fragment.filesystem, piece.fragment.path, meta,
                                    rows, schema) is None
    monkeypatch.setenv("AUDIT_CURATION_FETCH", "pyarrow")
    expected = piece.take(rows, None)
    monkeypatch.delenv("AUDIT_CURATION_FETCH")
    with pytest.warns(RuntimeWarning, match="reading them with pyarrow"):
        assert piece.take(rows, None).equals(expected)


@pytest.mark.parametrize("make", [
    lambda: StratifiedSampler(n=60, seed=3, strata="market"),
    lambda: ImportanceSampler(n=60, seed=3, size="popularity", strata="market")])
def test_compiled_path_and_duckdb_fetch_give_the_reference_sample(catalogue, monkeypatch, make):
    pop, path = catalogue
    with kernels.use("numba"):
        fast = make().sample(path, batch_rows=700).manifest
    monkeypatch.setenv("AUDIT_CURATION_FETCH", "pyarrow")
    with kernels.use("numpy"):
        slow = make().sample(path, batch_rows=700).manifest
        memory = make().sample(pop).manifest
    assert fast.content_hash == slow.content_hash == memory.content_hash
    assert fast.population == slow.population


def test_columns_carries_the_named_and_the_design_columns(catalogue, tmp_path):
    pop, path = catalogue
    out = tmp_path / "s.parquet"
    code, shown = run("sample", path, "-o", out, "--n", 30, "--strata", "market",
                      "--size", "popularity", "--design", "importance", "--columns", "title,flag")
    assert code == 0, shown
    names = pq.read_schema(out).names
    assert names == ["item_id", "market", "popularity", "title", "flag", "unit_id", "stratum",
                     "inclusion_prob", "design_weight", "prn"]  # the input's order, then design
    full = ImportanceSampler(n=30, size="popularity", strata="market").sample(path).table
    narrow = pq.read_table(out)
    for col in ("item_id", "title", "flag", "prn", "inclusion_prob"):
        assert narrow.column(col).equals(full.column(col))
    sample = StratifiedSampler(n=30, strata="market").sample(path, columns=[])
    assert sample.table.column_names[:2] == ["item_id", "market"]
    assert sample.manifest.design["columns"] == ["item_id", "market"]
    assert "columns" not in StratifiedSampler(n=30, strata="market").sample(path).manifest.design


def test_columns_refuses_an_unknown_column_in_one_line_and_writes_nothing(catalogue, tmp_path):
    _, path = catalogue
    out = tmp_path / "s.parquet"
    code, shown = run("sample", path, "-o", out, "--n", 30, "--strata", "market",
                      "--columns", "title,colour")
    assert code == 1
    assert shown.strip().count("\n") == 0 and "'colour'" in shown and "--columns" in shown
    assert shown.startswith("Error: ") and list(tmp_path.iterdir()) == []
