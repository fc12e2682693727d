"""Sample-size planning: how many labels for an interval half-width ``m`` at level ``1-α`` on a
prevalence, under the interval that ``curate estimate`` will publish.

**The prevalence p** is the user's (``--p``) or a labeled pilot's Hájek estimate
(:func:`pilot_estimate`: respondents only, nonresponse adjusted within strata, exactly as
``curate estimate`` would estimate it). It is never taken from a risk score's mean: scores are
not calibrated (a score ``logistic(-3 + 1.4 y + N(0,1))``, AUC 0.83, has mean 0.07 whatever the
prevalence: 7× it at 1%), so the score serves only as the *relative* prior across units and
strata, rescaled to mean p. That is an assumption (prevalence ∝ score): on that score, whose
prevalence rises faster than the score (logit slope 1.4), plans are conservative — simulated
half-widths at the planned n are 0.92 of the margin for Neyman on score bins and 0.84 for
importance sampling (tests/curation/estimation/test_planner.py) — and on a score flatter than
its scale they would be optimistic.

**The half-width planned** is half the width of the interval
:func:`~.intervals.proportion_interval` gives for an :class:`~.estimators.Estimate` of the
anticipated values at n: ``estimate = p``, ``var = V(n)``, ``n``, ``df = n - H`` (H strata),
``deff = V(n)/V_srs(n)``, ``weight_sum = 1``, ``kish_n = n`` and ``nonzero`` the expected number
of sampled positives. The method is the one ``auto`` resolves to for the design's kind,
``srswor`` for SRS and stratified plans and ``poisson`` for importance plans
(:func:`~.intervals.resolve_method`: Korn–Graubard and the mid-p gamma interval), unless
``method`` says otherwise, so a plan follows whatever ``curate estimate`` publishes. For a rare p
these intervals are wider than ``z·SE`` (at p = 0.005, ±0.002: SRS n = 5,321 under
Korn–Graubard, 4,781 under the normal approximation) and asymmetric: the planned interval
``[lo, hi]`` is printed with the half-width ``(hi - lo)/2``.

**Variances** V(n) of the Hájek proportion, linearized as in :mod:`.estimators`, from a prior
``p_i`` per population unit (p, or the score rescaled to mean p):

* SRS: ``V = p(1-p)/n · (N-n)/(N-1)`` (no correction when N is unknown).
* Stratified (an allocation over known ``N_h``, e.g. score bins): ``V = Σ W_h² (1-n_h/N_h)
  S_h²/n_h`` with ``S_h² = p_h(1-p_h) N_h/(N_h-1)`` and ``n_h`` from :func:`samplers.allocate`
  exactly as the sampler allocates (Neyman with ``S_h = sqrt(p_h(1-p_h))``).
* Importance (priority or Poisson PPS on the score with a defensive mixture): ``π_i = min(1, λ
  w_i)`` with ``Σ π = n``, ``V = N^{-2} Σ (1-π_i)/π_i · E(y_i - p)²`` with ``E(y_i - p)² =
  p_i(1-p_i) + (p_i - p)²``. Priority sampling's variance is at most this Poisson PPS one.
* A domain d (the smallest group of a population column, anticipated prevalence ``p_d``: the
  pilot's estimate of the group, else p; its units' priors rescaled to mean ``p_d``): the variance
  of its Hájek mean, score ``z_i = d_i (y_i - p_d)``. Stratified (SRS is one stratum): ``V_d =
  N_d^{-2} Σ_h N_h² (1-f_h) S²_{z,h}/n_h``, so the domain gets ``Σ_h n_h N_dh/N_h`` units in
  expectation: ``n N_d/N`` under SRS and proportional allocation, its strata's ``n_h`` under a
  design stratified on its column. Importance: ``V_d = N_d^{-2} Σ_{i∈d} (1-π_i)/π_i E(y_i -
  p_d)²``, the domain's units' π. A plan's n is the larger of what the overall margin and the
  domain's margin need.

**Search.** A half-width is not exactly monotone in n (largest-remainder allocation can move a
unit between strata, ``df`` and the expected positives are integers), so the smallest n is found
in four steps: bisection on the smooth variance gives the normal-approximation n; geometric steps
(×1.25) from there bracket the interval's half-width between a failing and a meeting n;
bisection on the half-width narrows the bracket to neighbours; and a local scan moves up until the
half-width meets m at n and at every one of n+1, …, n+K (:data:`STAYS`, 10). The n returned is
thus the smallest above the bracket's last failure that meets the margin and stays met.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import stats

from samplers import allocate
from samplers.poisson import pps_lambda
from schemas import DesignError, Manifest, SchemaError

from .estimators import Estimate
from .intervals import check_level, proportion_interval, resolve_method

STAYS = 10  # the returned n meets the margin at n, n+1, ..., n+STAYS
GROWTH = 1.25  # geometric step of the bracketing search


@dataclass(frozen=True)
class DomainPlan:
    """What the smallest domain needs under one design, and what it gets at the plan's n."""

    name: str
    N: int
    p: float
    source: str
    margin: float
    n_needed: int
    units: float
    half_width: float
    lo: float
    hi: float
    deff: float


