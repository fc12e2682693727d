"""The tidy estimate table of ``curate estimate``: one row per metric, y and domain.

Columns: ``metric, y, domain, estimate, se, ci_low, ci_high, n, n_eff, deff, ci_method,
worst_low, worst_high, assumption``. A 0/1 (or boolean) ``y`` gives a ``proportion`` (interval by
``ci``) and a ``total``; any other numeric ``y`` a ``mean`` and a ``total`` (t intervals, df =
n - H); the total of a 0/1 ``y`` (a count) gets the proportion's interval method on ``Ŷ_d/N_d``,
``N_d`` the domain's size (:mod:`.frame`, ``intervals.count_interval``). ``domain`` is ``all`` or
``<column>=<value>``; a value known from the population but without a responding unit gets a
row with ``ci_method = "no sampled unit"``. When the table has an ``adjudication`` column,
nonresponse is adjusted (:mod:`.nonresponse`: within strata, cells or propensity classes), every
estimate of a 0/1 ``y`` gets worst-case bounds (every missing label 0 / 1, with sampling error)
and the missing-at-random ``assumption`` it rests on, and ``nonresponse_rate`` rows are added per
weighting cell (``stratum=<h>`` or ``cell=<label>``) and per domain. With ``gold`` (gold truth
and labels, or error rates), every proportion of a gold-labeled ``y`` gets a
``proportion_adjusted`` row beside it: the Rogan–Gladen estimate corrected for the final label's
error rates, its interval carrying their uncertainty (:mod:`.misclassification`). With a
model's predictions (``assist``), an ``estimator`` column is added (``design`` for today's rows,
``model_assisted`` for the same rows on the design calibrated on the predictions: GREG with a
prediction for every population unit, or the two-phase GREG; :mod:`.model_assisted`,
:mod:`.two_phase`); without predictions the table is exactly as before.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from schemas import DesignError, Manifest, SchemaError
from schemas.validate import rows_where

from . import frame, misclassification, missingness, nonresponse
from .calibration import calibrate
from .estimators import Domain, Estimate, domain_estimates, domain_of, one_blas_thread
from .intervals import (
    check_level,
    count_interval,
    proportion_interval,
    resolve_method,
    t_interval,
)
from .propensity import propensity_adjust
from .survey_design import SurveyDesign, recognise

COLUMNS = ["metric", "y", "domain", "estimate", "se", "ci_low", "ci_high", "n", "n_eff", "deff",
           "ci_method", "worst_low", "worst_high", "assumption"]


def _units(df: pd.DataFrame, mask: np.ndarray) -> str:
    if "unit_id" in df.columns:
        ids = df["unit_id"].to_numpy()[mask][:5].tolist()
        more = f" (+{int(mask.sum()) - 5} more)" if mask.sum() > 5 else ""
        return f"unit_id {', '.join(map(str, ids))}{more}; {rows_where(mask)}"
    return rows_where(mask)


def y_values(df: pd.DataFrame, col: str, source: str) -> tuple[np.ndarray, bool]:
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


def _domains(df: pd.DataFrame, spec: str | None, source: str,
             known_levels: list[str] | None = None) -> list[tuple[str, str, np.ndarray]]:
    """``[(label, level, mask), ...]``: ``all`` plus each value of ``COL`` (or only
    ``COL=VALUE``). Levels known from the population but without a responding unit are kept
    (an empty mask) so that the table shows them rather than dropping them."""
    out = [("all", "", np.ones(len(df), bool))]
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
        levels = sorted(set(values) | set(known_levels or ()))
    codes, uniques = pd.factorize(values)  # one pass: a mask per level is then a cheap ==
    code_of = {str(u): k for k, u in enumerate(uniques)}
    for level in levels:
        mask = codes == code_of.get(level, -2)
        if wanted and not mask.any():
            raise DesignError(f"{source}: domain {col}={level} has no sampled (responding) "
                              f"unit, so it cannot be estimated from this sample")
        out.append((f"{col}={level}", level, mask))
    return out


def _domain_units(design: SurveyDesign, domains: list, cache: dict,
                  ) -> list[Domain | None]:
    """Every domain's :class:`~.estimators.Domain` under ``design`` (None when it has no
    unit), made once per design and shared by every label (``cache`` keeps the design, so its
    id is not reused)."""
    if id(design) not in cache:
        cache[id(design)] = (design, [domain_of(design, mask) if mask.any() else None
                                      for _, _, mask in domains])
    return cache[id(design)][1]


def _row(metric: str, y: str, domain: str, e: Estimate, lo: float, hi: float, method: str,
         worst: tuple[float, float] = (np.nan, np.nan), note: str = "") -> dict:
    return {"metric": metric, "y": y, "domain": domain, "estimate": e.estimate, "se": e.se,
            "ci_low": lo, "ci_high": hi, "n": e.n, "n_eff": e.n_eff, "deff": e.deff,
            "ci_method": method, "worst_low": worst[0], "worst_high": worst[1],
            "assumption": note}


def _rate_row(domain: str, rate: float, n: int) -> dict:
    row = dict.fromkeys(COLUMNS, np.nan)
    row.update(metric="nonresponse_rate", y="", domain=domain, estimate=rate, n=int(n),
               ci_method="", assumption="")
    return row


def _empty_row(metric: str, y: str, domain: str) -> dict:
    row = dict.fromkeys(COLUMNS, np.nan)
    row.update(metric=metric, y=y, domain=domain, n=0, ci_method="no sampled unit",
               assumption="")
    return row


def _check_represented(manifest, accept_unsampled: bool, source: str) -> dict:
    """The frame summary; a DesignError when strata were allocated no unit, unless accepted."""
    info = frame.summary(manifest)
    unsampled = frame.unsampled_strata(manifest)
    if len(unsampled) and not accept_unsampled:
        where = frame.describe_unsampled(unsampled, info["population"])
        raise DesignError(f"{source}: strata {where} were allocated no unit, so no estimate "
                          f"can speak for them and 'all' would describe only the sampled "
                          f"strata; redraw with --min-per-stratum 2, or pass --accept-unsampled "
                          f"to estimate the sampled strata only (recorded in the output)")
    return info


def _adjust(design, df: pd.DataFrame, responded: np.ndarray, by: str | None,
            model: str | None, source: str):
    """(adjusted design, rates table, method, assumption) of the nonresponse adjustment."""
    if by and model:
        raise DesignError("pass --nonresponse-by or --nonresponse-model, not both")
    if by:
        adjusted, rates = nonresponse.adjust(design, responded,
                                             nonresponse.cell_codes(df, by, source))
        return adjusted, rates, "cells", missingness.assumption("cells", by)
    if model:
        adjusted, rates = propensity_adjust(design, df, responded, model, source)
        return adjusted, rates, "propensity", missingness.assumption("propensity", model)
    adjusted, rates = nonresponse.adjust(design, responded)
    return adjusted, rates, "strata", missingness.assumption("strata")


GOLD_ASSUMPTION = ("the final label errs on the sample as on the {pos} positive and {neg} "
                   "negative gold units (same review; gold units like the sampled ones)")


def _gold_rates(gold, ys: list[str], df: pd.DataFrame, by: str | None, level: float,
                source: str) -> dict:
    """``{y: ErrorRates or {group: ErrorRates}}`` from ``(truth, labels)`` or given rates."""
    if isinstance(gold, tuple | list):
        if len(gold) != 2 or not all(isinstance(t, pd.DataFrame) for t in gold):
            raise DesignError("gold must be (gold truth table, labels table) or error rates")
        ids = df["unit_id"].astype(str) if "unit_id" in df.columns else None
        rates = misclassification.gold_rates(gold[0], gold[1], ys, by, sample_ids=ids)
    elif isinstance(gold, dict):
        rates = dict(gold)
        unknown = sorted(set(rates) - set(ys))
        if unknown:
            raise DesignError(f"error rates given for {unknown}, which are not y columns {ys}")
    else:
        raise DesignError("gold must be (gold truth table, labels table) or {y: ErrorRates}")
    for y, r in rates.items():
        grouped = isinstance(r, dict)
        if grouped != bool(by):
            raise DesignError(f"error rates of {y!r} are {'per group' if grouped else 'one set'}"
                              f" but gold_by is {by!r}")
        for g, one in (r.items() if grouped else [("", r)]):
            misclassification.check_rates(one, level, f"{y}, group {g}" if g else y)
    if by and by not in df.columns:
        raise SchemaError(f"no gold group column {by!r}", source=source)
    return rates


def _gold_note(r, note: str) -> str:
    parts = list(r.values()) if isinstance(r, dict) else [r]
    text = GOLD_ASSUMPTION.format(pos=sum(p.positives for p in parts),
                                  neg=sum(p.negatives for p in parts))
    return f"{text}; {note}" if note else text


def _gold_summary(rates: dict) -> dict:
    out = {}
    for y, r in rates.items():
        for g, one in (r.items() if isinstance(r, dict) else [("", r)]):
            out[f"{y}|{g}" if g else y] = {
                "sensitivity": one.sensitivity, "specificity": one.specificity,
                "positives": one.positives, "negatives": one.negatives,
                "unresolved": one.unresolved}
    return out


@one_blas_thread
def estimate_table(df: pd.DataFrame, ys: list[str], domain: str | None = None,
                   level: float = 0.95, ci: str = "auto",
                   manifest: Manifest | dict | None = None, kind: str | None = None,
                   totals: dict[str, dict[str, float]] | None = None,
                   population: pd.DataFrame | None = None, accept_unsampled: bool = False,
                   nonresponse_by: str | None = None, nonresponse_model: str | None = None,
                   nonresponse_warn: float = 0.05, gold=None, gold_by: str | None = None,
                   source: str = "DATA", assist=None, design=None) -> pd.DataFrame:
    """Estimates of every ``y`` overall and per domain, as a tidy table (module docstring).

    ``totals`` (``{column: {level: population count}}``) calibrates the weights to known
    catalogue counts first (post-stratification for one column, raking for several).
    ``population`` (the catalogue or impression table) gives the domains' sizes ``N_d``.
    Strata allocated no unit make "all" an error unless ``accept_unsampled``. Nonresponse is
    adjusted within strata, or within ``nonresponse_by`` cells (``"risk_score:5,market"``), or
    within classes of a response-propensity model on ``nonresponse_model`` columns; every
    estimate then carries worst-case bounds and the assumption, and domains whose nonresponse
    exceeds ``nonresponse_warn`` are listed in ``attrs["warnings"]``.
    ``gold`` is ``(gold truth, labels)`` (tables of :func:`.misclassification.final_label_rates`)
    or ``{y: ErrorRates}``; with ``gold_by`` (a column of both the sample and the gold truth) the
    error rates are per group of units, ``{y: {group: ErrorRates}}``.
    ``assist`` (:class:`.predictions.Assist`) adds, beside every row of a label with a
    prediction column, the model-assisted row (``estimator`` column: ``design`` /
    ``model_assisted``; the column exists only then): the design calibrated, after any
    nonresponse adjustment, on the predictions (GREG with the population's, or the two-phase
    GREG with phase 1's); ``attrs["model"]`` holds the model and each label's λ_h and
    correlation. ``design`` is a design already built (a two-phase one), used instead of
    recognising DATA's.
    """
    level = check_level(level)
    if not ys:
        raise DesignError("no y column: pass at least one --y")
    if not 0.0 <= float(nonresponse_warn) < 1.0:
        raise DesignError(f"the nonresponse warning threshold must be in [0, 1), got "
                          f"{nonresponse_warn!r}")
    if assist is not None and totals:
        raise DesignError("--calibrate and model-assisted estimation together are not "
                          "supported: the model's calibration would drop the raking margins")
    full = design if design is not None else recognise(df, manifest, kind=kind, source=source)
    represented = _check_represented(manifest, accept_unsampled, source)
    method = resolve_method(ci, full.kind, full.fractions())
    # MOVER was validated with the mid-p gamma interval of p_obs under every design; with
    # Korn–Graubard's conservative piece it over-covers (0.975; bench/ESTIMATION.md)
    mover_piece = "gamma" if ci == "auto" else method
    responded = nonresponse.respondents(df)
    design, rates, nr_method, note = full, None, "", ""
    if not responded.all():
        design, rates, nr_method, note = _adjust(full, df, responded, nonresponse_by,
                                                 nonresponse_model, source)
    elif nonresponse_by or nonresponse_model:  # still check the request, so typos surface
        _adjust(full, df, np.ones(len(df), bool), nonresponse_by, nonresponse_model, source)
    resp = df.loc[responded].reset_index(drop=True)
    rates_by_y = _gold_rates(gold, ys, df, gold_by, level, source) if gold is not None else {}
    gold_groups = resp[gold_by].astype(str).to_numpy() if gold_by and rates_by_y else None
    if totals:
        design = calibrate(design, resp, totals, source=source)
    col = domain.partition("=")[0] if domain else None
    sizes, size_basis = frame.domain_sizes(col, manifest, population, totals) if col else (
        None, "")
    known = sorted(sizes) if sizes else None
    domains = _domains(resp, domain, source, known)
    codes, uniques = pd.factorize(df[col].astype(str).to_numpy()) if col else (None, [])
    code_of = {str(u): k for k, u in enumerate(uniques)}
    full_masks = [np.ones(len(df), bool) if label == "all" else codes == code_of.get(value, -2)
                  for label, value, _ in domains]
    rows = []
    kept = np.flatnonzero(responded)
    units: dict[int, tuple] = {}  # id(design) -> (design, its Domain per domain), built once
    models: dict[str, dict] = {}
    for ycol in ys:
        y, binary = y_values(resp, ycol, source)
        y_full = pd.to_numeric(df[ycol], errors="coerce").to_numpy(np.float64) \
            if rates is not None and binary else None
        # (estimator, design of the respondents, design of every sampled unit: the bounds')
        designs = [("design", design, full)]
        if assist is not None and ycol in assist.model.pred_cols:
            bounds_on = None if y_full is None else \
                assist.calibrated(full, ycol, np.arange(len(df)), source)
            designs.append(("model_assisted", assist.calibrated(design, ycol, kept, source),
                            bounds_on))
            models[ycol] = assist.summary(design, ycol, y, kept)
        for estimator, dsg, dsg_all in designs:
            start = len(rows)
            doms = _domain_units(dsg, domains, units)
            for k, (label, value, mask) in enumerate(domains):
                adjust = binary and ycol in rates_by_y and estimator == "design"
                if not mask.any():
                    rows.append(_empty_row("proportion" if binary else "mean", ycol, label))
                    if adjust:
                        rows.append(_empty_row("proportion_adjusted", ycol, label))
                    rows.append(_empty_row("total", ycol, label))
                    continue
                N_d = dsg.population if label == "all" else (sizes or {}).get(value)
                worst = (np.nan, np.nan)
                if y_full is not None:
                    worst = missingness.worst_case_bounds(dsg_all, y_full, responded,
                                                          full_masks[k], level, method)
                mean, tot = domain_estimates(dsg, y, doms[k])
                if binary:
                    lo, hi, used = proportion_interval(mean, level, method)
                    rows.append(_row("proportion", ycol, label, mean, lo, hi, used, worst, note))
                    if adjust:
                        a = misclassification.adjusted_proportion(
                            design, y, rates_by_y[ycol], mask, gold_groups, level, mover_piece)
                        rows.append(_row("proportion_adjusted", ycol, label, a.estimate, a.ci_low,
                                         a.ci_high, a.method,
                                         note=_gold_note(rates_by_y[ycol], note)))
                else:
                    lo, hi = t_interval(mean.estimate, mean.se, mean.df, level)
                    rows.append(_row("mean", ycol, label, mean, lo, hi, "t", note=note))
                if binary:
                    lo, hi, used = count_interval(tot, N_d, level, method)
                    if y_full is not None:  # the bounds of the count: the proportion's × N_d
                        scale = full.weight[full_masks[k]].sum() if N_d is None else N_d
                        worst = (worst[0] * scale, worst[1] * scale)
                    rows.append(_row("total", ycol, label, tot, lo, hi, used, worst, note))
                else:
                    (lo, hi), used = t_interval(tot.estimate, tot.se, tot.df, level), "t"
                    rows.append(_row("total", ycol, label, tot, lo, hi, used, note=note))
            for r in rows[start:]:
                r["estimator"] = estimator
    warned: list[str] = []
    if rates is not None:
        first = rates.columns[0]
        for r in rates.itertuples():
            rows.append(_rate_row(f"{first}={getattr(r, first)}", r.nonresponse_rate, r.n))
        by_domain = missingness.domain_rates(
            full, responded, [(label, m) for (label, _, _), m in zip(domains, full_masks,
                                                                     strict=True)])
        for r in by_domain.itertuples():
            rows.append(_rate_row(r.domain, r.nonresponse_rate, r.n))
        warned = missingness.warnings(by_domain, nonresponse_warn)
    out = pd.DataFrame(rows, columns=COLUMNS + (["estimator"] if assist is not None else []))
    if assist is not None:
        out["estimator"] = out["estimator"].fillna("")
        out.attrs["model"] = {**assist.model.describe(), "labels": models}
    out.attrs.update(design=design.kind, basis=design.basis, sampled=len(df),
                     respondents=int(responded.sum()), calibrated=sorted(totals or {}),
                     interval=method, domain_sizes=size_basis, nonresponse=nr_method,
                     assumption=note, warnings=warned,
                     misclassification=_gold_summary(rates_by_y), **represented)
    return out
