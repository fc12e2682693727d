"""Labels needed for the same CI half-width on a 0.5% prevalence, per design (DESIGN §5).

Population: N items, exactly 0.5% sensitive, a risk score = logistic(-2.5 + sep·y + N(0,1))
(AUC printed). Designs: SRS; stratified on 10 quantile bins of the score, proportional and
Neyman (S_h = sqrt(p̄_h(1-p̄_h)) from the score's bin mean: what is known before labeling);
priority sampling on the score with defensive mixture α = 0.1. For each, the smallest n whose
design variance on the population's true labels gives z·SE ≤ m, and a Monte Carlo check: z·SD of
the estimate over REPS samples drawn with the samplers' PRNs at that n (priority sampling and
the bottom-k stratified selection vectorized as in tests/curation/estimation).

    .venv/bin/python bench/estimation_efficiency.py [--n-items 100000] [--margin 0.001]
"""

from __future__ import annotations

import argparse

import numpy as np
import pyarrow as pa
from scipy import stats
from sklearn.metrics import roc_auc_score

from curation.estimation.planning import inclusion_probabilities
from curation.estimation.planning.plans import _smallest
from samplers import allocate
from samplers.prn import prn


def population(N: int, sep: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = np.zeros(N)
    y[rng.choice(N, N // 200, replace=False)] = 1.0
    score = 1 / (1 + np.exp(-(-2.5 + sep * y + rng.normal(0, 1, N))))
    ids = pa.array([f"b{k:07d}" for k in range(N)])
    return ids, y, score


def designs(y, score, bins=10, alpha=0.1):
    N = y.size
    p = y.mean()
    codes = np.searchsorted(np.quantile(score, np.linspace(0, 1, bins + 1)[1:-1]), score)
    N_h = np.bincount(codes, minlength=bins)
    S2 = np.array([y[codes == h].var(ddof=1) for h in range(bins)])
    prior = np.bincount(codes, weights=score) / N_h
    w = (1 - alpha) * score / score.mean() + alpha

    def srs(n):
        return y.var(ddof=1) / n * (1 - n / N)

    def strat(method):
        def var(n):
            n_h = allocate(N_h, n, method, S_h=np.sqrt(prior * (1 - prior)),
                           min_per_stratum=2).astype(float)
            return float(np.sum((N_h / N) ** 2 * (1 - n_h / N_h) * S2 / n_h))
        return var

    def priority(n):
        pi = inclusion_probabilities(w, n)
        return float(np.sum((1 - pi) / pi * (y - p) ** 2) / N ** 2)

    return {"SRS": srs, "proportional stratified (10 score bins)": strat("proportional"),
            "Neyman on score bins (prior S_h)": strat("neyman"),
            f"priority, defensive mixture α={alpha}": priority}, codes, N_h, prior, w


def simulate(name, n, ids, y, codes, N_h, prior, w, reps):
    N = y.size
    est = []
    if name == "SRS" or "stratified" in name or "Neyman" in name:
        if name == "SRS":
            c, n_h = np.zeros(N, int), np.array([n])
            Nh = np.array([N])
        else:
            method = "neyman" if "Neyman" in name else "proportional"
            c, Nh = codes, N_h
            n_h = allocate(N_h, n, method, S_h=np.sqrt(prior * (1 - prior)), min_per_stratum=2)
        for seed in range(reps):
            u = prn(ids, seed)
            order = np.lexsort((u, c))  # bottom-n_h PRNs per stratum = the stratified sampler
            starts = np.concatenate([[0], np.cumsum(Nh)[:-1]])
            keep = np.concatenate([order[s:s + k] for s, k in zip(starts, n_h, strict=True)])
            wt = (Nh / n_h)[c[keep]]
            est.append(np.dot(wt, y[keep]) / wt.sum())
    else:
        for seed in range(reps):
            q = w / prn(ids, seed)
            top = np.argpartition(-q, n)[: n + 1]
            top = top[np.argsort(-q[top])]
            keep = top[:n]
            pi = np.minimum(1, w[keep] / q[top[n]])
            est.append(np.sum(y[keep] / pi) / np.sum(1 / pi))
    return np.std(est, ddof=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-items", type=int, default=100_000)
    ap.add_argument("--margin", type=float, default=0.001)
    ap.add_argument("--reps", type=int, default=200)
    args = ap.parse_args()
    z = stats.norm.ppf(0.975)
    for sep in (2.5, 3.5):
        ids, y, score = population(args.n_items, sep)
        print(f"\nN={args.n_items}, prevalence {y.mean():.3%}, score AUC "
              f"{roc_auc_score(y, score):.3f}, target ±{args.margin} at 95%")
        table, codes, N_h, prior, w = designs(y, score)
        srs_n = None
        print(f"  {'design':<42}{'labels':>8}{'vs SRS':>8}{'z·SE':>10}{'z·SD (MC)':>11}")
        for name, var in table.items():
            n = _smallest(var, 25, args.n_items, (args.margin / z) ** 2)
            srs_n = srs_n or n
            sd = simulate(name, n, ids, y, codes, N_h, prior, w, args.reps)
            print(f"  {name:<42}{n:>8}{srs_n / n:>7.1f}x{z * np.sqrt(var(n)):>10.5f}"
                  f"{z * sd:>11.5f}")


if __name__ == "__main__":
    main()
