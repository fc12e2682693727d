"""Change between two audit waves drawn with permanent random numbers, with honest intervals.

Two waves of the same (possibly changed) population drawn with the same PRN key share units:
positive coordination (``--coordinate-with W --overlap max``, or the same seed) keeps a unit in
both waves whenever both inclusion probabilities allow, so the two estimates are correlated and
``V(B − A) = V(A) + V(B) − 2 Cov(A, B)``; ignoring the covariance gives intervals far too wide
(or, with negative coordination, too narrow).

The covariance is the Horvitz–Thompson form over the units in both waves,
``Ĉov = Σ_{A∩B} (π_AB − π_A π_B)/π_AB · x_A x_B`` with the weighted linearized scores ``x``
of each wave's estimate and the joint inclusion probability PRNs imply: ``min(π_A, π_B)`` for
positive coordination, ``max(0, π_A + π_B − 1)`` for negative (``--overlap min``), ``π_A π_B``
for independent keys (then it is 0), and for a rotating panel (``--rotate-from``: B's PRNs are
A's shifted by ``s``, read off any common unit as ``(prn_B − prn_A) mod 1`` since both waves
record their shifted PRNs) ``P(u ∈ [0, π_A) and (u + s) mod 1 ∈ [0, π_B))``, the common measure
of two arcs of the PRN circle (``samplers/rotation.py`` derives it; ``s = 0`` gives ``min``).
Both waves stratified SRSWOR on the same strata, with the same PRNs or a rotation, use the
centred form of Tam (1984) instead (given the sizes, the common units are a simple random sample
of each wave), ``Σ_h N_h² (n_AB,h/(n_A,h n_B,h) − 1/N_h) S_AB,h`` on the
scores ``x/w`` of the common units, consistent with each wave's own variance.

The interval of a change (gains and losses for rare proportions, else MOVER of the two waves'
intervals) is :mod:`.change_interval`'s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from schemas import DesignError

from .change_interval import Side, census, mover_of_difference, split_interval
from .estimators import Estimate, hajek_mean
from .intervals import RARE, proportion_interval, resolve_method
from .survey_design import SurveyDesign

COORDINATIONS = ("positive", "negative", "independent", "rotation")


@dataclass(frozen=True)
class Change:
    """Wave A and wave B estimates, their difference ``B − A`` and ratio ``B / A``."""

    a: Estimate
    b: Estimate
    covariance: float
    overlap_units: int
    ci_low: float
    ci_high: float
    method: str

    @property
    def difference(self) -> float:
        return self.b.estimate - self.a.estimate

    @property
    def se_difference(self) -> float:
        return math.sqrt(max(self.a.var + self.b.var - 2.0 * self.covariance, 0.0))

    @property
    def ratio(self) -> float:
        return self.b.estimate / self.a.estimate if self.a.estimate > 0 else math.nan

    @property
    def correlation(self) -> float:
        denom = math.sqrt(self.a.var * self.b.var)
        return float(np.clip(self.covariance / denom, -1.0, 1.0)) if denom > 0 else 0.0


def _mask(design: SurveyDesign, domain: np.ndarray | None) -> np.ndarray:
    return np.ones(design.n, bool) if domain is None else np.asarray(domain, bool)


def _scores(design: SurveyDesign, y: np.ndarray, domain: np.ndarray | None) -> np.ndarray:
    """Weighted linearized scores ``x = w·(y − p̂)/N̂`` of a Hájek mean over the domain."""
    d = _mask(design, domain)
    w = design.weight
    N = w[d].sum()
    p = np.dot(w[d], y[d]) / N if N > 0 else 0.0
    return np.where(d, w * (y - p) / N, 0.0) if N > 0 else np.zeros(design.n)


def arc_overlap(pi_a: np.ndarray, pi_b: np.ndarray, shift: np.ndarray | float) -> np.ndarray:
    """``P(u ∈ [0, π_A) and (u + s) mod 1 ∈ [0, π_B))`` for a uniform ``u``: the joint inclusion
    probability of a rotating panel whose wave B shifts the PRNs by ``s``.

    B's window in A's PRNs is the arc ``[1 − s, 1 − s + π_B)`` (mod 1); its common length
    with ``[0, π_A)`` is the part before the wrap, ``[a, min(1, a + π_B)) ∩ [0, π_A)`` with
    ``a = (1 − s) mod 1``, plus the wrapped part ``[0, a + π_B − 1) ∩ [0, π_A)``.

    Examples
    --------
    >>> pi = np.full(3, 0.1)
    >>> arc_overlap(pi, pi, np.array([0, .025, .1])).round(6).tolist()
    [0.1, 0.075, 0.0]
    """
    pi_a, pi_b = np.asarray(pi_a, np.float64), np.asarray(pi_b, np.float64)
    a = np.mod(1.0 - np.asarray(shift, np.float64), 1.0)
    before = np.maximum(np.minimum(pi_a, np.minimum(1.0, a + pi_b)) - a, 0.0)
    wrapped = np.minimum(pi_a, np.maximum(a + pi_b - 1.0, 0.0))
    return before + wrapped


def joint_probability(pi_a: np.ndarray, pi_b: np.ndarray, coordination: str,
                      shift: np.ndarray | float = 0.0) -> np.ndarray:
    """π_AB of units in both waves under the PRN coordination of the two draws (``shift``:
    B's PRN shift from A's, for ``rotation``).

    Examples
    --------
    >>> joint_probability(np.array([.2, .9]), np.array([.5, .6]), "positive").tolist()
    [0.2, 0.6]
    >>> np.round(joint_probability(np.array([.2, .9]), np.array([.5, .6]), "negative"), 3).tolist()
    [0.0, 0.5]
    >>> joint_probability(np.array([.2, .9]), np.array([.5, .6]), "rotation", .1).round(3).tolist()
    [0.2, 0.5]
    """
    if coordination == "positive":
        return np.minimum(pi_a, pi_b)
    if coordination == "negative":
        return np.maximum(pi_a + pi_b - 1.0, 0.0)
    if coordination == "independent":
        return pi_a * pi_b
    if coordination == "rotation":
        return arc_overlap(pi_a, pi_b, shift)
    raise DesignError(f"unknown coordination {coordination!r}; expected one of "
                      f"{list(COORDINATIONS)}")


def prn_shift(prn_a: np.ndarray, prn_b: np.ndarray) -> np.ndarray:
    """B's PRN shift from A's for common units, ``(prn_B − prn_A) mod 1`` (rounding noise
    folded to 0)."""
    s = np.mod(np.asarray(prn_b, np.float64) - np.asarray(prn_a, np.float64), 1.0)
    return np.where((s < 1e-9) | (s > 1.0 - 1e-9), 0.0, s)


def unit_keys(ids_a, ids_b) -> tuple[np.ndarray, np.ndarray]:
    """Both waves' unit ids as comparable arrays: integers as they are when both are
    integers (fast to match), else text."""
    ids_a, ids_b = np.asarray(ids_a), np.asarray(ids_b)
    if ids_a.dtype.kind in "iu" and ids_b.dtype.kind in "iu":
        return ids_a.astype(np.int64), ids_b.astype(np.int64)
    return ids_a.astype(str), ids_b.astype(str)


def covariance(design_a: SurveyDesign, x_a: np.ndarray, ids_a: np.ndarray,
               design_b: SurveyDesign, x_b: np.ndarray, ids_b: np.ndarray,
               coordination: str, prn_a: np.ndarray | None = None,
               prn_b: np.ndarray | None = None) -> tuple[float, int]:
    """``(Ĉov(Σ x_A, Σ x_B), units in both waves)`` for weighted scores of the two waves; only
    units in both samples (so in both populations) contribute. ``prn_a``/``prn_b``, each wave's
    recorded PRNs, give a rotation's shift."""
    ids_a, ids_b = unit_keys(ids_a, ids_b)
    common, ia, ib = np.intersect1d(ids_a, ids_b, assume_unique=True, return_indices=True)
    if common.size == 0 or coordination == "independent":
        return 0.0, int(common.size)
    same_strata = (design_a.kind == design_b.kind == "srswor"
                   and design_a.labels == design_b.labels and design_a.N_h is not None
                   and design_b.N_h is not None and design_a.N_h.shape == design_b.N_h.shape
                   and np.allclose(design_a.N_h, design_b.N_h))
    if same_strata and coordination in ("positive", "rotation"):
        return tam_covariance(design_a, x_a, ia, design_b, x_b, ib), int(common.size)
    pa_, pb_ = design_a.prob[ia], design_b.prob[ib]
    shift = 0.0
    if coordination == "rotation":
        if prn_a is None or prn_b is None:
            raise DesignError("a rotation's covariance needs both waves' prn columns")
        shift = prn_shift(np.asarray(prn_a)[ia], np.asarray(prn_b)[ib])
    joint = joint_probability(pa_, pb_, coordination, shift)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(joint > 0, 1.0 - pa_ * pb_ / joint, 0.0)
    return float(np.sum(factor * x_a[ia] * x_b[ib])), int(common.size)


