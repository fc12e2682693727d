"""Representation metrics: catalogue share, exposure-weighted recommendation share, their ratio,
prevalence per group and the difference between two groups — each with a CI.

* **Catalogue share** of group g: known exactly from the population file (SE 0), or the Hájek
  proportion of ``1[group = g]`` in a catalogue sample.
* **Exposure share** of g among recommendations: ``Σ_i e_i 1_g(i) / Σ_i e_i`` over all
  impressions, with ``e = 1/log2(position+1)`` (what people saw: the DCG position discount, the
  same measure as ``ImportanceSampler(size='exposure')``). From an impression sample it is the
  ratio estimator ``Σ w e 1_g / Σ w e`` with a linearized variance. With an exposure-PPS sample
  ``w·e`` is nearly constant, which makes this estimate efficient.
* **Representation ratio** exposure share / catalogue share: delta method on the log scale
  (``Var log r = V_rec/R² + V_cat/C²``, the two samples independent; ``V_cat = 0`` when known),
  interval ``exp(log r ± t·SE_log)`` so it stays positive.
* **Prevalence difference** between groups a and b on one sample: the linearized scores of the
  two domain means are subtracted before the design variance, so their covariance counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from schemas import DesignError

from .estimators import Estimate, hajek_mean, linear_combination, mean_score, ratio
from .survey_design import SurveyDesign


@dataclass(frozen=True)
class Interval:
    """A derived metric with its SE and interval."""

    estimate: float
    se: float
    ci_low: float
    ci_high: float


def exposure(position: np.ndarray) -> np.ndarray:
    """The position discount ``1/log2(position+1)`` of each impression (positions ≥ 1)."""
    position = np.asarray(position, np.float64)
    if np.any(~np.isfinite(position)) or np.any(position < 1):
        raise DesignError("positions must be integers ≥ 1")
    return 1.0 / np.log2(position + 1.0)


def known_share(population: pd.DataFrame, column: str, group: str) -> Estimate:
    """The exact share of ``group`` in a population table (variance 0)."""
    if column not in population.columns:
        raise DesignError(f"population has no column {column!r}")
    share = float((population[column].astype(str) == group).mean())
    n = len(population)
    return Estimate(share, 0.0, n, max(n - 1, 1), float("nan"), float(n), float(n))


def exposure_share(design: SurveyDesign, in_group: np.ndarray, position: np.ndarray,
                   ) -> Estimate:
    """Share of exposure-weighted impressions going to the group (ratio estimator)."""
    e = exposure(position)
    return ratio(design, e * np.asarray(in_group, float), e)


def representation_ratio(rec: Estimate, cat: Estimate, level: float = 0.95) -> Interval:
    """Exposure share over catalogue share, delta method on the log scale (independent)."""
    if rec.estimate <= 0 or cat.estimate <= 0:
        raise DesignError("a representation ratio needs positive shares (the group has no "
                          "sampled impression or item)")
    r = rec.estimate / cat.estimate
    se_log = np.sqrt(rec.var / rec.estimate ** 2 + cat.var / cat.estimate ** 2)
    q = stats.t.ppf(0.5 + level / 2, rec.df)
    return Interval(r, r * se_log, r * np.exp(-q * se_log), r * np.exp(q * se_log))


def prevalence_difference(design: SurveyDesign, y: np.ndarray, a: np.ndarray, b: np.ndarray,
                          level: float = 0.95) -> Interval:
    """Prevalence in domain ``a`` minus prevalence in domain ``b``, t interval (df n - H)."""
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    if not a.any() or not b.any():
        raise DesignError("both groups need sampled units to compare their prevalence")
    ea, eb = hajek_mean(design, y, a), hajek_mean(design, y, b)
    est, var = linear_combination(design, [(1.0, ea, mean_score(design, y, a)),
                                           (-1.0, eb, mean_score(design, y, b))])
    se = float(np.sqrt(var))
    q = stats.t.ppf(0.5 + level / 2, design.df(a | b))
    return Interval(est, se, est - q * se, est + q * se)
