"""A labeled pilot sample's prevalence and design effect, as `curate estimate` would see them."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from schemas import DesignError, Manifest, SchemaError

from .. import nonresponse
from ..estimators import Estimate, hajek_mean
from ..inputs import load_sample
from ..survey_design import recognise


@dataclass(frozen=True)
class Pilot:
    """A labeled pilot's Hájek estimate (``estimate``) and its domains' by value of ``column``."""

    estimate: Estimate
    sampled: int
    kind: str
    source: str
    y: str
    column: str | None = None
    domains: dict[str, Estimate] = field(default_factory=dict, repr=False)

    @property
    def p(self) -> float:
        return self.estimate.estimate

    @property
    def deff(self) -> float:
        return self.estimate.deff

    @property
    def n(self) -> int:
        return self.estimate.n


def pilot_estimate(df: pd.DataFrame, manifest: Manifest | dict | None = None,
                   y: str = "sensitive", domain: str | None = None,
                   source: str = "PILOT") -> Pilot:
    """The prevalence of a labeled pilot sample, as ``curate estimate`` would estimate it.

    The design is :func:`~.design.recognise`-d from the manifest (or the weights); units whose
    ``adjudication`` is nonresponse are dropped and the rest reweighted within strata
    (:func:`~.nonresponse.adjust`); ``y`` must be 0/1 on every responding unit. With ``domain``
    (a column of the pilot), each of its values' estimate too.
    """

    if y not in df.columns:
        raise SchemaError(f"the pilot has no label column {y!r} (pass --y; columns: "
                          f"{list(df.columns)[:20]})", source=source)
    if df[y].isna().all():
        raise SchemaError(f"label column {y!r} has no label (every value is null): label the "
                          f"pilot before planning from it", source=source)
    design = recognise(df, manifest, source=source)
    responded = nonresponse.respondents(df)
    if not responded.any():
        raise DesignError(f"{source}: no unit of the pilot responded (every adjudication is "
                          f"nonresponse), so it estimates no prevalence")
    if not responded.all():
        design, _ = nonresponse.adjust(design, responded)
    resp = df.loc[responded].reset_index(drop=True)
    nulls = resp[y].isna().to_numpy()
    if nulls.any():
        raise SchemaError(f"label column {y!r} is null on {int(nulls.sum())} responding "
                          f"unit(s): label them, or mark them nonresponse (adjudication "
                          f"'unresolved')", source=source)
    try:
        values = resp[y].astype(np.float64).to_numpy()
    except (TypeError, ValueError):
        raise SchemaError(f"label column {y!r} is not 0/1 ({resp[y].dtype})",
                          source=source) from None
    if not np.isin(values, (0.0, 1.0)).all():
        raise SchemaError(f"label column {y!r} is not 0/1 (a prevalence needs a binary "
                          f"label)", source=source)
    est = hajek_mean(design, values)
    if not 0.0 < est.estimate < 1.0:
        raise DesignError(f"{source}: the pilot's {est.n} labeled units are all "
                          f"{'negative' if est.estimate <= 0 else 'positive'} for {y!r}, so "
                          f"p̂ = {est.estimate:g} cannot be planned for; give --p instead")
    domains: dict[str, Estimate] = {}
    col = domain if domain is not None and domain in resp.columns else None
    if col is not None:
        keys = resp[col].astype(str).to_numpy()
        for value in np.unique(keys[resp[col].notna().to_numpy()]):
            domains[str(value)] = hajek_mean(design, values, keys == value)
    return Pilot(est, len(df), design.kind, source, y, col, domains)


def load_pilot(path, y: str = "sensitive", domain: str | None = None) -> Pilot:
    """:func:`pilot_estimate` of a labeled sample file (read by ``inputs.load_sample``)."""

    df, manifest, _ = load_sample(path)
    return pilot_estimate(df, manifest, y, domain, source=str(path))
