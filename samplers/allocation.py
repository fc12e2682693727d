"""Allocation of a total sample size ``n`` over strata (pure functions).

``allocate`` finds continuous targets ``x_h = clip(λ·a_h, f_h, N_h)`` with ``Σ x_h = n`` (``a_h``
the method's shares, ``f_h`` the floor, ``N_h`` the cap), then rounds them to integers by largest
remainder, so ``Σ n_h = n`` exactly and ``f_h ≤ n_h ≤ N_h``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from schemas import DesignError

METHODS = ("proportional", "equal", "neyman", "power")


def shares(N_h: np.ndarray, method: str, S_h: np.ndarray | None = None,
           power: float = 0.5) -> np.ndarray:
    """Unnormalised allocation shares ``a_h`` of a method."""
    if method == "proportional":
        return N_h.astype(float)
    if method == "equal":
        return (N_h > 0).astype(float)
    if method == "neyman":
        if S_h is None:
            raise DesignError("neyman allocation needs S_h (a column of anticipated std devs)")
        return N_h * np.asarray(S_h, dtype=float)
    if method == "power":
        if not 0 <= power <= 1:
            raise DesignError(f"power allocation needs 0 ≤ q ≤ 1, got {power}")
        return np.where(N_h > 0, N_h.astype(float) ** power, 0.0)
    raise DesignError(f"unknown allocation {method!r}; expected one of {list(METHODS)}")


def _fill(a: np.ndarray, lo: np.ndarray, hi: np.ndarray, n: int) -> np.ndarray:
    """Continuous ``x = clip(λ·a, lo, hi)`` with ``Σ x = n`` (λ by bisection, exact if free)."""
    total = a.sum()
    if total > 0:
        lam = n / total
        x = lam * a
        if np.all((x >= lo) & (x <= hi)):
            return x
    lo_lam, hi_lam = 0.0, 1.0
    while np.clip(hi_lam * a, lo, hi).sum() < n:
        hi_lam *= 2.0
        if hi_lam > 1e300:
            break
    for _ in range(200):
        mid = 0.5 * (lo_lam + hi_lam)
        if np.clip(mid * a, lo, hi).sum() < n:
            lo_lam = mid
        else:
            hi_lam = mid
    return np.clip(hi_lam * a, lo, hi)


def largest_remainder(x: np.ndarray, n: int, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Integers ``n_h`` with ``Σ n_h = n`` and ``lo_h ≤ n_h ≤ hi_h``, nearest to ``x_h``."""
    base = np.clip(np.floor(x + 1e-9).astype(np.int64), lo, hi)
    short = n - int(base.sum())
    if short > 0:
        rem = np.where(base < hi, x - base, -np.inf)
        order = np.lexsort((np.arange(len(x)), -rem))  # largest remainder, then stratum order
        base[order[:short]] += 1
    elif short < 0:
        rem = np.where(base > lo, base - x, -np.inf)
        order = np.lexsort((np.arange(len(x)), -rem))
        base[order[:-short]] -= 1
    return base


def allocate(N_h: Sequence[int] | np.ndarray, n: int, method: str = "proportional", *,
             S_h: Sequence[float] | np.ndarray | None = None, power: float = 0.5,
             min_per_stratum: int = 0, labels: Sequence[str] | None = None) -> np.ndarray:
    """Integer sample sizes per stratum.

    Parameters
    ----------
    N_h : population sizes per stratum.
    n : total sample size.
    method : 'proportional' (∝ N_h), 'equal', 'neyman' (∝ N_h·S_h), 'power' (∝ N_h**power).
    S_h : anticipated standard deviations per stratum (neyman).
    power : Bankier's exponent q for 'power'.
    min_per_stratum : floor per stratum (a stratum smaller than the floor is taken whole).
    labels : stratum names used in error messages.

    Returns
    -------
    numpy.ndarray of int64, ``Σ n_h = n`` and ``min(floor, N_h) ≤ n_h ≤ N_h``.

    Examples
    --------
    >>> allocate([100, 300, 600], 10).tolist()
    [1, 3, 6]
    """
    N_h = np.asarray(N_h, dtype=np.int64)
    H = len(N_h)
    names = list(labels) if labels is not None else [str(h) for h in range(H)]
    if n < 0 or int(n) != n:
        raise DesignError(f"sample size must be a non-negative integer, got {n}")
    n = int(n)
    N = int(N_h.sum())
    if n > N:
        raise DesignError(f"sample size n={n} exceeds the population size N={N} by {n - N}")
    if min_per_stratum < 0:
        raise DesignError(f"min_per_stratum must be ≥ 0, got {min_per_stratum}")
    floor = np.minimum(N_h, int(min_per_stratum))
    if floor.sum() > n:
        raise DesignError(
            f"min_per_stratum={min_per_stratum} over {H} strata needs {int(floor.sum())} units "
            f"but n={n}: raise n by {int(floor.sum()) - n} or lower the floor")
    a = shares(N_h, method, S_h, power)
    if a.shape != N_h.shape or np.any(~np.isfinite(a)) or np.any(a < 0):
        bad = [names[i] for i in np.flatnonzero(~np.isfinite(a) | (a < 0))][:5]
        raise DesignError(f"{method} allocation: invalid shares in strata {bad}")
    reachable = int(np.where(a > 0, N_h, floor).sum())
    if reachable < n:
        zero = [names[i] for i in np.flatnonzero((a == 0) & (N_h > floor))][:5]
        raise DesignError(
            f"{method} allocation can place only {reachable} of n={n} units: strata {zero} "
            f"have a zero share (S_h = 0?)")
    x = _fill(a, floor.astype(float), N_h.astype(float), n)
    return largest_remainder(x, n, floor, N_h)
