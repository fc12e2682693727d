"""Side by side with the `svy` Python package (0.35) on one stratified sample: numbers and time.

    .venv/bin/pip install svy   # not a project dependency
    .venv/bin/python bench/svy_compare.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import polars as pl
import svy

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "curation" / "estimation"))
from conftest import make_population  # noqa: E402

from curation.estimation import estimate_table, hajek_mean, recognise  # noqa: E402
from samplers import StratifiedSampler  # noqa: E402


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


if __name__ == "__main__":
    main()
