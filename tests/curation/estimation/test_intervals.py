"""Intervals never leave [0, 1] and never collapse at 0 or 1; zero positives give an upper bound."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from curation.estimation import Estimate, estimate_table, korn_graubard, proportion_interval, wilson


def test_zero_positives_report_zero_with_one_sided_upper_bound():
    df = pd.DataFrame({"stratum": ["a"] * 50 + ["b"] * 50, "inclusion_prob": 0.1,
                       "design_weight": 10.0, "y": [0] * 100})
    t = estimate_table(df, ["y"], level=0.95).set_index("metric")
    row = t.loc["proportion"]
    assert row.estimate == 0 and row.ci_low == 0 and row.ci_method == "one-sided upper"
    assert row.ci_high == pytest.approx(1 - 0.05 ** (1 / 100))  # Clopper-Pearson, 0 of 100
    assert t.loc["total"].ci_high == pytest.approx(1000 * (1 - 0.05 ** (1 / 100)))


@given(p=st.floats(1e-4, 1 - 1e-4), n=st.integers(5, 5000), deff=st.floats(0.2, 5),
       level=st.floats(0.5, 0.999), method=st.sampled_from(["beta", "wilson", "normal"]))
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
