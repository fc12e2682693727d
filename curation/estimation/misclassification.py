"""Annotator error inside the estimate: error rates from gold units, Rogan–Gladen adjustment.

Annotators err, and at a prevalence of 1% a specificity of 0.99 alone doubles the apparent
prevalence. The estimate uses the error rates of the *final* (adjudicated) label, measured on gold
units (known-answer items, :mod:`annotation.gold`) that went through the same review as the
sample: sensitivity ``Se = P(final yes | truly yes)`` and specificity ``Sp = P(final no | truly
no)``, with their counts (:func:`final_label_rates`). Per-annotator rates
(:func:`annotator_rates`) also use expert-adjudicated units; those are the units annotators
disagreed on, so their rates are pessimistic and only for feedback, never for the estimate.

**Adjustment** (Rogan & Gladen 1978): ``p = (p_obs + Sp - 1)/(Se + Sp - 1)`` on the Hájek
estimate ``p_obs`` of the domain. With error rates per group ``g`` of units (e.g. risk-score
strata, whose items may be harder), each unit's label becomes ``ỹ = (y + Sp_g - 1)/J_g``,
``J_g = Se_g + Sp_g - 1``, and ``p̂`` is the Hájek mean of ``ỹ`` (for one group exactly the
formula above); its design variance comes by linearization, as every other estimate's.

**Variance** (delta method; gold units independent of the sample):
``V = V_design(p̂) + Σ_g W_g² [p_g² V(Ŝe_g) + (1-p_g)² V(Ŝp_g)] / J_g²``, ``W_g`` the domain's
weighted share in group ``g``, ``V(Ŝe) = s(1-s)/n₊`` at the Jeffreys-smoothed ``s = (x+½)/(n₊+1)``
(never 0, even when every gold positive was found).

**Interval** (``mover``, the default; chosen by Monte Carlo, bench/ESTIMATION.md "Annotator
error"): the method of variance estimates recovery (Zou & Donner 2008) over three independent
pieces. The design piece is the library's interval of ``p_obs`` (mid-p gamma by default: it keeps
the right skew of rare, heavily weighted positives), carried to the p scale; each error-rate piece
is the change in ``p̂`` when ``Se_g`` or ``Sp_g`` moves to the end of its Jeffreys interval; the
lower (upper) distances add in quadrature around ``p̂`` clipped to [0, 1], and the bounds are
clipped to [0, 1]. It never collapses: a Jeffreys interval has width even at 0 errors, and a
domain without an observed positive keeps the one-sided bound of ``p_obs``. The delta-method
interval (``delta``) is kept for comparison: symmetric, it misses low when Sp's binomial is
skewed (a few false alarms in the gold negatives) and over-covers when it shows none.

Too few gold units, or ``Se + Sp - 1`` not clearly above 0 (its lower bound from the Jeffreys
bounds), is a DesignError saying how many gold units are needed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from annotation.adjudication import adjudicate, latest_versions
from schemas import DesignError, SchemaError
from schemas.labels import counted

from .estimators import Estimate, hajek_mean
from .intervals import proportion_interval
from .survey_design import SurveyDesign

MIN_POSITIVES = 10
MIN_NEGATIVES = 50
METHODS = ("mover", "delta")
LABEL_COLUMNS = ("unit_id", "annotator", "skipped", "unsure")


@dataclass(frozen=True)
class ErrorRates:
    """Sensitivity and specificity of a label from counts on units of known truth.

    ``unresolved`` gold units got no final label (nonresponse) and count in neither.
    """

    true_positives: int
    positives: int
    true_negatives: int
    negatives: int
    unresolved: int = 0

    @property
    def sensitivity(self) -> float:
        return self.true_positives / self.positives if self.positives else float("nan")

    @property
    def specificity(self) -> float:
        return self.true_negatives / self.negatives if self.negatives else float("nan")

    def bounds(self, level: float) -> tuple[tuple[float, float], tuple[float, float]]:
        """Jeffreys intervals ``((Se_lo, Se_hi), (Sp_lo, Sp_hi))`` at ``level``."""
        return (jeffreys(self.true_positives, self.positives, level),
                jeffreys(self.true_negatives, self.negatives, level))

    def variances(self) -> tuple[float, float]:
        """Binomial variances of Ŝe and Ŝp at the Jeffreys-smoothed rates (never 0)."""
        def v(x: int, n: int) -> float:
            s = (x + 0.5) / (n + 1.0)
            return s * (1.0 - s) / n
        return v(self.true_positives, self.positives), v(self.true_negatives, self.negatives)


@dataclass(frozen=True)
class Adjusted:
    """A misclassification-adjusted proportion: the estimate (clipped to [0, 1]), its
    delta-method variance, interval, the unclipped Rogan–Gladen value and the observed one."""

    estimate: Estimate
    ci_low: float
    ci_high: float
    method: str
    raw: float
    observed: Estimate


def jeffreys(x: int, n: int, level: float) -> tuple[float, float]:
    """Jeffreys interval of a binomial proportion ``x/n`` (0 below at ``x = 0``, 1 above at n).

    Examples
    --------
    >>> lo, hi = jeffreys(0, 200, 0.95)
    >>> lo, round(hi, 4)
    (0.0, 0.0125)
    """
    from scipy import special  # not scipy.stats: ~0.4 s to import; the same quantiles

    alpha = 1.0 - level
    lo = 0.0 if x == 0 else float(special.betaincinv(x + 0.5, n - x + 0.5, alpha / 2))
    hi = 1.0 if x == n else float(special.betaincinv(x + 0.5, n - x + 0.5, 1 - alpha / 2))
    return lo, hi


def rogan_gladen(p_obs, sensitivity, specificity):
    """``(p_obs + Sp - 1)/(Se + Sp - 1)``, unclipped (scalars or arrays).

    Examples
    --------
    >>> round(rogan_gladen(0.2, 0.9, 0.95), 5)
    0.17647
    """
    return (p_obs + specificity - 1.0) / (sensitivity + specificity - 1.0)


def check_rates(rates: ErrorRates, level: float = 0.95, where: str = "") -> None:
    """DesignError when the gold units are too few or ``Se + Sp - 1`` is not clearly > 0."""
    tag = f" ({where})" if where else ""
    short_p = max(0, MIN_POSITIVES - rates.positives)
    short_n = max(0, MIN_NEGATIVES - rates.negatives)
    if short_p or short_n:
        need = " and ".join(s for s in (f"{short_p} more positive" if short_p else "",
                                         f"{short_n} more negative" if short_n else "") if s)
        raise DesignError(f"too few gold units with a final label{tag}: {rates.positives} "
                          f"positive and {rates.negatives} negative, the adjustment needs "
                          f"≥ {MIN_POSITIVES} and ≥ {MIN_NEGATIVES}; add {need} gold unit(s)")
    (se_lo, _), (sp_lo, _) = rates.bounds(level)
    j = rates.sensitivity + rates.specificity - 1.0
    low = se_lo + sp_lo - 1.0
    if j <= 0.0:
        raise DesignError(f"the final labels are no better than chance on the gold units{tag}: "
                          f"Se + Sp - 1 = {j:.3f} ≤ 0 ({rates.positives} positive and "
                          f"{rates.negatives} negative gold units), so no adjustment exists; "
                          f"check the gold truth and the annotation guidelines")
    if low <= 0.0:
        k = ((j - low) / j) ** 2 * 1.1  # half-widths shrink as 1/sqrt(n)
        raise DesignError(f"the final labels are not clearly better than chance on the gold "
                          f"units{tag}: Se + Sp - 1 = {j:.3f} but its lower bound is "
                          f"{low:.3f} ≤ 0 ({rates.positives} positive and {rates.negatives} "
                          f"negative gold units); about {int(np.ceil(k * rates.positives))} "
                          f"positive and {int(np.ceil(k * rates.negatives))} negative gold "
                          f"units are needed")


def adjusted_proportion(design: SurveyDesign, y: np.ndarray,
                        rates: ErrorRates | Mapping[str, ErrorRates],
                        domain: np.ndarray | None = None, groups: np.ndarray | None = None,
                        level: float = 0.95, interval: str = "gamma", method: str = "mover",
                        ) -> Adjusted:
    """The Rogan–Gladen proportion of 0/1 ``y`` (final labels) in ``domain`` (module docstring).

    ``rates`` is one :class:`ErrorRates` for every unit, or one per group label with ``groups``
    giving each unit's label. ``interval`` is the library's method for ``p_obs``
    (:func:`~curation.estimation.intervals.proportion_interval`).
    """
    if method not in METHODS:
        raise DesignError(f"unknown adjustment interval {method!r}; expected one of "
                          f"{list(METHODS)}")
    y = np.asarray(y, np.float64)
    d = np.ones(design.n, bool) if domain is None else np.asarray(domain, bool)
    if isinstance(rates, ErrorRates):
        table, codes = [rates], np.zeros(design.n, np.int64)
        names: list[str] = ["all"]
    else:
        if groups is None:
            raise DesignError("error rates per group need each unit's group")
        names = sorted(rates)
        labels = np.asarray(groups).astype(str)
        unknown = sorted(set(labels[d]) - set(names))
        if unknown:
            raise DesignError(f"no gold error rates for group(s) {unknown[:5]} (gold groups: "
                              f"{names[:10]})")
        table = [rates[g] for g in names]
        codes = np.searchsorted(names, labels)
        codes[~np.isin(labels, names)] = 0  # outside the domain: scored 0 anyway
    for name, r in zip(names, table, strict=True):
        check_rates(r, level, "" if len(names) == 1 else f"group {name}")
    se = np.array([r.sensitivity for r in table])
    sp = np.array([r.specificity for r in table])
    j = se + sp - 1.0
    observed = hajek_mean(design, y, d)
    adj = hajek_mean(design, (y + sp[codes] - 1.0) / j[codes], d)
    p_raw = adj.estimate
    w = design.weight[d]
    G = len(names)
    wsum = np.bincount(codes[d], weights=w, minlength=G)
    W = wsum / wsum.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        q_g = np.bincount(codes[d], weights=w * y[d], minlength=G) / wsum
    p_g = (q_g + sp - 1.0) / j
    var_err, lo2, hi2 = 0.0, 0.0, 0.0
    for g in np.flatnonzero(W > 0):
        v_se, v_sp = table[g].variances()
        var_err += W[g] ** 2 * (p_g[g] ** 2 * v_se + (1.0 - p_g[g]) ** 2 * v_sp) / j[g] ** 2
        (se_lo, se_hi), (sp_lo, sp_hi) = table[g].bounds(level)
        moved = [(q_g[g] + sp[g] - 1.0) / (s + sp[g] - 1.0) for s in (se_lo, se_hi)]
        moved += [(q_g[g] + s - 1.0) / (se[g] + s - 1.0) for s in (sp_lo, sp_hi)]
        for a, b in (moved[:2], moved[2:]):
            lo2 += (W[g] * max(0.0, p_g[g] - min(a, b))) ** 2
            hi2 += (W[g] * max(0.0, max(a, b) - p_g[g])) ** 2
    var = adj.var + var_err
    centre = float(np.clip(p_raw, 0.0, 1.0))
    if method == "delta":
        from scipy import special

        z = float(special.ndtri(0.5 + level / 2))
        lo, hi = centre - z * np.sqrt(var), centre + z * np.sqrt(var)
        used = "rogan-gladen delta"
    else:
        q_lo, q_hi, q_used = proportion_interval(observed, level, interval)
        scale = adj.se / observed.se if observed.var > 0 else float(np.dot(W, 1.0 / j))
        lo = centre - np.sqrt((scale * (observed.estimate - q_lo)) ** 2 + lo2)
        hi = centre + np.sqrt((scale * (q_hi - observed.estimate)) ** 2 + hi2)
        used = f"rogan-gladen ({q_used} + jeffreys Se/Sp)"
    lo, hi = float(np.clip(lo, 0.0, 1.0)), float(np.clip(hi, 0.0, 1.0))
    pq = centre * (1.0 - centre)
    deff = observed.n * var / pq if pq > 0 and var > 0 else float("nan")
    est = Estimate(centre, float(var), observed.n, observed.df, deff, observed.weight_sum,
                   observed.kish_n, observed.weight_max, observed.nonzero,
                   observed.nonzero_weight_max)
    return Adjusted(est, lo, hi, used, float(p_raw), observed)


# --- error rates from labels -------------------------------------------------------------


def check_gold(gold: pd.DataFrame, y: str = "sensitive", by: str | None = None,
               source: str = "GOLD") -> pd.DataFrame:
    """The gold truth table (``unit_id``, 0/1 or boolean ``y``, unique non-null) as given."""
    missing = [c for c in ("unit_id", y, *([by] if by else [])) if c not in gold.columns]
    if missing:
        raise SchemaError(f"the gold truth table needs column(s) {missing} (columns: "
                          f"{list(gold.columns)[:20]})", source=source)
    for col in ("unit_id", y, *([by] if by else [])):
        nulls = gold[col].isna().to_numpy()
        if nulls.any():
            ids = gold.loc[nulls, "unit_id"].head(5).tolist() if col != "unit_id" else []
            raise SchemaError(f"column {col!r}: {int(nulls.sum())} null value(s) among gold "
                              f"units {ids}: every gold unit needs its truth", source=source)
    truth = pd.to_numeric(gold[y].astype("object"), errors="coerce")
    if truth.isna().any() or not truth.isin((0, 1)).all():
        raise SchemaError(f"column {y!r} must be boolean (or 0/1)", source=source)
    dup = gold["unit_id"].astype(str).duplicated()
    if dup.any():
        raise SchemaError(f"duplicate gold unit_id(s) {gold.loc[dup, 'unit_id'].head(5).tolist()}",
                          source=source)
    return gold


def _latest_labels(labels: pd.DataFrame, y: str, source: str) -> pd.DataFrame:
    """Latest versions, with a ``_vote`` column: :func:`schemas.labels.counted` and a value of
    ``y`` (DESIGN §6, "a vote is a decision")."""
    missing = [c for c in (*LABEL_COLUMNS, y) if c not in labels.columns]
    if missing:
        raise SchemaError(f"the labels table needs column(s) {missing}", source=source)
    out = labels.copy()
    if "annotation_id" not in out or "updated_at" not in out:
        out["annotation_id"] = np.arange(len(out))
        out["updated_at"] = 0
    out = latest_versions(out).copy()
    if "stage" not in out:
        out["stage"] = "review"
    out["_vote"] = counted(out) & out[y].notna().to_numpy()
    out["unit_id"] = out["unit_id"].astype(str)
    return out


def final_label_rates(labels: pd.DataFrame, gold: pd.DataFrame, y: str = "sensitive",
                      by: str | None = None, source: str = "LABELS",
                      gold_source: str = "GOLD") -> ErrorRates | dict[str, ErrorRates]:
    """Error rates of the final (adjudicated, :func:`annotation.adjudicate`) label of ``y`` on
    the gold units, overall or per ``by`` group of the gold table.

    Every gold unit must appear in ``labels``; gold units left unresolved count in
    ``unresolved`` only.
    """
    gold = check_gold(gold, y, by, gold_source)
    ids = gold["unit_id"].astype(str)
    latest = _latest_labels(labels, y, source)
    absent = sorted(set(ids) - set(latest["unit_id"]))
    if absent:
        raise SchemaError(f"{len(absent)} of {len(ids)} gold unit(s) have no annotation in "
                          f"the labels (e.g. {absent[:5]}): pull their labels, or drop them "
                          f"from the gold table", source=source)
    rows = latest[latest["unit_id"].isin(set(ids))].copy()
    rows.loc[~rows["_vote"], "unsure"] = True  # no decision: no vote, as adjudication rules
    rows[y] = rows[y].fillna(False).astype(bool)
    if "severity" not in rows:
        rows["severity"] = None
    cats = [y[4:]] if y.startswith("cat_") else []
    final = adjudicate(rows.drop(columns="_vote"), cats).set_index("unit_id")[y]
    final = final.reindex(ids.to_numpy())
    truth = pd.to_numeric(gold[y].astype("object")).astype(bool).to_numpy()
    known = final.notna().to_numpy()
    s = final.fillna(False).astype(bool).to_numpy()
    groups = gold[by].astype(str).to_numpy() if by else np.full(len(gold), "")
    out = {}
    for g in sorted(set(groups)):
        m = groups == g
        decided = known & m
        out[g] = ErrorRates(int((decided & truth & s).sum()), int((decided & truth).sum()),
                            int((decided & ~truth & ~s).sum()), int((decided & ~truth).sum()),
                            int((m & ~decided).sum()))
    return out if by else out[""]


def gold_rates(gold: pd.DataFrame, labels: pd.DataFrame, ys: list[str], by: str | None = None,
               sample_ids=None, sources: tuple[str, str] = ("GOLD", "LABELS"),
               ) -> dict[str, ErrorRates | dict[str, ErrorRates]]:
    """``{y: final_label_rates(...)}`` for every ``y`` of ``ys`` the gold table holds; gold
    units among ``sample_ids`` (the estimate's units) are an error."""
    if "unit_id" not in gold.columns:
        raise SchemaError("the gold truth table needs a 'unit_id' column", source=sources[0])
    wanted = [y for y in ys if y in gold.columns and y not in ("unit_id", by)]
    if not wanted:
        raise SchemaError(f"the gold truth table has none of the y columns {list(ys)} "
                          f"(columns: {list(gold.columns)[:20]})", source=sources[0])
    if sample_ids is not None:
        both = sorted(set(gold["unit_id"].astype(str)) & set(map(str, sample_ids)))
        if both:
            raise SchemaError(f"{len(both)} gold unit(s) are also sample units (e.g. "
                              f"{both[:5]}): gold units must stay out of the estimate",
                              source=sources[0])
    return {y: final_label_rates(labels, gold, y, by, sources[1], sources[0]) for y in wanted}


def annotator_rates(labels: pd.DataFrame, gold: pd.DataFrame, y: str = "sensitive",
                    expert: bool = True, source: str = "LABELS") -> pd.DataFrame:
    """Per-annotator sensitivity and specificity of review votes on ``y``, with counts.

    The truth of a unit is its gold truth, or (``expert``) the latest expert decision on a
    non-gold unit. Expert units are the disagreements, hence harder than the rest: these rates
    are feedback for annotators; the estimate uses :func:`final_label_rates`.
    """
    gold = check_gold(gold, y)
    latest = _latest_labels(labels, y, source)
    truth = dict(zip(gold["unit_id"].astype(str),
                     pd.to_numeric(gold[y].astype("object")).astype(bool), strict=True))
    basis = dict.fromkeys(truth, "gold")
    if expert:
        ex = latest[(latest["stage"] == "expert") & latest["_vote"]]
        ex = ex.sort_values("updated_at", kind="stable").drop_duplicates("unit_id", keep="last")
        for unit, value in zip(ex["unit_id"], ex[y], strict=True):
            if unit not in truth:
                truth[unit], basis[unit] = bool(value), "expert"
    votes = latest[(latest["stage"] != "expert") & latest["_vote"]
                   & latest["unit_id"].isin(set(truth))]
    cols = ["annotator", "gold_votes", "expert_votes", "positives", "true_positives",
            "negatives", "true_negatives", "sensitivity", "specificity"]
    rows = []
    for who, v in votes.groupby("annotator", sort=True):
        t = v["unit_id"].map(truth).to_numpy(bool)
        s = v[y].astype(bool).to_numpy()
        b = v["unit_id"].map(basis).to_numpy()
        pos, neg = int(t.sum()), int((~t).sum())
        tp, tn = int((t & s).sum()), int((~t & ~s).sum())
        rows.append([who, int((b == "gold").sum()), int((b == "expert").sum()), pos, tp, neg,
                     tn, tp / pos if pos else np.nan, tn / neg if neg else np.nan])
    return pd.DataFrame(rows, columns=cols)
