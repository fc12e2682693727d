"""Model-assisted estimation: a model's prediction for every unit of the population (a
classifier's probability, an LLM judge's label) cuts the human labels a precision needs,
without trusting the model.

The generalized regression (GREG) estimator calibrates the design weights so that the sample
reproduces, within each stratum, the population count and the population total of the
predictions (``~ 0 + stratum + stratum:prediction``): ``t̂ = Σ_h [N_h ȳ_h + b_h (F_h − N_h f̄_h)]``
under stratified SRS, where ``b_h`` is the stratum's weighted regression slope of the label on
the prediction. That is PPI++ with a power-tuning factor λ_h = b_h per stratum: a useless model
gets b_h ≈ 0 and costs only a degree of freedom; a good one removes most of the variance. The
variance is linearized, as R ``survey::calibrate`` computes it (residuals of the scores on the
calibration model), so every estimator (totals, means, proportions, domains, ratios) and the
honest-interval machinery applies unchanged to the calibrated design.
"""

from __future__ import annotations

import numpy as np

from schemas import DesignError

from .calibration import calibrate_linear
from .survey_design import SurveyDesign


def prediction_totals(strata: np.ndarray, predictions: np.ndarray, labels: tuple[str, ...],
                      source: str = "population") -> tuple[np.ndarray, np.ndarray]:
    """``(N_h, F_h)``: units and the sum of predictions of the population per stratum label
    (``strata`` and ``predictions`` hold one value per population unit)."""
    strata = np.asarray(strata).astype(str)
    f = np.asarray(predictions, np.float64)
    bad = ~np.isfinite(f) | (f < 0) | (f > 1)
    if bad.any():
        raise DesignError(f"{source}: {int(bad.sum())} prediction(s) missing or outside [0, 1]")
    N = np.array([np.count_nonzero(strata == h) for h in labels], np.float64)
    F = np.array([f[strata == h].sum() for h in labels])
    return N, F


def greg(design: SurveyDesign, predictions: np.ndarray, N_h: np.ndarray, F_h: np.ndarray,
         source: str = "DATA") -> SurveyDesign:
    """The design calibrated to each stratum's population count ``N_h`` and prediction total
    ``F_h`` (separate regression per stratum); ``predictions`` are the sampled units'. A stratum
    whose sampled predictions are one value (a design stratified by the model's label) has no
    slope to fit: it is calibrated to its count alone (λ_h = 0).

    Examples
    --------
    >>> import numpy as np
    >>> from curation.estimation import hajek_mean
    >>> d = SurveyDesign("srswor", np.zeros(4, int), ("all",), np.full(4, .1),
    ...                  np.full(4, 10.), N_h=np.array([40.]))
    >>> y, f = np.array([0., 0., 1., 1.]), np.array([.1, .2, .8, .9])
    >>> round(hajek_mean(greg(d, f, np.array([40.]), np.array([12.])), y).estimate, 4)
    0.22

    (= (N ȳ + b (F − N f̄)) / N with ȳ = f̄ = 0.5, b = 1.4, N = 40, F = 12.)
    """
    f = np.asarray(predictions, np.float64)
    if f.shape != (design.n,):
        raise DesignError(f"{source}: {f.size} prediction(s) for {design.n} sampled units")
    bad = ~np.isfinite(f) | (f < 0) | (f > 1)
    if bad.any():
        raise DesignError(f"{source}: {int(bad.sum())} sampled unit(s) have a prediction "
                          f"missing or outside [0, 1]")
    H = len(design.labels)
    onehot = np.eye(H)[design.codes]
    N_h, F_h = np.asarray(N_h, np.float64), np.asarray(F_h, np.float64)
    # a stratum whose sampled predictions are one value has no slope: in the population too
    # (stratified by the model's label) its count calibration says it all; else (a rare 0/1
    # label none of whose positives was sampled) λ_h = 0, the design estimator there, as
    # PPI++ tunes a model without information: either way its column goes (else collinear)
    lo, hi = np.full(H, np.inf), np.full(H, -np.inf)
    np.minimum.at(lo, design.codes, f)
    np.maximum.at(hi, design.codes, f)
    slope = hi - lo > 1e-12
    model = np.hstack([onehot, (onehot * f[:, None])[:, slope]])
    totals = np.concatenate([N_h, F_h[slope]])
    return calibrate_linear(design, model, totals, source)


def power_tuning(design: SurveyDesign, y: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    """λ_h of each stratum: the weighted regression slope of ``y`` on the prediction, the
    PPI++ factor that the GREG estimator uses implicitly (0 where the prediction is constant)."""
    y = np.asarray(y, np.float64)
    f = np.asarray(predictions, np.float64)
    out = np.zeros(len(design.labels))
    for h in range(len(design.labels)):
        m = design.codes == h
        w = design.weight[m]
        if w.sum() <= 0:
            continue
        fb = np.average(f[m], weights=w)
        yb = np.average(y[m], weights=w)
        var = np.sum(w * (f[m] - fb) ** 2)
        out[h] = np.sum(w * (f[m] - fb) * (y[m] - yb)) / var if var > 0 else 0.0
    return out


def ppi_mean(y: np.ndarray, predictions: np.ndarray, unlabeled: np.ndarray,
             level: float = 0.95) -> tuple[float, float, float, float, float]:
    """PPI++ mean for i.i.d. data (Angelopoulos, Duchi & Zrnic 2023): ``n`` labeled units with
    labels ``y`` and predictions, and ``N`` further units with predictions only; returns
    ``(estimate, se, ci_low, ci_high, λ)``.

    ``λ = Ĉov(y, f) / ((1 + n/N) V̂ar(f))`` clipped to [0, 1] (V̂ar over all ``n + N``
    predictions), ``θ̂ = λ f̄_unlabeled + mean(y − λ f)``, ``se² = Var(λ f_unlabeled)/N +
    Var(y − λ f)/n`` and a normal interval: the conventions of ``ppi_py.ppi_mean_ci``, so the
    two agree. Used where the predictions are themselves a random sample rather than the
    whole population (then :func:`greg` is the estimator).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> f = rng.uniform(size=2000); y = (rng.uniform(size=2000) < f).astype(float)
    >>> est, se, lo, hi, lam = ppi_mean(y[:200], f[:200], f[200:])
    >>> lo < est < hi and 0 <= lam <= 1
    True
    """
    from scipy.stats import norm

    y = np.asarray(y, np.float64)
    f = np.asarray(predictions, np.float64)
    fu = np.asarray(unlabeled, np.float64)
    n, N = y.size, fu.size
    if f.shape != y.shape or n < 2 or N < 2:
        raise DesignError(f"PPI++ needs labels and predictions of the same ≥ 2 units and ≥ 2 "
                          f"unlabeled predictions (got {n}, {f.size}, {N})")
    cov = np.sum((y - y.mean()) * (f - f.mean())) / n
    var = np.var(np.concatenate([f, fu]), ddof=1)
    lam = float(np.clip(cov / ((1 + n / N) * var), 0.0, 1.0)) if var > 0 else 0.0
    est = float(np.mean(lam * fu) + np.mean(y - lam * f))
    se = float(np.sqrt(np.var(lam * fu) / N + np.var(y - lam * f) / n))
    z = float(norm.ppf(0.5 + level / 2))
    return est, se, est - z * se, est + z * se, lam
