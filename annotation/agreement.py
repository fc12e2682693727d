"""Inter-annotator agreement per label field: Krippendorff's alpha and pairwise Cohen's kappa.

Agreement is read from the latest version of each review-stage annotation, over the units with
at least two counted votes (:func:`schemas.labels.counted`: skipped, "unsure" and undecided
annotations are missing values, not votes, as in adjudication); a unit with one vote has
nothing to agree with and is left out, and :func:`coverage` says how many units and ratings
qualify. Booleans (``sensitive``,
``cat_*``) are nominal; ``severity`` is ordinal (alpha with the ordinal metric, kappa with
linear weights) and counted only where both sides called the item sensitive. A field where every
rating is the same value has no defined alpha or kappa (NaN), which is reported, not hidden.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd

from schemas.labels import DEFAULT_CATEGORIES, category_columns, counted, no_decision

from .adjudication import latest_versions, one_vote_each

COLUMNS = ["field", "measure", "annotator_a", "annotator_b", "value", "n_units", "n_ratings"]


def _review(latest: pd.DataFrame) -> pd.DataFrame:
    if "stage" in latest:
        return latest[latest["stage"].fillna("review") != "expert"]
    return latest


def ratings(labels: pd.DataFrame, min_votes: int = 2) -> pd.DataFrame:
    """The counted review votes (latest versions, :func:`schemas.labels.counted`), one per
    (unit, annotator) (the newest when an annotator labeled a unit twice), of the units with
    at least ``min_votes`` of them."""
    latest = _review(latest_versions(labels))
    if latest.empty:
        return latest
    votes = one_vote_each(latest[counted(latest)])
    per_unit = votes.groupby("unit_id")["annotator"].transform("size")
    return votes[per_unit >= min_votes]


def coverage(labels: pd.DataFrame) -> dict:
    """What agreement rests on: review units with a counted vote, units and ratings with two
    votes or more (those agreement uses), and annotations that are no vote.

    Examples
    --------
    >>> rows = [dict(unit_id=u, annotation_id=i, annotator=a, updated_at=0, sensitive=s,
    ...              skipped=False, unsure=False)
    ...         for i, (u, a, s) in enumerate([("u1", "a", True), ("u1", "b", True),
    ...                                        ("u2", "a", False), ("u3", "a", None)])]
    >>> coverage(pd.DataFrame(rows))
    {'units_with_votes': 2, 'units': 1, 'ratings': 2, 'no_decision': 1, 'skipped_or_unsure': 0}
    """
    latest = _review(latest_versions(labels))
    if latest.empty:
        return {"units_with_votes": 0, "units": 0, "ratings": 0, "no_decision": 0,
                "skipped_or_unsure": 0}
    votes = ratings(labels, min_votes=1)
    pairable = ratings(labels)
    undecided = int(no_decision(latest).sum())
    return {"units_with_votes": int(votes["unit_id"].nunique()),
            "units": int(pairable["unit_id"].nunique()), "ratings": len(pairable),
            "no_decision": undecided,
            "skipped_or_unsure": int(len(latest) - counted(latest).sum() - undecided)}


def why_none(cov: dict) -> str:
    """Why no agreement can be computed, from :func:`coverage`."""
    return (f"no unit has two or more counted votes ({cov['units_with_votes']} unit(s) with "
            f"one; {cov['no_decision']} annotation(s) without a decision and "
            f"{cov['skipped_or_unsure']} skipped or unsure are no votes): agreement needs "
            f"overlap, e.g. `curate push --annotators 2 --overlap 0.2`")


def _matrix(votes: pd.DataFrame, field: str) -> pd.DataFrame:
    """Annotators × units of ``field`` (NaN where an annotator did not rate a unit)."""
    values = votes[field]
    if field == "severity":
        values = values.where(votes["sensitive"].astype(bool))
    frame = votes.assign(_v=pd.to_numeric(values.astype("Float64"), errors="coerce"))
    return frame.pivot_table(index="annotator", columns="unit_id", values="_v",
                             aggfunc="last", dropna=False).astype(float)


def krippendorff_alpha(matrix: np.ndarray, level: str = "nominal") -> float:
    """Alpha of an annotators × units matrix; NaN when fewer than two values occur or no unit
    has two ratings (alpha is undefined there)."""
    import krippendorff

    pairable = (np.isfinite(matrix).sum(axis=0) >= 2)
    values = np.unique(matrix[:, pairable][np.isfinite(matrix[:, pairable])])
    if len(values) < 2:
        return float("nan")
    return float(krippendorff.alpha(reliability_data=matrix[:, pairable],
                                    level_of_measurement=level))


def cohen_kappa(a: np.ndarray, b: np.ndarray, ordinal: bool = False) -> float:
    """Cohen's kappa of two raters on their common units (linear weights when ordinal)."""
    from sklearn.metrics import cohen_kappa_score

    if len(np.unique(np.concatenate([a, b]))) < 2:
        return float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(cohen_kappa_score(a, b, weights="linear" if ordinal else None))