@dataclass(frozen=True)
class Plan:
    """A plan: design, labels needed, the expected SE, interval, half-width and design effect.

    ``n`` is the plan's sample size: the larger of ``n_margin`` (what the overall margin needs)
    and ``domain.n_needed``; every other figure is at ``n``.
    """

    design: str
    n: int
    se: float
    half_width: float
    deff: float
    p: float
    allocation: pd.DataFrame | None = field(default=None, repr=False)
    method: str = ""
    lo: float = float("nan")
    hi: float = float("nan")
    n_margin: int = 0
    domain: DomainPlan | None = None


@dataclass(frozen=True)
class DomainTarget:
    """A domain to plan for: ``mask`` over the population's units, its anticipated prevalence
    ``p`` (and where it came from) and the half-width wanted."""

    name: str
    mask: np.ndarray = field(repr=False)
    p: float
    margin: float
    source: str = "p"


@dataclass(frozen=True)
class Pilot:
    """A labeled pilot's Hájek estimate (``estimate``) and its domains' by value of ``column``."""

    estimate: Estimate
    sampled: int
    kind: str
    source: str
    y: str
    column: str | None = None
    domains: dict[str, Estimate] = field(default_factory=dict, repr=False)

    @property
    def p(self) -> float:
        return self.estimate.estimate

    @property
    def deff(self) -> float:
        return self.estimate.deff

    @property
    def n(self) -> int:
        return self.estimate.n


class _Moments(NamedTuple):
    """Anticipated moments of an estimate at a sample size: what the interval needs."""

    var: float
    n: float
    strata: int
    var_srs: float
    positives: float


# ---------------------------------------------------------------------------- checks

def _check(margin: float, level: float, p: float | None) -> float:
    level = check_level(level)
    if not 0 < margin < 1:
        raise DesignError(f"the half-width must be in (0, 1), got {margin}")
    if p is not None and not 0 < p < 1:
        raise DesignError(f"the anticipated prevalence p must be in (0, 1), got {p}")
    return float(stats.norm.ppf(0.5 + level / 2))


def check_request(margin: float, p: float | None, pilot: bool, domain: str | None = None,
                  domain_margin: float | None = None, population: bool = False) -> None:
    """The checks of a plan request that need no file: a DesignError names what is wrong."""
    if p is not None and pilot:
        raise DesignError("give either --p or --pilot, not both (the pilot's estimate is p)")
    if p is None and not pilot:
        raise DesignError("give the anticipated prevalence --p, or a labeled pilot sample "
                          "--pilot FILE to estimate it from (a risk score's mean is not a "
                          "prevalence: scores are not calibrated)")
    if domain_margin is not None and domain is None:
        raise DesignError("--domain-margin needs --domain COL (the column whose smallest "
                          "group it is for)")
    if domain is not None and domain_margin is None:
        raise DesignError(f"--domain {domain} needs --domain-margin M (the half-width wanted "
                          f"for its smallest group)")
    if domain is not None and not population:
        raise DesignError(f"--domain {domain} needs --population: the smallest group is the "
                          f"one with the fewest units in the population")
    if domain_margin is not None:
        if not 0 < domain_margin < 1:
            raise DesignError(f"--domain-margin must be in (0, 1), got {domain_margin}")
        if domain_margin < margin:
            raise DesignError(f"--domain-margin {domain_margin:g} is smaller than --margin "
                              f"{margin:g}: a domain's interval is always at least as wide as "
                              f"the overall one at the same n, so --margin would mean nothing; "
                              f"were the two swapped?")


# ---------------------------------------------------------------------------- search

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


