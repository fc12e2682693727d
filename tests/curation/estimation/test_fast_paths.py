"""The estimation's fast paths give the reference results to the bit (issue 17, item 4): the
Mann–Whitney p-value without scipy.stats' per-call overhead, Korn–Graubard through the
distributions' own quantile functions, and a domain's srswor variance from its units alone."""

import numpy as np
import pytest
from scipy import stats

from curation.estimation.estimators import ht_total, lighter_positives, ratio
from curation.estimation.intervals import korn_graubard
from curation.estimation.survey_design import SurveyDesign


def _weights(rng, n: int, kind: int) -> np.ndarray:
    if kind == 0:  # stratified: few distinct weights, many ties
        return rng.choice([1.0, 2.5, 7.0, 11.0], n)
    if kind == 1:  # continuous (Poisson, priority): no ties
        return rng.gamma(1.0, 3.0, n)
    return np.round(rng.gamma(1.0, 3.0, n), 1)  # some ties


@pytest.mark.parametrize("kind", [0, 1, 2])
def test_lighter_positives_is_scipys_mann_whitney_p_value(kind):
    rng = np.random.default_rng(kind)
    for _ in range(400):
        n = int(rng.integers(2, 300))
        w = _weights(rng, n, kind)
        y = (rng.random(n) < rng.uniform(0.01, 0.9)).astype(float)
        pos, neg = w[y == 1], w[y == 0]
        if not pos.size or not neg.size or np.ptp(w) == 0:
            assert np.isnan(lighter_positives(w, y))
            continue
        want = stats.mannwhitneyu(pos, neg, alternative="less").pvalue
        assert lighter_positives(w, y) == want, (n, kind)


def test_korn_graubard_is_the_public_quantiles_interval():
    rng = np.random.default_rng(1)
    for _ in range(500):
        p = rng.uniform(1e-4, 0.999)
        n = int(rng.integers(2, 100_000))
        df = int(rng.integers(1, n + 1))
        var = p * (1 - p) / n * rng.uniform(0.3, 5.0)
        level = float(rng.choice([0.8, 0.9, 0.95, 0.99]))
        a = 1 - level
        n_eff = p * (1 - p) / var * (stats.t.ppf(a / 2, max(n - 1, 1))
                                      / stats.t.ppf(a / 2, df)) ** 2
        want = (stats.beta.ppf(a / 2, n_eff * p, n_eff * (1 - p) + 1),
                stats.beta.ppf(1 - a / 2, n_eff * p + 1, n_eff * (1 - p)))
        assert korn_graubard(p, var, n, df, level) == want


def test_a_domains_variance_from_its_units_is_the_full_score_variance():
    rng = np.random.default_rng(2)
    n, H = 5000, 7
    codes = rng.integers(0, H, n)
    N_h = np.bincount(codes, minlength=H) * 20.0
    w = (N_h / np.bincount(codes, minlength=H))[codes]
    design = SurveyDesign("srswor", codes, tuple(f"h{h}" for h in range(H)), 1 / w, w, N_h)
    y = (rng.random(n) < 0.05).astype(float)
    for share in (0.005, 0.05, 0.3):
        d = rng.random(n) < share
        units = np.flatnonzero(d)
        full = w * np.where(d, y, 0.0)
        assert design.domain_variance(units, full[units]) == design.variance(full)
        e = ht_total(design, y, d)
        assert e.var == design.variance(full)
        assert e.estimate == pytest.approx(full.sum(), rel=1e-14)
        m = ratio(design, y, np.ones(n), d)
        R = np.dot(w[d], y[d]) / w[d].sum()
        assert m.var == design.variance(w * np.where(d, (y - R) / w[d].sum(), 0.0))
