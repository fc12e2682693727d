"""Representation of catalogue groups in recommendations, for the report.

A group (a value of an item attribute such as ``creator_group`` or ``market``) has a known share
of the catalogue and an exposure-weighted share of the impressions, estimated from an impression
sample; their ratio says whether recommendations over- (> 1) or under-expose (< 1) the group.
Groups are item attributes: they are read from the catalogue and joined to the impressions on
``item_id`` (an impression's own column of the same name, e.g. the user's ``market``, is not the
item's). The math lives in :mod:`curation.estimation.representation`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from curation.estimation.intervals import t_interval
from curation.estimation.representation import (
    exposure_share,
    known_share,
    representation_ratio,
)
from curation.estimation.survey_design import SurveyDesign
from schemas import SchemaError
from schemas.io import read_parquet
from schemas.storage import as_path

MISSING = "(missing)"
COLUMNS = ["group_column", "group", "catalogue_share", "items", "exposure_share",
           "exposure_se", "exposure_ci_low", "exposure_ci_high", "impressions", "ratio",
           "ratio_se", "ratio_ci_low", "ratio_ci_high"]


def catalogue_columns(path: str | Path) -> list[str]:
    """Column names of a catalogue file (its schema only)."""
    path = as_path(path)
    if path.is_file():
        return pq.read_schema(path).names
    return read_parquet(path).schema.names if path.exists() else []


def read_groups(catalogue: str | Path, columns: list[str]) -> pd.DataFrame:
    """``item_id`` and the group columns of the catalogue (nulls as ``(missing)``)."""
    names = catalogue_columns(catalogue)
    if not names:
        raise SchemaError("catalogue file not found (pass it with --catalogue)",
                          source=str(catalogue))
    missing = [c for c in ["item_id", *columns] if c not in names]
    if missing:
        raise SchemaError(f"catalogue lacks column(s) {missing} (columns: {names[:20]})",
                          source=str(catalogue))
    frame = read_parquet(catalogue, columns=["item_id", *columns]).to_pandas()
    for c in columns:
        frame[c] = frame[c].astype("string").fillna(MISSING).astype(str)
    return frame


def join_groups(units: pd.DataFrame, catalogue: pd.DataFrame, columns: list[str],
                source: str) -> pd.DataFrame:
    """``units`` with the catalogue's group ``columns`` joined on ``item_id`` (replacing any
    column of the same name); an item missing from the catalogue is an error."""
    if "item_id" not in units.columns:
        raise SchemaError("no 'item_id' column to join the catalogue's groups on", source=source)
    known = pd.Index(catalogue["item_id"])
    absent = ~units["item_id"].isin(known)
    if absent.any():
        ids = units.loc[absent, "item_id"].astype(str).unique()
        raise SchemaError(f"{int(absent.sum())} unit(s) recommend item_id(s) not in the "
                          f"catalogue (e.g. {list(ids[:5])}): pass the catalogue they were "
                          f"served from", source=source)
    lookup = catalogue.drop_duplicates("item_id").set_index("item_id")[columns]
    out = units.drop(columns=[c for c in columns if c in units.columns])
    return out.join(lookup, on="item_id")


def representation_table(catalogue: pd.DataFrame, impressions: pd.DataFrame,
                         design: SurveyDesign, columns: list[str],
                         level: float = 0.95) -> pd.DataFrame:
    """One row per group of each column: catalogue share (known), exposure share of the
    impression sample with a t interval, and their ratio with a log-scale delta interval.

    ``impressions`` are the sampled impressions (``position`` and the group columns, e.g. from
    :func:`join_groups`) in the order of ``design``. A group with no sampled impression has
    ratio 0 and no interval (``NaN``).
    """
    position = impressions["position"].to_numpy()
    rows = []
    for col in columns:
        values = impressions[col].astype(str).to_numpy()
        for group in sorted(catalogue[col].unique()):
            cat = known_share(catalogue, col, group)
            in_group = values == group
            rec = exposure_share(design, in_group, position)
            lo, hi = t_interval(rec.estimate, rec.se, rec.df, level)
            row = {"group_column": col, "group": group, "catalogue_share": cat.estimate,
                   "items": int((catalogue[col] == group).sum()),
                   "exposure_share": rec.estimate, "exposure_se": rec.se,
                   "exposure_ci_low": max(lo, 0.0), "exposure_ci_high": min(hi, 1.0),
                   "impressions": int(in_group.sum()), "ratio": 0.0, "ratio_se": np.nan,
                   "ratio_ci_low": np.nan, "ratio_ci_high": np.nan}
            if rec.estimate > 0:
                r = representation_ratio(rec, cat, level)
                row.update(ratio=r.estimate, ratio_se=r.se, ratio_ci_low=r.ci_low,
                           ratio_ci_high=r.ci_high)
            rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS)