def _search(half_width: Callable[[int], float], lo: int, hi: int | None, margin: float,
            start: int) -> int:
    """Smallest n ≥ lo meeting ``half_width(n') ≤ margin`` for n' = n..n+STAYS (module
    docstring, "Search"); ``hi`` (the population size, or None) bounds every n tried."""
    cache: dict[int, float] = {}

    def ok(n: int) -> bool:
        if n not in cache:
            cache[n] = half_width(n)
        return bool(cache[n] <= margin)  # NaN and inf fail

    def unreachable() -> DesignError:
        return DesignError(f"even n = {hi} (the whole population) does not reach a "
                           f"half-width of {margin:g}; ask for a wider one")

    start = max(lo, start if hi is None else min(start, hi))
    if ok(start):
        b, a = start, None
        while b > lo:
            cand = max(lo, min(b - 1, int(b / GROWTH)))
            if not ok(cand):
                a = cand
                break
            b = cand
    else:
        a, b = start, None
        while b is None:
            if hi is not None and a >= hi:
                raise unreachable()
            cand = a + max(1, int(a * (GROWTH - 1)))
            cand = cand if hi is None else min(cand, hi)
            if ok(cand):
                b = cand
            else:
                a = cand
    if a is not None:  # bisection: ok(b), not ok(a), a < b
        while b - a > 1:
            mid = (a + b) // 2
            if ok(mid):
                b = mid
            else:
                a = mid
    n = b
    while True:  # local scan: n must stay met for n+1..n+STAYS
        last = n + STAYS if hi is None else min(n + STAYS, hi)
        bad = next((k for k in range(n + 1, last + 1) if not ok(k)), None)
        if bad is None:
            return n
        n = bad + 1
        while hi is None or n <= hi:
            if ok(n):
                break
            n += 1
        else:
            raise unreachable()


def _half_width(m: _Moments, p: float, level: float, method: str) -> tuple[float, float, float]:
    """(half-width, lo, hi) of the interval of an estimate with the anticipated moments."""
    if not (np.isfinite(m.var) and m.n >= 2):
        return np.inf, np.nan, np.nan
    n = int(round(m.n))
    deff = m.var / m.var_srs if m.var_srs > 0 else float("nan")
    e = Estimate(estimate=p, var=float(m.var), n=n, df=max(1, n - m.strata), deff=float(deff),
                 weight_sum=1.0, kish_n=float(m.n), weight_max=float("nan"),
                 nonzero=int(round(m.positives)))
    lo, hi, _ = proportion_interval(e, level, method)
    return (hi - lo) / 2.0, lo, hi


def _solve(moments: Callable[[int], _Moments], p: float, margin: float, level: float,
           method: str, lo: int, hi: int | None, z: float) -> int:
    """The smallest n whose planned half-width meets ``margin`` (module docstring)."""
    top = hi if hi is not None else int(np.ceil(p * (1 - p) * (z / margin) ** 2)) + 1
    start = _smallest(lambda k: moments(k).var, lo, top, (margin / z) ** 2)
    return _search(lambda k: _half_width(moments(k), p, level, method)[0], lo, hi, margin,
                   start)


def _domain_plan(target: DomainTarget, moments: Callable[[int], _Moments], n: int,
                 n_needed: int, level: float, method: str) -> DomainPlan:
    m = moments(n)
    hw, lo, hi = _half_width(m, target.p, level, method)
    deff = m.var / m.var_srs if m.var_srs > 0 else float("nan")
    return DomainPlan(target.name, int(target.mask.sum()), float(target.p), target.source,
                      float(target.margin), int(n_needed), float(m.n), float(hw), float(lo),
                      float(hi), float(deff))


def _plan(design: str, kind: str, moments: Callable[[int], _Moments], p: float, margin: float,
          level: float, method: str, lo: int, hi: int | None,
          target: DomainTarget | None = None,
          domain_moments: Callable[[int], _Moments] | None = None,
          allocation: Callable[[int], pd.DataFrame] | None = None) -> Plan:
    z = _check(margin, level, p)
    method = resolve_method(method, kind)
    n_margin = _solve(moments, p, margin, level, method, lo, hi, z)
    n, dom = n_margin, None
    if target is not None:
        n_dom = _solve(domain_moments, target.p, target.margin, level, method, lo, hi, z)
        n = max(n_margin, n_dom)
        dom = _domain_plan(target, domain_moments, n, n_dom, level, method)
    m = moments(n)
    hw, ci_lo, ci_hi = _half_width(m, p, level, method)
    deff = m.var / m.var_srs if m.var_srs > 0 else float("nan")
    return Plan(design, int(n), float(np.sqrt(m.var)), float(hw), float(deff), float(p),
                allocation(n) if allocation is not None else None, method, float(ci_lo),
                float(ci_hi), int(n_margin), dom)


