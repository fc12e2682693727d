"""Plans for a population table: SRS, a stratified allocation and an importance design, and
the smallest domain to plan for."""

from __future__ import annotations

import numpy as np
import pandas as pd

from schemas import DesignError, SchemaError

from ..intervals import resolve_method
from .designs import plan_importance, plan_srs, plan_stratified
from .pilot import Pilot
from .plans import DomainTarget, Plan, _check, check_request


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
