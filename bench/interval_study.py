"""Which 95% interval for a rare proportion holds under every design? (issue 13)

Candidates, each from the same Hájek estimate and linearized design variance V:

* ``kg`` — Korn–Graubard, Clopper–Pearson on n_eff = p(1-p)/V (R ``svyciprop(method="beta")``);
* ``kg-capped`` — the same with n_eff ≤ n (Korn & Graubard 1998's truncation of deff at 1);
* ``logit`` — t interval on the logit scale (R ``svyciprop(method="logit")``);
* ``gamma-max`` — Fay & Feuer (1997)'s gamma interval for a weighted sum of rare counts: lower
  ``G⁻¹(α/2; p²/V, V/p)``, upper ``G⁻¹(1-α/2; (p+a)²/(V+a²), (V+a²)/(p+a))`` with ``a`` the
  largest normalized weight ``max w/Σw`` of the domain (one more positive of the largest weight);
* ``gamma-mean`` — Tiwari, Clegg & Zou (2006)'s modification: ``a`` the mean normalized weight
  ``1/n``;

on two hard populations (tests/curation/estimation/coverage.py), five designs, every domain.

    .venv/bin/python bench/interval_study.py [--reps 1000] [--n 2000] [--out study.csv]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd
from scipy import stats

from curation.estimation.intervals import (
    gamma_interval,
    korn_graubard,
    one_sided_bound,
    proportion_interval,
)
from tests.curation.estimation.coverage import hard_population, run


def _zero(e, level):
    if e.estimate <= 0:
        return one_sided_bound(e.kish_n, level)
    if e.estimate >= 1:
        return one_sided_bound(e.kish_n, level, at_one=True)
    return None


def kg(e, level, cap=False):
    z = _zero(e, level)
    if z is not None:
        return z
    p, v = e.estimate, e.var
    if cap:
        v = max(v, p * (1 - p) / e.n)
    return korn_graubard(p, v, e.n, e.df, level)


def logit(e, level):
    z = _zero(e, level)
    if z is not None:
        return z
    p = e.estimate
    se = e.se / (p * (1 - p))
    q = stats.t.ppf(0.5 + level / 2, e.df)
    lo, hi = np.log(p / (1 - p)) + np.array([-q, q]) * se
    return float(1 / (1 + np.exp(-lo))), float(1 / (1 + np.exp(-hi)))


def _gammas(e, a):
    """The gamma distributions of the estimate, and of it with one more count of weight a."""
    p, v = e.estimate, e.var
    return (stats.gamma(p * p / v, scale=v / p),
            stats.gamma((p + a) ** 2 / (v + a * a), scale=(v + a * a) / (p + a)))


def gamma(e, level, a):
    """Exact form (Fay & Feuer; Tiwari et al.): lower from the first, upper from the second."""
    z = _zero(e, level)
    if z is not None:
        return z
    g0, g1 = _gammas(e, a)
    alpha = 1 - level
    return float(g0.ppf(alpha / 2)), float(min(g1.ppf(1 - alpha / 2), 1.0))


def gamma_midp(e, level, a):
    """Mid-p form: the library's :func:`gamma_interval` with the extra count's weight a."""
    z = _zero(e, level)
    return z if z is not None else gamma_interval(e.estimate, e.var, a, level)


def _ratio_weight(e, c):
    """1/n, shrunk when the sampled positives weigh less than the mean unit (a strong score)."""
    r = e.n * e.estimate / max(e.nonzero, 1)
    return min(1.0, c * r) / e.n


def _geo(e):
    return np.sqrt(e.var / max(e.estimate, 1e-300) / e.n)


METHODS = {
    "kg": kg,
    "kg-capped": lambda e, lv: kg(e, lv, cap=True),
    "logit": logit,
    "gamma-max": lambda e, lv: gamma(e, lv, e.weight_max / e.weight_sum),
    "gamma-mean": lambda e, lv: gamma(e, lv, 1.0 / e.n),
    "gamma-half": lambda e, lv: gamma(e, lv, 0.5 / e.n),
    "gamma-pos": lambda e, lv: gamma(e, lv, e.estimate / max(e.nonzero, 1)),
    "gamma-geo": lambda e, lv: gamma(e, lv, _geo(e)),
    "gamma-geo-midp": lambda e, lv: gamma_midp(e, lv, _geo(e)),
    "gamma-maxpos": lambda e, lv: gamma(e, lv, e.nonzero_weight_max / e.weight_sum),
    "gamma-maxpos-midp": lambda e, lv: gamma_midp(e, lv, e.nonzero_weight_max / e.weight_sum),
    "gamma-mean-midp": lambda e, lv: gamma_midp(e, lv, 1.0 / e.n),
    "gamma-vmax-midp": lambda e, lv: gamma_midp(e, lv, max(e.var / max(e.estimate, 1e-300),
                                                            1.0 / e.n)),
    "library": lambda e, lv: proportion_interval(e, lv, "gamma")[:2],
    "gamma-kish-midp": lambda e, lv: gamma_midp(e, lv, 1.0 / e.kish_n),
    "gamma-gm-midp": lambda e, lv: gamma_midp(e, lv, 1.0 / np.sqrt(e.n * e.kish_n)),
    "gamma-r2-midp": lambda e, lv: gamma_midp(e, lv, _ratio_weight(e, 2.0)),
    "gamma-r3-midp": lambda e, lv: gamma_midp(e, lv, _ratio_weight(e, 3.0)),
    "gamma-pos-midp": lambda e, lv: gamma_midp(e, lv, e.estimate / max(e.nonzero, 1)),
}

POPULATIONS = {"weak score (AUC≈0.83), p=0.4%": dict(prevalence=0.004, separation=1.35, seed=11),
               "strong score (AUC≈0.96), p=0.3%": dict(prevalence=0.003, separation=2.5, seed=12),
               "unrelated score (AUC 0.5), p=1%": dict(prevalence=0.01, separation=0.0, seed=13)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=1000)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--n-items", type=int, default=100_000)
    ap.add_argument("--out", default="interval_study.csv")
    ap.add_argument("--designs", default="", help="comma-separated subset of the designs")
    ap.add_argument("--methods", default="", help="comma-separated subset of the methods")
    ap.add_argument("--populations", default="", help="comma-separated indices (0, 1, 2)")
    args = ap.parse_args()
    print(f"load average at start: {os.getloadavg()}")
    frames = []
    for k, (name, kw) in enumerate(POPULATIONS.items()):
        if args.populations and str(k) not in args.populations.split(","):
            continue
        t0 = time.perf_counter()
        pop = hard_population(args.n_items, **kw)
        methods = {k: (lambda e, lv, kind, f=f: f(e, lv)) for k, f in METHODS.items()
                   if not args.methods or k in args.methods.split(",")}
        t = run(pop, args.n, args.reps, methods,
                only=tuple(args.designs.split(",")) if args.designs else None)
        t.insert(0, "population", name)
        frames.append(t)
        print(f"{name}: {time.perf_counter() - t0:.0f} s")
    out = pd.concat(frames, ignore_index=True)
    out.to_csv(args.out, index=False)
    judged = out[out.sampled_positives >= 10]
    summary = judged.groupby(["population", "design", "method"]).agg(
        overall=("coverage", lambda s: s.iloc[0]),
        worst_domain=("coverage", "min"), worst_upper_miss=("truth_above_ci", "max"),
        worst_lower_miss=("truth_below_ci", "max"), width_all=("width", lambda s: s.iloc[0]))
    pd.set_option("display.width", 200)
    print(summary.round(4).to_string())
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
