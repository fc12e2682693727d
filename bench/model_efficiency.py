"""Human labels a model saves at the same *valid* interval width (issue 14).

Population: :func:`tests.curation.estimation.coverage.model_population` (N items, prevalence
0.4%, a risk score of AUC ≈ 0.85, a good model label of sensitivity 0.9 / specificity 0.995, a
weak one of 0.8 / 0.99, a random one). For each design, the mean half-width of the 95% interval
the design needs to hold (the library's: Korn–Graubard under SRS, the mid-p gamma under
importance sampling, ``skew`` under the model-stratified designs, where Korn–Graubard
under-covers: tests/curation/estimation/test_model_assisted_coverage.py) over REPS samples at a
few n around the normal-theory size, interpolated (log-log) to the n whose mean half-width is the
target. Every estimate and interval is the library's (``greg``, ``hajek_mean``,
``proportion_interval``) on samples drawn with the samplers' selection math (bottom-k per stratum,
priority with τ the (n+1)-th priority; tests/curation/estimation/coverage.py), the PRNs replaced by
a seeded uniform generator (the same distribution, without hashing a million ids per sample).

The bound of a design stratified by a model label is Neyman allocation on the label with the
strata's true prevalence, under the normal approximation: ``n = (Σ W_h S_h)² / (m/z)²`` (with the
finite population correction), against SRS's ``n = p(1−p)/(m/z)²`` likewise.

    PYTHONPATH=. .venv/bin/python bench/model_efficiency.py [--n-items 1000000] [--reps 200]
        [--margins 0.0004,0.0003]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from abc import ABC, abstractmethod

import numpy as np
from scipy import stats
from sklearn.metrics import roc_auc_score

from curation.estimation import SurveyDesign, hajek_mean
from curation.estimation.intervals import proportion_interval
from curation.estimation.model_assisted import greg, prediction_totals
from samplers import allocate
from tests.curation.estimation.coverage import (
    bottom_k,
    model_population,
    priority,
    score_bins,
    survey_design,
)

Z = float(stats.norm.ppf(0.975))


def neyman_sizes(codes: np.ndarray, y: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    N_h = np.bincount(codes)
    p_h = np.bincount(codes, weights=y) / N_h
    return N_h, allocate(N_h, n, "neyman", S_h=np.sqrt(p_h * (1 - p_h)), min_per_stratum=2)


class Design(ABC):
    """A design: ``half_width(n, reps)`` is the mean half-width of its valid interval at n."""

    def __init__(self, name: str, y: np.ndarray, unit_var: float, method: str):
        self.name, self.y, self.unit_var, self.method = name, y, unit_var, method

    def guess(self, margin: float) -> int:
        """The normal-theory n for the margin (with the fpc)."""
        n0 = self.unit_var / (margin / Z) ** 2
        return int(n0 / (1 + n0 / self.y.size))

    @abstractmethod
    def estimate(self, u: np.ndarray, n: int):
        """The estimate of one sample drawn with the uniforms ``u`` at size ``n``."""

    def half_width(self, n: int, reps: int, seed0: int = 0) -> tuple[float, float]:
        """(mean half-width, coverage) over ``reps`` samples."""
        truth = self.y.mean()
        widths, hits = [], []
        for seed in range(seed0, seed0 + reps):
            u = np.random.default_rng(seed).random(self.y.size)
            e = self.estimate(u, n)
            lo, hi, _ = proportion_interval(e, 0.95, self.method)
            widths.append((hi - lo) / 2)
            hits.append(lo <= truth <= hi)
        return float(np.mean(widths)), float(np.mean(hits))


class Stratified(Design):
    """Stratified SRSWOR (Neyman on ``codes``, one stratum: SRS), GREG on ``pred`` if given."""

    def __init__(self, name, y, codes, pred, method, N_h_of=None):
        self.codes, self.pred = codes, pred
        N_h = np.bincount(codes)
        p_h = np.bincount(codes, weights=y) / N_h
        unit_var = (np.sum(N_h / y.size * np.sqrt(p_h * (1 - p_h))) ** 2
                    if N_h.size > 1 else y.var())
        super().__init__(name, y, float(unit_var), method)
        if pred is not None:
            if codes.max() == 0:  # one stratum: GREG on the prediction (post-stratification)
                self.totals = (np.array([float(y.size)]), np.array([float(pred.sum())]))
            else:
                self.totals = prediction_totals(codes.astype(str), pred,
                                                tuple(str(h) for h in range(N_h.size)))

    def estimate(self, u, n):
        N_h, n_h = (neyman_sizes(self.codes, self.y, n) if self.codes.max() > 0
                    else (np.array([self.y.size]), np.array([n])))
        draw = bottom_k(self.codes, n_h)(u)
        design = survey_design(draw)
        if self.pred is not None:
            design = greg(design, self.pred[draw.rows], *self.totals)
        return hajek_mean(design, self.y[draw.rows])


class Priority(Design):
    """Priority sampling on the score with the defensive mixture α = 0.1 (today's default)."""

    def __init__(self, name, y, score, alpha=0.1, assisted=False):
        self.w = (1 - alpha) * score / score.mean() + alpha
        self.score = score if assisted else None
        p = y.mean()
        unit_var = float(np.mean((y - p) ** 2 / self.w) * np.mean(self.w))  # PPS with replacement
        super().__init__(name, y, unit_var, "gamma")

    def estimate(self, u, n):
        draw = priority(self.w, n)(u)
        d = SurveyDesign("poisson", draw.strata, ("0",), draw.prob, 1 / draw.prob)
        if self.score is not None:  # GREG on the score: calibrated to N and Σ score
            d = greg(d, self.score[draw.rows], np.array([float(self.y.size)]),
                     np.array([float(self.score.sum())]))
        return hajek_mean(d, self.y[draw.rows])


def labels_for(design: Design, margin: float, reps: int) -> tuple[int, float, float]:
    """(n whose mean half-width is ``margin``, coverage there, half-width at that n)."""
    g = design.guess(margin)
    grid = sorted({max(50, int(g * f)) for f in (0.85, 1.0, 1.2)})
    hw = []
    for n in grid:
        hw.append(design.half_width(n, reps))
    while hw[-1][0] > margin and grid[-1] < design.y.size // 2:  # bracket the target
        grid.append(int(grid[-1] * 1.25))
        hw.append(design.half_width(grid[-1], reps))
    while hw[0][0] < margin and grid[0] > 100:
        grid.insert(0, int(grid[0] / 1.25))
        hw.insert(0, design.half_width(grid[0], reps))
    x, h = np.log(grid), np.log([w for w, _ in hw])
    slope, icept = np.polyfit(x, h, 1)
    n = int(round(np.exp((np.log(margin) - icept) / slope)))
    k = int(np.argmin(np.abs(np.array(grid) - n)))
    return n, hw[k][1], float(np.exp(icept + slope * np.log(n)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-items", type=int, default=1_000_000)
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--margins", default="0.0004,0.0003")
    ap.add_argument("--only", default="", help="comma-separated design keys")
    args = ap.parse_args()
    print(f"{platform.node()} {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, load average at start: {os.getloadavg()}")
    t0 = time.perf_counter()
    pop = model_population(args.n_items, 0.004, seed=31)
    y = pop["sens"].to_numpy(np.float64)
    score = pop["risk_score"].to_numpy()
    one = np.zeros(y.size, np.int64)
    lab = {k: pop[f"label_{k}"].to_numpy() for k in ("good", "weak", "random")}
    bins = score_bins(score, 10)
    designs = {
        "srs": Stratified("SRS (human labels only)", y, one, None, "beta"),
        "importance": Priority("importance: priority on the score, α=0.1", y, score),
        "importance-greg": Priority("importance as above, GREG on the score", y, score,
                                    assisted=True),
        "greg-uniform-good": Stratified("GREG, uniform sampling, good label", y, one,
                                        lab["good"].astype(float), "skew"),
        "good": Stratified("stratified by good label, Neyman, GREG", y, lab["good"],
                           lab["good"].astype(float), "skew"),
        "weak": Stratified("stratified by weak label, Neyman, GREG", y, lab["weak"],
                           lab["weak"].astype(float), "skew"),
        "score": Stratified("10 score bins, Neyman, GREG on the score", y, bins, score, "skew"),
        "random": Stratified("stratified by random label, Neyman, GREG", y, lab["random"],
                             lab["random"].astype(float), "skew"),
    }
    if args.only:
        designs = {k: v for k, v in designs.items() if k in args.only.split(",")}
    print(f"N={y.size}, prevalence {y.mean():.3%}, score AUC {roc_auc_score(y, score):.3f}, "
          f"labels: " + ", ".join(f"{k} Se {lab[k][y == 1].mean():.3f} Sp "
                                  f"{1 - lab[k][y == 0].mean():.4f}" for k in lab))
    p = y.mean()
    for k in ("good", "weak"):
        d = designs.get(k) or Stratified("", y, lab[k], None, "skew")
        print(f"Neyman-on-{k}-label bound (normal theory, no fpc): "
              f"{p * (1 - p) / d.unit_var:.2f}x fewer labels than SRS")
    fine = Stratified("", y, score_bins(score, 100), None, "skew")
    print(f"score's information bound (Neyman on 100 score bins, normal theory, no fpc): "
          f"{p * (1 - p) / fine.unit_var:.2f}x")
    for margin in map(float, args.margins.split(",")):
        print(f"\ntarget: mean 95% half-width {margin} ({margin / p:.1%} of p), {args.reps} "
              f"samples per n")
        print(f"  {'design':<46}{'interval':>9}{'labels':>9}{'vs SRS':>8}{'bound':>8}"
              f"{'coverage':>10}")
        srs_n = None
        for key, d in designs.items():
            n, cover, _ = labels_for(d, margin, args.reps)
            srs_n = srs_n or (n if key == "srs" else None)
            bound = ""
            if key in ("good", "weak", "random", "score"):
                nb = Stratified("", y, d.codes, None, "skew").guess(margin)
                ns = designs["srs"].guess(margin) if "srs" in designs else None
                bound = f"{ns / nb:.2f}x" if ns else ""
            ratio = f"{srs_n / n:.2f}x" if srs_n else ""
            print(f"  {d.name:<46}{d.method:>9}{n:>9}{ratio:>8}{bound:>8}{cover:>10.3f}",
                  flush=True)
    print(f"\n{time.perf_counter() - t0:.0f} s; load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
