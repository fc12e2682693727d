"""Plans that use a model: the human labels a half-width needs when a model's prediction is
known for the whole population, and the cheapest split of a two-phase design.

Every plan goes through the same search and honest interval as the human-only plans
(:mod:`.plans`: Korn–Graubard on the anticipated effective sample size, the smallest n that
meets the margin and stays met), with its own anticipated variance:

* **GREG under SRS** (prediction known for every unit): ``V = (1−R²) S_y² (1/n − 1/N)``,
  ``S_y² = p(1−p)``: the regression estimator's large-sample variance (Särndal, Swensson &
  Wretman 1992, §6.5; Cochran 1977, §7.3), with ``R²`` from the pilot (:mod:`.informative`).
* **Stratified by the model** (its 0/1 label, or quantile bins of its probability) with Neyman
  allocation ``n_h ∝ N_h S_h``, ``S_h = √(p_h(1−p_h))`` (:func:`.designs.plan_stratified`). For a
  0/1 label this is the best any design that knows only the label can do (within a stratum the
  label is constant, so GREG adds nothing): the bound the issue calls "Neyman on the label".
  ``p_h`` is the pilot's weighted prevalence in the stratum with half a pilot unit's weight of
  positives added (Jeffreys), so that a stratum without a pilot positive is not planned at
  zero variance.
* **Two-phase** (double sampling for regression; Cochran 1977, §12.6; Särndal et al. §9.7):
  phase 1 an SRS of ``n1`` units labeled by the model at ``C_m`` each, phase 2 an SRS of ``n2``
  of them labeled by people at ``C_h`` each, the regression estimator with the phase-1 mean of
  the prediction. Its variance is
  ``V(n1, n2) = S_e² (1/n2 − 1/n1) + S_y² (1/n1 − 1/N)``, ``S_e² = (1−R²) S_y²``
  (the phase-2 residual variance around the phase-1 regression, plus the phase-1 variance of
  the mean). Minimising ``a/n2 + b/n1`` (``a = S_e²``, ``b = R² S_y²``) at a fixed cost
  ``C = C_m n1 + C_h n2`` (Lagrange: ``a/n2² = μ C_h``, ``b/n1² = μ C_m``) gives the classical
  optimum ``n2/n1 = √(C_m (1−R²) / (C_h R²))``; the plan keeps that ratio and finds the smallest
  ``n2`` that meets the margin. When the ratio is ≥ 1 (a weak or costly model) phase 1 brings
  nothing: ``n1 = n2`` and the plan is the human-only SRS.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from schemas import DesignError

from .designs import plan_importance, plan_srs, plan_stratified
from .informative import ModelPilot
from .plans import Plan, _check, _Moments, _plan, _srs_var


@dataclass(frozen=True)
class ModelPlan:
    """A plan with what it costs: human labels (``plan.n``), model labels, total cost."""

    plan: Plan
    group: str
    model_labels: int
    cost: float
    note: str = ""
    phase1: int = 0
    edges: tuple[float, ...] = ()


def optimal_ratio(r2: float, cost_human: float, cost_model: float) -> float:
    """``n2/n1 = √(C_m (1−R²) / (C_h R²))`` of double sampling for regression (inf if R² = 0).

    >>> round(optimal_ratio(0.5, 1.0, 0.01), 4)
    0.1
    """
    if r2 <= 0:
        return float("inf")
    return float(np.sqrt(cost_model * (1.0 - r2) / (cost_human * r2)))


def two_phase_variance(p: float, r2: float, n1: float, n2: float, N: float | None) -> float:
    """``S_e² (1/n2 − 1/n1) + S_y² (1/n1 − 1/N)`` of the two-phase regression estimator."""
    s2 = p * (1.0 - p)
    inv_N = 0.0 if N is None else 1.0 / N
    return (1.0 - r2) * s2 * (1.0 / n2 - 1.0 / n1) + s2 * max(1.0 / n1 - inv_N, 0.0)


def plan_greg_srs(margin: float, p: float, r2: float, N: float | None, level: float = 0.95,
                  method: str = "auto") -> Plan:
    """GREG with a prediction known for every unit, under SRS (module docstring)."""
    _check(margin, level, p)

    def moments(n: int) -> _Moments:
        v = _srs_var(p, n, N)
        return _Moments((1.0 - r2) * v, n, 1, v, n * p)
    return _plan(f"GREG, SRS (R²={r2:.3f})", "srswor", moments, p, margin, level, method, 2,
                 int(N) if N is not None else None)


def plan_two_phase(margin: float, p: float, r2: float, N: float | None, cost_human: float,
                   cost_model: float, level: float = 0.95,
                   method: str = "auto") -> tuple[Plan, int, float]:
    """The cheapest two-phase plan (module docstring): (plan of n2, n1, n2/n1)."""
    _check(margin, level, p)
    if cost_human <= 0 or cost_model < 0:
        raise DesignError(f"costs must be positive (human {cost_human:g}, model "
                          f"{cost_model:g})")
    ratio = min(1.0, optimal_ratio(r2, cost_human, cost_model))
    top = None if N is None else int(N)

    def n1_of(n2: int) -> int:
        if ratio <= 0:  # R² = 1: the model alone would do; phase 1 takes all it may
            return top if top is not None else n2 * 10**6
        n1 = max(n2, int(np.ceil(n2 / ratio)))
        return n1 if top is None else min(n1, top)

    def moments(n2: int) -> _Moments:
        v = two_phase_variance(p, r2, n1_of(n2), n2, N)
        return _Moments(v, n2, 1, _srs_var(p, n2, N), n2 * p)
    plan = _plan("two-phase regression", "srswor", moments, p, margin, level, method, 2, top)
    return plan, n1_of(plan.n), ratio


def model_strata(mp: ModelPilot, population: np.ndarray | None, n_bins: int = 5,
                 ) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """(labels, N_h, p_h, inner edges) of strata made by the model: its 0/1 label (edge ½),
    or ``n_bins`` quantile bins of its probability (a unit is in bin ``searchsorted(edges, f,
    'right')``); counts from the population's predictions (else the pilot's weights), ``p_h``
    the pilot's Jeffreys-smoothed weighted prevalence (module docstring). Empty bins are
    dropped."""
    if mp.binary:
        edges = np.array([0.5])
    else:
        values = population if population is not None else mp.f
        weights = None if population is not None else mp.weight
        edges = _quantiles(values, weights, n_bins)
    code = np.searchsorted(edges, mp.f, side="right")
    H = len(edges) + 1
    if population is not None:
        N_h = np.bincount(np.searchsorted(edges, population, side="right"), minlength=H)
    else:
        N_h = np.rint(np.bincount(code, weights=mp.weight, minlength=H)).astype(np.int64)
    W = np.bincount(code, weights=mp.weight, minlength=H)
    Y = np.bincount(code, weights=mp.weight * mp.y, minlength=H)
    n = np.bincount(code, minlength=H)
    unit = np.where(n > 0, W / np.maximum(n, 1), 0.0)
    p_h = np.where(W > 0, (Y + 0.5 * unit) / np.maximum(W + unit, 1e-300), mp.p)
    keep = N_h > 0
    if mp.binary:
        labels = ["model=0", "model=1"]
    else:
        bounds = np.r_[0.0, edges, 1.0]
        labels = [f"[{bounds[h]:.3g}, {bounds[h + 1]:.3g})" for h in range(H)]
    return ([lab for lab, k in zip(labels, keep, strict=True) if k], N_h[keep], p_h[keep],
            edges)


def _quantiles(values: np.ndarray, weights: np.ndarray | None, n_bins: int) -> np.ndarray:
    """Inner edges of ``n_bins`` (weighted) quantile bins, duplicates dropped."""
    order = np.argsort(values, kind="stable")
    v = values[order]
    w = np.ones(v.size) if weights is None else weights[order]
    cum = np.cumsum(w) / w.sum()
    idx = np.searchsorted(cum, np.arange(1, n_bins) / n_bins)
    edges = np.unique(v[np.minimum(idx, v.size - 1)])
    return edges[(edges > v[0])]


def plan_with_model(mp: ModelPilot, margin: float, level: float = 0.95, method: str = "auto",
                    population: np.ndarray | None = None, cost_human: float = 1.0,
                    cost_model: float = 0.01, n_bins: int = 5,
                    mixture: float = 0.1) -> list[ModelPlan]:
    """Human labels for ``margin`` without the model, with it known for the population (GREG
    under SRS; stratified on the model, Neyman), and the cheapest two-phase split.

    ``population`` holds the model's prediction for every population unit (else the pilot's
    weights stand for it and N is their sum).
    """
    p, r2 = mp.p, mp.r2()
    N = float(population.size) if population is not None else mp.N
    Ni = int(round(N))
    out: list[ModelPlan] = []
    srs = plan_srs(margin, p, level, N=Ni, method=method)
    out.append(ModelPlan(srs, "without the model", 0, cost_human * srs.n))
    if population is not None and not mp.binary and population.sum() > 0:
        imp = plan_importance(margin, population, level, mixture, p, method)
        out.append(ModelPlan(imp, "without the model", 0, cost_human * imp.n,
                             "today: the score only draws"))
    greg = plan_greg_srs(margin, p, r2, Ni, level, method)
    out.append(ModelPlan(greg, "model known for the population", Ni,
                         cost_human * greg.n + cost_model * Ni))
    labels, N_h, p_h, edges = model_strata(mp, population, n_bins)
    if len(N_h) >= 2:
        strat = plan_stratified(margin, N_h, p_h, level, "neyman", labels=labels,
                                min_per_stratum=2, method=method)
        what = "model label" if mp.binary else f"{len(N_h)} score bins"
        note = ("bound: the best design on the label alone" if mp.binary else
                "best stratified design on these bins (finer bins may do better)")
        note += _unseen_note(strat.allocation)
        out.append(ModelPlan(_renamed(strat, f"stratified by {what}, Neyman"),
                             "model known for the population", Ni,
                             cost_human * strat.n + cost_model * Ni, note,
                             edges=tuple(float(e) for e in edges)))
    two, n1, ratio = plan_two_phase(margin, p, r2, Ni, cost_human, cost_model, level, method)
    note = (f"n2/n1 = {ratio:.3f}" if ratio < 1 else
            "does not pay at these costs: n1 = n2 (human-only)")
    out.append(ModelPlan(two, "two-phase", n1, cost_human * two.n + cost_model * n1, note, n1))
    return out


#: A stratum expecting fewer sampled positives than ``UNSEEN[0]`` while carrying at least
#: ``UNSEEN[1]`` of the planned variance usually has that share estimated from no positive: the
#: interval is then too narrow (tests/curation/estimation/test_plan_model.py measures it), so
#: the plan says so.
UNSEEN = (1.0, 0.2)


def _unseen_note(allocation: pd.DataFrame) -> str:
    """A warning naming the stratum that expects fewer than ``UNSEEN[0]`` sampled positives
    yet carries at least ``UNSEEN[1]`` of the variance (module constant), if any."""
    N_h, n_h, p_h = (allocation[c].to_numpy(np.float64) for c in ("N_h", "n_h", "p_h"))
    expected = n_h * p_h
    part = np.where(n_h > 0, N_h ** 2 * (1 - n_h / N_h) * p_h * (1 - p_h) / np.maximum(n_h, 1),
                    0.0)
    share = part / part.sum() if part.sum() > 0 else part
    risky = np.flatnonzero((expected < UNSEEN[0]) & (share >= UNSEEN[1]))
    if risky.size == 0:
        return ""
    h = int(risky[np.argmax(share[risky])])
    return (f"; expects {expected[h]:.2g} sampled positive(s) in {allocation['stratum'].iloc[h]}"
            f", {share[h]:.0%} of the variance: Korn–Graubard, which sees none there, is too "
            f"narrow (under-covers); `curate estimate` gives such a disproportionate design the "
            f"skew interval (--ci auto), which holds but is wider: plan more units")


def _renamed(plan: Plan, design: str) -> Plan:
    return replace(plan, design=design)


SHOW_STRATA = 12  # pilot strata listed one per line (more: the overall figures only)


def summary_lines(mp: ModelPilot) -> list[str]:
    """How informative the model is, in words and figures (for ``curate plan``)."""
    lines = []
    if mp.binary:
        c = mp.confusion()
        lines.append(f"model {mp.pred_col} (0/1 label): sensitivity {c['sensitivity']:.3f}, "
                     f"specificity {c['specificity']:.4f}, positive rate {c['q']:.4g}; "
                     f"prevalence {c['ppv']:.3g} among its positives, {c['p_neg']:.3g} among "
                     f"its negatives")
    else:
        mean = float(np.average(mp.f, weights=mp.weight))
        lines.append(f"model {mp.pred_col} (a probability): weighted mean {mean:.4g} (not "
                     f"a prevalence: scores are not calibrated)")
    lines.append(f"R² of {mp.pilot.y} on {mp.pred_col} (GREG under SRS): {mp.r2():.3f}, "
                 f"weighted over {mp.y.size} labeled pilot units ({int(mp.y.sum())} positive)")
    per = mp.by_stratum()
    if 2 <= len(per) <= SHOW_STRATA:
        lines += [f"  pilot stratum {r.stratum}: n = {r.n}, {r.positives} positive, p_h = "
                  f"{r.p_h:.4g}, R²_h = {r.R2_h:.3f}" for r in per.itertuples()]
    return lines


def plan_table(plans: list[ModelPlan], cost_human: float, cost_model: float) -> pd.DataFrame:
    """One row per plan: human and model labels, cost, half-width and savings against SRS."""
    base = plans[0]
    rows = []
    for mpl in plans:
        pl = mpl.plan
        rows.append({"design": pl.design, "group": mpl.group, "human": pl.n,
                     "model": mpl.model_labels, "cost": mpl.cost, "deff": pl.deff,
                     "lo": pl.lo, "hi": pl.hi, "half_width": pl.half_width,
                     "labels_saved": base.plan.n - pl.n, "cost_saved": base.cost - mpl.cost,
                     "note": mpl.note})
    return pd.DataFrame(rows)
