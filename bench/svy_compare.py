"""Side by side with the `svy` Python package (0.35) on one stratified sample: numbers and time.

    .venv/bin/pip install svy   # not a project dependency
    .venv/bin/python bench/svy_compare.py            # numbers side by side, small sample
    .venv/bin/python bench/svy_compare.py --scale    # speed: 10^5 labeled rows x 100 domains
                                                     # x 5 categories (issue 17, item 4)

``--scale`` draws a stratified sample of ``--rows`` from a population ten times larger (10
markets as strata, a ``genre`` domain of ``--domains`` values cutting across them, ``--categories``
0/1 labels ``cat0``...), writes it with its manifest to a temporary folder, then times on the
same table: ``curate estimate`` as a user runs it (a fresh process, start-up and writing the result
included), that command's parts (start-up: a fresh process importing the command's module; then
in-process reading and checking the file against its manifest, ``estimate_table``, writing and
printing the table), and svy's ``prop(y, by="genre")`` for each category (its design: strata,
weights, N_h; one interval method, Wald, against our Korn-Graubard ones). Each time is the
fastest of ``--repeats``, wall and CPU (this process and its children), with the load average.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl
import pyarrow as pa
import svy

from curation.estimation import estimate_table, hajek_mean, recognise
from samplers import StratifiedSampler


def make_population(N: int, seed: int):
    """The estimation tests' population (loaded by file: that folder on ``sys.path`` would
    shadow the ``coverage`` package with its ``coverage.py``, and numba imports it)."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "tests/curation/estimation/conftest.py"
    spec = importlib.util.spec_from_file_location("estimation_conftest", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_population(N=N, seed=seed)


def timed(fn, reps=20):
    fn()
    t = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t) / reps * 1e3


def main() -> None:
    pop = make_population(N=3000, seed=3)
    s = StratifiedSampler(n=300, seed=1, strata=["market"], allocation="power").sample(pop)
    df = s.to_pandas()
    df["N_h"] = df.stratum.map({a["stratum"]: a["N_h"] for a in s.manifest.allocation})
    df["N_h"] = df["N_h"].astype(float)
    smp = svy.Sample(pl.from_pandas(df[["unit_id", "stratum", "design_weight", "N_h", "sens",
                                        "minutes", "creator_group"]]),
                     svy.Design(stratum="stratum", wgt="design_weight", pop_size="N_h"))
    ours = estimate_table(df, ["minutes", "sens"], domain="creator_group", manifest=s.manifest)
    ours = ours.set_index(["metric", "y", "domain"])
    print(f"{'estimate':<38}{'ours':>34}{'svy':>34}")
    m = smp.estimation.mean("minutes").to_polars().row(0, named=True)
    o = ours.loc[("mean", "minutes", "all")]
    print(f"{'mean minutes (est, se, CI)':<38}{o.estimate:>9.5f}{o.se:>8.5f} "
          f"[{o.ci_low:.5f}, {o.ci_high:.5f}]  {m['est']:>9.5f}{m['se']:>8.5f} "
          f"[{m['lci']:.5f}, {m['uci']:.5f}]")
    for row in smp.estimation.mean("minutes", by="creator_group").to_polars().iter_rows(
            named=True):
        o = ours.loc[("mean", "minutes", f"creator_group={row['creator_group']}")]
        print(f"{'  domain ' + row['creator_group']:<38}{o.estimate:>9.5f}{o.se:>8.5f} "
              f"[{o.ci_low:.5f}, {o.ci_high:.5f}]  {row['est']:>9.5f}{row['se']:>8.5f} "
              f"[{row['lci']:.5f}, {row['uci']:.5f}]")
    p = smp.estimation.prop("sens", ci_method="korn-graubard").to_polars().filter(
        pl.col("sens") == 1).row(0, named=True)
    o = ours.loc[("proportion", "sens", "all")]
    print(f"{'p sens, Korn-Graubard':<38}{o.estimate:>9.5f}{o.se:>8.5f} "
          f"[{o.ci_low:.5f}, {o.ci_high:.5f}]  {p['est']:>9.5f}{p['se']:>8.5f} "
          f"[{p['lci']:.5f}, {p['uci']:.5f}]")
    design = recognise(df, s.manifest)
    y = df.minutes.to_numpy()
    print("\ntime per estimate (ms, mean of 20):")
    print(f"  one mean, ours (hajek_mean)          {timed(lambda: hajek_mean(design, y)):8.2f}")
    print(f"  one mean, svy                        "
          f"{timed(lambda: smp.estimation.mean('minutes')):8.2f}")
    table_ms = timed(lambda: estimate_table(df, ["minutes"], domain="creator_group",
                                            manifest=s.manifest))
    print(f"  mean+total by 3 domains, ours (table) {table_ms:8.2f}")
    print(f"  mean by 3 domains, svy               "
          f"{timed(lambda: smp.estimation.mean('minutes', by='creator_group')):8.2f}")


