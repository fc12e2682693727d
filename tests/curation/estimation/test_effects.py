"""Difference-in-differences of a treated and a control domain over two PRN-coordinated waves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from curation.estimation import SurveyDesign, hajek_mean
from curation.estimation.change_interval import mover_of_difference
from curation.estimation.effects import did_effect, did_variance
from samplers import allocate
from samplers.prn import prn
from schemas import DesignError

from .coverage import binomial_band, hard_population, priority, stratified, survey_design


def _srs(n=60, N=600, seed=0, strata=3):
    rng = np.random.default_rng(seed)
    codes = np.repeat(np.arange(strata), n // strata)
    prob = np.full(n, n / N)
    design = SurveyDesign("srswor", codes, tuple(map(str, range(strata))), prob, 1 / prob,
                          N_h=np.full(strata, N / strata))
    y = (rng.uniform(size=n) < 0.3).astype(float)
    group = rng.choice(["t", "c", "o"], n)
    return design, y, np.array([f"u{k}" for k in range(n)]), group


def test_the_same_sample_twice_has_no_effect_and_no_variance():
    d, y, ids, g = _srs()
    t, c = g == "t", g == "c"
    e = did_effect(d, y, ids, t, c, d, y, ids, t, c, "positive")
    assert e.estimate == 0 and e.variance == pytest.approx(0, abs=1e-15)


def test_independent_poisson_waves_add_the_four_variances():
    """Poisson draws are independent unit by unit: disjoint domains of one wave are
    uncorrelated, and independent waves too, so V(DiD) is the sum of the four variances."""
    rng = np.random.default_rng(1)
    parts = []
    for wave in range(2):
        prob = rng.uniform(0.1, 0.6, 80)
        design = SurveyDesign("poisson", np.zeros(80, int), ("all",), prob, 1 / prob)
        parts.append((design, (rng.uniform(size=80) < 0.2).astype(float),
                      np.array([f"w{wave}-{k}" for k in range(80)]), rng.choice(["t", "c"], 80)))
    (da, ya, ia, ga), (db, yb, ib, gb) = parts
    var = did_variance(da, ya, ia, ga == "t", ga == "c", db, yb, ib, gb == "t", gb == "c",
                       "independent")
    four = sum(hajek_mean(d, y, g == k).var for d, y, _, g in parts for k in ("t", "c"))
    assert var == pytest.approx(four, rel=1e-12)


def test_disjoint_domains_across_strata_covary_under_stratified_srswor():
    """With n_h fixed, more treated units in a stratum means fewer control ones: the scores'
    within-stratum covariance is not zero, and the linearized variance of x_t − x_c has it."""
    from curation.estimation.estimators import mean_score

    d, y, ids, g = _srs(n=90, N=900, seed=3)
    xt, xc = mean_score(d, y, g == "t"), mean_score(d, y, g == "c")
    both = d.variance(xt - xc)
    cov = (d.variance(xt) + d.variance(xc) - both) / 2
    by_hand = 0.0
    for h in range(3):
        m = d.codes == h
        n_h, N_h = m.sum(), d.N_h[h]
        by_hand += N_h ** 2 * (1 - n_h / N_h) / n_h * np.cov(xt[m] / d.weight[m],
                                                              xc[m] / d.weight[m])[0, 1]
    assert cov == pytest.approx(by_hand, rel=1e-10) and cov != 0


def test_mover_of_a_difference_with_no_correlation_adds_the_half_widths_in_quadrature():
    lo, hi = mover_of_difference(-0.1, -0.2, 0.0, 0.0, -0.05, 0.05, 0.0)
    assert lo == pytest.approx(-0.1 - np.hypot(0.1, 0.05))
    assert hi == pytest.approx(-0.1 + np.hypot(0.1, 0.05))
    lo2, hi2 = mover_of_difference(-0.1, -0.2, 0.0, 0.0, -0.05, 0.05, 0.7)
    assert lo < lo2 < -0.1 < hi2 < hi


def test_overlapping_domains_and_unknown_methods_are_refused():
    d, y, ids, g = _srs()
    t = g != "o"
    with pytest.raises(DesignError, match="overlap"):
        did_effect(d, y, ids, t, g == "c", d, y, ids, t, g == "c")
    with pytest.raises(DesignError, match="interval"):
        did_effect(d, y, ids, g == "t", g == "c", d, y, ids, g == "t", g == "c",
                   method="bootstrap")


def waves(prevalence: float, effect: float, seed: int = 0):
    """Wave A; wave B with 1% of items removed, 1.5% added and, in the treated creator group
    ``self`` only, a share ``effect`` of the positives turned negative."""
    a = hard_population(N=60_000, prevalence=prevalence, seed=seed)
    rng = np.random.default_rng(seed + 1)
    b = a.loc[rng.uniform(size=len(a)) > 0.01].copy()
    fixed = (b["sens"] == 1) & (b["creator_group"] == "self") & (rng.uniform(size=len(b))
                                                                 < effect)
    b.loc[fixed, "sens"] = 0
    new = hard_population(N=900, prevalence=prevalence, seed=seed + 2)
    new["item_id"] = "new-" + new["item_id"]
    return a.reset_index(drop=True), pd.concat([b, new], ignore_index=True)


def _plan(pop: pd.DataFrame, design: str, n: int):
    if design == "stratified":
        _, codes = np.unique(pop["market"].to_numpy(), return_inverse=True)
        return stratified(codes, allocate(np.bincount(codes), n, "proportional",
                                          min_per_stratum=2))
    return priority(0.9 * pop["risk_score"].to_numpy() / pop["risk_score"].mean() + 0.1, n)


def _truth(a: pd.DataFrame, b: pd.DataFrame, treated: str, control: str) -> float:
    def p(df, g):
        return df.loc[df["creator_group"] == g, "sens"].mean()
    return (p(b, treated) - p(a, treated)) - (p(b, control) - p(a, control))


CASES = [  # (design, prevalence, share of treated positives fixed, wave B's PRN key)
    ("stratified", 0.006, 0.35, "same"), ("stratified", 0.006, 0.0, "independent"),
    ("stratified", 0.05, 0.35, "same"), ("priority", 0.006, 0.35, "same")]


@pytest.mark.slow
def test_did_intervals_cover_and_the_variance_is_unbiased_on_rare_and_common_labels():
    """Treated = the 15% creator group ``self``, control = the 55% ``major``, both cutting
    across the market strata; n = 3,000 of 60,000 a wave, 400 replicate pairs per case, wave B
    drawn with the same PRN key (~97% of units in both waves: positive coordination) or an
    independent one (0% overlap, no effect). Per case: mean estimated variance / empirical
    variance of the DiD
    within 3 Monte Carlo SEs of 1, coverage per tail; at 0.6% prevalence the treated domain
    has ~4 positives a wave, where MOVER may over-cover but neither tail may miss more than
    2.5% + 3 Monte Carlo SEs."""
    reps = 400
    lo_band, hi_band = binomial_band(0.95, reps)
    ratio_band = 3 * np.sqrt(2 / (reps - 1))
    tail = 0.025 + 3 * np.sqrt(0.025 * 0.975 / reps)  # a tail's 2.5% plus 3 Monte Carlo SEs
    for design, prevalence, effect, key in CASES:
        a, b = waves(prevalence, effect)
        truth = _truth(a, b, "self", "major")
        plan_a, plan_b = _plan(a, design, 3000), _plan(b, design, 3000)
        ids_a, ids_b = (pa.array(p["item_id"].to_numpy()) for p in (a, b))
        est, var, naive, below, above, normal = [], [], [], 0, 0, 0
        for seed in range(reps):
            da = plan_a(prn(ids_a, seed))
            db = plan_b(prn(ids_b, seed if key == "same" else 10_007 + seed))
            sa, sb = a.iloc[da.rows], b.iloc[db.rows]
            ga, gb = sa["creator_group"].to_numpy(), sb["creator_group"].to_numpy()
            args = (survey_design(da), sa["sens"].to_numpy(float), sa["item_id"].to_numpy(),
                    ga == "self", ga == "major", survey_design(db), sb["sens"].to_numpy(float),
                    sb["item_id"].to_numpy(), gb == "self", gb == "major",
                    "positive" if key == "same" else "independent")
            e = did_effect(*args)
            est.append(e.estimate)
            var.append(e.variance)
            naive.append(sum(c.a.var + c.b.var for c in (e.treated, e.control)))
            below += truth < e.ci_low
            above += truth > e.ci_high
            half = 1.959964 * e.se
            normal += e.estimate - half <= truth <= e.estimate + half
        ratio = np.mean(var) / np.var(est, ddof=1)
        cover = 1 - (below + above) / reps
        print(f"\n{design} prevalence {prevalence} effect {effect} {key} PRNs: truth "
              f"{truth:+.5f}, "
              f"bias {np.mean(est) - truth:+.2e}; V̂/V {ratio:.3f} (band ±{ratio_band:.3f}); "
              f"MOVER coverage {cover:.3f} (below {below / reps:.3f}, above "
              f"{above / reps:.3f}); normal {normal / reps:.3f}; ignoring the covariances "
              f"V̂/V {np.mean(naive) / np.var(est, ddof=1):.1f}")
        assert abs(ratio - 1) <= ratio_band, (design, prevalence, effect, ratio)
        assert cover >= lo_band and below / reps <= tail and above / reps <= tail
        if prevalence >= 0.05:  # enough positives: the interval is as long as it must be
            assert cover <= hi_band
        if key == "same":
            assert np.mean(naive) > 3 * np.mean(var)  # the wave covariance matters
        else:  # independent waves: only the domains' covariance within each wave is left
            assert np.mean(naive) == pytest.approx(np.mean(var), rel=0.1)
