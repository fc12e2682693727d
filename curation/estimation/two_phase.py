"""Two-phase estimation: a phase-1 sample labeled by a model, a phase-2 subsample of it labeled
by people (drawn by PRN Poisson sampling within phase 1 with conditional probabilities π2|1).

The design-only estimator is the double expansion ``Σ_{s2} y/(π1 π2|1)``. The model-assisted one
is the two-phase GREG (difference) estimator
``t̂ = Σ_{s1} f/π1 + Σ_{s2} (y − b_h f)/(π1 π2|1)``, with ``b_h`` per phase-1 stratum: the
phase-2 weights ``1/π2|1`` are calibrated (linearly) so that the phase-2 sample reproduces the
phase-1 Horvitz–Thompson totals of ``1`` and ``f`` in every phase-1 stratum, on the auxiliaries
``x̃ = (1_h, 1_h f)/π1`` — R ``calibrate(twophase(...), phase=2, ~0 + stratum:a1 + stratum:af,
calfun="linear")`` with ``a1 = 1/π1`` and ``af = f/π1``, whose default population (phase-1 sums of
``x̃``) is exactly those HT totals. Under stratified SRSWOR in phase 1 (π1 constant per stratum)
that is the textbook ``b_h``; under Poisson phase 1 its regression weights are ``1/(π1² π2|1)``.

The variance is R ``survey``'s for ``twophase(method="full")`` (``twophase2var``), with a
Poisson phase 2: ``V̂ = x'(Ď1 ∘ (1 − Ď2))x + e'Ď2 e`` over the phase-2 units, for weighted
scores ``x`` and their residuals ``e`` on the calibration model; ``Ď1`` is phase 1's
``Δ_ij/π_ij`` (stratified SRSWOR: ``1 − f_h`` on the diagonal, ``−(1 − f_h)/(n1_h − 1)`` within
a stratum; Poisson: ``1 − π1`` on the diagonal) and ``Ď2 = diag(1 − π2|1)`` (Poisson: every
unit drawn independently). The first term is phase 1's variance estimated from phase 2, the
second phase 2's. "full" rather than "approx": "approx" takes phase 2 as simple random sampling
of ``n2`` of the ``n1`` phase-1 units, which is not how it is drawn; "full" uses the joint
inclusion probabilities of both phases, where the Poisson phase 2 is exact.

:class:`TwoPhaseDesign` is a :class:`~.survey_design.SurveyDesign` whose ``variance`` is that,
so every estimator (totals, means, proportions, domains, ratios) and the interval machinery
apply unchanged; its ``kind`` is phase 1's, which picks the interval method.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from schemas import DesignError, Manifest, SchemaError

from .survey_design import SurveyDesign, recognise, stratum_fpc

PHASE2_PROB = "phase2_prob"


@dataclass(frozen=True)
class TwoPhaseDesign(SurveyDesign):
    """The phase-2 units of a two-phase design (``prob = π1·π2|1``).

    ``pi1``/``pi2`` are each phase-2 unit's π1 and π2|1; ``n1_h`` the phase-1 sample size of
    each stratum; ``phase1_codes``/``phase1_prob`` the stratum and π1 of every phase-1 unit
    (the phase-1 totals the calibration reproduces). ``calib`` holds the calibration model
    ``x`` and the regression weights ``1/(π1² π2|1)`` of the residuals (module docstring).
    """

    pi1: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    pi2: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    n1_h: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    phase1_codes: np.ndarray = field(default_factory=lambda: np.zeros(0, int), repr=False)
    phase1_prob: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)

    def variance(self, x: np.ndarray) -> np.ndarray | float:
        """Two-phase variance of ``Σ x_i`` (module docstring), 1-D or one per column."""
        x = np.asarray(x, dtype=np.float64)
        flat = x.ndim == 1
        x2 = x[:, None] if flat else x
        e = x2 if self.calib is None else _residuals(x2, self.weight, *self.calib)
        v = ((1.0 - self.pi2)[:, None] * e * e).sum(axis=0) + self._phase1(x2)
        return float(v[0]) if flat else v

    def domain_variance(self, units: np.ndarray, x: np.ndarray) -> float:
        """:meth:`variance` of a score that is ``x`` on ``units`` and 0 elsewhere (never the
        one-phase shortcut: both phases' terms are needed)."""
        full = np.zeros(self.n)
        full[np.asarray(units)] = x
        return float(self.variance(full))

    def _phase1(self, x: np.ndarray) -> np.ndarray:
        """``x'(Ď1 ∘ (1 − Ď2))x``: phase 1's variance estimated from the phase-2 units."""
        diag = ((1.0 - self.pi1) * self.pi2)[:, None] * x * x
        out = diag.sum(axis=0)
        if self.kind == "srswor":
            H = len(self.labels)
            fpc = stratum_fpc(self.labels, self.n1_h, self.N_h)
            with np.errstate(invalid="ignore", divide="ignore"):
                c = np.where(self.n1_h > 1, -fpc / (self.n1_h - 1), 0.0)
            for j in range(x.shape[1]):
                s = np.bincount(self.codes, weights=x[:, j], minlength=H)
                q = np.bincount(self.codes, weights=x[:, j] ** 2, minlength=H)
                out[j] += np.sum(c * (s * s - q))
        return out

    def subset(self, keep: np.ndarray) -> SurveyDesign:
        raise DesignError("two-phase estimation needs every phase-2 unit labeled: adjusting "
                          "phase 2 for nonresponse is not supported; label the unresolved "
                          "units or drop them from the phase-2 sample and redraw")


def _residuals(x: np.ndarray, weight: np.ndarray, model: np.ndarray,
               base: np.ndarray) -> np.ndarray:
    """``w·e``, ``e`` the residuals of ``x/w`` on ``model`` by ``base``-weighted least squares."""
    z = x / weight[:, None]
    root = np.sqrt(base)[:, None]
    beta, *_ = np.linalg.lstsq(model * root, z * root, rcond=None)
    return (z - model @ beta) * weight[:, None]


def _ids(ids: np.ndarray, mask: np.ndarray) -> str:
    shown = ", ".join(map(str, ids[mask][:5].tolist()))
    return f"unit_id {shown}" + (f" +{int(mask.sum()) - 5} more" if mask.sum() > 5 else "")


def check_nested(phase2_ids: np.ndarray, phase1_ids: np.ndarray, source: str,
                 phase1_source: str) -> np.ndarray:
    """Row of each phase-2 unit in phase 1; a DesignError naming the units phase 1 lacks."""
    lookup = pd.Index(np.asarray(phase1_ids, dtype=str))
    if not lookup.is_unique:
        raise SchemaError("repeats a unit_id: not a sample", source=phase1_source)
    rows = lookup.get_indexer(np.asarray(phase2_ids, dtype=str))
    absent = rows < 0
    if absent.any():
        raise DesignError(f"{source}: {int(absent.sum())} phase-2 unit(s) are not in the "
                          f"phase-1 sample {phase1_source} ({_ids(np.asarray(phase2_ids), absent)}"
                          f"): phase 2 must be a subsample of phase 1")
    return rows


def check_phase1_hash(phase2_manifest: Manifest | None, phase1_hash: str | None,
                      source: str, phase1_source: str) -> None:
    """DesignError when the phase-2 manifest records a phase-1 content hash that differs."""
    recorded = ((phase2_manifest.design or {}).get("phase1") or {}).get("content_hash") \
        if phase2_manifest is not None else None
    if recorded and phase1_hash and recorded != phase1_hash:
        raise DesignError(f"{source}: its manifest records phase 1 with content hash "
                          f"{recorded[:12]}, but {phase1_source} has {phase1_hash[:12]}: "
                          f"not the phase-1 sample it was drawn from")


def two_phase_design(phase1: pd.DataFrame, phase1_manifest: Manifest | None,
                     phase2: pd.DataFrame, source: str = "DATA",
                     phase1_source: str = "PHASE1", kind: str | None = None) -> TwoPhaseDesign:
    """The (uncalibrated, double-expansion) two-phase design of the phase-2 rows.

    π1 and the strata come from the phase-1 sample (its design recognised as for any sample);
    π2|1 from the phase-2 column ``phase2_prob``, else ``inclusion_prob / π1``.

    Examples
    --------
    >>> p1 = pd.DataFrame({"unit_id": list("abcdef"), "stratum": ["s"] * 6,
    ...                    "inclusion_prob": [.1] * 6, "design_weight": [10.] * 6})
    >>> p2 = p1.iloc[[0, 2, 4]].assign(phase2_prob=.5, inclusion_prob=.05, design_weight=20.)
    >>> d = two_phase_design(p1, None, p2)
    >>> d.weight.tolist(), d.n1_h.tolist()
    ([20.0, 20.0, 20.0], [6.0])
    """
    for col in ("unit_id",):
        for frame, where in ((phase1, phase1_source), (phase2, source)):
            if col not in frame.columns:
                raise SchemaError(f"no {col} column", source=where)
    d1 = recognise(phase1, phase1_manifest, kind=kind, source=phase1_source)
    rows = check_nested(phase2["unit_id"].to_numpy(), phase1["unit_id"].to_numpy(), source,
                        phase1_source)
    pi1 = d1.prob[rows]
    if PHASE2_PROB in phase2.columns:
        pi2 = pd.to_numeric(phase2[PHASE2_PROB], errors="coerce").to_numpy(np.float64)
        where = f"column {PHASE2_PROB!r}"
    elif "inclusion_prob" in phase2.columns:
        pi2 = pd.to_numeric(phase2["inclusion_prob"], errors="coerce").to_numpy(np.float64) / pi1
        where = "inclusion_prob / π1"
    else:
        raise SchemaError(f"no {PHASE2_PROB} (π2|1) or inclusion_prob column", source=source)
    bad = ~np.isfinite(pi2) | (pi2 <= 0) | (pi2 > 1 + 1e-12)
    if bad.any():
        raise SchemaError(f"π2|1 ({where}) outside (0, 1] for {int(bad.sum())} unit(s) "
                          f"({_ids(phase2['unit_id'].to_numpy(), bad)})", source=source)
    pi2 = np.minimum(pi2, 1.0)
    if "inclusion_prob" in phase2.columns:
        given = pd.to_numeric(phase2["inclusion_prob"], errors="coerce").to_numpy(np.float64)
        off = ~np.isclose(given, pi1 * pi2, rtol=1e-9, atol=0)
        if off.any():
            raise SchemaError(f"inclusion_prob is not π1·π2|1 (π1 of {phase1_source}) for "
                              f"{int(off.sum())} unit(s) "
                              f"({_ids(phase2['unit_id'].to_numpy(), off)})", source=source)
    H = len(d1.labels)
    n1_h = np.bincount(d1.codes, minlength=H).astype(np.float64)
    prob = pi1 * pi2
    return TwoPhaseDesign(
        d1.kind, d1.codes[rows], d1.labels, prob, 1.0 / prob, N_h=d1.N_h,
        basis=f"two-phase: phase 1 {d1.basis}, phase 2 Poisson within phase 1",
        population=d1.population, pi1=pi1, pi2=pi2, n1_h=n1_h, phase1_codes=d1.codes,
        phase1_prob=d1.prob)


def calibrate_phase2(design: TwoPhaseDesign, phase1_predictions: np.ndarray,
                     predictions: np.ndarray, source: str = "DATA") -> TwoPhaseDesign:
    """The two-phase GREG design: phase-2 weights calibrated to the phase-1 HT totals of 1 and
    the prediction per phase-1 stratum (module docstring). ``phase1_predictions`` are every
    phase-1 unit's, ``predictions`` the phase-2 units'.

    Examples
    --------
    >>> p1 = pd.DataFrame({"unit_id": list("abcdef"), "stratum": ["s"] * 6,
    ...                    "inclusion_prob": [.1] * 6, "design_weight": [10.] * 6})
    >>> p2 = p1.iloc[[0, 2, 4]].assign(phase2_prob=.5, inclusion_prob=.05, design_weight=20.)
    >>> d = two_phase_design(p1, None, p2)
    >>> f1 = np.array([.1, .2, .3, .4, .5, .6])
    >>> cal = calibrate_phase2(d, f1, f1[[0, 2, 4]])
    >>> round(float(cal.weight.sum()), 9), round(float(cal.weight @ f1[[0, 2, 4]]), 9)
    (60.0, 21.0)
    """
    f1 = np.asarray(phase1_predictions, np.float64)
    f2 = np.asarray(predictions, np.float64)
    if f1.shape != design.phase1_codes.shape or f2.shape != (design.n,):
        raise DesignError(f"{source}: {f1.size} phase-1 and {f2.size} phase-2 prediction(s) "
                          f"for {design.phase1_codes.size} and {design.n} units")
    H = len(design.labels)
    empty = np.flatnonzero(np.bincount(design.codes, minlength=H) == 0)
    if empty.size:
        raise DesignError(f"{source}: phase-1 stratum {design.labels[empty[0]]!r} has no "
                          f"phase-2 unit, so phase 2 cannot be calibrated to it")
    onehot1 = np.eye(H)[design.phase1_codes] / design.phase1_prob[:, None]
    totals = np.concatenate([onehot1.sum(axis=0), (onehot1 * f1[:, None]).sum(axis=0)])
    onehot2 = np.eye(H)[design.codes] / design.pi1[:, None]
    xt = np.hstack([onehot2, onehot2 * f2[:, None]])  # x̃ = x/π1
    lo, hi = np.full(H, np.inf), np.full(H, -np.inf)
    np.minimum.at(lo, design.codes, f2)
    np.maximum.at(hi, design.codes, f2)
    keep = np.concatenate([np.ones(H, bool), hi - lo > 1e-12])
    xt, totals = xt[:, keep], totals[keep]  # constant phase-2 predictions: λ_h = 0 (as greg)
    w2 = 1.0 / design.pi2
    M = (xt * w2[:, None]).T @ xt
    if np.linalg.matrix_rank(M) < xt.shape[1]:
        raise DesignError(f"{source}: the calibration variables are collinear in phase 2")
    lam = np.linalg.solve(M, totals - xt.T @ w2)
    g = 1.0 + xt @ lam
    model = xt * design.pi1[:, None]  # x: the residuals' regressors
    return replace(design, weight=g * w2 / design.pi1,
                   calib=(model, w2 / design.pi1 ** 2))