def scale_sample(rows: int, domains: int, categories: int, seed: int = 7):
    """A stratified sample of ``rows`` from ``10 * rows`` items, with a ``genre`` domain and
    ``categories`` rare-to-common 0/1 labels (prevalence 0.5% to 20%)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    N = 10 * rows
    market = rng.choice([f"m{k}" for k in range(10)], N, p=np.linspace(2, 0.2, 10) / 11.0)
    pop = pd.DataFrame({"item_id": [f"it{k:08d}" for k in range(N)], "market": market})
    s = StratifiedSampler(n=rows, seed=1, strata=["market"], allocation="proportional"
                          ).sample(pop)
    df = s.to_pandas()
    n = len(df)
    df["genre"] = [f"g{k:03d}" for k in rng.integers(0, domains, n)]
    for c, prev in enumerate(np.geomspace(0.005, 0.2, categories)):
        df[f"cat{c}"] = (rng.random(n) < prev).astype(np.int64)
    return s, df


def best(fn, repeats: int) -> tuple[float, float]:
    """(fastest wall seconds, fastest CPU seconds of this process and its children) of
    ``repeats`` calls: CPU time shows the work itself when the machine is shared."""
    import resource

    def cpu() -> float:
        me, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF,
                                                     resource.RUSAGE_CHILDREN))
        return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime

    walls, cpus = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), cpu()
        fn()
        walls.append(time.perf_counter() - t)
        cpus.append(cpu() - c)
    return min(walls), min(cpus)


def command_parts(data: Path, out: Path, ys: list[str], repeats: int) -> list[tuple]:
    """(label, (wall, CPU)) of the parts of ``curate estimate``: start-up (a fresh process
    importing the command), then in this process reading and checking DATA, the table, and
    writing and printing it."""
    from curation.cli.estimate import _fmt
    from curation.estimation.inputs import load_sample
    from schemas.io import write_table

    startup = best(lambda: subprocess.run([sys.executable, "-c", "import curation.cli.estimate"],
                                          check=True), repeats)
    loaded = load_sample(data)
    read = best(lambda: load_sample(data), repeats)
    table = estimate_table(loaded[0], ys, domain="genre", manifest=loaded[1])
    est = best(lambda: estimate_table(loaded[0], ys, domain="genre", manifest=loaded[1]),
               repeats)

    def write():
        out.unlink(missing_ok=True)
        write_table(out, pa.Table.from_pandas(table, preserve_index=False))
        _fmt(table)

    return [("  start-up: Python, imports (fresh process)", startup),
            ("  read DATA, check it against its manifest", read),
            ("  estimate_table (estimates and intervals)", est),
            ("  write the result, format the printed table", best(write, repeats))]


def scale(rows: int, domains: int, categories: int, repeats: int) -> None:
    from samplers import Sample

    load = os.getloadavg()[0]
    s, df = scale_sample(rows, domains, categories)
    ys = [f"cat{c}" for c in range(categories)]
    with tempfile.TemporaryDirectory() as tmp:
        data, out = Path(tmp) / "labeled.parquet", Path(tmp) / "est.parquet"
        Sample(pa.Table.from_pandas(df, preserve_index=False), s.manifest).write(data)
        cmd = [sys.executable, "-m", "curation", "estimate", str(data), "-o", str(out),
               "--domain", "genre"]
        for y in ys:
            cmd += ["--y", y]

        def cli():
            out.unlink(missing_ok=True)
            subprocess.run(cmd, check=True, capture_output=True)

        cli_s = best(cli, repeats)
        parts = command_parts(data, Path(tmp) / "parts.parquet", ys, repeats)
    df["N_h"] = df.stratum.map({a["stratum"]: a["N_h"] for a in s.manifest.allocation}
                               ).astype(float)
    smp = svy.Sample(pl.from_pandas(df[["stratum", "design_weight", "N_h", "genre", *ys]]),
                     svy.Design(stratum="stratum", wgt="design_weight", pop_size="N_h"))
    svy_s = best(lambda: [smp.estimation.prop(y, by="genre") for y in ys], repeats)
    print(f"{len(df):,} labeled rows x {df.genre.nunique()} domains x {categories} categories "
          f"(fastest of {repeats}; seconds wall / CPU; load average {load:.2f} at the start, "
          f"{os.getloadavg()[0]:.2f} at the end, on {os.cpu_count()} cores)")
    for label, (wall, cpu) in [("curate estimate (fresh process, whole command)", cli_s),
                               *parts,
                               ("svy prop(y, by=genre) for each category", svy_s)]:
        print(f"  {label:<48}{wall:8.3f} /{cpu:8.3f}")
    print(f"  ratio whole command / svy (wall, CPU)           {cli_s[0] / svy_s[0]:8.3f} /"
          f"{cli_s[1] / svy_s[1]:8.3f}")
    ours = estimate_table(df, ys, domain="genre", manifest=s.manifest)
    ours = ours[ours.metric == "proportion"].set_index(["y", "domain"])
    gaps = []
    for y in ys:
        theirs = smp.estimation.prop(y, by="genre").to_polars().filter(pl.col(y) == 1)
        for row in theirs.iter_rows(named=True):
            o = ours.loc[(y, f"genre={row['genre']}")]
            gaps.append((abs(o.estimate - row["est"]),
                         abs(o.se - row["se"]) / row["se"] if row["se"] else abs(o.se)))
    print(f"  same numbers: max |estimate difference| {max(g[0] for g in gaps):.1e}, max "
          f"relative SE difference {max(g[1] for g in gaps):.1e} over {len(gaps)} domain "
          f"proportions")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", action="store_true")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--domains", type=int, default=100)
    parser.add_argument("--categories", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.scale:
        scale(args.rows, args.domains, args.categories, args.repeats)
    else:
        main()
