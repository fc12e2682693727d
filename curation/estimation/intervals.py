"""Confidence intervals: t, Korn–Graubard (R ``svyciprop(method="beta")``), Wilson, zero cases.

Proportions never get an interval outside [0, 1], nor one of zero width at 0 or 1: when no
sampled unit of a domain is positive (or all are), the design variance is 0 and every two-sided
method collapses, so the interval is one-sided — ``[0, U]`` with ``U`` the exact (1-α)
Clopper–Pearson upper bound for 0 successes in Kish's effective size ``(Σw)²/Σw²`` of the
domain, ``U = 1 - α^{1/n_eff}``, what a trust-and-safety report publishes ("fewer than U").

The HT total of a 0/1 label (a count of sensitive items) in a domain gets the same interval on
the scale of ``Ŷ_d/N_d`` (``N_d`` the domain's size), multiplied back by ``N_d``: a t interval
undercovers such skewed, rare counts (Monte Carlo: 0.91 at 0.5% prevalence).

Which method by default (``auto``), chosen by Monte Carlo (bench/ESTIMATION.md, "Intervals under
skew"): under stratified SRSWOR with equal weights, Korn–Graubard, which holds there (it is
Clopper–Pearson on the
effective size; a mid-p interval dipped to 0.931 at one (n, p)). Under Poisson, Poisson PPS and
priority designs a few positives carry large weights and the estimator is right-skewed:
Korn–Graubard's upper bound then misses up to 7% of the time in a domain (a 95% interval may miss
2.5% per tail), so ``auto`` is the mid-p gamma interval (:func:`gamma_interval`), whose extra
count weighs (:func:`unseen_weight`) a mean sampled unit when the size measure demonstrably
predicts the label, else a mean population unit: with a label the score was not built for,
positives are spread over heavily weighted units and the smaller weight misses high 5–6% of the
time. The gamma interval rests on a Poisson premise (rare events): for ``min(p, 1-p) > 0.1`` it
is Korn–Graubard (and says so in ``ci_method``). ``beta`` everywhere gives output comparable with
R ``svyciprop(method="beta")``.

Stratified designs whose strata differ sharply in prevalence (stratified by a model's label,
Neyman allocation: the predicted-negative stratum is large, heavily weighted and nearly free of
positives) make the estimate a weighted sum of a few heavy counts and many light ones. Its
variance is small (that is the design's gain) but its skewness comes from the few heavy counts:
Korn–Graubard's effective size and the gamma's ``p²/V`` shape both take it for a sum of hundreds
of counts, and the upper bound misses (Monte Carlo at 0.4% prevalence, a label of sensitivity 0.9
and specificity 0.995: Korn–Graubard 0.73–0.94 coverage, the truth above the interval 5–27% of
the time; tests/curation/estimation/test_model_assisted_coverage.py). The upper bound of
``skew`` (:func:`skew_gamma_interval`) matches the third moment as well: the observed part is a
shifted gamma whose counts weigh the heaviest sampled positive (the bound ``κ₃ ≤ 2·w_max·V`` of
a weighted sum of counts), the unseen positive is :func:`unseen_weight`'s, the bound is mid-p;
its lower bound is ``gamma``'s (overstating the skewness would raise it). With equal weights the
estimate is one count and ``skew`` is Korn–Graubard, which holds there where a mid-p interval
dips (0.936 against 0.948 under stratified SRS by market of a label the score was not built
for, 500 replicates). Under Neyman allocation on score bins (issue 13's populations) it covers
as Korn–Graubard does (0.952–0.966 against 0.954–0.968, 500 replicates). So ``auto`` under
SRSWOR is ``skew`` when the allocation is disproportionate (sampling fractions
:data:`DISPROPORTIONATE` times apart across strata, as Neyman allocation on a model's label
makes them), else Korn–Graubard (R's method): under near-proportional allocation ``skew``'s
mid-p lower bound dips (0.931 in test_coverage.py's stratified design with an unrelated score),
and its price under disproportion is width in small domains (there it over-covers). ``beta``
gives R's intervals everywhere.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from schemas import DesignError

from .estimators import Estimate

METHODS = ("auto", "beta", "gamma", "skew", "wilson", "normal")
AUTO = {"srswor": "beta", "poisson": "gamma"}  # by design kind; bench/ESTIMATION.md says why
DISPROPORTIONATE = 2.0  # sampling fractions this far apart across strata: ``auto`` is ``skew``
RARE = 0.1  # the gamma interval's Poisson premise: min(p, 1-p) at most this, else Korn–Graubard
INFORMED = 0.05  # the size measure predicts y when its positives are this clearly lighter
CENSUS_TOLERANCE = 1e-12  # a variance below this × p(1-p) is rounding noise of an exact 0


def check_level(level: float) -> float:
    """The level as a float in (0, 1), or a DesignError."""
    try:
        value = float(level)
    except (TypeError, ValueError):
        raise DesignError(f"level must be a number in (0, 1), got {level!r}") from None
    if not 0.0 < value < 1.0:
        raise DesignError(f"level must be in (0, 1) (e.g. 0.95), got {level!r}")
    return value


def resolve_method(method: str, kind: str, fractions: np.ndarray | None = None) -> str:
    """The interval method ``auto`` stands for under a design kind and, for SRSWOR, its
    strata's sampling fractions ``n_h/N_h`` (others are themselves)."""
    if method not in METHODS:
        raise DesignError(f"unknown interval method {method!r}; expected one of {list(METHODS)}")
    if method != "auto":
        return method
    if kind == "srswor" and fractions is not None and disproportionate(fractions):
        return "skew"
    return AUTO[kind]


