"""Intervention effect: difference-in-differences of a treated and a control domain over two waves.

``DiD = (B_t − A_t) − (B_c − A_c)`` for Hájek proportions of a 0/1 label in the treated
domain ``t`` and the control domain ``c`` of waves A and B. Its variance has ten terms: the
four variances, the two wave covariances (units in both waves), the two covariances between
the domains of one wave and the two cross terms ``Cov(A_t, B_c)``, ``Cov(B_t, A_c)``.

All of them come from one linearization. Each domain proportion is ``Σ x`` over the wave of its
weighted score ``x = w·1_d·(y − p̂_d)/N̂_d`` (:func:`~.estimators.mean_score`), so the DiD is,
to first order, ``Σ_B u_B − Σ_A u_A`` with the per-unit scores ``u = x_t − x_c`` of each wave:

* ``V(Σ u)`` within a wave is the design's variance of one total
  (:meth:`~.survey_design.SurveyDesign.variance`). It holds both domain variances and
  ``−2 Cov(t, c)``. Disjoint domains that cut across strata are *not* uncorrelated under
  stratified SRSWOR: with ``n_h`` fixed, a stratum that draws more treated units draws fewer
  control ones, and the within-stratum covariance of the scores is
  ``−n_h/(n_h−1)·x̄_t,h·x̄_c,h`` per unit; it is zero under Poisson sampling (independent
  draws), and the linearized variance gets either right without a special case.
* ``Cov(Σ_A u_A, Σ_B u_B)`` over the units in both waves is the PRN covariance of
  :func:`~.change.covariance` (Tam 1984 for coordinated stratified SRSWOR, the HT form else).
  It carries the two wave covariances and the two cross-domain ones (a unit that moved from
  control to treated between the waves scores in both).

The interval is by default MOVER (Zou & Donner 2008) from the two changes' own intervals (each
the MOVER of two skewed mid-p gamma intervals, :func:`~.change.proportion_change`), with their
correlation ``r = Cov(Δ_t, Δ_c)/√(V(Δ_t) V(Δ_c))`` recovered from ``V(DiD) = V(Δ_t) + V(Δ_c) −
2 Cov(Δ_t, Δ_c)``: it keeps the skew of rare proportions. ``method="normal"`` is the Wald
interval ``DiD ± z·SE``, fine when both domains have many positives in both waves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from schemas import DesignError

from .change import Change, covariance, proportion_change
from .change_interval import mover_of_difference
from .estimators import mean_score
from .survey_design import SurveyDesign

DID_METHODS = ("mover", "normal")


@dataclass(frozen=True)
class Effect:
    """The treated and control changes, the DiD's variance and its interval."""

    treated: Change
    control: Change
    variance: float
    ci_low: float
    ci_high: float
    method: str

    @property
    def estimate(self) -> float:
        return self.treated.difference - self.control.difference

    @property
    def se(self) -> float:
        return math.sqrt(max(self.variance, 0.0))

    @property
    def correlation(self) -> float:
        """Correlation of the two changes (from the variance decomposition)."""
        vt, vc = self.treated.se_difference ** 2, self.control.se_difference ** 2
        if vt <= 0 or vc <= 0:
            return 0.0
        return float(np.clip((vt + vc - self.variance) / (2 * math.sqrt(vt * vc)), -1.0, 1.0))


def did_variance(design_a: SurveyDesign, y_a: np.ndarray, ids_a: np.ndarray,
                 treated_a: np.ndarray, control_a: np.ndarray,
                 design_b: SurveyDesign, y_b: np.ndarray, ids_b: np.ndarray,
                 treated_b: np.ndarray, control_b: np.ndarray, coordination: str) -> float:
    """Linearized variance of the DiD (module docstring): ``V(Σ u_A) + V(Σ u_B) −
    2 Ĉov(Σ u_A, Σ u_B)`` with ``u = x_t − x_c`` in each wave."""
    u_a = mean_score(design_a, y_a, treated_a) - mean_score(design_a, y_a, control_a)
    u_b = mean_score(design_b, y_b, treated_b) - mean_score(design_b, y_b, control_b)
    cov, _ = covariance(design_a, u_a, ids_a, design_b, u_b, ids_b, coordination)
    return float(design_a.variance(u_a) + design_b.variance(u_b) - 2.0 * cov)