def tam_covariance(design_a: SurveyDesign, x_a: np.ndarray, ia: np.ndarray,
                   design_b: SurveyDesign, x_b: np.ndarray, ib: np.ndarray) -> float:
    """Tam's (1984) covariance of two stratified SRSWOR waves on the same strata, from their
    common units (positions ``ia`` in A, ``ib`` in B)."""
    za, zb = x_a[ia] / design_a.weight[ia], x_b[ib] / design_b.weight[ib]
    h_a, h_b = design_a.codes[ia], design_b.codes[ib]
    total = 0.0
    for h in np.unique(h_a[h_a == h_b]):
        m = (h_a == h) & (h_b == h)
        n_ab = int(m.sum())
        if n_ab < 2:
            continue
        n_a = int(np.count_nonzero(design_a.codes == h))
        n_b = int(np.count_nonzero(design_b.codes == h))
        N = float(design_a.N_h[h])
        s_ab = np.cov(za[m], zb[m], ddof=1)[0, 1]
        total += N * N * (n_ab / (n_a * n_b) - 1.0 / N) * s_ab
    return float(total)


def proportion_change(design_a: SurveyDesign, y_a: np.ndarray, ids_a: np.ndarray,
                      design_b: SurveyDesign, y_b: np.ndarray, ids_b: np.ndarray,
                      coordination: str = "positive", level: float = 0.95,
                      ci: str = "auto", domain_a: np.ndarray | None = None,
                      domain_b: np.ndarray | None = None, prn_a: np.ndarray | None = None,
                      prn_b: np.ndarray | None = None) -> Change:
    """The change of a proportion (0/1 ``y``) from wave A to wave B, overall or in a domain
    (``prn_a``/``prn_b``: the waves' PRNs, for ``coordination='rotation'``)."""
    y_a, y_b = np.asarray(y_a, np.float64), np.asarray(y_b, np.float64)
    a = hajek_mean(design_a, y_a, domain_a)
    b = hajek_mean(design_b, y_b, domain_b)
    cov, _ = covariance(design_a, _scores(design_a, y_a, domain_a), ids_a,
                        design_b, _scores(design_b, y_b, domain_b), ids_b, coordination,
                        prn_a, prn_b)
    keys_a, keys_b = unit_keys(ids_a, ids_b)
    mask_a, mask_b = _mask(design_a, domain_a), _mask(design_b, domain_b)
    overlap = int(np.intersect1d(keys_a[mask_a], keys_b[mask_b]).size)  # the domain's, in both
    var = max(a.var + b.var - 2.0 * cov, 0.0)
    if ci == "auto" and census(design_a) and census(design_b):
        d = b.estimate - a.estimate
        return Change(a, b, cov, overlap, d, d, "census")
    if ci == "auto" and max(a.estimate, b.estimate) <= RARE:
        low, high = split_interval(Side(design_a, y_a, keys_a, mask_a, a),
                                   Side(design_b, y_b, keys_b, mask_b, b), var, level)
        return Change(a, b, cov, overlap, low, high, "gains and losses (skew)")
    # not rare: MOVER of the two waves' intervals, the mid-p gamma pieces under every design
    # (with Korn–Graubard's conservative pieces the difference over-covers: 0.98)
    method_a = "gamma" if ci == "auto" else resolve_method(ci, design_a.kind)
    method_b = "gamma" if ci == "auto" else resolve_method(ci, design_b.kind)
    lo_a, hi_a, used_a = proportion_interval(a, level, method_a)
    lo_b, hi_b, used_b = proportion_interval(b, level, method_b)
    denom = math.sqrt(a.var * b.var)
    r = float(np.clip(cov / denom, -1.0, 1.0)) if denom > 0 else 0.0
    low, high = mover_of_difference(b.estimate, lo_b, hi_b, a.estimate, lo_a, hi_a, r)
    used = used_a if used_a == used_b else f"{used_a} / {used_b}"
    return Change(a, b, cov, overlap, low, high, f"MOVER ({used})")


