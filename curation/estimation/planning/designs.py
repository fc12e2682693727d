"""The anticipated moments of SRS, stratified and importance designs, and their plans."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from samplers import allocate
from samplers.poisson import pps_lambda
from schemas import DesignError

from .plans import DomainTarget, Plan, _check, _Moments, _plan, _srs_var

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
