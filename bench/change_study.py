"""How much a PRN panel's overlap reduces the variance of change, against independent waves.

For each prevalence (0.3%, 1%, 5%, 20%; 30% of the positives fixed between the waves, the
population otherwise unchanged), each design (stratified SRSWOR by market, Poisson PPS on a
risk score with a 0.1 mixture) and each overlap (``--rotate-from --rotation r``: 0%, 50%, 75%,
100%), it draws ``--reps`` pairs of waves exactly as ``curate sample`` does (the vectorised
rules of ``tests/curation/estimation/test_change_coverage.py``, checked there against the
samplers) and reports the empirical variance of the estimated change over that of two
independent waves (different PRN keys), with the mean estimated variance (library's
:func:`proportion_change`) over the empirical one.

    .venv/bin/python bench/change_study.py --reps 1000
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from curation.estimation.change import proportion_change  # noqa: E402
from samplers.prn import prn  # noqa: E402
from tests.curation.estimation.test_change_coverage import (  # noqa: E402
    DRAWS,
    MARKETS,
    ROTATIONS,
    Population,
)

PREVALENCES = (0.003, 0.01, 0.05, 0.20)


def population(N: int, seed: int = 0) -> tuple[Population, Population]:
    """Waves A and B of the same items; ``p<prevalence>`` labels, 30% of positives fixed."""
    rng = np.random.default_rng(seed)
    market = rng.choice(len(MARKETS), N, p=list(MARKETS.values()))
    ya, yb = {}, {}
    rare = None
    for p in PREVALENCES:
        y = (rng.uniform(size=N) < p).astype(float)
        rare = y if rare is None else rare
        ya[f"{p:g}"], yb[f"{p:g}"] = y, np.where(rng.uniform(size=N) < 0.30, 0.0, y)
    score = 1 / (1 + np.exp(3.0 - 1.35 * rare - rng.normal(0, 1, N)))
    ids = np.arange(N)
    return Population(ids, market, score, ya), Population(ids, market, score, yb)


def study(reps: int, N: int, n: int) -> pd.DataFrame:
    a, b = population(N)
    names = pa.array([f"c{i:07d}" for i in a.ids])
    rows = []
    for seed in range(reps):
        u = prn(names, seed)
        u_other = prn(names, seed + 1_000_000)  # an independent key for wave B
        for design, draw in DRAWS.items():
            wa = draw(u, a, n)
            waves = {o: draw(u, b, n, wa, r) for o, r in ROTATIONS.items()}
            waves["independent"] = draw(u_other, b, n)
            for overlap, wb in waves.items():
                coordination = "independent" if overlap == "independent" else "rotation"
                for p in a.y:
                    c = proportion_change(wa.design(), a.y[p][wa.rows], a.ids[wa.rows],
                                          wb.design(), b.y[p][wb.rows], b.ids[wb.rows],
                                          coordination, prn_a=wa.prn, prn_b=wb.prn)
                    rows.append((design, p, overlap, c.difference, c.se_difference ** 2))
    df = pd.DataFrame(rows, columns=["design", "prevalence", "overlap", "difference", "var"])
    g = df.groupby(["design", "prevalence", "overlap"], sort=False)
    out = g.agg(emp_var=("difference", "var"), mean_var=("var", "mean")).reset_index()
    ind = out[out["overlap"] == "independent"].set_index(["design", "prevalence"])["emp_var"]
    out["variance_vs_independent"] = [r.emp_var / ind[(r.design, r.prevalence)]
                                      for r in out.itertuples()]
    out["estimated_over_empirical"] = out["mean_var"] / out["emp_var"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=1000)
    parser.add_argument("--N", type=int, default=80_000)
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args()
    t0, c0 = time.time(), time.process_time()
    out = study(args.reps, args.N, args.n)
    wall, cpu = time.time() - t0, time.process_time() - c0
    print(f"command: .venv/bin/python bench/change_study.py --reps {args.reps} --N {args.N} "
          f"--n {args.n}")
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}; load average {os.getloadavg()[0]:.2f} "
          f"(1 min) at the end; {wall:.0f} s wall, {cpu:.0f} s CPU")
    table = out.pivot_table(index=["design", "prevalence"], columns="overlap",
                            values="variance_vs_independent", sort=False)
    print("\nVar(B − A) at each overlap / Var(B − A) of independent waves\n")
    print(table[list(ROTATIONS)].round(3).to_markdown())
    est = out.pivot_table(index=["design", "prevalence"], columns="overlap",
                          values="estimated_over_empirical", sort=False)
    print("\nmean estimated variance / empirical variance of B − A\n")
    print(est[[*ROTATIONS, "independent"]].round(3).to_markdown())


if __name__ == "__main__":
    main()
