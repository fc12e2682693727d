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

import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, wraps
from typing import TypeVar

import numpy as np
from scipy import special

from .survey_design import SurveyDesign

F = TypeVar("F", bound=Callable)
_blas = {"callers": 0, "limits": None}  # the calls inside one_blas_thread now, their limits
_blas_lock = threading.Lock()


def one_blas_thread(fn: F) -> F:
    """``fn`` with BLAS held to one thread while it runs (threadpoolctl).

    OpenBLAS splits a dot product of more than 10,000 values across its threads: the sum's last
    bits then depend on how many cores the machine has, and waking the threads costs more than
    the sum (a domain of 10^5 units: 2.5 ms on one thread, ~25 ms of CPU on two, ten times the
    wall time when the machine is busy). On one thread a table's numbers do not depend on the
    core count. The limit is process-wide: the first caller sets it and the last one to return
    restores it, so nested and concurrent calls leave BLAS as they found it. (Called from a
    thread other than the main one, the limit may not hold: OpenBLAS 0.3.29 ignores a thread
    count set from such a thread once the main thread has set one.)
    """

    @wraps(fn)
    def run(*args, **kwargs):
        with _blas_lock:
            if not _blas["callers"]:
                from threadpoolctl import threadpool_limits

                _blas["limits"] = threadpool_limits(1, user_api="blas")
            _blas["callers"] += 1
        try:
            return fn(*args, **kwargs)
        finally:
            with _blas_lock:
                _blas["callers"] -= 1
                if not _blas["callers"]:
                    _blas["limits"].restore_original_limits()

    return run  # type: ignore[return-value]


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


