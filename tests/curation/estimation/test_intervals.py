"""Intervals never leave [0, 1] and never collapse at 0 or 1; zero positives give an upper bound."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import optimize, stats

from curation.estimation import Estimate, estimate_table, korn_graubard, proportion_interval, wilson
from curation.estimation.intervals import gamma_interval, resolve_method


def test_zero_positives_report_zero_with_one_sided_upper_bound():
    df = pd.DataFrame({"stratum": ["a"] * 50 + ["b"] * 50, "inclusion_prob": 0.1,
                       "design_weight": 10.0, "y": [0] * 100})
    t = estimate_table(df, ["y"], level=0.95).set_index("metric")
    row = t.loc["proportion"]
    assert row.estimate == 0 and row.ci_low == 0 and row.ci_method == "one-sided upper"
    assert row.ci_high == pytest.approx(1 - 0.05 ** (1 / 100))  # Clopper-Pearson, 0 of 100
    assert t.loc["total"].ci_high == pytest.approx(1000 * (1 - 0.05 ** (1 / 100)))


@given(p=st.floats(1e-4, 1 - 1e-4), n=st.integers(5, 5000), deff=st.floats(0.2, 5),
       level=st.floats(0.5, 0.999),
       method=st.sampled_from(["beta", "gamma", "wilson", "normal"]))
def test_intervals_stay_in_unit_interval_and_cover_the_estimate(p, n, deff, level, method):
    var = p * (1 - p) / n * deff
    e = Estimate(p, var, n, n - 1, deff, float(n), float(n))
    lo, hi, _ = proportion_interval(e, level, method)
    assert 0 <= lo <= p <= hi <= 1 and hi > lo


def test_korn_graubard_is_clopper_pearson_at_deff_one():
    lo, hi = korn_graubard(0.1, 0.1 * 0.9 / 100, 100, 99, 0.95)
    assert (round(lo, 4), round(hi, 4)) == (0.049, 0.1762)  # CP for 10/100
    lo, hi = wilson(0.1, 0.1 * 0.9 / 100, 10**9, 0.95)
    z = 1.959963984540054
    centre = (0.1 + z * z / 200) / (1 + z * z / 100)
    assert (lo + hi) / 2 == pytest.approx(centre, rel=1e-6) and np.isfinite(hi)


def test_a_variance_of_rounding_noise_is_a_census_not_a_nan_interval():
    # a domain whose positives all lie in a fully sampled stratum: V = 0 up to rounding
    e = Estimate(1 / 36, 9.4e-21, 18, 16, float("nan"), 36.0, 18.0)
    assert proportion_interval(e, 0.95, "beta") == (1 / 36, 1 / 36, "census")


@pytest.mark.parametrize("x", [1, 3, 10, 40])
def test_gamma_interval_is_the_mid_p_poisson_interval_for_equal_weights(x):
    """x positives of n, each of weight 1/n, V = x/n²: the bounds are the mid-p Poisson
    interval of the count x, divided by n (the textbook case the gamma interval generalises)."""
    n = 5000

    def midp(mu):  # P(X < x) + P(X = x)/2 under Poisson(mu)
        return stats.poisson.cdf(x - 1, mu) + 0.5 * stats.poisson.pmf(x, mu)

    upper = optimize.brentq(lambda mu: midp(mu) - 0.025, x, 10 * x + 10)
    lo, hi = gamma_interval(x / n, x / n**2, 1 / n, 0.95)
    assert hi * n == pytest.approx(upper, rel=1e-8)
    # lower mid-p: P(X > x) + P(X = x)/2 = α/2
    lower = optimize.brentq(lambda mu: stats.poisson.sf(x, mu) + 0.5 * stats.poisson.pmf(x, mu)
                            - 0.025, 1e-12, x)
    assert lo * n == pytest.approx(lower, rel=1e-8)


def test_auto_is_korn_graubard_under_srswor_and_mid_p_gamma_under_importance_designs():
    assert resolve_method("auto", "poisson") == "gamma"
    assert resolve_method("auto", "srswor") == "beta"
    # Neyman allocation on a model's label: fractions 25 times apart → the skew interval
    assert resolve_method("auto", "srswor", np.array([0.025, 0.62])) == "skew"
    assert resolve_method("auto", "srswor", np.array([0.02, 0.021, 0.03])) == "beta"
    assert resolve_method("auto", "poisson", np.array([0.025, 0.62])) == "gamma"
    assert resolve_method("beta", "poisson") == "beta"
    with pytest.raises(Exception, match="unknown interval method 'nope'"):
        resolve_method("nope", "poisson")


def test_gamma_upper_bound_rises_with_the_weight_an_unseen_positive_may_carry():
    base = gamma_interval(0.004, 1e-6, 0.0, 0.95)
    wider = gamma_interval(0.004, 1e-6, 1 / 2000, 0.95)
    assert wider[1] > base[1] and wider[0] >= base[0] - 1e-12


def test_unseen_positive_weighs_a_population_unit_unless_the_score_predicts_the_label():
    from dataclasses import replace

    from curation.estimation.intervals import unseen_weight

    e = Estimate(0.01, 1e-5, 2000, 1999, 1.0, 1.0, 800.0)
    assert unseen_weight(e) == 1 / 800  # no evidence: a positive placed at random (1/n_Kish)
    assert unseen_weight(replace(e, lighter_positives_p=0.3)) == 1 / 800
    assert unseen_weight(replace(e, lighter_positives_p=0.001)) == 1 / 2000  # oversampled


def test_lighter_positives_detects_a_score_that_oversamples_positives():
    from curation.estimation.estimators import lighter_positives

    rng = np.random.default_rng(0)
    y = (rng.random(3000) < 0.02).astype(float)
    informed = np.where(y == 1, rng.uniform(1, 5, 3000), rng.uniform(3, 30, 3000))
    unrelated = rng.uniform(1, 30, 3000)
    assert lighter_positives(informed, y) < 1e-6
    assert lighter_positives(unrelated, y) > 0.05
    assert np.isnan(lighter_positives(np.full(3000, 4.0), y))  # equal weights: nothing to test
    assert np.isnan(lighter_positives(unrelated, rng.random(3000)))  # not a 0/1 label
