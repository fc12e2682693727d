"""Scale benchmark of `curate sample` (a script, not a test): throughput, time and peak memory.

Usage::

    .venv/bin/python bench/sampling_scale.py --sizes 1000000 10000000 --workdir /tmp/acbench

Data: ``curate demo-data DIR --items N`` (a catalogue of N items, one Parquet file). Every
measurement runs in a fresh child process that reports its own wall time and peak resident
memory (``resource.getrusage(RUSAGE_SELF).ru_maxrss``), so runs do not share caches of Python
objects; the file itself is in the OS page cache after the first run (all runs alike).

Runs per size: a bare ``pyarrow.dataset`` scan of the design columns (item_id, market) and of
all columns; stratified (n=1000, strata=market, proportional) and priority (n=1000,
size=popularity, strata=market) sampling with the streaming engine and with the Dask engine
(LocalCluster, 2 worker processes; the figure is the client's memory only); pandas
``read_parquet`` + ``groupby("market").sample(n=100)``; and DuckDB's one-liner of DESIGN §8 when
``duckdb`` is importable (a peer figure; not a project dependency).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

DESIGN_COLUMNS = ["item_id", "market"]


def child(kind: str, path: str) -> dict:
    """Run one measurement in this (fresh) process."""
    t0 = time.perf_counter()
    extra = {}
    if kind in ("scan", "scan_all"):
        import pyarrow.dataset as ds

        cols = DESIGN_COLUMNS if kind == "scan" else None
        rows = sum(b.num_rows for b in ds.dataset(path).scanner(
            columns=cols, batch_size=1 << 18).to_batches())
        extra["rows"] = rows
    elif kind.startswith(("stratified", "priority")):
        from samplers import ImportanceSampler, StratifiedSampler

        engine = "dask" if kind.endswith("_dask") else "stream"
        if kind.startswith("stratified"):
            sampler = StratifiedSampler(n=1000, seed=1, strata="market")
        else:
            sampler = ImportanceSampler(n=1000, seed=1, size="popularity", strata="market")
        if engine == "dask":
            from distributed import Client, LocalCluster

            with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0") as c, \
                    Client(c) as client:
                t0 = time.perf_counter()  # cluster start-up is not the sampler's time
                s = sampler.sample(path, engine="dask", scheduler=client)
                extra["seconds_sampling"] = time.perf_counter() - t0
        else:
            s = sampler.sample(path)
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
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"kind": kind, "seconds": seconds, "peak_mb": peak_mb, **extra}


def measure(kind: str, path: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", kind, str(path)],
                         capture_output=True, text=True, check=False)
    if out.returncode:
        return {"kind": kind, "error": out.stderr.strip().splitlines()[-1:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def dataset(workdir: Path, items: int) -> Path:
    d = workdir / f"d{items:.0e}".replace("+0", "")
    path = d / "catalogue.parquet"
    if not path.exists():
        subprocess.run([str(Path(sys.executable).parent / "curate"), "demo-data", str(d),
                        "--items", str(items), "--impressions", "10", "--seed", "1"],
                       check=True)
    return path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/acbench"))
    ap.add_argument("--child", nargs=2, metavar=("KIND", "PATH"))
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return
    try:
        import duckdb  # noqa: F401
        peers = ["pandas", "duckdb"]
    except ImportError:
        peers = ["pandas"]
    kinds = ["scan", "scan_all", "stratified", "priority", "stratified_dask", "priority_dask",
             *peers]
    results: dict[int, dict[str, dict]] = {}
    for items in args.sizes:
        path = dataset(args.workdir, items)
        measure("scan_all", path)  # warm the page cache
        results[items] = {k: measure(k, path) for k in kinds}
        for k, r in results[items].items():
            print(f"{items:>10} {k:<16} {json.dumps(r)}", file=sys.stderr)
    print(report(results))


def report(results: dict[int, dict[str, dict]]) -> str:
    lines = ["| rows | run | seconds | peak MB | rows/s vs scan of design cols | "
             "vs scan of all cols | time vs pandas | memory vs pandas |",
             "|---:|---|---:|---:|---:|---:|---:|---:|"]
    for items, runs in results.items():
        scan, scan_all, pd_ = runs["scan"], runs["scan_all"], runs.get("pandas", {})
        for kind, r in runs.items():
            if "error" in r:
                lines.append(f"| {items:.0e} | {kind} | error: {r['error']} | | | | | |")
                continue
            ratio = scan["seconds"] / r["seconds"]
            ratio_all = scan_all["seconds"] / r["seconds"]
            t_pd = r["seconds"] / pd_["seconds"] if "seconds" in pd_ else float("nan")
            m_pd = r["peak_mb"] / pd_["peak_mb"] if "peak_mb" in pd_ else float("nan")
            lines.append(f"| {items:.0e} | {kind} | {r['seconds']:.2f} | {r['peak_mb']:.0f} | "
                         f"{ratio:.2f} | {ratio_all:.2f} | {t_pd:.2f} | {m_pd:.2f} |")
    sizes = sorted(results)
    if len(sizes) > 1:
        lo, hi = results[sizes[0]], results[sizes[-1]]
        lines.append("")
        for kind in ("stratified", "priority"):
            if "peak_mb" in lo[kind] and "peak_mb" in hi[kind]:
                lines.append(f"- peak memory {kind}, {sizes[-1]:.0e} / {sizes[0]:.0e} rows: "
                             f"{hi[kind]['peak_mb'] / lo[kind]['peak_mb']:.2f}x")
        for items in sizes:
            r = results[items]
            for kind in ("stratified", "priority"):
                if "seconds" in r[kind] and "seconds" in r[f"{kind}_dask"]:
                    same = r[kind]["content_hash"] == r[f"{kind}_dask"]["content_hash"]
                    lines.append(f"- {items:.0e} {kind}: dask/stream time "
                                 f"{r[f'{kind}_dask']['seconds'] / r[kind]['seconds']:.2f}x, "
                                 f"same content hash: {same}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
