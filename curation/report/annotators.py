"""Annotation progress and agreement from a labels table (as written by ``curate pull``).

Progress counts the latest version of each annotation per annotator: how many, on how many
units, how many skipped and how many answered "unsure". Agreement per label field is
Krippendorff's alpha and the mean, min and max of the pairwise Cohen's kappa, computed by
:mod:`annotation.agreement` (skipped and unsure answers are missing values, not votes).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from annotation.adjudication import latest_versions
from annotation.agreement import agreement, summary
from curation.build import categories_of
from schemas import SchemaError, validate
from schemas.io import read_parquet

FIELDS = ("sensitive", "skipped", "unsure")
PROGRESS = ["annotator", "stage", "annotations", "units", "counted", "unsure", "skipped"]


def read_labels(path: str | Path) -> pd.DataFrame:
    """A labels table checked against its contract and the fields agreement needs."""
    table = read_parquet(path)
    missing = [c for c in FIELDS if c not in table.column_names]
    if missing:
        raise SchemaError(f"labels table lacks column(s) {missing} (see schemas/labels.py; "
                          f"write it with `curate pull`)", source=str(path))
    return validate(table, "labels", source=str(path)).to_pandas()


def progress(labels: pd.DataFrame) -> pd.DataFrame:
    """Per annotator (and stage): latest annotations, units, counted, unsure and skipped."""
    latest = latest_versions(labels)
    skipped = latest["skipped"].astype(bool)
    unsure = latest["unsure"].astype(bool) & ~skipped
    frame = pd.DataFrame({"annotator": latest["annotator"].astype(str),
                          "stage": latest["stage"].fillna("review").astype(str)
                          if "stage" in latest else "review",
                          "unit_id": latest["unit_id"], "skipped": skipped, "unsure": unsure,
                          "counted": ~skipped & ~unsure})
    out = frame.groupby(["annotator", "stage"], sort=True).agg(
        annotations=("unit_id", "size"), units=("unit_id", "nunique"),
        counted=("counted", "sum"), unsure=("unsure", "sum"), skipped=("skipped", "sum"))
    return out.reset_index()[PROGRESS].astype({c: "int64" for c in PROGRESS[2:]})


def totals(labels: pd.DataFrame, per_annotator: pd.DataFrame) -> dict:
    """Overall counts: versions, annotations, annotators, units, units rated twice or more."""
    latest = latest_versions(labels)
    counted = latest[~latest["skipped"].astype(bool) & ~latest["unsure"].astype(bool)]
    raters = counted.groupby("unit_id")["annotator"].nunique()
    return {"versions": len(labels), "annotations": len(latest),
            "annotators": int(latest["annotator"].nunique()),
            "units": int(latest["unit_id"].nunique()),
            "units_with_overlap": int((raters >= 2).sum()),
            **{c: int(per_annotator[c].sum()) for c in ("counted", "unsure", "skipped")}}


def agreement_summary(labels: pd.DataFrame) -> pd.DataFrame:
    """Per label field: ``alpha``, ``units`` (pairable), ``pairs`` and ``kappa_mean/min/max``."""
    table = agreement(labels, categories_of(labels))
    return summary(table).rename_axis("field").reset_index()
