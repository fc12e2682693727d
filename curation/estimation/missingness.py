"""How much the missing labels could carry: the assumption each nonresponse adjustment makes,
worst-case bounds that drop it, and the domains where it matters (rates and warnings)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from schemas import DesignError

from .estimators import hajek_mean
from .intervals import proportion_interval
from .nonresponse import _mask, parse_cells
from .survey_design import SurveyDesign

ASSUMPTIONS = {
    "strata": "labels are missing at random within the sampling strata ({spec}): within a "
              "stratum, whether a unit got a label does not depend on the label",
    "cells": "labels are missing at random within weighting cells of {spec}: within a cell, "
             "whether a unit got a label does not depend on the label",
    "propensity": "labels are missing at random given {spec}: a unit's chance of a label "
                  "depends on them (through a logistic model), not on the label, and is taken "
                  "as constant within quintile classes of that chance",
}


def worst_case_bounds(design: SurveyDesign, y: np.ndarray, responded: np.ndarray,
                      domain: np.ndarray | None = None, level: float = 0.95,
                      method: str = "beta") -> tuple[float, float]:
    """Horowitz–Manski bounds of a proportion that include sampling error: ``(low, high)``.

    Over ALL sampled units with the design's (unadjusted) weights, every missing label is set
    to 0 and then to 1; ``low`` is the lower ``level`` bound of the first estimate, ``high`` the
    upper bound of the second (:func:`~.intervals.proportion_interval` with ``method``). No
    assumption on why labels are missing; ``y`` at nonrespondents is ignored (NaN is fine).

    Examples
    --------
    >>> import numpy as np
    >>> from curation.estimation.survey_design import SurveyDesign
    >>> d = SurveyDesign("poisson", np.zeros(4, int), ("all",), np.full(4, .01), np.full(4, 100.))
    >>> lo, hi = worst_case_bounds(d, np.array([0., 1., np.nan, 0.]), np.array([1, 1, 0, 1], bool))
    >>> bool(0 < lo < 0.25 < 0.5 < hi < 1)
    True
    """
    responded = _mask(responded, design.n)
    y = np.asarray(y, np.float64)
    if y.shape != (design.n,):
        raise DesignError(f"y has {y.size} values for a design of {design.n} sampled units")
    d = np.ones(design.n, bool) if domain is None else _mask(domain, design.n, "domain")
    if not d.any():
        raise DesignError("worst-case bounds of an empty domain (no sampled unit)")
    if not np.isin(y[responded], (0.0, 1.0)).all():
        raise DesignError("worst-case bounds need a 0/1 y (a proportion) at every respondent")
    low = hajek_mean(design, np.where(responded, y, 0.0), d)
    high = hajek_mean(design, np.where(responded, y, 1.0), d)
    return (float(proportion_interval(low, level, method)[0]),
            float(proportion_interval(high, level, method)[1]))


def domain_rates(design: SurveyDesign, responded: np.ndarray,
                 domains: Mapping[str, np.ndarray] | Iterable[tuple[str, np.ndarray]],
                 ) -> pd.DataFrame:
    """Weighted nonresponse rate of ``all`` and each domain of the full sample.

    ``domains`` are ``{label: mask}`` (or ``(label, mask)`` pairs, as ``tidy._domains`` gives
    them) over ALL sampled units. Columns: ``domain, n, respondents, nonresponse_rate``
    (``Σ_{nonresp∈d} w / Σ_d w``).

    Examples
    --------
    >>> import numpy as np
    >>> from curation.estimation.survey_design import SurveyDesign
    >>> d = SurveyDesign("poisson", np.zeros(4, int), ("all",), np.full(4, .5), np.full(4, 2.))
    >>> r = domain_rates(d, np.array([1, 0, 1, 1], bool), {"m=a": np.array([1, 1, 0, 0], bool)})
    >>> r["nonresponse_rate"].tolist()
    [0.25, 0.5]
    """
    responded = _mask(responded, design.n)
    pairs = list(domains.items() if isinstance(domains, Mapping) else domains)
    if "all" not in (label for label, _ in pairs):
        pairs.insert(0, ("all", np.ones(design.n, bool)))
    rows = []
    for label, mask in pairs:
        m = _mask(mask, design.n, f"domain {label!r}")
        w = design.weight[m]
        rate = float(w[~responded[m]].sum() / w.sum()) if m.any() else float("nan")
        rows.append({"domain": label, "n": int(m.sum()),
                     "respondents": int(responded[m].sum()), "nonresponse_rate": rate})
    return pd.DataFrame(rows, columns=["domain", "n", "respondents", "nonresponse_rate"])


def warnings(rates: pd.DataFrame, threshold: float = 0.05) -> list[str]:
    """One line per domain of :func:`domain_rates` whose nonresponse rate exceeds ``threshold``.

    Examples
    --------
    >>> rates = pd.DataFrame({"domain": ["all", "market=BR"], "n": [400, 80],
    ...                       "respondents": [380, 70], "nonresponse_rate": [0.04, 0.123]})
    >>> warnings(rates)[0][:70]
    'domain market=BR: 12.3% of sampled units (weighted) have no label (thr'
    """
    out = []
    for r in rates.itertuples():
        if r.nonresponse_rate > threshold:
            out.append(f"domain {r.domain}: {r.nonresponse_rate:.1%} of sampled units "
                       f"(weighted) have no label (threshold {threshold * 100:g}%; "
                       f"{r.n - r.respondents} of {r.n} units); the estimate assumes they are "
                       f"missing at random, see the worst-case bounds")
    return out


def _describe(method: str, spec: str) -> str:
    if method == "cells":
        return " × ".join(col if bins is None else f"{col} ({bins} quantile bins)"
                          for col, bins in parse_cells(spec))
    if method == "propensity":
        cols = [c.strip() for c in spec.split(",")] if isinstance(spec, str) else list(spec)
        return ", ".join(cols)
    return spec or "stratum"


def assumption(method: str, spec: str = "") -> str:
    """The missing-at-random sentence of ``method`` (a key of :data:`ASSUMPTIONS`), filled in.

    Examples
    --------
    >>> assumption("cells", "risk_score:5,market")[:77]
    'labels are missing at random within weighting cells of risk_score (5 quantile'
    """
    if method not in ASSUMPTIONS:
        raise DesignError(f"unknown nonresponse method {method!r}; expected one of "
                          f"{list(ASSUMPTIONS)}")
    return ASSUMPTIONS[method].format(spec=_describe(method, spec))
