"""Annotation progress and agreement from a labels table (as written by ``curate pull``).

Progress counts the latest version of each annotation per annotator: how many, on how many
units, how many are counted votes (:func:`schemas.labels.counted`), skipped, "unsure" or
without a decision. Agreement per label field is Krippendorff's alpha and the mean, min and max
of the pairwise Cohen's kappa, computed by :mod:`annotation.agreement` (only counted votes are
ratings).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from annotation.adjudication import latest_versions
from annotation.agreement import agreement, summary
from curation.build import categories_of
from schemas.io import read_parquet
from schemas.labels import counted, no_decision
from schemas.validate import validate_labels

PROGRESS = ["annotator", "stage", "annotations", "units", "counted", "unsure", "skipped",
            "no_decision"]


def read_labels(path: str | Path) -> pd.DataFrame:
    """A labels table checked against the label contract (``schemas.validate_labels``)."""
    return validate_labels(read_parquet(path), source=str(path)).to_pandas()


def progress(labels: pd.DataFrame) -> pd.DataFrame:
    """Per annotator (and stage): latest annotations, units, counted votes, unsure, skipped
    and without a decision."""
    latest = latest_versions(labels)
    skipped = latest["skipped"].astype(bool).to_numpy()
    unsure = latest["unsure"].astype(bool).to_numpy() & ~skipped
    frame = pd.DataFrame({"annotator": latest["annotator"].astype(str),
                          "stage": latest["stage"].fillna("review").astype(str)
                          if "stage" in latest else "review",
                          "unit_id": latest["unit_id"], "skipped": skipped, "unsure": unsure,
                          "counted": counted(latest), "no_decision": no_decision(latest)})
    out = frame.groupby(["annotator", "stage"], sort=True).agg(
        annotations=("unit_id", "size"), units=("unit_id", "nunique"),
        counted=("counted", "sum"), unsure=("unsure", "sum"), skipped=("skipped", "sum"),
        no_decision=("no_decision", "sum"))
    return out.reset_index()[PROGRESS].astype({c: "int64" for c in PROGRESS[2:]})


def totals(labels: pd.DataFrame, per_annotator: pd.DataFrame) -> dict:
    """Overall counts: versions, annotations, annotators, units, units rated twice or more."""
    latest = latest_versions(labels)
    votes = latest[counted(latest)]
    raters = votes.groupby("unit_id")["annotator"].nunique()
    return {"versions": len(labels), "annotations": len(latest),
            "annotators": int(latest["annotator"].nunique()),
            "units": int(latest["unit_id"].nunique()),
            "units_with_overlap": int((raters >= 2).sum()),
            **{c: int(per_annotator[c].sum())
               for c in ("counted", "unsure", "skipped", "no_decision")}}


def agreement_summary(labels: pd.DataFrame) -> pd.DataFrame:
    """Per label field: ``alpha``, ``units`` (pairable), ``pairs`` and ``kappa_mean/min/max``."""
    table = agreement(labels, categories_of(labels))
    return summary(table).rename_axis("field").reset_index()
