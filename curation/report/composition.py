"""Composition of a sample against its population, per stratification variable.

For every variable the design stratified on (and any extra columns asked for) the table gives
each group's population share, its unweighted share of the sample and its design-weighted share.
The weighted share estimates the population share, so a large gap there means the sample was
not drawn as its manifest states; the unweighted share shows where the design over-sampled.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from schemas import Manifest, SchemaError
from schemas.storage import as_path


def stratification_variables(manifest: Manifest) -> list[str]:
    """Columns the design stratified on (categorical ones; bins/clusters are not columns)."""
    spec = manifest.design.get("strata_spec") or {}
    return list(spec.get("columns") or [])


def population_counts(population: str | Path, columns: list[str]) -> dict[str, pd.Series]:
    """Counts per value of each column, scanning only those columns of the population."""
    path = as_path(population)
    if not path.exists():
        raise SchemaError("population file not found (pass it with --population)",
                          source=str(path))
    dataset = ds.dataset(path, format="parquet", partitioning="hive")
    missing = [c for c in columns if c not in dataset.schema.names]
    if missing:
        raise SchemaError(f"missing column(s) {missing} for the composition plot",
                          source=str(path))
    counts: dict[str, pd.Series] = {c: pd.Series(dtype="int64") for c in columns}
    for batch in dataset.to_batches(columns=columns):
        for c in columns:
            vc = pc.value_counts(pc.cast(batch.column(c), pa.string()))
            part = pd.Series(vc.field("counts").to_numpy(),
                             index=pd.Index(vc.field("values").to_pylist()).fillna("(missing)"))
            counts[c] = counts[c].add(part, fill_value=0)
    return {c: s.astype("int64") for c, s in counts.items()}


def composition(sample: pd.DataFrame, population: dict[str, pd.Series]) -> pd.DataFrame:
    """Tidy table: variable, group, population_share, sample_share, weighted_share, n."""
    rows = []
    w = sample["design_weight"].to_numpy(dtype=float)
    for var, pop in population.items():
        groups = sample[var].astype("string").fillna("(missing)")
        n = groups.value_counts()
        wsum = pd.Series(w, index=groups.index).groupby(groups).sum()
        for g in sorted(set(pop.index) | set(n.index)):
            rows.append({
                "variable": var, "group": g,
                "population_share": float(pop.get(g, 0) / pop.sum()),
                "sample_share": float(n.get(g, 0) / len(sample)),
                "weighted_share": float(wsum.get(g, 0.0) / w.sum()),
                "n": int(n.get(g, 0)), "N": int(pop.get(g, 0)),
            })
    out = pd.DataFrame(rows)
    out["weighted_minus_population"] = out["weighted_share"] - out["population_share"]
    return out


def max_weighted_gap(table: pd.DataFrame) -> float:
    """Largest |weighted share − population share| over all groups (0 for an exact match)."""
    return float(np.abs(table["weighted_minus_population"]).max()) if len(table) else 0.0