def did_effect(design_a: SurveyDesign, y_a: np.ndarray, ids_a: np.ndarray,
               treated_a: np.ndarray, control_a: np.ndarray,
               design_b: SurveyDesign, y_b: np.ndarray, ids_b: np.ndarray,
               treated_b: np.ndarray, control_b: np.ndarray, coordination: str = "positive",
               level: float = 0.95, method: str = "mover") -> Effect:
    """Difference-in-differences of a 0/1 ``y`` between the treated and control domains
    (boolean masks of each wave's units, disjoint and non-empty) from wave A to wave B."""
    if method not in DID_METHODS:
        raise DesignError(f"unknown DiD interval {method!r}; expected one of {list(DID_METHODS)}")
    y_a, y_b = np.asarray(y_a, np.float64), np.asarray(y_b, np.float64)
    masks = [np.asarray(m, bool) for m in (treated_a, control_a, treated_b, control_b)]
    ta, ca, tb, cb = masks
    if (ta & ca).any() or (tb & cb).any():
        raise DesignError("the treated and control domains overlap: give disjoint domains")
    ct = proportion_change(design_a, y_a, ids_a, design_b, y_b, ids_b, coordination, level,
                           domain_a=ta, domain_b=tb)
    cc = proportion_change(design_a, y_a, ids_a, design_b, y_b, ids_b, coordination, level,
                           domain_a=ca, domain_b=cb)
    var = did_variance(design_a, y_a, ids_a, ta, ca, design_b, y_b, ids_b, tb, cb,
                       coordination)
    est = ct.difference - cc.difference
    if method == "normal":
        half = stats.norm.ppf(0.5 + level / 2) * math.sqrt(max(var, 0.0))
        low, high, used = max(est - half, -2.0), min(est + half, 2.0), "normal"
    else:
        vt, vc = ct.se_difference ** 2, cc.se_difference ** 2
        r = (vt + vc - var) / (2 * math.sqrt(vt * vc)) if vt > 0 and vc > 0 else 0.0
        low, high = mover_of_difference(ct.difference, ct.ci_low, ct.ci_high, cc.difference,
                                        cc.ci_low, cc.ci_high, float(np.clip(r, -1.0, 1.0)),
                                        bound=2.0)
        used = f"MOVER of the changes' {ct.method}"
    return Effect(ct, cc, var, low, high, used)


DID_COLUMNS = ["y", "treated", "control", "change_treated", "change_control", "did", "se",
               "ci_low", "ci_high", "correlation", "n_treated_a", "n_treated_b", "n_control_a",
               "n_control_b", "coordination", "ci_method"]


def _wave(df, manifest, source: str):
    """(design over respondents, respondents' rows), as :func:`~.change.change_table` does."""
    from .nonresponse import adjust, respondents
    from .survey_design import recognise

    design = recognise(df, manifest, source=source)
    ok = respondents(df)
    if not ok.all():
        design, _ = adjust(design, ok)
    return design, df.loc[ok].reset_index(drop=True)


def did_table(df_a, manifest_a, df_b, manifest_b, ys: list[str], domain: str, treated: str,
              control: str, level: float = 0.95, coordination: str | None = None,
              sources: tuple[str, str] = ("A", "B"), method: str = "mover"):
    """Per y (0/1 label), the DiD of domain ``domain=treated`` against ``domain=control`` from
    wave A to wave B (module docstring); a tidy DataFrame with :data:`DID_COLUMNS`.

    The waves go through :func:`~.change.change_table` first, so every check of two waves
    (columns, labels, populations, designs, coordination) is the one ``curate compare`` makes.
    """
    import pandas as pd

    from .change import change_table
    from .tidy import y_values

    if treated == control:
        raise DesignError(f"--did and --control name the same domain {domain}={treated!r}")
    changes = change_table(df_a, manifest_a, df_b, manifest_b, ys, domain, level, coordination,
                           sources=sources)
    coordination = str(changes["coordination"].iloc[0])
    (da, ra), (db, rb) = _wave(df_a, manifest_a, sources[0]), _wave(df_b, manifest_b, sources[1])
    masks = {}
    for name, value in (("treated", treated), ("control", control)):
        for wave, rows, source in (("a", ra, sources[0]), ("b", rb, sources[1])):
            values = rows[domain].astype(str).to_numpy()
            masks[name, wave] = values == value
            if not masks[name, wave].any():
                known = sorted(set(values))
                raise DesignError(f"{source}: no responding unit has {domain}={value!r} (the "
                                  f"{name} domain); values there: {known[:12]}")
    out = []
    for y in ys:
        (ya, _), (yb, _) = y_values(ra, y, sources[0]), y_values(rb, y, sources[1])
        e = did_effect(da, ya, ra["unit_id"].to_numpy(), masks["treated", "a"],
                       masks["control", "a"], db, yb, rb["unit_id"].to_numpy(),
                       masks["treated", "b"], masks["control", "b"], coordination, level,
                       method)
        out.append({"y": y, "treated": f"{domain}={treated}", "control": f"{domain}={control}",
                    "change_treated": e.treated.difference,
                    "change_control": e.control.difference, "did": e.estimate, "se": e.se,
                    "ci_low": e.ci_low, "ci_high": e.ci_high, "correlation": e.correlation,
                    "n_treated_a": e.treated.a.n, "n_treated_b": e.treated.b.n,
                    "n_control_a": e.control.a.n, "n_control_b": e.control.b.n,
                    "coordination": coordination, "ci_method": e.method})
    return pd.DataFrame(out, columns=DID_COLUMNS)
