"""Annotation progress and agreement from a labels table (as written by ``curate pull``).

Exposure counts, per pseudonymized annotator, what they saw that was sensitive (by their own
judgement), by category and on their busiest day: the reviewers' burden, read beside the
exposure budget of ``curate push --budget``.

Progress counts the latest version of each annotation per annotator: how many, on how many
units, how many are counted votes (:func:`schemas.labels.counted`), skipped, "unsure" or
without a decision. Agreement per label field is Krippendorff's alpha and the mean, min and max
of the pairwise Cohen's kappa, computed by :mod:`annotation.agreement` (only counted votes are
ratings).
"""

from __future__ import annotations

import pandas as pd

from annotation.adjudication import latest_versions
from annotation.agreement import agreement, summary
from schemas.labels import categories_of, category_columns, counted, no_decision

PROGRESS = ["annotator", "stage", "annotations", "units", "counted", "unsure", "skipped",
            "no_decision"]


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


def exposure(labels: pd.DataFrame) -> pd.DataFrame:
    """What each (pseudonymized) review annotator was exposed to: tasks opened and answered
    (latest annotations, skipped ones included), days worked, items they judged sensitive, of
    high severity, per category, and the most sensitive items judged on one day."""
    latest = latest_versions(labels)
    if "stage" in latest:
        latest = latest[latest["stage"].fillna("review") == "review"]
    cats = category_columns(categories_of(latest))
    if latest.empty:
        return pd.DataFrame(columns=["annotator", "days", "tasks", "sensitive",
                                     "high_severity", "busiest_day", *cats])
    sensitive = latest["sensitive"].fillna(False).astype(bool)
    frame = pd.DataFrame({
        "annotator": latest["annotator"].astype(str),
        "day": pd.to_datetime(latest["created_at"], utc=True).dt.date,
        "sensitive": sensitive,
        "high_severity": sensitive & (pd.to_numeric(latest["severity"]) >= 3).fillna(False),
        **{c: latest[c].fillna(False).astype(bool) & sensitive for c in cats}})
    out = frame.groupby("annotator", sort=True).agg(
        days=("day", "nunique"), tasks=("day", "size"), sensitive=("sensitive", "sum"),
        high_severity=("high_severity", "sum"), **{c: (c, "sum") for c in cats})
    busiest = frame.groupby(["annotator", "day"])["sensitive"].sum().groupby("annotator").max()
    out.insert(4, "busiest_day", busiest)
    return out.reset_index().astype({c: "int64" for c in out.columns})


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