def disproportionate(fractions: np.ndarray) -> bool:
    """Whether the sampled strata's fractions ``n_h/N_h`` differ :data:`DISPROPORTIONATE`-fold.

    >>> disproportionate(np.array([0.01, 0.012])), disproportionate(np.array([0.025, 0.6]))
    (False, True)
    """
    f = np.asarray(fractions, np.float64)
    f = f[np.isfinite(f) & (f > 0)]
    return bool(f.size > 1 and f.max() > DISPROPORTIONATE * f.min())


def t_interval(estimate: float, se: float, df: int, level: float) -> tuple[float, float]:
    """``estimate ± t_{df, 1-α/2} · se``."""
    from scipy import special  # the quantile functions directly: scipy.stats costs ~0.4 s

    q = special.stdtrit(df, 0.5 + level / 2.0)  # = stats.t.ppf, to the bit
    return estimate - q * se, estimate + q * se


def korn_graubard(p: float, var: float, n: int, df: int, level: float) -> tuple[float, float]:
    """Clopper–Pearson on the effective sample size, exactly as R ``svyciprop(method="beta")``.

    ``n_eff = p(1-p)/V · (t_{n-1,α/2} / t_{df,α/2})²``; ``[B(α/2; n_eff p, n_eff(1-p)+1),
    B(1-α/2; n_eff p+1, n_eff(1-p))]`` with ``B`` the beta quantile.

    Examples
    --------
    >>> lo, hi = korn_graubard(0.1, 0.0009, 100, 99, 0.95)
    >>> round(lo, 4), round(hi, 4)
    (0.049, 0.1762)
    """
    from scipy import special

    alpha = 1.0 - level
    n_eff = p * (1.0 - p) / var
    # the quantile functions of the t and beta distributions themselves (equal to
    # ``stats.t.ppf`` and ``stats.beta.ppf`` to the bit, without their ~0.15 ms argument checks)
    n_eff *= (special.stdtrit(max(n - 1, 1), alpha / 2) / special.stdtrit(df, alpha / 2)) ** 2
    lo = special.betaincinv(n_eff * p, n_eff * (1.0 - p) + 1.0, alpha / 2)
    hi = special.betaincinv(n_eff * p + 1.0, n_eff * (1.0 - p), 1 - alpha / 2)
    return float(lo), float(hi)


def unseen_weight(e: Estimate) -> float:
    """The normalized weight of "one more positive" in :func:`gamma_interval`.

    A positive the sample missed may carry any weight. When the design's size measure predicts
    the label (its positives carry lighter weights than its negatives, one-sided Mann–Whitney
    p < :data:`INFORMED`), the mean weight of a sampled unit, ``1/n``; otherwise — a label the
    score was not built for, or equal weights — the mean weight of a population unit,
    ``Σw²/(Σw)² = 1/n_Kish``, which is what a positive placed at random weighs.
    """
    if np.isfinite(e.lighter_positives_p) and e.lighter_positives_p < INFORMED:
        return 1.0 / e.n
    return 1.0 / e.kish_n if np.isfinite(e.kish_n) and e.kish_n > 0 else 1.0 / e.n