# ---------------------------------------------------------------------------- moments

def _domain_prior(target: DomainTarget, prior: np.ndarray) -> np.ndarray:
    """The units' priors with the domain's rescaled to mean ``target.p``."""
    out = np.array(prior, np.float64)
    d = target.mask
    mean = float(out[d].mean()) if d.any() else 0.0
    out[d] = np.clip(out[d] * (target.p / mean), 0.0, 1.0) if mean > 0 else target.p
    return out


def _stratified_domain(codes: np.ndarray, N_h: np.ndarray, target: DomainTarget,
                       prior: np.ndarray, n_of: Callable[[int], np.ndarray],
                       ) -> Callable[[int], _Moments]:
    """Moments of a domain's Hájek mean under stratified SRSWOR (SRS: one stratum)."""
    H = len(N_h)
    d = target.mask
    pr = _domain_prior(target, prior)[d]
    c = codes[d]
    p_d = float(pr.mean())
    N_dh = np.bincount(c, minlength=H).astype(float)
    A = np.bincount(c, weights=pr * (1 - pr) + (pr - p_d) ** 2, minlength=H)
    B = np.bincount(c, weights=pr - p_d, minlength=H)
    P = np.bincount(c, weights=pr, minlength=H)
    Nf = N_h.astype(float)
    S2 = np.maximum(A - B ** 2 / Nf, 0.0) / np.maximum(Nf - 1, 1)
    N_d = float(d.sum())

    def moments(n: int) -> _Moments:
        n_h = n_of(n).astype(float)
        units = float(np.sum(n_h * N_dh / Nf))
        if np.any((N_dh > 0) & (n_h == 0)):
            return _Moments(np.inf, units, 1, np.nan, 0.0)
        live = n_h > 0
        var = float(np.sum(Nf[live] ** 2 * (1 - n_h[live] / Nf[live]) * S2[live] / n_h[live])
                    / N_d ** 2)
        return _Moments(var, units, int(np.count_nonzero(live & (N_dh > 0))),
                        _srs_var(p_d, units, N_d) if units > 0 else np.nan,
                        float(np.sum(n_h / Nf * P)))
    return moments


def inclusion_probabilities(w: np.ndarray, n: float) -> np.ndarray:
    """``π = min(1, λ w)`` with ``Σ π = n`` (the samplers' Poisson PPS λ)."""
    k = int(min(np.ceil(n), w.size))
    top = np.sort(w)[::-1][:k]
    lam = pps_lambda(float(w.sum()), top, float(n))
    return np.minimum(1.0, lam * w)


def _pps(w: np.ndarray) -> Callable[[int], np.ndarray]:
    """``n ↦ π`` of :func:`inclusion_probabilities`, the sizes sorted once."""
    desc = np.sort(w)[::-1]
    total = float(w.sum())

    def pi(n: int) -> np.ndarray:
        k = int(min(np.ceil(n), w.size))
        return np.minimum(1.0, pps_lambda(total, desc[:k], float(n)) * w)
    return pi


# ---------------------------------------------------------------------------- designs

def plan_srs(margin: float, p: float, level: float = 0.95, N: float | None = None,
             method: str = "auto", domain: DomainTarget | None = None,
             prior: np.ndarray | None = None) -> Plan:
    """Simple random sampling (without replacement when N is given).

    ``domain`` (with N, and the units' ``prior``; p when None) adds its margin.

    Examples
    --------
    >>> plan_srs(0.03, 0.5, method="normal").n  # textbook (z) 1,068 for ±3 points; t: 1,070
    1070
    >>> plan_srs(0.03, 0.5, method="beta").n  # Korn–Graubard (Clopper–Pearson) is wider
    1098
    >>> plan_srs(0.002, 0.004, method="beta").n, plan_srs(0.002, 0.004, method="normal").n
    (4380, 3829)
    """
    _check(margin, level, p)

    def moments(n: int) -> _Moments:
        v = _srs_var(p, n, N)
        return _Moments(v, n, 1, v, n * p)

    dom = None
    if domain is not None:
        if N is None:
            raise DesignError("a domain plan needs the population size N")
        Nh = np.array([int(N)])
        prior = np.full(int(N), p) if prior is None else prior
        dom = _stratified_domain(np.zeros(int(N), np.int64), Nh, domain, prior,
                                 lambda n: np.array([n]))
    return _plan("srs", "srswor", moments, p, margin, level, method, 2,
                 int(N) if N is not None else None, domain, dom)


