"""What part of the population a sample represents, and the sizes of its domains.

A stratum allocated no unit (``n_h = 0`` in the manifest) has inclusion probability 0 for each of
its ``N_h`` units: no weighting can make a sample speak for them, so an estimate over "all" would
silently describe only the sampled strata. :func:`unsampled_strata` names them;
``estimate_table`` refuses "all" while any exists unless the caller accepts it explicitly.

Domain sizes ``N_d`` scale the interval of a domain's count (a bound never exceeds ``N_d``). They
are known, in order of preference, from a population table (a count per value), from calibration
totals of that column, or from the manifest's allocation when the domain column is one of the
stratification columns (``N_d = Σ N_h`` over the strata whose label carries that value).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from schemas import Manifest, SchemaError


def _design(manifest: Manifest | dict | None) -> tuple[dict | None, list[dict]]:
    if manifest is None:
        return None, []
    if isinstance(manifest, Manifest):
        return manifest.design, list(manifest.allocation or [])
    return manifest.get("design"), list(manifest.get("allocation") or [])


def unsampled_strata(manifest: Manifest | dict | None) -> pd.DataFrame:
    """``stratum, N_h`` of the manifest's strata allocated no unit (and holding some)."""
    _, allocation = _design(manifest)
    rows = [{"stratum": str(a["stratum"]), "N_h": float(a["N_h"])} for a in allocation
            if float(a.get("n_h", 0)) == 0 and float(a["N_h"]) > 0]
    return pd.DataFrame(rows, columns=["stratum", "N_h"])


def population_size(manifest: Manifest | dict | None) -> float | None:
    """``Σ N_h`` of the manifest's allocation, or None without one."""
    _, allocation = _design(manifest)
    return float(sum(float(a["N_h"]) for a in allocation)) if allocation else None


def strata_sizes(manifest: Manifest | dict | None, column: str) -> dict[str, float] | None:
    """``{value: N_d}`` of a stratification column from the allocation (None if not one)."""
    design, allocation = _design(manifest)
    spec = (design or {}).get("strata_spec") or {}
    columns = list(spec.get("columns") or [])
    if column not in columns or not allocation:
        return None
    parts = len(columns) + (spec.get("bins") is not None) + bool(spec.get("clusters"))
    j = columns.index(column)
    out: dict[str, float] = {}
    for a in allocation:
        fields = str(a["stratum"]).split("|")
        if len(fields) != parts:  # a value holding "|": the label cannot be split safely
            return None
        out[fields[j]] = out.get(fields[j], 0.0) + float(a["N_h"])
    return out


def population_counts(population: pd.DataFrame, column: str, source: str) -> dict[str, float]:
    """``{value: count}`` of ``column`` in a population table (the catalogue)."""
    if column not in population.columns:
        raise SchemaError(f"population has no column {column!r} to size the domains",
                          source=source)
    counts = population[column].astype(str).value_counts()
    return {str(k): float(v) for k, v in counts.items()}


def domain_sizes(column: str, manifest: Manifest | dict | None = None,
                 population: pd.DataFrame | None = None,
                 totals: dict[str, dict[str, float]] | None = None,
                 source: str = "POPULATION") -> tuple[dict[str, float] | None, str]:
    """(``{value: N_d}`` or None, where the sizes came from); see the module docstring."""
    if population is not None:
        return population_counts(population, column, source), "population"
    if totals and column in totals:
        return dict(totals[column]), "calibration totals"
    sizes = strata_sizes(manifest, column)
    if sizes is not None:
        return sizes, "manifest allocation"
    return None, "estimated"


def describe_unsampled(unsampled: pd.DataFrame, N: float | None) -> str:
    """``'IS', 'NZ' (N = 1,951, 2.0% of the population)``."""
    names = ", ".join(repr(s) for s in unsampled["stratum"].head(8))
    more = f" and {len(unsampled) - 8} more" if len(unsampled) > 8 else ""
    total = float(unsampled["N_h"].sum())
    share = f", {total / N:.1%} of the population" if N else ""
    return f"{names}{more} (N = {total:,.0f}{share})"


def summary(manifest: Manifest | dict | None) -> dict[str, Any]:
    """Population size, unsampled strata and the share they hold, for output metadata."""
    unsampled = unsampled_strata(manifest)
    N = population_size(manifest)
    missing = float(unsampled["N_h"].sum())
    return {"population": N, "unsampled_strata": unsampled["stratum"].tolist(),
            "unsampled_units": missing,
            "represented_share": (1.0 - missing / N) if N else np.nan}
