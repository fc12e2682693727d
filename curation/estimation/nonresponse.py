"""Annotation nonresponse: weighting-class adjustment within strata.

A unit is a nonrespondent when its ``adjudication`` is in :data:`schemas.labels.NONRESPONSE`
(``unresolved``: annotators skipped it or were unsure and no expert resolved it;
``unlabeled``: nobody labeled it). A null label on a responding unit is not nonresponse but an
error (the curated table is inconsistent), so it is reported rather than silently dropped.

Strata are the weighting classes (response homogeneity groups): within stratum h the
respondents are taken as a sample of the same design with ``π'_i = π_i · φ̂_h``, where
``φ̂_h = Σ_{r_h} w / Σ_{s_h} w`` is the weighted response rate. The respondents' weights are thus
scaled by ``1/φ̂_h`` (their weighted total still estimates ``N_h``), and the variance is that of
the design over the respondents: for stratified SRSWOR this is exactly SRSWOR of ``r_h`` out of
``N_h``; for Poisson-type designs a second, Poisson response phase with rate ``φ̂_h``.
The estimates are unbiased when response is at random within strata; the per-stratum rates
are reported so that a reader can judge that assumption.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from schemas import DesignError
from schemas.labels import NONRESPONSE

from .design import SurveyDesign

COLUMN = "adjudication"


def respondents(df: pd.DataFrame) -> np.ndarray:
    """Boolean mask of responding units (all units when there is no ``adjudication`` column)."""
    if COLUMN not in df.columns:
        return np.ones(len(df), bool)
    return ~df[COLUMN].isin(NONRESPONSE).to_numpy()


def adjust(design: SurveyDesign, responded: np.ndarray) -> tuple[SurveyDesign, pd.DataFrame]:
    """The respondents' design with weighting-class adjusted weights, and the rates per stratum.

    Returns the adjusted design over the respondents (in their original order) and a table
    ``stratum, n, respondents, response_rate, nonresponse_rate`` (rates weighted by ``w``).

    Examples
    --------
    >>> import numpy as np
    >>> from curation.estimation.design import SurveyDesign
    >>> d = SurveyDesign("srswor", np.array([0, 0, 0, 0]), ("a",), np.full(4, .4),
    ...                  np.full(4, 2.5), N_h=np.array([10.]))
    >>> adj, rates = adjust(d, np.array([True, True, False, True]))
    >>> adj.weight.tolist(), rates["nonresponse_rate"].tolist()
    ([3.3333333333333335, 3.3333333333333335, 3.3333333333333335], [0.25])
    """
    responded = np.asarray(responded, bool)
    H = len(design.labels)
    n_h = np.bincount(design.codes, minlength=H)
    r_h = np.bincount(design.codes[responded], minlength=H)
    w_all = np.bincount(design.codes, weights=design.weight, minlength=H)
    w_resp = np.bincount(design.codes[responded], weights=design.weight[responded], minlength=H)
    empty = (n_h > 0) & (r_h == 0)
    if empty.any():
        names = [design.labels[h] for h in np.flatnonzero(empty)]
        raise DesignError(f"stratum {names[0]!r} has no responding unit (all "
                          f"{int(n_h[np.flatnonzero(empty)[0]])} unresolved or unlabeled; also "
                          f"{names[1:5]}): resolve them in the expert project or collapse strata")
    with np.errstate(invalid="ignore", divide="ignore"):
        phi = np.where(n_h > 0, w_resp / w_all, np.nan)
    sub = design.subset(responded)
    factor = phi[sub.codes]
    if sub.kind == "srswor":
        prob = np.bincount(sub.codes, minlength=H)[sub.codes] / sub.N_h[sub.codes]
    else:
        prob = sub.prob * factor
    adjusted = replace(sub, prob=prob, weight=sub.weight / factor)
    seen = n_h > 0
    rates = pd.DataFrame({"stratum": np.asarray(design.labels, object)[seen], "n": n_h[seen],
                          "respondents": r_h[seen], "response_rate": phi[seen],
                          "nonresponse_rate": 1.0 - phi[seen]})
    return adjusted, rates