def plan_stratified(margin: float, N_h: np.ndarray, p_h: np.ndarray, level: float = 0.95,
                    allocation: str = "proportional", labels: list[str] | None = None,
                    min_per_stratum: int = 0, power: float = 0.5, method: str = "auto",
                    domain: DomainTarget | None = None, codes: np.ndarray | None = None,
                    prior: np.ndarray | None = None) -> Plan:
    """Stratified SRSWOR with the given allocation; ``p_h`` anticipated per stratum.

    Neyman allocation uses ``S_h = sqrt(p_h(1-p_h))``. A ``domain`` needs every population
    unit's stratum ``codes`` (and ``prior``, else its stratum's ``p_h``).
    """
    N_h = np.asarray(N_h, np.int64)
    p_h = np.clip(np.asarray(p_h, np.float64), 0.0, 1.0)
    N = float(N_h.sum())
    p = float(np.dot(N_h, p_h) / N)
    _check(margin, level, p)
    S2 = p_h * (1 - p_h) * N_h / np.maximum(N_h - 1, 1)
    S_h = np.sqrt(p_h * (1 - p_h))
    cache: dict[int, np.ndarray] = {}

    def n_of(n: int) -> np.ndarray:
        if n not in cache:
            cache[n] = allocate(N_h, int(n), allocation, S_h=S_h, power=power,
                                min_per_stratum=min_per_stratum, labels=labels)
        return cache[n]

    def moments(n: int) -> _Moments:
        n_h = n_of(n).astype(float)
        live = n_h > 0
        if np.any(~live & (S2 > 0)):
            return _Moments(np.inf, n, 1, np.nan, 0.0)
        var = float(np.sum((N_h[live] / N) ** 2 * (1 - n_h[live] / N_h[live]) * S2[live]
                           / n_h[live]))
        return _Moments(var, n, int(live.sum()), _srs_var(p, n, N), float(np.dot(n_h, p_h)))

    def table(n: int) -> pd.DataFrame:
        return pd.DataFrame({"stratum": labels if labels is not None else range(len(N_h)),
                             "N_h": N_h, "n_h": n_of(n), "p_h": p_h})

    dom = None
    if domain is not None:
        if codes is None:
            raise DesignError("a domain plan under a stratified design needs each unit's "
                              "stratum")
        prior = p_h[codes] if prior is None else prior
        dom = _stratified_domain(np.asarray(codes), N_h, domain, prior, n_of)
    lo = max(2, min_per_stratum * len(N_h))
    return _plan(f"stratified ({allocation})", "srswor", moments, p, margin, level, method,
                 lo, int(N), domain, dom, table)


def plan_importance(margin: float, score: np.ndarray, level: float = 0.95,
                    mixture: float = 0.1, p: float | None = None, method: str = "auto",
                    domain: DomainTarget | None = None) -> Plan:
    """Priority / Poisson PPS on a risk score with a defensive mixture (module docstring).

    The score is the units' relative prior, rescaled to mean ``p`` (required: a score's own
    mean is not a prevalence).
    """
    s = np.asarray(score, np.float64)
    if s.size == 0 or np.any(~np.isfinite(s)) or np.any(s < 0) or np.any(s > 1):
        raise DesignError("the risk score must be a probability in [0, 1] for every unit")
    if not 0 < mixture <= 1:
        raise DesignError(f"defensive mixture α must be in (0, 1], got {mixture}")
    if p is None:
        raise DesignError("give the anticipated prevalence p: the score's mean is not one")
    _check(margin, level, p)
    if s.mean() <= 0:
        raise DesignError("the risk score is 0 for every unit: nothing to size the design on")
    prior = np.clip(s * (p / s.mean()), 0.0, 1.0)
    p = float(prior.mean())
    w = (1 - mixture) * s / s.mean() + mixture
    pi_of = _pps(w)
    e2 = prior * (1 - prior) + (prior - p) ** 2
    N = s.size

    def moments(n: int) -> _Moments:
        pi = pi_of(n)
        var = float(np.sum((1 - pi) / pi * e2) / N ** 2)
        return _Moments(var, n, 1, _srs_var(p, n, N), float(np.dot(pi, prior)))

    dom = None
    if domain is not None:
        d = domain.mask
        pr = _domain_prior(domain, prior)[d]
        p_d = float(pr.mean())
        e2_d = pr * (1 - pr) + (pr - p_d) ** 2
        N_d = float(d.sum())

        def dom(n: int) -> _Moments:
            pi = pi_of(n)[d]
            units = float(pi.sum())
            var = float(np.sum((1 - pi) / pi * e2_d) / N_d ** 2)
            return _Moments(var, units, 1, _srs_var(p_d, units, N_d), float(np.dot(pi, pr)))
    return _plan(f"importance (α={mixture:g})", "poisson", moments, p, margin, level, method,
                 2, N, domain, dom)


