"""Scale benchmark of sampling (a script, not a test), like for like with DuckDB; writes its
section of ``bench/RESULTS.md`` (between the ``sampling-scale`` markers).

Usage::

    .venv/bin/python bench/sampling_scale.py --sizes 1000000 10000000 50000000 --repeats 3 \
        --workdir /tmp/acbench --write bench/RESULTS.md

Data, generated once into ``--workdir`` (never the repository): ``curate demo-data --items N``
(row groups of 2^20 rows, 25 columns, 10 markets); above 10^7, the 10^7 catalogue repeated with
ids prefixed by the copy number; ``catalogue_varlen`` holds the same rows with ids of 6 to 18
bytes (mean 12, as the fixed ``trk_…`` ids). Each case is a fresh child process (imports off
the clock) reporting wall time and ``ru_maxrss``; the load average is read before and after
each; cases are repeated, interleaved, and reported by their fastest run, median peak and the
load range. Every job draws 100 units in each market and returns all columns: ``stratified``
(equal allocation) and ``priority`` (size=popularity) on the default path (compiled kernels,
DuckDB fetch when duckdb imports), ``*_numpy`` on the reference path with the pyarrow fetch,
``stratified_varlen`` on variable-length ids, ``*_single`` with the single-pass mode forced
(``AUDIT_CURATION_SINGLE_PASS=on``: the first pass reads every column and keeps the
candidates' rows, no fetch), ``stratified_fetch`` with it forced off (the passes, then the
fetch: what ``stratified`` does where 'auto' picks the fetch); ``duckdb`` /
``duckdb_priority`` are the ``QUALIFY row_number() OVER (PARTITION BY market ORDER BY
...) <= 100`` one-liners (by ``hash(item_id)``; by ``popularity / u`` descending).
``floor`` is the two reads of a draw that fetches with nothing computed between them (a bare
read of the design columns, then the sampler's DuckDB fetch of the other columns of 1000
random rows): the least time any pass-then-fetch job can take on this file.
``pf_scan`` (``ParquetFile.iter_batches``, the baseline) and ``ds_scan``
(``pyarrow.dataset``) read the design columns (``_pri``: plus popularity). ``--dask`` adds
the Dask engine; ``startup``/``startup_cold`` time the kernels' import and first call with
and without numba's on-disk cache; ``hash_ns`` the hash per id.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import timeit
import warnings
from pathlib import Path

from scale_report import best, report, write_section  # bench/, beside this script

N_PER = 100  # units drawn in each of the 10 markets
MARKETS = 10
DESIGN_COLUMNS = {"pf_scan": ["item_id", "market"], "ds_scan": ["item_id", "market"],
                  "pf_scan_pri": ["item_id", "market", "popularity"],
                  "ds_scan_pri": ["item_id", "market", "popularity"]}
GENERATED_MAX = 10_000_000
REFERENCE_ENV = {"AUDIT_CURATION_KERNELS": "numpy", "AUDIT_CURATION_FETCH": "pyarrow",
                 "AUDIT_CURATION_SINGLE_PASS": "off"}
SINGLE_ENV = {"AUDIT_CURATION_SINGLE_PASS": "on"}  # the `*_single` cases: read once, forced
FETCH_ENV = {"AUDIT_CURATION_SINGLE_PASS": "off"}  # the `*_fetch` cases: passes, then a fetch


def _cpu() -> float:
    """CPU seconds of this process so far, every thread (DuckDB's and Arrow's included)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_mb() -> float:
    """This process's peak resident memory: Linux's ``VmHWM`` (``ru_maxrss`` keeps the
    launching process's size across ``exec``, flooring every case at the driver's)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _sampler(kind: str):
    from samplers import ImportanceSampler, StratifiedSampler

    if kind.startswith("priority"):
        return ImportanceSampler(n=N_PER * MARKETS, seed=1, size="popularity", strata="market",
                                 allocation="equal")
    return StratifiedSampler(n=N_PER * MARKETS, seed=1, strata="market", allocation="equal")


def _duckdb_query(kind: str, path: str) -> str:
    order = "hash(item_id)" if kind == "duckdb" else \
        "popularity / ((hash(item_id) >> 11)::DOUBLE + 0.5) DESC"
    return (f"SELECT * FROM read_parquet('{path}') QUALIFY row_number() OVER "
            f"(PARTITION BY market ORDER BY {order}) <= {N_PER}")


def _startup() -> dict:
    t0 = time.perf_counter()
    import samplers  # noqa: F401

    t1 = time.perf_counter()
    import numba  # noqa: F401

    t2 = time.perf_counter()
    from samplers import kernels

    kernels.compiled()  # imports the kernels and calls each once (cache load or compile)
    t3 = time.perf_counter()
    return {"seconds": t3 - t0, "import_samplers": t1 - t0, "import_numba_kernels": t2 - t1,
            "first_calls": t3 - t2}


def _hash_costs() -> dict:
    """ns per id of the acprn v1 hash of 10^6 ids, fixed (12 bytes) and variable (6 to 18)
    length, on both paths (fastest of 5), and of the one-sweep keyed + seed-0 hash + id check."""
    import numpy as np
    import pyarrow as pa

    from samplers import kernels
    from samplers.prn import hash_ids

    rng = np.random.default_rng(1)
    ids = {"fixed": pa.array([f"trk_{i:08d}" for i in range(10**6)]),
           "varlen": pa.array([f"{i:x}".ljust(int(k), "z")
                               for i, k in enumerate(rng.integers(6, 19, 10**6))])}
    kernels.compiled()
    out = {}

    def fastest(fn) -> float:
        return min(timeit.repeat(fn, number=1, repeat=5)) * 1e9 / 10**6

    for name, arr in ids.items():
        for path in ("numba", "numpy"):  # hash_ids: the sweep itself, not a remembered result
            with kernels.use(path):
                out[f"{name}_{path}"] = fastest(lambda a=arr: hash_ids(a, 7))
        out[f"{name}_sweep"] = fastest(lambda a=arr: hash_ids(a, 7, zero=True, check=True))
    return out


def _floor(path: str) -> tuple[int, float]:
    """The two reads of a draw that fetches, with nothing computed: a bare ``ParquetFile``
    read of the design columns, then the sampler's own DuckDB fetch (``rowfetch``, memory
    limit included) of the other columns of ``N_PER * MARKETS`` rows at random (seed 0: the
    sample's count, spread like PRN-selected rows). Rows read and the fetch's seconds; the
    clock and CPU are the caller's."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.fs as pafs
    import pyarrow.parquet as pq

    from samplers.kernels import rowfetch

    pf = pq.ParquetFile(path)
    rows = sum(b.num_rows for b in pf.iter_batches(batch_size=1 << 18,
                                                   columns=DESIGN_COLUMNS["pf_scan"]))
    t = time.perf_counter()
    wanted = np.sort(np.random.default_rng(0).choice(rows, N_PER * MARKETS, replace=False))
    schema = pa.schema([f for f in pf.schema_arrow if f.name not in DESIGN_COLUMNS["pf_scan"]])
    got = rowfetch.duckdb_rows(pafs.LocalFileSystem(), path, pf.metadata, wanted, schema)
    if got is None or got.num_rows != len(wanted):
        raise SystemExit("floor: the DuckDB fetch did not apply")
    return rows, time.perf_counter() - t


def child(kind: str, path: str) -> dict:
    """Run one case in this (fresh) process."""
    if kind.startswith("startup"):
        return {"kind": kind, **_startup(), "peak_mb": _peak_mb()}
    if kind == "hash_ns":
        t0 = time.perf_counter()
        costs = _hash_costs()
        return {"kind": kind, "seconds": time.perf_counter() - t0, **costs,
                "peak_mb": _peak_mb()}
    import pyarrow.dataset  # noqa: F401
    import pyarrow.parquet as pq

    extra: dict = {}
    if kind.startswith("duckdb") or kind == "floor":
        import duckdb

        c0, t0 = _cpu(), time.perf_counter()
        if kind == "floor":
            extra["rows"], extra["seconds_fetch"] = _floor(path)
        else:
            table = duckdb.connect().sql(_duckdb_query(kind, path)).to_arrow_table()
            extra["rows"] = table.num_rows
    elif kind.startswith("pf_scan"):
        c0, t0 = _cpu(), time.perf_counter()
        pf = pq.ParquetFile(path)
        extra["rows"] = sum(b.num_rows for b in pf.iter_batches(
            batch_size=1 << 18, columns=DESIGN_COLUMNS[kind]))
    elif kind.startswith("ds_scan"):
        c0, t0 = _cpu(), time.perf_counter()
        extra["rows"] = sum(b.num_rows for b in pyarrow.dataset.dataset(path).scanner(
            columns=DESIGN_COLUMNS[kind], batch_size=1 << 18).to_batches())
    elif kind.endswith("_dask"):
        from distributed import Client, LocalCluster

        with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0") as c, \
                Client(c) as client:
            c0, t0 = _cpu(), time.perf_counter()
            s = _sampler(kind).sample(path, engine="dask", scheduler=client)
            extra["seconds"] = time.perf_counter() - t0
            extra["worker_peak_mb"] = max(client.run(_peak_mb).values())
        extra["content_hash"] = s.manifest.content_hash[:16]
    else:
        import samplers.engine as engine
        from samplers import kernels

        if kernels.compiled() is not None:
            kernels.compiled().warm()  # start-up is measured by the startup cases
        fetch, spent = engine.StreamEngine.fetch, []

        def timed_fetch(self, *args):
            t = time.perf_counter()
            try:
                return fetch(self, *args)
            finally:
                spent.append(time.perf_counter() - t)

        engine.StreamEngine.fetch = timed_fetch
        c0, t0 = _cpu(), time.perf_counter()
        with warnings.catch_warnings(record=True) as warned:  # e.g. a fetch that fell back
            warnings.simplefilter("always")
            s = _sampler(kind).sample(path)
        if warned:
            extra["warnings"] = sorted({str(w.message)[:160] for w in warned})
        extra["seconds_fetch"] = sum(spent)
        extra["content_hash"] = s.manifest.content_hash[:16]
        extra["kernels"] = kernels.active()
    seconds = extra.pop("seconds", time.perf_counter() - t0)
    return {"kind": kind, "seconds": seconds, "cpu": _cpu() - c0, "peak_mb": _peak_mb(),
            **extra}


def warm_page_cache(path: Path) -> None:
    """Read every byte of the file ``path`` once, so that no case pays the first read
    from disk: a scan of the design columns alone left the other columns cold, and the first
    case to fetch them (``stratified`` at 5·10^7, one run there) read them from disk."""
    with open(path, "rb") as fh:
        while fh.read(1 << 24):
            pass


def measure(kind: str, path: Path) -> dict:
    env = dict(os.environ, CI="1")  # no progress bar
    if kind.endswith("_numpy"):
        env.update(REFERENCE_ENV)
    if kind.endswith("_single"):
        env.update(SINGLE_ENV)
    if kind.endswith("_fetch"):
        env.update(FETCH_ENV)
    cold = None
    if kind == "startup_cold":
        cold = tempfile.TemporaryDirectory(prefix="numba-cold-")
        env["NUMBA_CACHE_DIR"] = cold.name
    load0 = os.getloadavg()[0]
    out = subprocess.run([sys.executable, __file__, "--child", kind, str(path)],
                         capture_output=True, text=True, check=False, env=env)
    load1 = os.getloadavg()[0]
    if cold is not None:
        cold.cleanup()
    if out.returncode:
        return {"kind": kind, "error": out.stderr.strip().splitlines()[-1:]}
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return {**result, "load_before": load0, "load_after": load1}


def _rewrite(base: Path, path: Path, copies: int, ids) -> Path:
    """``copies`` copies of ``base`` with ``ids(copy, first_row, table)`` as item_id."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    src, tmp, row = pq.ParquetFile(base), path.with_suffix(".tmp"), 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with pq.ParquetWriter(tmp, src.schema_arrow, compression="zstd") as out:
        for copy in range(copies):
            for g in range(src.num_row_groups):
                t = src.read_row_group(g)
                col = ids(copy, row, t)
                col = pa.array(col, pa.string()) if isinstance(col, list) else \
                    col.cast(pa.string())
                out.write_table(t.set_column(0, "item_id", col), row_group_size=t.num_rows)
                row += t.num_rows
    tmp.rename(path)
    return path


def dataset(workdir: Path, items: int, varlen: bool = False) -> Path:
    """The catalogue of ``items`` rows (generated up to 10^7, repeated above); ``varlen``: the
    same rows with ids of 6 to 18 bytes."""
    stem = f"d{items:.0e}".replace("+0", "")
    path = workdir / stem / ("catalogue_varlen.parquet" if varlen else "catalogue.parquet")
    if path.exists():
        return path
    import numpy as np
    import pyarrow.compute as pc

    if varlen:
        rng = np.random.default_rng(5)
        return _rewrite(dataset(workdir, items), path, 1, lambda _, row, t: [
            f"{row + i:x}".ljust(int(k), "z")
            for i, k in enumerate(rng.integers(6, 19, t.num_rows))])
    if items <= GENERATED_MAX:
        subprocess.run([str(Path(sys.executable).parent / "curate"), "demo-data",
                        str(path.parent), "--items", str(items), "--impressions", "10",
                        "--seed", "1"], check=True)
        return path
    if items % GENERATED_MAX:
        raise SystemExit(f"sizes above {GENERATED_MAX} must be multiples of it, got {items}")
    return _rewrite(dataset(workdir, GENERATED_MAX), path, items // GENERATED_MAX,
                    lambda copy, _, t: pc.binary_join_element_wise(f"r{copy}",
                                                                   t.column("item_id"), ":"))


def cases(items: int, dask: bool) -> list[str]:
    out = ["pf_scan", "ds_scan", "pf_scan_pri", "ds_scan_pri", "stratified", "priority",
           "duckdb", "duckdb_priority", "stratified_single", "priority_single", "floor"]
    if items <= GENERATED_MAX:
        out += ["stratified_numpy", "priority_numpy", "stratified_varlen", "stratified_fetch"]
    return out + (["stratified_dask"] if dask else [])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--repeats-large", type=int, default=1,
                    help="repeats for sizes above 10^7 (each case of 5·10^7 takes ~0.5 min)")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/acbench"))
    ap.add_argument("--dask", action="store_true", help="also run the Dask engine")
    ap.add_argument("--write", type=Path, help="replace the section between the markers of "
                                               "this file (bench/RESULTS.md) with the report")
    ap.add_argument("--child", nargs=2, metavar=("KIND", "PATH"))
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    results: dict[int, dict[str, dict]] = {}
    start_runs: dict[str, list[dict]] = {k: [] for k in ("startup_cold", "startup", "hash_ns")}
    for r in range(args.repeats):
        for k in start_runs:
            start_runs[k].append(measure(k, Path(".")))
            print(f"{0:>10} {r} {k:<18} {json.dumps(start_runs[k][-1])}", file=sys.stderr)
    for items in args.sizes:
        path = dataset(args.workdir, items)
        warmed: set[Path] = set()
        runs: dict[str, list[dict]] = {k: [] for k in cases(items, args.dask)}
        for r in range(args.repeats if items <= GENERATED_MAX else args.repeats_large):
            for k in runs:
                target = dataset(args.workdir, items, varlen=True) if k.endswith("_varlen") \
                    else path
                if target not in warmed:
                    warm_page_cache(target)
                    warmed.add(target)
                runs[k].append(measure(k, target))
                print(f"{items:>10} {r} {k:<18} {json.dumps(runs[k][-1])}", file=sys.stderr)
        results[items] = {k: best(v) for k, v in runs.items()}
    command = " ".join(["python", "bench/sampling_scale.py", "--sizes",
                        *map(str, args.sizes), "--repeats", str(args.repeats),
                        "--repeats-large", str(args.repeats_large)] +
                       (["--dask"] if args.dask else []))
    text = report(results, {k: best(v) for k, v in start_runs.items()}, command, started)
    print(text)
    if args.write:
        write_section(args.write, text)


if __name__ == "__main__":
    main()
