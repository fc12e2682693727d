"""Alerts: which of many changes are significant, with the false-discovery rate controlled.

A dashboard of forty groups tested at 5% each flags two of them by chance alone. The
Benjamini–Hochberg step-up procedure flags the ``k`` smallest p-values, ``k`` the largest rank
with ``p_(k) ≤ level·k/m``, so that among the flagged changes the expected share of changes
that are not real is at most ``level`` (for independent or positively dependent tests).

The p-value of a change is read from its honest interval, so that a change is flagged only if
its interval excludes 0: the standard error is the distance from the difference to the
interval's end towards 0, over the normal quantile of the level (for a symmetric interval, the
two-sided Wald test). A Wald test of ``difference / se_difference`` would disagree with the
asymmetric MOVER interval shown beside it, and would call a change from 0% to 100% in a small
group (design SE 0) no change at all. A change without an interval gets no p-value: never
flagged. ``tests/curation/estimation/test_alerts.py`` checks the realised FDR.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from schemas import DesignError


def benjamini_hochberg(p_values, level: float) -> np.ndarray:
    """Boolean mask of the p-values flagged by the BH step-up procedure at FDR ``level``.

    NaN p-values are never flagged and do not count among the ``m`` tests; tied p-values are
    flagged together (all or none).

    Examples
    --------
    >>> benjamini_hochberg([0.01, 0.035, 0.03, 0.2, float("nan")], 0.05).tolist()
    [True, True, True, False, False]
    >>> benjamini_hochberg([0.02, 0.03], 0.05).tolist()
    [True, True]
    """
    if not 0 < level < 1:
        raise DesignError(f"the false-discovery rate level must be in (0, 1), not {level}")
    p = np.asarray(p_values, dtype=np.float64)
    valid = ~np.isnan(p)
    if ((p[valid] < 0) | (p[valid] > 1)).any():
        raise DesignError("p-values must lie in [0, 1]")
    flagged = np.zeros(p.shape, bool)
    m = int(valid.sum())
    if m == 0:
        return flagged
    ordered = np.sort(p[valid])
    passed = np.flatnonzero(ordered <= level * np.arange(1, m + 1) / m)
    if passed.size:
        flagged[valid] = p[valid] <= ordered[passed[-1]]
    return flagged


def change_p_values(difference, ci_low, ci_high, level: float) -> np.ndarray:
    """Two-sided p-values of ``difference = 0`` that agree with the changes' intervals at
    ``level`` (significant at ``1 − level`` exactly when the interval excludes 0); NaN where
    the difference or the interval's side towards 0 is missing.

    Examples
    --------
    >>> p = change_p_values([0.02, 0.02, 0.0], [0.0, 0.01, -0.01], [0.05, 0.03, 0.01], 0.95)
    >>> p.round(3).tolist()
    [0.05, 0.0, 1.0]
    """
    d = np.asarray(difference, dtype=np.float64)
    towards_zero = np.where(d >= 0, d - np.asarray(ci_low, dtype=np.float64),
                            np.asarray(ci_high, dtype=np.float64) - d)
    se = towards_zero / stats.norm.ppf(0.5 + level / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, np.abs(d) / se, np.where(d != 0, np.inf, 0.0))
    return np.where(np.isfinite(d) & np.isfinite(se), 2.0 * stats.norm.sf(z), np.nan)


def flag_changes(table, fdr: float, level: float):
    """``table`` (a change table at confidence ``level``) with ``p_value`` and ``flagged``
    (BH at ``fdr`` over all its rows: every y and domain is one test of the family)."""
    out = table.copy()
    out["p_value"] = change_p_values(out["difference"], out["ci_low"], out["ci_high"], level)
    out["flagged"] = benjamini_hochberg(out["p_value"].to_numpy(), fdr)
    return out
