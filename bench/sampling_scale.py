"""Scale benchmark of `curate sample` (a script, not a test): throughput, time and peak memory.

Usage::

    .venv/bin/python bench/sampling_scale.py --sizes 1000000 10000000 --repeats 3 \\
        --workdir /tmp/acbench

Data: ``curate demo-data DIR --items N`` (a catalogue of N items, one Parquet file, row groups of
2^20 rows). Sizes above 10^7 are made from the 10^7 catalogue repeated with the ids prefixed by
the copy number (``r1:trk_…``), written row group by row group, so that generating them needs
neither the generator's memory nor its time.

Every measurement runs in a fresh child process that imports what it needs, then reports the wall
time of the work and its peak resident memory (``resource.getrusage(RUSAGE_SELF).ru_maxrss``,
imports included), so runs do not share caches of Python objects; the file itself is in the OS
page cache after the first run (all runs alike). The runs are repeated ``--repeats`` times,
interleaved (round after round), and the table gives the fastest time and the median peak of
each: on a shared machine the fastest run is the one least slowed by others.

Runs per size: a bare ``pyarrow.dataset`` scan of the design columns (``scan``: item_id, market
for stratified; ``scan_pri``: item_id, market, popularity for priority) and of all columns
(``scan_all``); stratified (n=1000, strata=market, proportional) and priority (n=1000,
size=popularity, strata=market) sampling with the streaming engine, whose time is also split into
the selection passes and the fetch of the selected rows' other columns; the same with the Dask
engine (LocalCluster, 2 worker processes of 1 thread, started before the clock; its memory is the
client's and the largest worker's); pandas ``read_parquet`` + ``groupby("market").sample(n=100)``
(skipped above ``--pandas-max`` rows: it needs ~0.55 GB per 10^6 rows); and DuckDB's one-liner of
DESIGN §8 when ``duckdb`` is importable (a peer figure; not a project dependency).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

SCAN_COLUMNS = {"scan": ["item_id", "market"], "scan_pri": ["item_id", "market", "popularity"],
                "scan_all": None}
PASS_SCAN = {"stratified": "scan", "priority": "scan_pri"}  # the same columns as the passes
GENERATED_MAX = 10_000_000


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _sampler(kind: str):
    from samplers import ImportanceSampler, StratifiedSampler

    if kind.startswith("stratified"):
        return StratifiedSampler(n=1000, seed=1, strata="market")
    return ImportanceSampler(n=1000, seed=1, size="popularity", strata="market")


def _imports(kind: str) -> None:
    """Import what ``kind`` uses before the clock starts (the work is timed, not start-up)."""
    import pyarrow.dataset  # noqa: F401

    if kind in ("pandas",):
        import pandas  # noqa: F401
    elif kind == "duckdb":
        import duckdb  # noqa: F401
    elif kind not in SCAN_COLUMNS:
        import samplers  # noqa: F401
        import samplers.engine  # noqa: F401
    if kind.endswith("_dask"):
        import distributed  # noqa: F401


def child(kind: str, path: str) -> dict:
    """Run one measurement in this (fresh) process."""
    _imports(kind)
    t0 = time.perf_counter()
    extra = {}
    if kind in SCAN_COLUMNS:
        import pyarrow.dataset as ds

        rows = sum(b.num_rows for b in ds.dataset(path).scanner(
            columns=SCAN_COLUMNS[kind], batch_size=1 << 18).to_batches())
        extra["rows"] = rows
    elif kind.endswith("_dask"):
        from distributed import Client, LocalCluster

        sampler = _sampler(kind)
        with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0") as c, \
                Client(c) as client:
            t0 = time.perf_counter()  # cluster start-up is not the sampler's time
            s = sampler.sample(path, engine="dask", scheduler=client)
            extra["seconds_sampling"] = time.perf_counter() - t0
            extra["worker_peak_mb"] = max(client.run(_peak_mb).values())
        extra["content_hash"] = s.manifest.content_hash[:16]
    elif kind in ("stratified", "priority"):
        import samplers.engine as engine

        fetch, spent = engine.StreamEngine.fetch, []

        def timed_fetch(self, *args):
            t = time.perf_counter()
            try:
                return fetch(self, *args)
            finally:
                spent.append(time.perf_counter() - t)

        engine.StreamEngine.fetch = timed_fetch
        s = _sampler(kind).sample(path)
        extra["seconds_fetch"] = sum(spent)
        extra["content_hash"] = s.manifest.content_hash[:16]
    elif kind == "pandas":
        import pandas as pd

        df = pd.read_parquet(path)
        s = df.groupby("market").sample(n=100, random_state=1)
        extra["rows"] = len(s)
    elif kind == "duckdb":
        import duckdb

        con = duckdb.connect()
        s = con.execute(f"SELECT * FROM read_parquet('{path}') QUALIFY row_number() OVER "
                        f"(PARTITION BY market ORDER BY hash(item_id)) <= 1000").fetchall()
        extra["rows"] = len(s)
    else:
        raise SystemExit(f"unknown kind {kind}")
    seconds = extra.pop("seconds_sampling", time.perf_counter() - t0)
    return {"kind": kind, "seconds": seconds, "peak_mb": _peak_mb(), **extra}


def measure(kind: str, path: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", kind, str(path)],
                         capture_output=True, text=True, check=False)
    if out.returncode:
        return {"kind": kind, "error": out.stderr.strip().splitlines()[-1:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def dataset(workdir: Path, items: int) -> Path:
    """The catalogue of ``items`` rows: generated up to 10^7, repeated 10^7 above."""
    path = workdir / f"d{items:.0e}".replace("+0", "") / "catalogue.parquet"
    if path.exists():
        return path
    if items <= GENERATED_MAX:
        subprocess.run([str(Path(sys.executable).parent / "curate"), "demo-data",
                        str(path.parent), "--items", str(items), "--impressions", "10",
                        "--seed", "1"], check=True)
        return path
    if items % GENERATED_MAX:
        raise SystemExit(f"sizes above {GENERATED_MAX} must be multiples of it, got {items}")
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    base = pq.ParquetFile(dataset(workdir, GENERATED_MAX))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with pq.ParquetWriter(tmp, base.schema_arrow, compression="zstd") as out:
        for copy in range(items // GENERATED_MAX):
            for g in range(base.num_row_groups):
                t = base.read_row_group(g)
                ids = pc.binary_join_element_wise(f"r{copy}", t.column("item_id"), ":")
                out.write_table(t.set_column(0, "item_id", ids.cast(pa.string())),
                                row_group_size=base.metadata.row_group(0).num_rows)
    tmp.rename(path)
    return path


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text()
                .splitlines() if line.startswith("model name")), platform.processor())
    import pyarrow

    return (f"{os.cpu_count()} cores ({cpu}), {platform.python_version()}, "
            f"pyarrow {pyarrow.__version__}, load average {os.getloadavg()[0]:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--pandas-max", type=int, default=20_000_000)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/acbench"))
    ap.add_argument("--child", nargs=2, metavar=("KIND", "PATH"))
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return
    try:
        import duckdb  # noqa: F401
        peers = ["duckdb"]
    except ImportError:
        peers = []
    start = machine()
    print(f"machine: {start}", file=sys.stderr)
    results: dict[int, dict[str, dict]] = {}
    for items in args.sizes:
        path = dataset(args.workdir, items)
        kinds = ["scan", "scan_pri", "scan_all", "stratified", "priority", "stratified_dask",
                 "priority_dask", *peers, *(["pandas"] if items <= args.pandas_max else [])]
        measure("scan_all", path)  # warm the page cache
        runs: dict[str, list[dict]] = {k: [] for k in kinds}
        for r in range(args.repeats):
            for k in kinds:
                runs[k].append(measure(k, path))
                print(f"{items:>10} {r} {k:<16} {json.dumps(runs[k][-1])}", file=sys.stderr)
        results[items] = {k: best(v) for k, v in runs.items()}
    print(f"machine at the start: {start}\nmachine at the end: {machine()}\n")
    print(report(results))


def best(runs: list[dict]) -> dict:
    """The fastest run's figures with the median peak memory (the first error if any)."""
    errors = [r for r in runs if "error" in r]
    if errors:
        return errors[0]
    out = dict(min(runs, key=lambda r: r["seconds"]))
    for key in ("peak_mb", "worker_peak_mb"):
        if key in out:
            out[key] = statistics.median(r[key] for r in runs)
    return out


