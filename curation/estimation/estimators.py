"""Horvitz–Thompson totals, Hájek means and proportions, ratios — per domain, by linearization.

Every estimator is a smooth function of weighted totals; its variance is the design variance of
``Σ w_i z_i`` for the linearized score ``z`` (Woodruff):

* total ``Ŷ = Σ w y d``: ``z = y d``;
* mean / proportion ``R̂ = Σ w y d / Σ w d``: ``z = d (y - R̂) / N̂_d``;
* ratio ``R̂ = Σ w y d / Σ w x d``: ``z = d (y - R̂ x) / X̂_d``;

where ``d`` is the domain indicator. Domains keep the whole sample (units outside score 0), so
their variance is right when the domain cuts across strata. The design effect is R survey's
(``deff=TRUE``): the variance over that of simple random sampling of the domain's ``n`` units
with replacement-free correction ``1 - n/N̂``; ``n_eff = n / deff``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from .survey_design import SurveyDesign


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its design variance and what the intervals need."""

    estimate: float
    var: float
    n: int
    df: int
    deff: float
    weight_sum: float
    kish_n: float
    weight_max: float = float("nan")
    nonzero: int = -1
    nonzero_weight_max: float = float("nan")
    lighter_positives_p: float = float("nan")

    @property
    def se(self) -> float:
        return float(np.sqrt(self.var))

    @property
    def n_eff(self) -> float:
        """``n / deff`` (Kish's ``(Σw)²/Σw²`` of the domain when deff is undefined)."""
        if np.isfinite(self.deff) and self.deff > 0:
            return self.n / self.deff
        return self.kish_n


def _mask(design: SurveyDesign, domain: np.ndarray | None) -> np.ndarray:
    return np.ones(design.n, bool) if domain is None else np.asarray(domain, bool)


def _srs_var_of_mean(design: SurveyDesign, y: np.ndarray, d: np.ndarray) -> float:
    """R's ``svyvar(y) · (N̂ - n)/(N̂ n)`` over the domain's units."""
    w = design.weight[d]
    n = w.size
    if n < 2:
        return float("nan")
    N = w.sum()
    yd = y[d]
    mean = np.dot(w, yd) / N
    s2 = np.dot(w, (yd - mean) ** 2) / N * n / (n - 1)
    return float(s2 * (N - n) / (N * n)) if n < N else float("nan")


def _finish(design: SurveyDesign, est: float, var: float, d: np.ndarray,
            vsrs: float, y: np.ndarray) -> Estimate:
    w = design.weight[d]
    with np.errstate(invalid="ignore", divide="ignore"):
        deff = var / vsrs if np.isfinite(vsrs) and vsrs > 0 else float("nan")
    kish = float(w.sum() ** 2 / np.dot(w, w)) if w.size else 0.0
    return Estimate(float(est), float(var), int(d.sum()), design.df(d), float(deff),
                    float(w.sum()), kish, _max_weight(w),
                    int(np.count_nonzero(y[d])), _max_weight(w[y[d] != 0]),
                    lighter_positives(w, y[d]))


def lighter_positives(w: np.ndarray, y: np.ndarray) -> float:
    """One-sided p-value (Mann–Whitney) that a 0/1 ``y``'s positives carry lighter weights than
    its negatives: small when the design's size measure predicts ``y`` (positives oversampled),
    NaN for a non-binary ``y`` or when either group is empty."""
    if y.size == 0 or not np.isin(y, (0.0, 1.0)).all():
        return float("nan")
    pos, neg = w[y == 1.0], w[y == 0.0]
    if not pos.size or not neg.size or np.ptp(w) == 0:
        return float("nan")
    return float(stats.mannwhitneyu(pos, neg, alternative="less").pvalue)


def _max_weight(w: np.ndarray) -> float:
    return float(w.max()) if w.size else float("nan")


def ht_total(design: SurveyDesign, y: np.ndarray, domain: np.ndarray | None = None) -> Estimate:
    """Horvitz–Thompson total ``Σ w y`` over the domain, with its design variance."""
    y = np.asarray(y, np.float64)
    d = _mask(design, domain)
    x = design.weight * np.where(d, y, 0.0)
    var = design.variance(x)
    N = design.weight[d].sum()
    vsrs = _srs_var_of_mean(design, y, d) * N ** 2
    return _finish(design, x.sum(), var, d, vsrs, y)


def hajek_mean(design: SurveyDesign, y: np.ndarray,
               domain: np.ndarray | None = None) -> Estimate:
    """Hájek mean (a proportion for 0/1 ``y``) ``Σ w y / Σ w`` over the domain.

    Examples
    --------
    >>> import numpy as np
    >>> from curation.estimation.survey_design import SurveyDesign
    >>> d = SurveyDesign("poisson", np.zeros(4, int), ("all",), np.full(4, .5), np.full(4, 2.))
    >>> e = hajek_mean(d, np.array([1., 0., 0., 1.]))
    >>> round(e.estimate, 3), round(e.se, 4)
    (0.5, 0.1768)
    """
    return ratio(design, y, np.ones(design.n), domain)


def ratio(design: SurveyDesign, y: np.ndarray, x: np.ndarray,
          domain: np.ndarray | None = None) -> Estimate:
    """Ratio of HT totals ``Σ w y / Σ w x`` over the domain, linearized variance."""
    y = np.asarray(y, np.float64)
    x = np.asarray(x, np.float64)
    d = _mask(design, domain)
    w = design.weight
    X = np.dot(w[d], x[d])
    R = np.dot(w[d], y[d]) / X
    z = np.where(d, (y - R * x) / X, 0.0)
    var = design.variance(w * z)
    if np.all(x[d] == 1.0):
        vsrs = _srs_var_of_mean(design, y, d)
    else:
        xbar = X / w[d].sum()
        vsrs = _srs_var_of_mean(design, y - R * x, d) / xbar ** 2
    return _finish(design, R, var, d, vsrs, y)


def linear_combination(design: SurveyDesign, parts: list[tuple[float, Estimate, np.ndarray]],
                       ) -> tuple[float, float]:
    """Estimate and variance of ``Σ c_k θ_k`` from each part's coefficient and score ``w z_k``.

    Used for differences between domains on one sample: the scores are summed before the design
    variance, so their covariance is accounted for.
    """
    est = sum(c * e.estimate for c, e, _ in parts)
    x = sum(c * s for c, _, s in parts)
    return float(est), float(design.variance(x))


def mean_score(design: SurveyDesign, y: np.ndarray, domain: np.ndarray) -> np.ndarray:
    """The weighted linearized score ``w z`` of the Hájek mean of ``y`` in ``domain``."""
    y = np.asarray(y, np.float64)
    d = np.asarray(domain, bool)
    w = design.weight
    N = w[d].sum()
    R = np.dot(w[d], y[d]) / N
    return w * np.where(d, (y - R) / N, 0.0)
