"""Adjudication rules: from every annotation of a unit to one final label.

Only the latest version of each annotation counts (an annotation is identified by
``schemas.labels.LABEL_KEY``: server, project, annotation id), and only the latest counted vote
of each annotator on a unit (votes must be independent). Only counted votes
(:func:`schemas.labels.counted`: not skipped, not unsure, with a decision) are votes; an
annotation without a decision is nonresponse, never a negative. An expert's
(``stage == 'expert'``) latest counted annotation wins outright. Otherwise the annotators'
votes on ``sensitive`` decide:

* fewer counted votes than planned (``planned_votes``, the server's overlap of the task, or
  at least ``votes``) → ``incomplete``, with the label of the votes it has (a respondent);
* else all agree → ``unanimous``; a strict majority → ``majority``;
* a tie, or no vote at all → ``unresolved`` (nonresponse).

The final categories are those chosen by at least half of the votes that agree with the final
decision, the severity is the upper median of theirs. ``agreement`` is the share of counted
review votes that agree with the final ``sensitive``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from schemas.labels import DEFAULT_CATEGORIES, category_columns, counted, key_columns

COLUMNS = ["sensitive", "severity", "n_annotations", "planned_votes", "agreement",
           "adjudication"]


def latest_versions(labels: pd.DataFrame) -> pd.DataFrame:
    """The newest row of each annotation (labels keep every edit as a new row).

    Annotations are told apart by ``LABEL_KEY`` and, as a safeguard, their unit: an id seen
    on two units (a reused id, or a file pulled before ``server`` was recorded) is two
    annotations, never one that hides the other."""
    if labels.empty:
        return labels
    key = [*key_columns(labels), "unit_id"]
    ordered = labels.assign(**{f"_k{i}": labels[c].astype(object).where(labels[c].notna(), "")
                               for i, c in enumerate(key)})
    tmp = [f"_k{i}" for i in range(len(key))]
    ordered = ordered.sort_values([*tmp, "updated_at"], kind="stable")
    return ordered.drop_duplicates(tmp, keep="last").drop(columns=tmp)


def one_vote_each(votes: pd.DataFrame) -> pd.DataFrame:
    """The latest vote of each annotator on each unit: one person answering a unit twice (in
    two queues, or as two annotations) is one vote, not two independent ones. Rows without an
    annotator are kept as they are."""
    if "annotator" not in votes or len(votes) < 2:
        return votes
    votes = votes.sort_values("updated_at", kind="stable")
    named = votes["annotator"].notna()
    return pd.concat([votes[named].drop_duplicates(["unit_id", "annotator"], keep="last"),
                      votes[~named]])


def _decide(votes: pd.DataFrame, cats: list[str], planned: int) -> dict:
    """Final fields from the counted votes of one unit (all of one stage)."""
    k = int(votes["sensitive"].astype(bool).sum())
    m = len(votes)
    if 2 * k == m:
        return {"adjudication": "unresolved"}
    final = 2 * k > m
    agreeing = votes[votes["sensitive"].astype(bool) == final]
    status = "incomplete" if m < planned else "unanimous" if k in (0, m) else "majority"
    out: dict = {"sensitive": final, "adjudication": status}
    for c in cats:
        out[c] = bool(final and 2 * agreeing[c].astype(bool).sum() >= len(agreeing))
    sev = agreeing["severity"].dropna().astype(int).sort_values().to_numpy() if final else []
    out["severity"] = int(sev[len(sev) // 2]) if len(sev) else None
    return out


def _planned(group: pd.DataFrame, votes: int) -> int:
    """Votes planned for a unit: the largest planned_votes of its review annotations."""
    if "planned_votes" in group:
        p = pd.to_numeric(group["planned_votes"], errors="coerce").max()
        if pd.notna(p):
            return max(int(p), votes)
    return votes


def adjudicate(labels: pd.DataFrame,
               categories: tuple[str, ...] | list[str] = DEFAULT_CATEGORIES,
               votes: int = 1) -> pd.DataFrame:
    """One row per ``unit_id`` of ``labels``: final ``sensitive``, ``cat_*``, ``severity``,
    ``n_annotations`` (counted review votes), ``planned_votes``, ``agreement`` and
    ``adjudication``; ``votes`` is the least number of votes planned for every unit.

    Examples
    --------
    >>> import pandas as pd
    >>> rows = [dict(unit_id="u1", annotation_id=i, updated_at=0, stage="review",
    ...              sensitive=s, skipped=False, unsure=False, severity=None)
    ...         for i, s in enumerate([True, True, False])]
    >>> out = adjudicate(pd.DataFrame(rows), categories=[])
    >>> bool(out.loc[0, "sensitive"]), out.loc[0, "adjudication"]
    (True, 'majority')
    >>> adjudicate(pd.DataFrame(rows[:1]), categories=[], votes=2).loc[0, "adjudication"]
    'incomplete'
    """
    cats = category_columns(categories)
    latest = latest_versions(labels).copy()
    for c in cats:
        if c not in latest:
            latest[c] = False
    if "stage" not in latest:
        latest["stage"] = "review"
    latest["_counted"] = counted(latest) if len(latest) else np.zeros(0, bool)
    expert_stage = latest["stage"].fillna("review") == "expert"
    rows = []
    for unit, group in latest.groupby("unit_id", sort=True):
        is_expert = expert_stage.loc[group.index]
        review = one_vote_each(group[~is_expert & group["_counted"]])
        expert = group[is_expert & group["_counted"]]
        planned = _planned(group[~is_expert], votes)
        if len(expert):
            top = expert.sort_values("updated_at", kind="stable").iloc[-1]
            row = {"sensitive": bool(top["sensitive"]), "adjudication": "expert",
                   **{c: bool(top[c]) for c in cats},
                   "severity": None if pd.isna(top["severity"]) else int(top["severity"])}
        elif len(review):
            row = _decide(review, cats, planned)
        else:
            row = {"adjudication": "unresolved"}
        final = row.get("sensitive")
        row["n_annotations"] = int(len(review))
        row["planned_votes"] = planned
        row["agreement"] = float((review["sensitive"].astype(bool) == final).mean()) \
            if final is not None and len(review) else np.nan
        rows.append({"unit_id": unit, **row})
    out = pd.DataFrame(rows, columns=["unit_id", "sensitive", *cats, "severity",
                                      "n_annotations", "planned_votes", "agreement",
                                      "adjudication"])
    out["sensitive"] = out["sensitive"].astype("boolean")
    for c in cats:
        out[c] = out[c].astype("boolean")
    out["severity"] = out["severity"].astype("Int64")
    out["n_annotations"] = out["n_annotations"].astype("int64")
    out["planned_votes"] = out["planned_votes"].astype("int64")
    return out