@dataclass(frozen=True, eq=False)
class Domain:
    """A domain's units (indices, ascending) and what every estimate over it shares whatever
    the label: made once per domain by :func:`domain_of`, reused for each ``y``."""

    units: np.ndarray
    weight: np.ndarray
    df: int

    @cached_property
    def weight_sum(self) -> float:
        return float(self.weight.sum())

    @cached_property
    def kish_n(self) -> float:
        w = self.weight
        return float(w.sum() ** 2 / np.dot(w, w)) if w.size else 0.0

    @cached_property
    def weight_max(self) -> float:
        return _max_weight(self.weight)

    @cached_property
    def ones_dot(self) -> float:
        """``Σ w·1`` as the Hájek mean's denominator computes it (a dot product, not a sum)."""
        return np.dot(self.weight, np.ones(self.weight.size))

    @cached_property
    def ties(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``np.unique`` of the weights with inverse and counts: the Mann–Whitney ranks."""
        return np.unique(self.weight, return_inverse=True, return_counts=True)


def domain_of(design: SurveyDesign, domain: np.ndarray | None = None) -> Domain:
    """The :class:`Domain` of a mask over the design's units (None: every unit)."""
    d = _mask(design, domain)
    units = np.flatnonzero(d)  # the domain's units: every step after this costs n_d, not n
    return Domain(units, design.weight[units], design.df(d))


def _srs_var_of_mean(w: np.ndarray, yd: np.ndarray) -> float:
    """R's ``svyvar(y) · (N̂ - n)/(N̂ n)`` over a domain's weights ``w`` and values ``yd``."""
    n = w.size
    if n < 2:
        return float("nan")
    N = w.sum()
    mean = np.dot(w, yd) / N
    s2 = np.dot(w, (yd - mean) ** 2) / N * n / (n - 1)
    return float(s2 * (N - n) / (N * n)) if n < N else float("nan")


def _deff(var: float, vsrs: float) -> float:
    return float(var / vsrs) if np.isfinite(vsrs) and vsrs > 0 else float("nan")


def _estimate(dom: Domain, est: float, var: float, deff: float, shared: tuple) -> Estimate:
    return Estimate(float(est), float(var), int(dom.units.size), dom.df, deff, dom.weight_sum,
                    dom.kish_n, dom.weight_max, *shared)


def _shared(dom: Domain, yd: np.ndarray) -> tuple[int, float, float]:
    """What a mean and a total of the same ``y`` over ``dom`` share: positives, heaviest
    positive, the Mann–Whitney p-value."""
    return (int(np.count_nonzero(yd)), _max_weight(dom.weight[yd != 0]),
            _lighter_positives(dom.weight, yd, lambda: dom.ties))


def lighter_positives(w: np.ndarray, y: np.ndarray) -> float:
    """One-sided p-value (Mann–Whitney) that a 0/1 ``y``'s positives carry lighter weights than
    its negatives: small when the design's size measure predicts ``y`` (positives oversampled),
    NaN for a non-binary ``y`` or when either group is empty."""
    return _lighter_positives(w, y, lambda: np.unique(w, return_inverse=True,
                                                      return_counts=True))


def _lighter_positives(w: np.ndarray, y: np.ndarray, ties) -> float:
    """:func:`lighter_positives`, ``ties()`` giving ``np.unique(w)`` with inverse and counts
    (computed once per domain when many labels share it)."""
    if y.size == 0 or not ((y == 0.0) | (y == 1.0)).all():
        return float("nan")
    pos = y == 1.0
    n1 = int(np.count_nonzero(pos))
    n2 = y.size - n1
    if not n1 or not n2 or np.ptp(w) == 0:
        return float("nan")
    values, inverse, t = ties()
    if (n1 <= 8 or n2 <= 8) and t.max() == 1:  # scipy's exact distribution
        from scipy import stats  # ~0.5 s to import: only for this rare case

        return float(stats.mannwhitneyu(w[pos], w[~pos], alternative="less").pvalue)
    # scipy's asymptotic p-value, term for term (average ranks are half-integers: the sums are
    # exact, so the result is the same to the bit), without its per-call overhead (~1 ms)
    ranks = np.cumsum(t) - (t - 1) / 2.0
    U2 = n1 * n2 - (float(ranks[inverse[pos]].sum()) - n1 * (n1 + 1) / 2)
    t = t.astype(np.float64)
    n = n1 + n2
    s = np.sqrt(n1 * n2 / 12 * ((n + 1) - np.sum(t ** 3 - t) / (n * (n - 1))))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (U2 - n1 * n2 / 2 - 0.5) / s
    return float(np.clip(special.ndtr(-z), 0.0, 1.0))


def _max_weight(w: np.ndarray) -> float:
    return float(w.max()) if w.size else float("nan")


def _total(design: SurveyDesign, yd: np.ndarray, dom: Domain, vsrs: float,
           shared: tuple) -> Estimate:
    x = dom.weight * yd
    var = design.domain_variance(dom.units, x)
    N = dom.weight.sum()
    return _estimate(dom, x.sum(), var, _deff(var, vsrs * N ** 2), shared)


def _mean(design: SurveyDesign, yd: np.ndarray, dom: Domain, vsrs: float,
          shared: tuple) -> Estimate:
    w, X = dom.weight, dom.ones_dot
    R = np.dot(w, yd) / X
    var = design.domain_variance(dom.units, w * ((yd - R) / X))
    return _estimate(dom, R, var, _deff(var, vsrs), shared)


def ht_total(design: SurveyDesign, y: np.ndarray, domain: np.ndarray | None = None) -> Estimate:
    """Horvitz–Thompson total ``Σ w y`` over the domain, with its design variance."""
    dom = domain_of(design, domain)
    yd = np.asarray(y, np.float64)[dom.units]
    return _total(design, yd, dom, _srs_var_of_mean(dom.weight, yd), _shared(dom, yd))


def domain_estimates(design: SurveyDesign, y: np.ndarray, dom: Domain,
                     ) -> tuple[Estimate, Estimate]:
    """(:func:`hajek_mean`, :func:`ht_total`) of ``y`` over ``dom``, the same numbers to the
    bit, sharing the work the two have in common (and, through ``dom``, with other labels).

    Examples
    --------
    >>> import numpy as np
    >>> from curation.estimation.survey_design import SurveyDesign
    >>> d = SurveyDesign("poisson", np.zeros(4, int), ("all",), np.full(4, .5), np.full(4, 2.))
    >>> y = np.array([1., 0., 0., 1.])
    >>> mean, total = domain_estimates(d, y, domain_of(d))
    >>> mean.estimate == hajek_mean(d, y).estimate, mean.var == hajek_mean(d, y).var
    (True, True)
    >>> total.estimate, total.var == ht_total(d, y).var
    (4.0, True)
    """
    yd = np.asarray(y, np.float64)[dom.units]
    vsrs = _srs_var_of_mean(dom.weight, yd)
    shared = _shared(dom, yd)
    return _mean(design, yd, dom, vsrs, shared), _total(design, yd, dom, vsrs, shared)


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
    dom = domain_of(design, domain)
    units, w = dom.units, dom.weight
    yd, xd = y[units], x[units]
    if np.all(xd == 1.0):  # a mean: x·R is R, Σ w x is dom.ones_dot
        return _mean(design, yd, dom, _srs_var_of_mean(w, yd), _shared(dom, yd))
    X = np.dot(w, xd)
    R = np.dot(w, yd) / X
    var = design.domain_variance(units, w * ((yd - R * xd) / X))
    xbar = X / w.sum()
    vsrs = _srs_var_of_mean(w, (y - R * x)[units]) / xbar ** 2
    return _estimate(dom, R, var, _deff(var, vsrs), _shared(dom, yd))


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