def _ratio(a: dict, b: dict, key: str) -> float:
    return a[key] / b[key] if key in a and key in b else float("nan")


def report(results: dict[int, dict[str, dict]]) -> str:
    lines = ["| rows | run | seconds | peak MB | throughput vs scan of the design columns | "
             "vs scan of all columns | time vs pandas | memory vs pandas |",
             "|---:|---|---:|---:|---:|---:|---:|---:|"]
    for items, runs in results.items():
        pd_ = runs.get("pandas", {})
        for kind, r in runs.items():
            if "error" in r:
                lines.append(f"| {items:.0e} | {kind} | error: {r['error']} | | | | | |")
                continue
            scan = runs[PASS_SCAN.get(kind.removesuffix("_dask"), "scan")]
            peak = f"{r['peak_mb']:.0f}"
            if "worker_peak_mb" in r:
                peak += f" (+ workers {r['worker_peak_mb']:.0f})"
            lines.append(f"| {items:.0e} | {kind} | {r['seconds']:.2f} | {peak} | "
                         f"{_ratio(scan, r, 'seconds'):.2f} | "
                         f"{_ratio(runs['scan_all'], r, 'seconds'):.2f} | "
                         f"{_ratio(r, pd_, 'seconds'):.2f} | {_ratio(r, pd_, 'peak_mb'):.3f} |")
            if "seconds_fetch" in r:
                passes = dict(r, seconds=r["seconds"] - r["seconds_fetch"])
                lines.append(f"| {items:.0e} | {kind}: selection pass(es) | {passes['seconds']:.2f}"
                             f" | | {_ratio(scan, passes, 'seconds'):.2f} | | | |")
                lines.append(f"| {items:.0e} | {kind}: fetch of the selected rows | "
                             f"{r['seconds_fetch']:.2f} | | | | | |")
    sizes = sorted(results)
    lines.append("")
    for items in sizes:
        r = results[items]
        for kind in ("stratified", "priority"):
            if "seconds" in r[kind] and "seconds" in r.get(f"{kind}_dask", {}):
                same = r[kind]["content_hash"] == r[f"{kind}_dask"]["content_hash"]
                lines.append(f"- {items:.0e} {kind}: Dask (2 local workers) / streaming time "
                             f"{_ratio(r[f'{kind}_dask'], r[kind], 'seconds'):.2f}x, "
                             f"same content hash: {same}")
    lines += ["", "Goals:"] + goals(results)
    return "\n".join(lines)


