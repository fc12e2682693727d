"""The interval of a change from its gains and losses: exact decomposition, the zero cases, the
symmetric limit and the skew of heavy gains."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from curation.estimation import SurveyDesign
from curation.estimation.change import proportion_change
from curation.estimation.change_interval import (
    Side,
    compound_unit,
    counts_interval,
    gains_and_losses,
    split_interval,
)
from curation.estimation.estimators import hajek_mean


def poisson_wave(prob, y, ids):
    prob = np.asarray(prob, float)
    d = SurveyDesign("poisson", np.zeros(prob.size, np.int64), ("0",), prob, 1 / prob,
                     population=float((1 / prob).sum()))
    y = np.asarray(y, float)
    return Side(d, y, np.asarray(ids), np.ones(prob.size, bool), hajek_mean(d, y))


def test_gains_minus_losses_is_the_difference_of_the_two_proportions():
    rng = np.random.default_rng(1)
    a = poisson_wave(rng.uniform(0.01, 0.2, 300), rng.uniform(size=300) < 0.05, np.arange(300))
    b = poisson_wave(rng.uniform(0.01, 0.2, 280), rng.uniform(size=280) < 0.03,
                     np.arange(40, 320))
    gain, pi_b, loss, pi_a = gains_and_losses(a, b)
    assert gain.sum() - loss.sum() == pytest.approx(b.estimate.estimate - a.estimate.estimate,
                                                    abs=1e-15)
    assert (gain >= 0).all() and (loss >= 0).all() and not (gain * loss).any()
    assert gain.size == 320 and ((pi_a == 1) | (pi_a < 0.2)).all()


def test_a_unit_weighing_the_same_in_both_waves_is_neither_gain_nor_loss():
    a = poisson_wave([0.1] * 3, [1, 0, 0], ["x", "y", "z"])
    b = poisson_wave([0.1] * 3, [1, 1, 0], ["x", "y", "z"])
    gain, _, loss, _ = gains_and_losses(a, b)
    assert gain.tolist() == pytest.approx([0, 1 / 3, 0]) and not loss.any()


def test_no_count_seen_has_the_mid_p_bound_of_one_unseen_count():
    lo, hi = counts_interval(0.0, 0.0, 0.0, 0.002, 0.95)
    assert lo == 0.0 and hi == pytest.approx(-0.002 * math.log(0.05))


def test_many_light_counts_give_nearly_the_symmetric_interval_of_the_variance():
    w = 1e-5  # 4000 counts of equal small weight: skew 1/√4000, so about ±z·√V
    total, var = 4000 * w, 4000 * w * w
    lo, hi = counts_interval(total, var, w, w, 0.95)
    half = stats.norm.ppf(0.975) * math.sqrt(var)
    assert hi - total == pytest.approx(half, rel=0.05)
    assert total - lo == pytest.approx(half, rel=0.05)
    assert hi - total > total - lo  # still the skew of counts


def test_heavy_gains_lengthen_the_upper_arm():
    # wave B: the same units as A, two of which turned positive; with equal weights, or with
    # weights that vary, so that a heavy unit could have turned positive unseen
    y = np.zeros(400)
    y[:2] = 1
    even_a = poisson_wave([0.05] * 400, [0] * 400, np.arange(400))
    even_b = poisson_wave([0.05] * 400, y, np.arange(400))
    prob = np.where(np.arange(400) < 200, 0.05, 0.005)
    skewed_a = poisson_wave(prob, [0] * 400, np.arange(400))
    skewed_b = poisson_wave(prob, y, np.arange(400))
    assert compound_unit(skewed_b, skewed_b.mask) > compound_unit(even_b, even_b.mask)
    arms = []
    for a, b in ((even_a, even_b), (skewed_a, skewed_b)):
        lo, hi = split_interval(a, b, b.estimate.var, 0.95)
        d, se = b.estimate.estimate, math.sqrt(b.estimate.var)
        assert lo < d < hi
        arms.append((hi - d) / se)
    assert arms[1] > arms[0]


def test_proportion_change_uses_gains_and_losses_for_rare_and_mover_for_common():
    rng = np.random.default_rng(4)
    prob = rng.uniform(0.02, 0.1, 2000)
    design = SurveyDesign("poisson", np.zeros(2000, np.int64), ("0",), prob, 1 / prob,
                          population=float((1 / prob).sum()))
    ids = np.arange(2000)
    rare_a, rare_b = (rng.uniform(size=2000) < 0.01).astype(float), np.zeros(2000)
    rare_b[:30] = 1
    c = proportion_change(design, rare_a, ids, design, rare_b, ids, "positive")
    assert c.method == "gains and losses (skew)" and c.ci_low <= c.difference <= c.ci_high
    common = (rng.uniform(size=2000) < 0.3).astype(float)
    c = proportion_change(design, common, ids, design, 1 - common, ids, "positive")
    assert c.method.startswith("MOVER")
    c = proportion_change(design, rare_a, ids, design, rare_b, ids, "positive", ci="beta")
    assert c.method == "MOVER (beta)"


def test_a_census_of_both_waves_is_the_difference_itself():
    ones = np.ones(50)
    d = SurveyDesign("poisson", np.zeros(50, np.int64), ("0",), ones, ones, population=50.0)
    y_a, y_b = np.zeros(50), np.zeros(50)
    y_a[:2], y_b[:1] = 1, 1
    c = proportion_change(d, y_a, np.arange(50), d, y_b, np.arange(50), "positive")
    assert (c.ci_low, c.ci_high, c.method) == (pytest.approx(-0.02), pytest.approx(-0.02),
                                               "census")


def test_nothing_changed_in_the_sample_still_allows_unseen_changes():
    rng = np.random.default_rng(2)
    prob = rng.uniform(0.02, 0.1, 1000)
    d = SurveyDesign("poisson", np.zeros(1000, np.int64), ("0",), prob, 1 / prob,
                     population=float((1 / prob).sum()))
    y = (rng.uniform(size=1000) < 0.01).astype(float)
    c = proportion_change(d, y, np.arange(1000), d, y, np.arange(1000), "positive")
    assert c.difference == 0 and c.se_difference == 0
    assert c.ci_low < 0 < c.ci_high  # a gain or a loss the sample missed
