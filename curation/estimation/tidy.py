"""The tidy estimate table of ``curate estimate``: one row per metric, y and domain.

Columns: ``metric, y, domain, estimate, se, ci_low, ci_high, n, n_eff, deff, ci_method``.
A 0/1 (or boolean) ``y`` gives a ``proportion`` (interval by ``ci``) and a ``total``; any other
numeric ``y`` a ``mean`` and a ``total`` (t intervals, df = n - H); the total of a 0/1 ``y``
(a count) gets the proportion's interval method on ``Ŷ/N`` (``intervals.count_interval``).
``domain`` is ``all`` or ``<column>=<value>``. When the table has an ``adjudication`` column,
nonresponse is adjusted within strata (:mod:`.nonresponse`) and one ``nonresponse_rate`` row
per stratum is added
(``domain = stratum=<h>``, ``n`` = sampled units, ``estimate`` = weighted rate).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from schemas import DesignError, Manifest, SchemaError
from schemas.validate import rows_where

from . import nonresponse
from .calibration import calibrate
from .design import recognise
from .estimators import Estimate, hajek_mean, ht_total
from .intervals import METHODS, check_level, count_interval, proportion_interval, t_interval

COLUMNS = ["metric", "y", "domain", "estimate", "se", "ci_low", "ci_high", "n", "n_eff", "deff",
           "ci_method"]


def _units(df: pd.DataFrame, mask: np.ndarray) -> str:
    if "unit_id" in df.columns:
        ids = df["unit_id"].to_numpy()[mask][:5].tolist()
        more = f" (+{int(mask.sum()) - 5} more)" if mask.sum() > 5 else ""
        return f"unit_id {', '.join(map(str, ids))}{more}; {rows_where(mask)}"
    return rows_where(mask)


def _numeric(df: pd.DataFrame, col: str, source: str) -> tuple[np.ndarray, bool]:
    """(values as float, is binary) of a y column among respondents; errors name null units."""
    if col not in df.columns:
        raise SchemaError(f"no column {col!r} (columns: {list(df.columns)[:20]})", source=source)
    s = df[col]
    nulls = s.isna().to_numpy()
    if nulls.any():
        raise SchemaError(f"y column {col!r} has {int(nulls.sum())} null value(s) among "
                          f"responding units at {_units(df, nulls)}: label them, or mark them "
                          f"nonresponse (adjudication 'unresolved')", source=source)
    try:
        y = s.astype(np.float64).to_numpy()
    except (TypeError, ValueError):
        raise SchemaError(f"y column {col!r} is not numeric or boolean ({s.dtype})",
                          source=source) from None
    return y, bool(np.isin(y, (0.0, 1.0)).all())


def _domains(df: pd.DataFrame, spec: str | None, source: str) -> list[tuple[str, np.ndarray]]:
    """``[(label, mask), ...]``: ``all`` plus each value of ``COL`` (or only ``COL=VALUE``)."""
    out = [("all", np.ones(len(df), bool))]
    if not spec:
        return out
    col, _, wanted = spec.partition("=")
    if col not in df.columns:
        raise SchemaError(f"no domain column {col!r}", source=source)
    s = df[col]
    if s.isna().any():
        raise SchemaError(f"domain column {col!r} is null at {_units(df, s.isna().to_numpy())}",
                          source=source)
    values = s.astype(str).to_numpy()
    if wanted:
        levels = [wanted]
    elif isinstance(s.dtype, pd.CategoricalDtype):
        levels = [str(c) for c in s.cat.categories]
    else:
        levels = sorted(set(values))
    for level in levels:
        mask = values == level
        if not mask.any():
            raise DesignError(f"{source}: domain {col}={level} has no sampled (responding) "
                              f"unit, so it cannot be estimated from this sample")
        out.append((f"{col}={level}", mask))
    return out


def _row(metric: str, y: str, domain: str, e: Estimate, lo: float, hi: float,
         method: str) -> dict:
    return {"metric": metric, "y": y, "domain": domain, "estimate": e.estimate, "se": e.se,
            "ci_low": lo, "ci_high": hi, "n": e.n, "n_eff": e.n_eff, "deff": e.deff,
            "ci_method": method}


def estimate_table(df: pd.DataFrame, ys: list[str], domain: str | None = None,
                   level: float = 0.95, ci: str = "beta",
                   manifest: Manifest | dict | None = None, kind: str | None = None,
                   totals: dict[str, dict[str, float]] | None = None,
                   source: str = "DATA") -> pd.DataFrame:
    """Estimates of every ``y`` overall and per domain, as a tidy table (module docstring).

    ``totals`` (``{column: {level: population count}}``) calibrates the weights to known
    catalogue counts first (post-stratification for one column, raking for several).
    """
    level = check_level(level)
    if ci not in METHODS:
        raise DesignError(f"unknown interval method {ci!r}; expected one of {list(METHODS)}")
    if not ys:
        raise DesignError("no y column: pass at least one --y")
    design = recognise(df, manifest, kind=kind, source=source)
    responded = nonresponse.respondents(df)
    rates = None
    if not responded.all():
        design, rates = nonresponse.adjust(design, responded)
    resp = df.loc[responded].reset_index(drop=True)
    if totals:
        design = calibrate(design, resp, totals, source=source)
    domains = _domains(resp, domain, source)
    rows = []
    for col in ys:
        y, binary = _numeric(resp, col, source)
        for label, mask in domains:
            mean = hajek_mean(design, y, mask)
            if binary:
                lo, hi, used = proportion_interval(mean, level, ci)
                rows.append(_row("proportion", col, label, mean, lo, hi, used))
            else:
                lo, hi = t_interval(mean.estimate, mean.se, mean.df, level)
                rows.append(_row("mean", col, label, mean, lo, hi, "t"))
            tot = ht_total(design, y, mask)
            if binary:
                lo, hi, used = count_interval(tot, design.population, level, ci)
            else:
                (lo, hi), used = t_interval(tot.estimate, tot.se, tot.df, level), "t"
            rows.append(_row("total", col, label, tot, lo, hi, used))
    if rates is not None:
        for r in rates.itertuples():
            rows.append({"metric": "nonresponse_rate", "y": "", "domain": f"stratum={r.stratum}",
                         "estimate": r.nonresponse_rate, "se": np.nan, "ci_low": np.nan,
                         "ci_high": np.nan, "n": int(r.n), "n_eff": np.nan, "deff": np.nan,
                         "ci_method": ""})
    out = pd.DataFrame(rows, columns=COLUMNS)
    out.attrs.update(design=design.kind, basis=design.basis, sampled=len(df),
                     respondents=int(responded.sum()), calibrated=sorted(totals or {}))
    return out