# ---------------------------------------------------------------------------- pilot

def pilot_estimate(df: pd.DataFrame, manifest: Manifest | dict | None = None,
                   y: str = "sensitive", domain: str | None = None,
                   source: str = "PILOT") -> Pilot:
    """The prevalence of a labeled pilot sample, as ``curate estimate`` would estimate it.

    The design is :func:`~.design.recognise`-d from the manifest (or the weights); units whose
    ``adjudication`` is nonresponse are dropped and the rest reweighted within strata
    (:func:`~.nonresponse.adjust`); ``y`` must be 0/1 on every responding unit. With ``domain``
    (a column of the pilot), each of its values' estimate too.
    """
    from . import nonresponse
    from .design import recognise
    from .estimators import hajek_mean

    if y not in df.columns:
        raise SchemaError(f"the pilot has no label column {y!r} (pass --y; columns: "
                          f"{list(df.columns)[:20]})", source=source)
    if df[y].isna().all():
        raise SchemaError(f"label column {y!r} has no label (every value is null): label the "
                          f"pilot before planning from it", source=source)
    design = recognise(df, manifest, source=source)
    responded = nonresponse.respondents(df)
    if not responded.any():
        raise DesignError(f"{source}: no unit of the pilot responded (every adjudication is "
                          f"nonresponse), so it estimates no prevalence")
    if not responded.all():
        design, _ = nonresponse.adjust(design, responded)
    resp = df.loc[responded].reset_index(drop=True)
    nulls = resp[y].isna().to_numpy()
    if nulls.any():
        raise SchemaError(f"label column {y!r} is null on {int(nulls.sum())} responding "
                          f"unit(s): label them, or mark them nonresponse (adjudication "
                          f"'unresolved')", source=source)
    try:
        values = resp[y].astype(np.float64).to_numpy()
    except (TypeError, ValueError):
        raise SchemaError(f"label column {y!r} is not 0/1 ({resp[y].dtype})",
                          source=source) from None
    if not np.isin(values, (0.0, 1.0)).all():
        raise SchemaError(f"label column {y!r} is not 0/1 (a prevalence needs a binary "
                          f"label)", source=source)
    est = hajek_mean(design, values)
    if not 0.0 < est.estimate < 1.0:
        raise DesignError(f"{source}: the pilot's {est.n} labeled units are all "
                          f"{'negative' if est.estimate <= 0 else 'positive'} for {y!r}, so "
                          f"p̂ = {est.estimate:g} cannot be planned for; give --p instead")
    domains: dict[str, Estimate] = {}
    col = domain if domain is not None and domain in resp.columns else None
    if col is not None:
        keys = resp[col].astype(str).to_numpy()
        for value in np.unique(keys[resp[col].notna().to_numpy()]):
            domains[str(value)] = hajek_mean(design, values, keys == value)
    return Pilot(est, len(df), design.kind, source, y, col, domains)


def load_pilot(path, y: str = "sensitive", domain: str | None = None) -> Pilot:
    """:func:`pilot_estimate` of a labeled sample file (read by ``inputs.load_sample``)."""
    from .inputs import load_sample

    df, manifest, _ = load_sample(path)
    return pilot_estimate(df, manifest, y, domain, source=str(path))


# ---------------------------------------------------------------------------- population

