"""Model-assisted estimators in numpy, vectorized over Monte Carlo replicates: the same numbers
as ``greg`` + ``hajek_mean`` (``test_model_assisted_coverage.py`` checks them equal on the
samplers' draws) at a fraction of the cost, for the label designs' cell counts and the score
design's GREG."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

from curation.estimation.estimators import Estimate, lighter_positives


def mann_whitney_less(w_h: np.ndarray, pos: np.ndarray, units: np.ndarray) -> np.ndarray:
    """``estimators.lighter_positives`` when the weights take one value per stratum: ``pos`` and
    ``units`` (replicates × strata) count the domain's sampled positives and units per stratum."""
    order = np.argsort(w_h)
    t, a = units[:, order].astype(float), pos[:, order].astype(float)
    ranks = np.cumsum(t, axis=1) - (t - 1) / 2
    n1 = a.sum(1)
    n = t.sum(1)
    n2 = n - n1
    U2 = n1 * n2 - ((a * ranks).sum(1) - n1 * (n1 + 1) / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.sqrt(n1 * n2 / 12 * ((n + 1) - (t ** 3 - t).sum(1) / (n * (n - 1))))
        p = np.clip(special.ndtr(-(U2 - n1 * n2 / 2 - 0.5) / s), 0, 1)
    one_weight = (t > 0).sum(1) < 2
    return np.where((n1 == 0) | (n2 == 0) | one_weight, np.nan, p)


def counts_estimate(N_h: np.ndarray, n_h: np.ndarray, pos: np.ndarray,
                    units: np.ndarray) -> list[Estimate]:
    """The Hájek proportion of a domain under stratified SRSWOR from its sampled positives and
    units per stratum (replicates × strata): ``greg`` + ``hajek_mean`` with the strata as the
    model label (a constant prediction per stratum calibrates nothing but the counts)."""
    w = N_h / n_h
    fpc = 1 - n_h / N_h
    Nd = units @ w
    with np.errstate(divide="ignore", invalid="ignore"):
        R = (pos @ w) / Nd
        sx = w * (pos - R[:, None] * units) / Nd[:, None]
        sxx = (w / Nd[:, None]) ** 2 * (pos * (1 - R[:, None]) ** 2
                                        + (units - pos) * R[:, None] ** 2)
    var = (fpc * n_h / (n_h - 1) * (sxx - sx ** 2 / n_h)).sum(1)
    kish = Nd ** 2 / (units @ (w * w))
    wmax = np.where(units > 0, w, -np.inf).max(1)
    pmax = np.where(pos > 0, w, np.nan)
    lighter = mann_whitney_less(w, pos, units)
    n = units.sum(1)
    H = (units > 0).sum(1)
    out = []
    for r in range(units.shape[0]):
        heavy = float(np.nanmax(pmax[r])) if pos[r].any() else float("nan")
        out.append(Estimate(float(R[r]), float(max(var[r], 0.0)), int(n[r]),
                            max(1, int(n[r] - H[r])), float("nan"), float(Nd[r]),
                            float(kish[r]), float(wmax[r]), int(pos[r].sum()), heavy,
                            float(lighter[r])))
    return out


def cells(pop: pd.DataFrame, strata: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cell index (market × creator group × label) of every unit, the population count of each
    (stratum, cell) and which cells are positive."""
    _, cell = np.unique(pop["market"] + "|" + pop["creator_group"] + "|"
                        + pop["sens"].astype(str), return_inverse=True)
    C = np.zeros((strata.max() + 1, cell.max() + 1), np.int64)
    np.add.at(C, (strata, cell), 1)
    positive = np.zeros(cell.max() + 1, bool)
    positive[cell[pop["sens"].to_numpy() == 1]] = True
    return cell, C, positive


def domain_counts(k: np.ndarray, cell_in: np.ndarray, positive: np.ndarray,
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Sampled positives and units of a domain per stratum from cell counts (reps × H × cells)."""
    return (k[:, :, cell_in & positive].sum(2), k[:, :, cell_in].sum(2))


def greg_estimate(codes: np.ndarray, n_h: np.ndarray, N_h: np.ndarray, F_h: np.ndarray,
                  f: np.ndarray, y: np.ndarray, d: np.ndarray) -> Estimate:
    """``hajek_mean(greg(design, f, N_h, F_h), y, d)`` under stratified SRSWOR, in numpy: the
    separate regression on ``(1, f)`` per stratum is a 2 × 2 system each, for the calibration and
    for the residuals of the linearized score (the library's least squares on n × 2H)."""
    H = len(N_h)
    w0 = (N_h / n_h)[codes]

    def sums(v):
        return np.bincount(codes, weights=v, minlength=H)

    m00, m01, m11 = sums(w0), sums(w0 * f), sums(w0 * f * f)
    det = m00 * m11 - m01 ** 2

    def solve(t0, t1):  # M_h⁻¹ (t0, t1) per stratum
        return (m11 * t0 - m01 * t1) / det, (m00 * t1 - m01 * t0) / det

    l0, l1 = solve(N_h - m00, F_h - m01)
    w = w0 * (1 + l0[codes] + l1[codes] * f)
    wd, yd = w[d], y[d]
    Nd = wd.sum()
    R = float(wd @ yd / Nd)
    z = np.where(d, (y - R) / Nd, 0.0)
    b0, b1 = solve(sums(w0 * z), sums(w0 * z * f))
    x = (z - b0[codes] - b1[codes] * f) * w
    fpc = 1 - n_h / N_h
    var = float(np.sum(fpc * n_h / (n_h - 1) * (sums(x * x) - sums(x) ** 2 / n_h)))
    n = int(d.sum())
    pos = yd != 0
    return Estimate(R, max(var, 0.0), n, max(1, n - np.unique(codes[d]).size), float("nan"),
                    float(Nd), float(Nd ** 2 / (wd @ wd)), float(wd.max()), int(pos.sum()),
                    float(wd[pos].max()) if pos.any() else float("nan"),
                    lighter_positives(wd, yd))
