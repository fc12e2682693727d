"""Plans and the search for their sample size: the smallest n whose anticipated interval meets
the margin, and stays met (module docstring of :mod:`curation.estimation.planning`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import stats

from schemas import DesignError

from ..estimators import Estimate
from ..intervals import check_level, proportion_interval, resolve_method

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