def gamma_interval(p: float, var: float, a: float, level: float) -> tuple[float, float]:
    """Mid-p gamma interval of a weighted sum of rare counts (Fay & Feuer 1997; Fay & Kim 2017).

    The estimate is taken as a gamma variable with its mean ``p`` and variance ``V``
    (shape ``p²/V``, scale ``V/p``); the gamma with one more count of normalized weight ``a``
    has shape ``(p+a)²/(V+a²)`` and scale ``(V+a²)/(p+a)``. Each bound solves the mean of the
    two distribution functions at ``α/2`` and ``1-α/2`` (mid-p), the gamma analogue of the
    mid-p Poisson interval: exact intervals (one CDF each) are conservative.

    Examples
    --------
    >>> lo, hi = gamma_interval(0.004, 1e-6, 1 / 2000, 0.95)
    >>> round(lo, 5), round(hi, 5)
    (0.0024, 0.00665)
    """
    from scipy import optimize, special

    alpha = 1.0 - level
    # (shape, scale) of each; the gamma's ppf and cdf are these special functions
    g0 = (p * p / var, var / p)
    g1 = ((p + a) ** 2 / (var + a * a), (var + a * a) / (p + a))

    def ppf(g: tuple[float, float], q: float) -> float:
        return g[1] * float(special.gammaincinv(g[0], q))

    def cdf(g: tuple[float, float], t: float) -> float:
        return float(special.gammainc(g[0], t / g[1]))

    def bound(q: float) -> float:
        lo, hi = sorted((ppf(g0, q), ppf(g1, q)))
        if hi - lo <= 1e-15 * max(hi, 1e-300):
            return lo
        return float(optimize.brentq(lambda t: 0.5 * (cdf(g0, t) + cdf(g1, t)) - q, lo, hi,
                                     xtol=1e-14 * hi, rtol=1e-12))

    return bound(alpha / 2), min(bound(1 - alpha / 2), 1.0)


def skew_gamma_interval(p: float, var: float, s: float, a: float, level: float,
                        ) -> tuple[float, float]:
    """Mid-p interval of a weighted sum of rare counts whose skewness the heavy counts carry.

    Upper bound: the estimate is a gamma shifted to mean ``p`` and variance ``V`` whose unit is
    ``s`` (the largest normalized weight of a sampled positive, at least ``V/p``): shape
    ``V/s²``, location ``p − V/s``, so its third cumulant ``2sV`` is the bound for counts no
    heavier than ``s``; one more count of weight ``a`` adds ``a``, ``a²`` and ``2a³`` to the
    three cumulants, matched by a second shifted gamma; the bound solves the mean of the two
    distribution functions at ``1 − α/2`` (mid-p). The skewness is known only as that bound, and
    overstating it raises the lower bound too, so the lower bound takes the least skewed
    reading, unit ``V/p``: :func:`gamma_interval`'s. Both equal the mid-p Poisson interval when
    ``s = a = 1/n`` and ``V = p/n``.

    Examples
    --------
    >>> lo, hi = skew_gamma_interval(0.004, 0.004 / 2000, 1 / 2000, 1 / 2000, 0.95)
    >>> g = gamma_interval(0.004, 0.004 / 2000, 1 / 2000, 0.95)
    >>> bool(abs(lo - g[0]) < 1e-12 and abs(hi - g[1]) < 1e-12)
    True
    >>> round(lo, 5), round(hi, 5)
    (0.00186, 0.0076)
    >>> lo, hi = skew_gamma_interval(0.004, 1e-7, 1 / 500, 1 / 2000, 0.95)  # a heavy positive
    >>> g = gamma_interval(0.004, 1e-7, 1 / 2000, 0.95)
    >>> bool(abs(lo - g[0]) < 1e-12 * g[0] and hi > g[1])
    True
    """
    from scipy import optimize, special

    alpha = 1.0 - level
    s = max(s, var / p)
    s1 = (s * var + a ** 3) / (var + a * a)
    # (shape, location, scale) of each; special functions directly: a call costs µs, not ms
    upper = ((var / (s * s), p - var / s, s),
             ((var + a * a) / (s1 * s1), p + a - (var + a * a) / s1, s1))
    lower = ((p * p / var, 0.0, var / p),  # gamma_interval's pair
             ((p + a) ** 2 / (var + a * a), 0.0, (var + a * a) / (p + a)))

    def ppf(k: float, loc: float, scale: float, q: float) -> float:
        return loc + scale * float(special.gammaincinv(k, q))

    def cdf(k: float, loc: float, scale: float, t: float) -> float:
        return float(special.gammainc(k, (t - loc) / scale)) if t > loc else 0.0

    def bound(g: tuple, q: float) -> float:
        lo, hi = sorted((ppf(*g[0], q), ppf(*g[1], q)))
        if hi - lo <= 1e-15 * max(abs(hi), 1e-300):
            return lo
        return float(optimize.brentq(lambda t: 0.5 * (cdf(*g[0], t) + cdf(*g[1], t)) - q,
                                     lo, hi, xtol=1e-14 * max(abs(hi), 1e-300), rtol=1e-12))

    return max(bound(lower, alpha / 2), 0.0), min(bound(upper, 1 - alpha / 2), 1.0)