def coordination_of(manifest_a, manifest_b) -> str:
    """How wave B's PRNs relate to wave A's, from their manifests: drawn ``--coordinate-with``
    A with ``--overlap min``: ``negative``; the same PRN key and algorithm: ``rotation`` when
    either wave's PRNs are shifted (``--rotate-from``, chains of them, ``--overlap min`` of an
    earlier wave) and ``positive`` when neither is; else ``independent``."""
    if manifest_a is None or manifest_b is None:
        raise DesignError("without both waves' manifests the coordination of their PRNs is "
                          "unknown: pass --coordination positive|negative|independent|rotation")
    coord = (manifest_b.design or {}).get("coordination") or {}
    if coord.get("overlap") == "min":
        return "negative"
    same_key = manifest_a.seed == manifest_b.seed and manifest_a.prn == manifest_b.prn
    if not same_key:
        return "independent"
    shifted = any(a.get("prn_shift") for m in (manifest_a, manifest_b) for a in m.allocation)
    return "rotation" if shifted or (manifest_b.design or {}).get("rotation") else "positive"


def check_comparable(manifest_a, manifest_b, sources: tuple[str, str] = ("A", "B")) -> None:
    """Refuse two waves that do not sample the same kind of unit: different unit columns
    (e.g. catalogue items against impressions) or PRN algorithms (coordination meaningless)."""
    if manifest_a is None or manifest_b is None:
        return
    unit = [(m.design or {}).get("unit_col") or ((m.population or {}).get("columns") or [None])[0]
            for m in (manifest_a, manifest_b)]
    if unit[0] and unit[1] and unit[0] != unit[1]:
        raise DesignError(f"{sources[0]} samples units by {unit[0]!r} and {sources[1]} by "
                          f"{unit[1]!r}: waves of different populations cannot be compared")
    linked = (manifest_b.design or {}).get("coordination") or (manifest_b.design or {}).get(
        "rotation")
    if linked and manifest_a.prn and manifest_b.prn and manifest_a.prn != manifest_b.prn:
        raise DesignError(f"{sources[1]} is coordinated by PRN algorithm {manifest_b.prn} and "
                          f"{sources[0]} was drawn with {manifest_a.prn}: incompatible designs")


