"""Sample-size planning: how many labels for a CI half-width ``m`` at level ``1-α`` on a prevalence.

The half-width planned is the normal one, ``z_{1-α/2} · SE``, from the anticipated design
variance of the Hájek proportion at sample size n; the smallest n that meets ``m`` is found by
bisection (every variance below decreases in n). The expected design effect is that variance
over SRS's at the same n.

* SRS: ``V = p(1-p)/n · (N-n)/(N-1)`` (no correction when N is unknown).
* Stratified (a given allocation over known ``N_h``, e.g. score bins): ``V = Σ W_h² (1-n_h/N_h)
  S_h²/n_h`` with ``S_h² = p_h(1-p_h) N_h/(N_h-1)`` and ``n_h`` from
  :func:`samplers.allocate` exactly as the sampler allocates.
* Importance (priority or Poisson PPS on a risk score with a defensive mixture): ``π_i =
  min(1, λ w_i)`` with ``Σ π = n``, and ``V = N^{-2} Σ (1-π_i)/π_i · E(y_i - p)²`` with
  ``E(y_i - p)² = p_i(1-p_i) + (p_i - p)²``, the score taken as the prior ``p_i`` (rescaled to
  mean p when p is given). Priority sampling's variance is at most this Poisson PPS one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from samplers import allocate
from samplers.poisson import pps_lambda
from schemas import DesignError


@dataclass(frozen=True)
class Plan:
    """A plan: design, labels needed, its expected SE, half-width and design effect."""

    design: str
    n: int
    se: float
    half_width: float
    deff: float
    p: float
    allocation: pd.DataFrame | None = field(default=None, repr=False)


def _check(margin: float, level: float, p: float | None) -> float:
    if not 0 < level < 1:
        raise DesignError(f"level must be in (0, 1), got {level}")
    if not 0 < margin < 1:
        raise DesignError(f"the half-width must be in (0, 1), got {margin}")
    if p is not None and not 0 < p < 1:
        raise DesignError(f"the anticipated prevalence p must be in (0, 1), got {p}")
    return float(stats.norm.ppf(0.5 + level / 2))


def _srs_var(p: float, n: float, N: float | None) -> float:
    fpc = 1.0 if N is None else max(N - n, 0.0) / max(N - 1.0, 1.0)
    return p * (1 - p) / n * fpc


def _smallest(var, lo: int, hi: int, target: float) -> int:
    """Smallest integer n in [lo, hi] with var(n) ≤ target (var decreasing in n)."""
    if var(hi) > target:
        raise DesignError(f"even n = {hi} (the whole population) does not reach that "
                          f"half-width; ask for a wider one")
    while lo < hi:
        mid = (lo + hi) // 2
        if var(mid) <= target:
            hi = mid
        else:
            lo = mid + 1
    return lo


def _finish(design: str, n: int, var: float, p: float, z: float, N: float | None,
            allocation: pd.DataFrame | None = None) -> Plan:
    return Plan(design, int(n), float(np.sqrt(var)), float(z * np.sqrt(var)),
                float(var / _srs_var(p, n, N)), float(p), allocation)


def plan_srs(margin: float, p: float, level: float = 0.95, N: float | None = None) -> Plan:
    """Simple random sampling (without replacement when N is given).

    Examples
    --------
    >>> plan_srs(0.03, 0.5).n  # the textbook 1,068 for ±3 points at 95%
    1068
    """
    z = _check(margin, level, p)
    hi = int(N) if N is not None else int(np.ceil(p * (1 - p) * (z / margin) ** 2)) + 1
    n = _smallest(lambda k: _srs_var(p, k, N), 1, hi, (margin / z) ** 2)
    return _finish("srs", n, _srs_var(p, n, N), p, z, N)


def plan_stratified(margin: float, N_h: np.ndarray, p_h: np.ndarray, level: float = 0.95,
                    allocation: str = "proportional", labels: list[str] | None = None,
                    min_per_stratum: int = 0, power: float = 0.5) -> Plan:
    """Stratified SRSWOR with the given allocation; ``p_h`` anticipated per stratum.

    Neyman allocation uses ``S_h = sqrt(p_h(1-p_h))``, as ``--neyman-col`` of a score would.
    """
    N_h = np.asarray(N_h, np.int64)
    p_h = np.clip(np.asarray(p_h, np.float64), 0.0, 1.0)
    N = float(N_h.sum())
    p = float(np.dot(N_h, p_h) / N)
    z = _check(margin, level, p)
    S2 = p_h * (1 - p_h) * N_h / np.maximum(N_h - 1, 1)
    S_h = np.sqrt(p_h * (1 - p_h))

    def n_of(n: int) -> np.ndarray:
        return allocate(N_h, int(n), allocation, S_h=S_h, power=power,
                        min_per_stratum=min_per_stratum, labels=labels)

    def var(n: int) -> float:
        n_h = n_of(n).astype(float)
        if np.any((n_h == 0) & (S2 > 0)):
            return np.inf
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(n_h > 0, (N_h / N) ** 2 * (1 - n_h / N_h) * S2 / n_h, 0.0)
        return float(terms.sum())

    lo = max(1, min_per_stratum * len(N_h))
    n = _smallest(var, lo, int(N), (margin / z) ** 2)
    table = pd.DataFrame({"stratum": labels if labels is not None else range(len(N_h)),
                          "N_h": N_h, "n_h": n_of(n), "p_h": p_h})
    return _finish(f"stratified ({allocation})", n, var(n), p, z, N, table)


def inclusion_probabilities(w: np.ndarray, n: float) -> np.ndarray:
    """``π = min(1, λ w)`` with ``Σ π = n`` (the samplers' Poisson PPS λ)."""
    k = int(min(np.ceil(n), w.size))
    top = np.sort(w)[::-1][:k]
    lam = pps_lambda(float(w.sum()), top, float(n))
    return np.minimum(1.0, lam * w)


def plan_importance(margin: float, score: np.ndarray, level: float = 0.95,
                    mixture: float = 0.1, p: float | None = None) -> Plan:
    """Priority / Poisson PPS on a risk score with a defensive mixture (module docstring)."""
    s = np.asarray(score, np.float64)
    if s.size == 0 or np.any(~np.isfinite(s)) or np.any(s < 0) or np.any(s > 1):
        raise DesignError("the risk score must be a probability in [0, 1] for every unit")
    if not 0 < mixture <= 1:
        raise DesignError(f"defensive mixture α must be in (0, 1], got {mixture}")
    prior = s if p is None else np.clip(s * (p / s.mean()), 0.0, 1.0)
    p = float(prior.mean())
    z = _check(margin, level, p)
    w = (1 - mixture) * s / s.mean() + mixture
    e2 = prior * (1 - prior) + (prior - p) ** 2
    N = s.size

    def var(n: int) -> float:
        pi = inclusion_probabilities(w, n)
        return float(np.sum((1 - pi) / pi * e2) / N ** 2)

    n = _smallest(var, 1, N, (margin / z) ** 2)
    return _finish(f"importance (α={mixture:g})", n, var(n), p, z, float(N))


def plan_population(population: pd.DataFrame | None, margin: float, p: float | None = None,
                    level: float = 0.95, score: str | None = None, mixture: float = 0.1,
                    strata=None, allocation: str = "proportional",
                    min_per_stratum: int = 0, unit_col: str | None = None) -> list[Plan]:
    """Plans for SRS, and given a population: a stratified allocation (``strata``, a
    :class:`samplers.Strata` or column names) and an importance design on ``score``.

    ``p`` is the anticipated prevalence; without it, the score's mean is used. Per stratum the
    prior is the score's stratum mean rescaled to p (or p itself when there is no score).
    """
    from samplers.strata import Strata, fit_strata

    if population is None:
        if p is None:
            raise DesignError("give the anticipated prevalence --p (or a population with a "
                              "--score to take it from)")
        return [plan_srs(margin, p, level)]
    N = len(population)
    s = None
    if score is not None:
        if score not in population.columns:
            raise DesignError(f"population has no score column {score!r}")
        s = pd.to_numeric(population[score], errors="coerce").to_numpy(np.float64)
    if p is None:
        if s is None:
            raise DesignError("give --p, or --score to take the prevalence from")
        p = float(np.nanmean(s))
    plans = [plan_srs(margin, p, level, N=N)]
    spec = Strata.coerce(strata)
    if spec.input_columns:
        table = pa_table(population)
        id_col = unit_col or next((c for c in ("unit_id", "impression_id", "item_id")
                                   if c in population.columns), None)
        if id_col is None:
            raise DesignError("no unit id column in the population (pass --unit-col)")
        labels = fit_strata(spec, [table], id_col).labels(table)
        names, codes = np.unique(labels.astype(str), return_inverse=True)
        N_h = np.bincount(codes)
        if s is not None:
            p_h = np.bincount(codes, weights=s) / N_h
            p_h = np.clip(p_h * p / (np.dot(N_h, p_h) / N), 0.0, 1.0)
        else:
            p_h = np.full(len(N_h), p)
        plans.append(plan_stratified(margin, N_h, p_h, level, allocation,
                                     labels=names.tolist(), min_per_stratum=min_per_stratum))
    if s is not None:
        plans.append(plan_importance(margin, s, level, mixture, p))
    return plans


def pa_table(df: pd.DataFrame):
    import pyarrow as pa

    return pa.Table.from_pandas(df, preserve_index=False)