def wilson(p: float, var: float, df: int, level: float) -> tuple[float, float]:
    """Wilson's score interval on the effective size ``p(1-p)/V``, with the t quantile."""
    from scipy import special

    n = p * (1.0 - p) / var
    z = special.stdtrit(df, 0.5 + level / 2.0)
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def one_sided_bound(kish_n: float, level: float, at_one: bool = False) -> tuple[float, float]:
    """``[0, 1 - α^{1/n}]`` for zero positives (``[α^{1/n}, 1]`` when all are positive)."""
    from scipy import special

    alpha = 1.0 - level
    edge = float(special.betaincinv(1.0, kish_n, level))  # = 1 - α^(1/n)
    return (alpha ** (1.0 / kish_n), 1.0) if at_one else (0.0, edge)


def equal_weights(e: Estimate) -> bool:
    """Whether every unit of the domain weighs the same (its largest weight is the mean): the
    estimate is then one count, and ``skew`` is Korn–Graubard, which holds there (issue 13)."""
    return bool(np.isfinite(e.weight_max) and e.weight_max * e.n <= e.weight_sum * (1 + 1e-9))


def proportion_interval(e: Estimate, level: float, method: str = "beta",
                        ) -> tuple[float, float, str]:
    """(low, high, method used) for a proportion estimate; see the module docstring."""
    p = e.estimate
    if p <= 0.0 or p >= 1.0:
        lo, hi = one_sided_bound(e.kish_n, level, at_one=p >= 1.0)
        return lo, hi, "one-sided upper" if p <= 0.0 else "one-sided lower"
    if e.var <= CENSUS_TOLERANCE * p * (1.0 - p):  # zero up to rounding: n_eff > 1e12
        return p, p, "census"
    if method == "beta":
        lo, hi = korn_graubard(p, e.var, e.n, e.df, level)
    elif method == "gamma" and min(p, 1.0 - p) <= RARE:
        a = unseen_weight(e)
        if p <= 0.5:
            lo, hi = gamma_interval(p, e.var, a, level)
        else:  # the rare outcome is the negative one: the interval of 1 - p, reflected
            q_lo, q_hi = gamma_interval(1.0 - p, e.var, a, level)
            lo, hi = 1.0 - q_hi, 1.0 - q_lo
    elif method == "skew" and min(p, 1.0 - p) <= RARE and not equal_weights(e):
        a, heavy = unseen_weight(e), e.nonzero_weight_max / e.weight_sum
        if p <= 0.5:  # the heaviest sampled positive sets the skew (none: the unseen one's)
            s = heavy if np.isfinite(heavy) and heavy > 0 else a
            lo, hi = skew_gamma_interval(p, e.var, s, a, level)
        else:  # the rare outcome is the negative one: its weights are unknown here, so a
            q_lo, q_hi = skew_gamma_interval(1.0 - p, e.var, a, a, level)
            lo, hi = 1.0 - q_hi, 1.0 - q_lo
    elif method in ("gamma", "skew"):  # not rare (or one count): Korn–Graubard holds
        lo, hi = korn_graubard(p, e.var, e.n, e.df, level)
        method = "beta"
    elif method == "wilson":
        lo, hi = wilson(p, e.var, e.df, level)
    elif method == "normal":
        lo, hi = t_interval(p, e.se, e.df, level)
        lo, hi = max(0.0, lo), min(1.0, hi)
    else:
        raise DesignError(f"unknown interval method {method!r}; expected one of {list(METHODS)}")
    return lo, hi, method


def count_interval(e: Estimate, N: float | None, level: float, method: str = "beta",
                   ) -> tuple[float, float, str]:
    """Interval of the HT count ``Ŷ_d`` of a 0/1 y in a domain of size ``N`` (``N_d``).

    :func:`proportion_interval` of ``Ŷ_d/N_d`` with variance ``V(Ŷ_d)/N_d²``, times ``N_d``, so
    no bound exceeds the domain's size. With ``N`` unknown (None) the domain's estimated size
    ``N̂_d = Σ_d w`` takes its place; ``V(Ŷ_d)`` already carries the variability of ``N̂_d``.
    """
    scale = e.weight_sum if N is None or not np.isfinite(N) else float(N)
    if not 0.0 <= e.estimate <= scale:
        lo, hi = t_interval(e.estimate, e.se, e.df, level)
        return max(lo, 0.0), min(hi, scale), "t"
    lo, hi, used = proportion_interval(replace(e, estimate=e.estimate / scale,
                                               var=e.var / scale ** 2), level, method)
    return lo * scale, hi * scale, used
