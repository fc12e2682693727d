"""Hand-made labels tables with the columns `curate pull` writes (no Label Studio needed)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from schemas.labels import DEFAULT_CATEGORIES, category_columns

T0 = pd.Timestamp("2026-11-01", tz="UTC")


def label_rows(votes: list[tuple[str, str, bool]], categories=DEFAULT_CATEGORIES,
               start: int = 1) -> pd.DataFrame:
    """One annotation per ``(unit_id, annotator, sensitive)``; ``sensitive`` may also be
    ``"skip"`` or ``"unsure"``."""
    rows = []
    for k, (unit, annotator, vote) in enumerate(votes):
        flag = vote if isinstance(vote, bool) else False
        rows.append({
            "unit_id": unit, "annotation_id": start + k, "annotator": annotator,
            "created_at": T0 + pd.Timedelta(minutes=k), "updated_at": T0 + pd.Timedelta(minutes=k),
            "lead_time_s": 12.5, "project": "audit", "stage": "review", "task_id": start + k,
            "skipped": vote == "skip", "sensitive": flag,
            **{c: flag and i == 0 for i, c in enumerate(category_columns(categories))},
            "severity": 2 if flag else None, "unsure": vote == "unsure", "note": None})
    frame = pd.DataFrame(rows)
    frame["severity"] = frame["severity"].astype("Int64")
    frame["note"] = frame["note"].astype("string")
    return frame


def simulated_labels(units: list[str], truth: pd.Series, annotators=("sim_a", "sim_b", "sim_c"),
                     per_unit: int = 2, error: float = 0.1, seed: int = 0) -> pd.DataFrame:
    """Simulated annotators: ``per_unit`` of them per unit, each wrong with prob ``error``."""
    rng = np.random.default_rng(seed)
    votes = []
    for unit in units:
        for who in rng.choice(annotators, per_unit, replace=False):
            votes.append((unit, str(who), bool(truth[unit]) ^ bool(rng.random() < error)))
    return label_rows(votes)
