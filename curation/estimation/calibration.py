"""Post-stratification and raking to known population counts (e.g. catalogue items per market).

The weights ``w`` become ``w·g`` so that the weighted count of every level of every given column
equals its known total: one column is post-stratification (``g`` constant per level), several
are raking (iterative proportional fitting, the same solution as R ``calibrate(...,
calfun="raking")``). The variance accounts for it as R does: scores are replaced by their
residuals from a base-weighted least-squares fit on the level indicators before the design
variance (``qr.resid`` in R's ``svyrecvar``), so a y explained by the margins gains precision.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from schemas import DesignError, SchemaError

from .survey_design import SurveyDesign


def _indicators(df: pd.DataFrame, totals: dict[str, dict[str, float]],
                source: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per column: level code of each unit and the known total of each level."""
    codes, targets, sums = [], [], []
    for col, levels in totals.items():
        if col not in df.columns:
            raise SchemaError(f"no calibration column {col!r}", source=source)
        values = df[col].astype(str).to_numpy()
        names = [str(k) for k in levels]
        unknown = sorted(set(values) - set(names))
        if unknown:
            raise DesignError(f"{source}: {col}={unknown[0]} is sampled but has no known total "
                              f"(give totals for every level of {col!r})")
        lookup = {name: i for i, name in enumerate(names)}
        code = np.array([lookup[v] for v in values], dtype=np.int64)
        counts = np.bincount(code, minlength=len(names))
        empty = [names[i] for i in np.flatnonzero(counts == 0) if float(levels[names[i]]) > 0]
        if empty:
            raise DesignError(f"{source}: {col}={empty[0]} has a known total but no sampled "
                              f"unit; collapse it with another level")
        target = np.array([float(levels[k]) for k in levels])
        codes.append(code)
        targets.append(target)
        sums.append(target.sum())
    if max(sums) - min(sums) > 1e-6 * max(sums):
        raise DesignError(f"{source}: calibration totals disagree across columns "
                          f"({dict(zip(totals, sums, strict=True))}); they must count the same "
                          f"population")
    return codes, targets


def calibrate(design: SurveyDesign, df: pd.DataFrame, totals: dict[str, dict[str, float]],
              source: str = "DATA", max_iter: int = 1000, tol: float = 1e-12) -> SurveyDesign:
    """The design with weights raked to ``totals`` (``{column: {level: count}}``).

    ``df`` holds the calibration columns of the design's units, in the same order.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> d = SurveyDesign("poisson", np.zeros(4, int), ("all",), np.full(4, .1), np.full(4, 10.))
    >>> cal = calibrate(d, pd.DataFrame({"m": ["a", "a", "b", "b"]}), {"m": {"a": 30, "b": 10}})
    >>> cal.weight.tolist()
    [15.0, 15.0, 5.0, 5.0]
    """
    codes, targets = _indicators(df, totals, source)
    w = design.weight.copy()
    for _ in range(max_iter):
        worst = 0.0
        for code, target in zip(codes, targets, strict=True):
            current = np.bincount(code, weights=w, minlength=target.size)
            with np.errstate(invalid="ignore", divide="ignore"):
                factor = np.where(current > 0, target / current, 1.0)
            worst = max(worst, float(np.max(np.abs(factor - 1.0))))
            w *= factor[code]
        if worst < tol:
            break
    else:
        raise DesignError(f"{source}: raking did not converge in {max_iter} iterations "
                          f"(margins inconsistent with the sample?)")
    model = np.hstack([np.eye(t.size)[c] for c, t in zip(codes, targets, strict=True)])
    base = design.weight if design.calib is None else design.calib[1]
    return replace(design, weight=w, calib=(model, base))


def calibrate_linear(design: SurveyDesign, model: np.ndarray, totals: np.ndarray,
                     source: str = "DATA") -> SurveyDesign:
    """The design with weights ``w·g``, ``g = 1 + x'λ``, so that ``Σ w g x = totals`` (linear
    calibration, the GREG estimator; R ``calibrate(..., calfun="linear")``).

    ``model`` is the n × p matrix of auxiliary variables of the sampled units and ``totals``
    their known population totals. The variance residualises scores on ``model`` as for raking.

    Examples
    --------
    >>> import numpy as np
    >>> d = SurveyDesign("poisson", np.zeros(4, int), ("all",), np.full(4, .1), np.full(4, 10.))
    >>> X = np.array([[1., 0.], [1., 1.], [1., 2.], [1., 3.]])
    >>> cal = calibrate_linear(d, X, np.array([40., 80.]))
    >>> np.round(cal.weight @ X, 9).tolist()
    [40.0, 80.0]
    """
    X = np.asarray(model, np.float64)
    T = np.asarray(totals, np.float64)
    if X.ndim != 2 or X.shape[0] != design.n or T.shape != (X.shape[1],):
        raise DesignError(f"{source}: calibration model of shape {X.shape} and {T.size} "
                          f"total(s) do not fit {design.n} sampled units")
    w = design.weight
    M = (X * w[:, None]).T @ X
    if np.linalg.matrix_rank(M) < X.shape[1]:
        raise DesignError(f"{source}: the calibration variables are collinear in the sample "
                          f"(a stratum whose sampled predictions are all equal?)")
    lam = np.linalg.solve(M, T - X.T @ w)
    base = design.weight if design.calib is None else design.calib[1]
    return replace(design, weight=w * (1.0 + X @ lam), calib=(X, base))
