"""Label prevalence per group of a curated table, and each group's difference from the rest.

Prevalence of ``sensitive`` and of every ``cat_*`` category per value of a group column comes
from :func:`curation.estimation.estimate_table` (nonresponse adjusted within strata, the
interval method of ``curate estimate``); the difference between a group and all other units,
with the covariance of the two domains counted, from
:func:`curation.estimation.representation.prevalence_difference` on the same adjusted design.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from curation.estimation import SurveyDesign, estimate_table, recognise
from curation.estimation.nonresponse import adjust, respondents
from curation.estimation.representation import prevalence_difference
from schemas import Manifest

MISSING = "(missing)"
COLUMNS = ["group_column", "group", "field", "estimate", "se", "ci_low", "ci_high", "n",
           "ci_method", "difference", "difference_ci_low", "difference_ci_high"]


def label_fields(frame: pd.DataFrame) -> list[str]:
    """The binary label fields of a curated table: ``sensitive`` and its ``cat_*`` columns."""
    return [c for c in frame.columns if c == "sensitive" or c.startswith("cat_")]


def prevalence_table(curated: pd.DataFrame, columns: list[str],
                     manifest: Manifest | None = None, level: float = 0.95,
                     source: str = "curated") -> pd.DataFrame:
    """Tidy prevalence of every label field per group of each of ``columns`` (module doc).

    Groups without a responding unit are left out (they cannot be estimated); a null group
    value is the group ``(missing)``.
    """
    frame = curated.copy()
    for c in columns:
        frame[c] = frame[c].astype("string").fillna(MISSING).astype(str)
    fields = label_fields(frame)
    design = recognise(frame, manifest, source=source)
    responded = respondents(frame)
    if not responded.all():
        design, _ = adjust(design, responded)
    resp = frame.loc[responded].reset_index(drop=True)
    rows = []
    for col in columns:
        groups = sorted(resp[col].unique())
        for group in groups:
            table = estimate_table(frame, fields, domain=f"{col}={group}", level=level,
                                   manifest=manifest, accept_unsampled=True, source=source)
            table = table[(table["metric"] == "proportion") & (table["domain"] != "all")]
            inside = (resp[col] == group).to_numpy()
            for r in table.itertuples():
                diff = _difference(design, resp[r.y].astype(float).to_numpy(), inside, level)
                rows.append({"group_column": col, "group": group, "field": r.y,
                             "estimate": r.estimate, "se": r.se, "ci_low": r.ci_low,
                             "ci_high": r.ci_high, "n": r.n, "ci_method": r.ci_method,
                             "difference": diff[0], "difference_ci_low": diff[1],
                             "difference_ci_high": diff[2]})
    return pd.DataFrame(rows, columns=COLUMNS)


def _difference(design: SurveyDesign, y: np.ndarray, inside: np.ndarray,
                level: float) -> tuple[float, float, float]:
    """(difference, low, high) of the group's prevalence minus the rest's; NaN when the group
    is everything (nothing to compare with)."""
    if inside.all():
        return np.nan, np.nan, np.nan
    d = prevalence_difference(design, y, inside, ~inside, level)
    return d.estimate, d.ci_low, d.ci_high