CHANGE_COLUMNS = ["y", "domain", "estimate_a", "estimate_b", "difference", "ratio",
                  "se_difference", "ci_low", "ci_high", "n_a", "n_b", "overlap_units",
                  "correlation", "coordination", "ci_method"]


def change_table(df_a, manifest_a, df_b, manifest_b, ys: list[str], domain: str | None = None,
                 level: float = 0.95, coordination: str | None = None, ci: str = "auto",
                 sources: tuple[str, str] = ("A", "B")):
    """Per y (0/1 label) and domain, wave A, wave B and their change (module docstring), over
    each wave's respondents with nonresponse adjusted within strata; a tidy DataFrame."""
    import pandas as pd

    from .nonresponse import adjust, respondents
    from .survey_design import recognise
    from .tidy import y_values

    check_comparable(manifest_a, manifest_b, sources)
    coordination = coordination or coordination_of(manifest_a, manifest_b)
    if coordination not in COORDINATIONS:
        raise DesignError(f"unknown coordination {coordination!r}; expected one of "
                          f"{list(COORDINATIONS)}")
    waves = []
    for df, manifest, source in ((df_a, manifest_a, sources[0]), (df_b, manifest_b, sources[1])):
        design = recognise(df, manifest, source=source)
        ok = respondents(df)
        if not ok.all():
            design, _ = adjust(design, ok)
        resp = df.loc[ok].reset_index(drop=True)
        if "unit_id" not in resp:
            raise DesignError(f"{source}: no unit_id column: the waves' units cannot be matched")
        if coordination == "rotation" and "prn" not in resp:
            raise DesignError(f"{source}: no prn column: a rotation's shift is read from the "
                              f"waves' PRNs")
        if domain is not None and domain not in resp:
            raise DesignError(f"{source}: no domain column {domain!r}")
        waves.append((design, resp, source))
    rows = []
    (da, ra, sa), (db, rb, sb) = waves
    prns = tuple(r["prn"].to_numpy(float) if "prn" in r else None for r in (ra, rb))
    levels = ["all"] + (sorted(set(ra[domain].astype(str)) | set(rb[domain].astype(str)))
                        if domain else [])
    for y in ys:
        (ya, bin_a), (yb, bin_b) = y_values(ra, y, sa), y_values(rb, y, sb)
        if not (bin_a and bin_b):
            raise DesignError(f"{y!r} is not a 0/1 label in both waves: `curate compare` "
                              f"estimates the change of proportions")
        for value in levels:
            ma = None if value == "all" else ra[domain].astype(str).to_numpy() == value
            mb = None if value == "all" else rb[domain].astype(str).to_numpy() == value
            if (ma is not None and not ma.any()) or (mb is not None and not mb.any()):
                continue
            c = proportion_change(da, ya, ra["unit_id"].to_numpy(), db, yb,
                                  rb["unit_id"].to_numpy(), coordination, level, ci, ma, mb,
                                  *prns)
            rows.append({"y": y, "domain": value if value == "all" else f"{domain}={value}",
                         "estimate_a": c.a.estimate, "estimate_b": c.b.estimate,
                         "difference": c.difference, "ratio": c.ratio,
                         "se_difference": c.se_difference, "ci_low": c.ci_low,
                         "ci_high": c.ci_high, "n_a": c.a.n, "n_b": c.b.n,
                         "overlap_units": c.overlap_units, "correlation": c.correlation,
                         "coordination": coordination, "ci_method": c.method})
    return pd.DataFrame(rows, columns=CHANGE_COLUMNS)