def smallest_domain(population: pd.DataFrame, column: str,
                    source: str = "population") -> tuple[str, np.ndarray]:
    """(value, mask) of the value of ``column`` with the fewest population units (ties: the
    first value in sorted order)."""
    if column not in population.columns:
        raise SchemaError(f"no domain column {column!r} in the population (columns: "
                          f"{list(population.columns)[:20]})", source=source)
    s = population[column]
    if s.isna().any():
        raise SchemaError(f"domain column {column!r} is null for {int(s.isna().sum())} "
                          f"unit(s): fill them (e.g. 'unknown') so that they form a group",
                          source=source)
    keys = s.astype(str).to_numpy()
    values, counts = np.unique(keys, return_counts=True)
    value = str(values[int(np.argmin(counts))])
    return value, keys == value


def _target(population: pd.DataFrame, column: str, margin: float, p: float,
            pilot: Pilot | None, source: str) -> DomainTarget:
    value, mask = smallest_domain(population, column, source)
    name = f"{column}={value}"
    p_d, why = p, "p"
    if pilot is not None:
        e = pilot.domains.get(value)
        if pilot.column is None:
            why = f"p (the pilot has no column {column!r})"
        elif e is None:
            why = f"p (no pilot unit in {name})"
        elif not 0.0 < e.estimate < 1.0:
            which = "no positive" if e.estimate <= 0 else "only positives"
            why = f"p (the pilot has {which} among its {e.n} units in {name})"
        else:
            p_d, why = float(e.estimate), f"pilot, n = {e.n}"
    return DomainTarget(name, mask, float(p_d), float(margin), why)


def plan_population(population: pd.DataFrame | None, margin: float, p: float | None = None,
                    level: float = 0.95, score: str | None = None, mixture: float = 0.1,
                    strata=None, allocation: str = "proportional",
                    min_per_stratum: int = 0, unit_col: str | None = None,
                    method: str = "auto", pilot: Pilot | None = None,
                    domain: str | None = None, domain_margin: float | None = None,
                    source: str = "population") -> list[Plan]:
    """Plans for SRS, and given a population: a stratified allocation (``strata``, a
    :class:`samplers.Strata` or column names) and an importance design on ``score``.

    ``p`` is the anticipated prevalence, or ``pilot``'s estimate of it (one of the two, never
    the score's mean). Per unit the prior is the score rescaled to mean p (p itself without a
    score); per stratum its mean. With ``domain`` and ``domain_margin``, every plan also meets
    that half-width on the smallest group of that population column.
    """
    from samplers.strata import Strata, fit_strata

    check_request(margin, p, pilot is not None, domain, domain_margin, population is not None)
    _check(margin, level, p)
    resolve_method(method, "srswor")
    if pilot is not None:
        p = pilot.p
    if population is None:
        return [plan_srs(margin, p, level, method=method)]
    N = len(population)
    if N < 2:
        raise DesignError(f"{source}: a population of {N} unit(s) cannot be sampled")
    s = None
    if score is not None:
        if score not in population.columns:
            raise SchemaError(f"no score column {score!r} in the population", source=source)
        s = pd.to_numeric(population[score], errors="coerce").to_numpy(np.float64)
        bad = ~np.isfinite(s) | (s < 0) | (s > 1)
        if bad.any():
            raise SchemaError(f"score column {score!r}: {int(bad.sum())} value(s) null or "
                              f"outside [0, 1]", source=source)
        if s.sum() <= 0:
            raise SchemaError(f"score column {score!r} is 0 for every unit", source=source)
    prior = np.full(N, p) if s is None else np.clip(s * (p / s.mean()), 0.0, 1.0)
    target = None
    if domain is not None:
        target = _target(population, domain, domain_margin, p, pilot, source)
    plans = [plan_srs(margin, p, level, N=N, method=method, domain=target, prior=prior)]
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
        p_h = np.bincount(codes, weights=prior) / N_h
        plans.append(plan_stratified(margin, N_h, p_h, level, allocation,
                                     labels=names.tolist(), min_per_stratum=min_per_stratum,
                                     method=method, domain=target, codes=codes, prior=prior))
    if s is not None:
        plans.append(plan_importance(margin, s, level, mixture, p, method, target))
    return plans


def pa_table(df: pd.DataFrame):
    import pyarrow as pa

    return pa.Table.from_pandas(df, preserve_index=False)