def agreement(labels: pd.DataFrame,
              categories: tuple[str, ...] | list[str] = DEFAULT_CATEGORIES,
              min_common: int = 5) -> pd.DataFrame:
    """Tidy agreement table: one ``alpha`` row per field, one ``kappa`` row per field and pair
    of annotators with at least ``min_common`` commonly rated units.

    Examples
    --------
    >>> rows = [dict(unit_id=u, annotation_id=10 * i + j, annotator=a, updated_at=0,
    ...              sensitive=s, skipped=False, unsure=False, severity=None)
    ...         for i, (u, votes) in enumerate([("u1", (1, 1)), ("u2", (0, 0)), ("u3", (1, 0))])
    ...         for j, (a, s) in enumerate(zip(("ann1", "ann2"), votes))]
    >>> t = agreement(pd.DataFrame(rows), categories=[], min_common=1)
    >>> t[["field", "measure", "n_units"]].values.tolist()[:2]
    [['sensitive', 'alpha', 3], ['sensitive', 'kappa', 3]]
    >>> round(float(t.loc[1, "value"]), 3)  # po = 2/3, pe = 2/3·1/3 + 1/3·2/3 = 4/9
    0.4
    """
    votes = ratings(labels)
    fields = ["sensitive", *category_columns(categories), "severity"]
    rows = []
    if votes.empty:
        return pd.DataFrame(rows, columns=COLUMNS)
    for field in fields:
        if field not in votes:
            continue
        m = _matrix(votes, field)
        level = "ordinal" if field == "severity" else "nominal"
        grid = m.to_numpy()
        pairable = np.isfinite(grid).sum(axis=0) >= 2
        rows.append([field, "alpha", None, None, krippendorff_alpha(grid, level),
                     int(pairable.sum()), int(np.isfinite(grid[:, pairable]).sum())])
        for a, b in itertools.combinations(m.index, 2):
            both = np.isfinite(m.loc[a].to_numpy()) & np.isfinite(m.loc[b].to_numpy())
            if both.sum() < min_common:
                continue
            x, y = m.loc[a].to_numpy()[both], m.loc[b].to_numpy()[both]
            rows.append([field, "kappa", a, b, cohen_kappa(x, y, field == "severity"),
                         int(both.sum()), int(2 * both.sum())])
    return pd.DataFrame(rows, columns=COLUMNS)


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per field: alpha, the units and ratings it rests on, and the mean/min/max pairwise
    kappa."""
    alpha = table[table["measure"] == "alpha"].set_index("field")
    kappa = table[table["measure"] == "kappa"].groupby("field")["value"]
    out = pd.DataFrame({"alpha": alpha["value"], "units": alpha["n_units"],
                        "ratings": alpha["n_ratings"]})
    out["pairs"] = table[table["measure"] == "kappa"].groupby("field").size()
    out["kappa_mean"], out["kappa_min"], out["kappa_max"] = kappa.mean(), kappa.min(), kappa.max()
    out["pairs"] = out["pairs"].fillna(0).astype(int)
    return out.reindex(alpha.index)
