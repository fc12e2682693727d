"""Adjudication rules: from every annotation of a unit to one final label.

Only the latest version of each annotation counts; skipped annotations and "unsure" answers
are not votes. An expert's (``stage == 'expert'``) latest counted annotation wins outright.
Otherwise the annotators' votes on ``sensitive`` decide: all agree → ``unanimous``; a strict
majority → ``majority``; a tie, or no vote at all → ``unresolved``. The final categories are
those chosen by at least half of the annotations that agree with the final decision, the
severity is the upper median of theirs. ``agreement`` is the share of counted review
annotations that agree with the final ``sensitive``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from schemas.labels import DEFAULT_CATEGORIES, category_columns


def latest_versions(labels: pd.DataFrame) -> pd.DataFrame:
    """The newest row of each annotation (labels keep every edit as a new row)."""
    if labels.empty:
        return labels
    order = labels.sort_values(["annotation_id", "updated_at"], kind="stable")
    return order.drop_duplicates("annotation_id", keep="last")


def _decide(votes: pd.DataFrame, cats: list[str]) -> dict:
    """Final fields from the counted votes of one unit (all of one stage)."""
    k = int(votes["sensitive"].sum())
    m = len(votes)
    if 2 * k == m:
        return {"adjudication": "unresolved"}
    final = 2 * k > m
    agreeing = votes[votes["sensitive"] == final]
    out: dict = {"sensitive": final, "adjudication": "unanimous" if k in (0, m) else "majority"}
    for c in cats:
        out[c] = bool(final and 2 * agreeing[c].astype(bool).sum() >= len(agreeing))
    sev = agreeing["severity"].dropna().astype(int).sort_values().to_numpy() if final else []
    out["severity"] = int(sev[len(sev) // 2]) if len(sev) else None
    return out


def adjudicate(labels: pd.DataFrame,
               categories: tuple[str, ...] | list[str] = DEFAULT_CATEGORIES) -> pd.DataFrame:
    """One row per ``unit_id`` of ``labels``: final ``sensitive``, ``cat_*``, ``severity``,
    ``n_annotations``, ``agreement`` and ``adjudication``.

    Examples
    --------
    >>> import pandas as pd
    >>> rows = [dict(unit_id="u1", annotation_id=i, updated_at=0, stage="review",
    ...              sensitive=s, skipped=False, unsure=False, severity=None)
    ...         for i, s in enumerate([True, True, False])]
    >>> out = adjudicate(pd.DataFrame(rows), categories=[])
    >>> bool(out.loc[0, "sensitive"]), out.loc[0, "adjudication"]
    (True, 'majority')
    """
    cats = category_columns(categories)
    latest = latest_versions(labels).copy()
    for c in cats:
        if c not in latest:
            latest[c] = False
    if "stage" not in latest:
        latest["stage"] = "review"
    counted = ~latest["skipped"].astype(bool) & ~latest["unsure"].astype(bool)
    latest["_counted"] = counted
    rows = []
    for unit, group in latest.groupby("unit_id", sort=True):
        review = group[(group["stage"] != "expert") & group["_counted"]]
        expert = group[(group["stage"] == "expert") & group["_counted"]]
        if len(expert):
            top = expert.sort_values("updated_at", kind="stable").iloc[-1]
            row = {"sensitive": bool(top["sensitive"]), "adjudication": "expert",
                   **{c: bool(top[c]) for c in cats},
                   "severity": None if pd.isna(top["severity"]) else int(top["severity"])}
        elif len(review):
            row = _decide(review, cats)
        else:
            row = {"adjudication": "unresolved"}
        final = row.get("sensitive")
        row["n_annotations"] = int(len(review))
        row["agreement"] = float((review["sensitive"] == final).mean()) \
            if final is not None and len(review) else np.nan
        rows.append({"unit_id": unit, **row})
    out = pd.DataFrame(rows, columns=["unit_id", "sensitive", *cats, "severity",
                                      "n_annotations", "agreement", "adjudication"])
    out["sensitive"] = out["sensitive"].astype("boolean")
    for c in cats:
        out[c] = out[c].astype("boolean")
    out["severity"] = out["severity"].astype("Int64")
    return out