def goals(results: dict[int, dict[str, dict]]) -> list[str]:
    """The issue's goals, checked on these figures."""
    out = []

    def check(ok: bool, text: str) -> None:
        out.append(f"- [{'x' if ok else ' '}] {text}")

    sizes = sorted(results)
    for items in sizes:
        r = results[items]
        s = r["stratified"]
        if "seconds" not in s:
            continue
        passes = dict(s, seconds=s["seconds"] - s["seconds_fetch"])
        whole = _ratio(r["scan_all"], s, "seconds")
        sel = _ratio(r["scan"], passes, "seconds")
        check(whole >= 0.5, f"{items:.0e}: streaming stratified at ≥ 0.5 of the throughput of "
                            f"a bare scan of the columns it returns (all): {whole:.2f}")
        check(sel >= 0.5, f"{items:.0e}: its selection passes at ≥ 0.5 of the throughput of a "
                          f"bare scan of the design columns: {sel:.2f}")
    for items in sizes[1:]:
        lo, hi = results[sizes[0]], results[items]
        for kind in ("stratified", "priority"):
            ratio = _ratio(hi[kind], lo[kind], "peak_mb")
            check(ratio <= 1.5, f"peak memory {kind}, {items:.0e} / {sizes[0]:.0e} rows: "
                                f"{ratio:.2f}x (≤ 1.5x)")
    for items in sizes:
        r = results[items]
        if "seconds" not in r.get("pandas", {}) or items < 10_000_000:
            continue
        for kind in ("stratified", "priority"):
            t, m = _ratio(r[kind], r["pandas"], "seconds"), _ratio(r[kind], r["pandas"],
                                                                   "peak_mb")
            check(t < 1 and m <= 0.1, f"{items:.0e} {kind} vs pandas: time {t:.2f}x (< 1), "
                                      f"memory {m:.3f}x (≤ 0.1)")
    return out


if __name__ == "__main__":
    main()
