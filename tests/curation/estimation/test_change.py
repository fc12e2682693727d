"""Change between PRN-coordinated waves: the covariance that overlap creates, by hand and by
Monte Carlo on a population whose rare prevalence falls between waves while items come and
go; intervals from the gains and the losses (curation/estimation/change_interval.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from curation.estimation import SurveyDesign
from curation.estimation.change import (
    arc_overlap,
    check_comparable,
    coordination_of,
    joint_probability,
    prn_shift,
    proportion_change,
)
from curation.estimation.change_interval import mover_of_difference
from samplers import allocate
from samplers.prn import prn
from schemas import DesignError, Manifest

from .coverage import binomial_band, hard_population, priority, stratified, survey_design


def _srs(n=40, N=400, seed=0):
    codes = np.repeat([0, 1], n // 2)
    prob = np.full(n, n / N)
    d = SurveyDesign("srswor", codes, ("a", "b"), prob, 1 / prob, N_h=np.array([N / 2, N / 2]),
                     population=float(N))
    y = (np.random.default_rng(seed).uniform(size=n) < 0.3).astype(float)
    return d, y, np.array([f"u{i}" for i in range(n)])


@pytest.mark.parametrize("kind", ["srswor", "poisson"])
def test_the_same_sample_twice_has_no_change_and_no_variance_of_change(kind):
    d, y, ids = _srs()
    if kind == "poisson":
        d = SurveyDesign("poisson", d.codes, d.labels, d.prob, d.weight, population=400.0)
    c = proportion_change(d, y, ids, d, y, ids)
    assert c.difference == 0 and c.overlap_units == len(ids)
    assert c.covariance == pytest.approx(c.a.var, rel=1e-12)
    assert c.se_difference == pytest.approx(0.0, abs=1e-6)
    assert c.correlation == pytest.approx(1.0)


def test_independent_keys_or_no_common_unit_carry_no_covariance():
    d, y, ids = _srs()
    assert proportion_change(d, y, ids, d, y, ids, coordination="independent").covariance == 0
    other = np.array([f"v{i}" for i in range(len(ids))])
    c = proportion_change(d, y, ids, d, y, other)
    assert c.covariance == 0 and c.overlap_units == 0
    assert c.se_difference == pytest.approx(np.sqrt(2 * c.a.var))


def test_joint_probabilities_of_coordinated_prns():
    pa_, pb_ = np.array([0.2, 0.9, 0.5]), np.array([0.5, 0.6, 0.5])
    assert joint_probability(pa_, pb_, "positive").tolist() == [0.2, 0.6, 0.5]
    assert np.allclose(joint_probability(pa_, pb_, "negative"), [0.0, 0.5, 0.0])
    assert np.allclose(joint_probability(pa_, pb_, "independent"), pa_ * pb_)


@pytest.mark.parametrize("shift", [0.0, 0.02, 0.07, 0.3, 0.95, 0.999])
def test_the_rotation_joint_probability_is_the_common_measure_of_two_prn_arcs(shift):
    u = np.random.default_rng(1).uniform(size=400_000)
    pi_a, pi_b = np.array([0.05, 0.1, 0.6, 0.9]), np.array([0.08, 0.1, 0.5, 0.95])
    got = joint_probability(pi_a, pi_b, "rotation", shift)
    for k in range(pi_a.size):  # P(u < π_A and (u + s) mod 1 < π_B), by simulation
        freq = np.mean((u < pi_a[k]) & (np.mod(u + shift, 1.0) < pi_b[k]))
        assert got[k] == pytest.approx(freq, abs=4 * np.sqrt(freq / u.size) + 1e-4)
    assert np.all(got <= np.minimum(pi_a, pi_b) + 1e-15)


def test_a_rotation_without_shift_is_the_full_panel_and_a_full_shift_disjoint():
    pi = np.array([0.01, 0.1, 0.3])
    assert np.array_equal(arc_overlap(pi, pi, 0.0), pi)
    assert np.array_equal(arc_overlap(pi, pi, pi), np.zeros(3))
    assert np.allclose(arc_overlap(pi, pi, 0.25 * pi), 0.75 * pi)  # keeps 1 - r
    assert np.allclose(prn_shift(np.array([0.3, 0.9]), np.array([0.3 + 1e-13, 0.1])), [0, 0.2])
    assert prn_shift(np.array([0.3]), np.array([0.3 - 1e-13]))[0] == 0.0  # not 1 - ε


def test_a_rotation_reads_its_shift_from_the_prns_and_needs_them():
    d, y, ids = _srs()
    p = SurveyDesign("poisson", d.codes, d.labels, d.prob, d.weight, population=400.0)
    u = np.random.default_rng(2).uniform(0, 0.1, size=len(ids))
    same = proportion_change(p, y, ids, p, y, ids, "rotation", prn_a=u, prn_b=u)
    assert same.covariance == pytest.approx(
        proportion_change(p, y, ids, p, y, ids, "positive").covariance, rel=1e-12)
    moved = proportion_change(p, y, ids, p, y, ids, "rotation", prn_a=u, prn_b=u + 0.05)
    assert 0 < moved.covariance < same.covariance  # π_AB = π − s: a smaller covariance
    with pytest.raises(DesignError, match="prn columns"):
        proportion_change(p, y, ids, p, y, ids, "rotation")


def _manifest(seed=7, shifts=(), design=None, unit_col="item_id", prn=None):
    return Manifest(kind="sample", design={"unit_col": unit_col, **(design or {})}, seed=seed,
                    prn=prn or {"name": "acprn", "version": 1}, population={},
                    allocation=[{"stratum": "s", "N_h": 10, "n_h": 2,
                                 **({"prn_shift": x} if x else {})} for x in shifts or [0.0]],
                    content_hash="h", package_version="0")


def test_the_coordination_of_two_waves_from_their_manifests():
    a = _manifest()
    assert coordination_of(a, _manifest()) == "positive"
    assert coordination_of(a, _manifest(seed=8)) == "independent"
    assert coordination_of(a, _manifest(shifts=[0.1])) == "rotation"
    assert coordination_of(_manifest(shifts=[0.1]), a) == "rotation"  # either order
    assert coordination_of(a, _manifest(design={"rotation": {"rotation": 0.0}})) == "rotation"
    assert coordination_of(a, _manifest(shifts=[0.4], design={
        "coordination": {"overlap": "min"}})) == "negative"


def test_waves_of_different_units_or_prn_algorithms_are_not_compared():
    a = _manifest()
    with pytest.raises(DesignError, match="by 'item_id' and B by 'impression_id'"):
        check_comparable(a, _manifest(unit_col="impression_id"))
    with pytest.raises(DesignError, match="incompatible designs"):
        check_comparable(a, _manifest(prn={"name": "acprn", "version": 2},
                                      design={"rotation": {"rotation": 0.5}}))
    check_comparable(a, _manifest(seed=9))  # independent waves of the same units: fine


def test_mover_with_no_correlation_is_newcombe_and_correlation_narrows_it():
    lo, hi = mover_of_difference(0.2, 0.13, 0.29, 0.1, 0.05, 0.17, 0.0)
    assert lo == pytest.approx(0.1 - np.hypot(0.07, 0.07))
    assert hi == pytest.approx(0.1 + np.hypot(0.09, 0.05))
    lo2, hi2 = mover_of_difference(0.2, 0.13, 0.29, 0.1, 0.05, 0.17, 0.8)
    assert lo < lo2 < 0.1 < hi2 < hi


def waves(seed: int = 0):
    """Wave A: 0.6% prevalence; wave B: 1% of items removed, 1.5% added, and a policy change
    that turned 35% of the positives negative (so B − A ≈ −0.2 points)."""
    a = hard_population(N=60_000, prevalence=0.006, seed=seed)
    rng = np.random.default_rng(seed + 1)
    b = a.loc[rng.uniform(size=len(a)) > 0.01].copy()
    fixed = (b["sens"] == 1) & (rng.uniform(size=len(b)) < 0.35)
    b.loc[fixed, "sens"] = 0
    new = hard_population(N=900, prevalence=0.006, seed=seed + 2)
    new["item_id"] = "new-" + new["item_id"]
    return a.reset_index(drop=True), pd.concat([b, new], ignore_index=True)


def _plans(pop: pd.DataFrame, n: int):
    market, codes = np.unique(pop["market"].to_numpy(), return_inverse=True)
    w = 0.9 * pop["risk_score"].to_numpy() / pop["risk_score"].mean() + 0.1
    return {"stratified": stratified(codes, allocate(np.bincount(codes), n, "proportional",
                                                     min_per_stratum=2)),
            "priority": priority(w, n)}


DOMAINS = ("all", "DE", "SE")  # the population, a 20% market, a 3% market


@pytest.mark.slow
@pytest.mark.parametrize("design", ["stratified", "priority"])
def test_change_intervals_cover_with_the_covariance_and_overcover_without(design):
    a, b = waves()
    truth = {d: (b["sens"] if d == "all" else b.loc[b["market"] == d, "sens"]).mean()
             - (a["sens"] if d == "all" else a.loc[a["market"] == d, "sens"]).mean()
             for d in DOMAINS}
    plan_a, plan_b = _plans(a, 3000)[design], _plans(b, 3000)[design]
    ids_a, ids_b = (pa.array(p["item_id"].to_numpy()) for p in (a, b))
    reps = 1000
    hits, low, high = (dict.fromkeys(DOMAINS, 0) for _ in range(3))
    naive, overlap, fall, widths = 0, [], 0, []
    for seed in range(reps):
        da, db = plan_a(prn(ids_a, seed)), plan_b(prn(ids_b, seed))
        sa, sb = a.iloc[da.rows], b.iloc[db.rows]
        for d in DOMAINS:
            masks = (None, None) if d == "all" else (sa["market"].to_numpy() == d,
                                                     sb["market"].to_numpy() == d)
            c = proportion_change(survey_design(da), sa["sens"].to_numpy(float),
                                  sa["item_id"].to_numpy(), survey_design(db),
                                  sb["sens"].to_numpy(float), sb["item_id"].to_numpy(),
                                  domain_a=masks[0], domain_b=masks[1])
            hits[d] += c.ci_low <= truth[d] <= c.ci_high
            low[d] += truth[d] < c.ci_low
            high[d] += truth[d] > c.ci_high
            if d == "all":
                overlap.append(c.overlap_units / len(sb))
                fall += c.ci_high < 0  # the fall is shown: the interval excludes no change
                ignore = mover_of_difference(c.b.estimate, *_interval(c.b), c.a.estimate,
                                             *_interval(c.a), 0.0)
                naive += ignore[0] <= truth[d] <= ignore[1]
                widths.append((ignore[1] - ignore[0]) / (c.ci_high - c.ci_low))
    lo_band, hi_band = binomial_band(0.95, reps)
    for d in DOMAINS:
        print(f"\n{design} {d}: coverage {hits[d] / reps:.3f} (below {low[d] / reps:.3f}, "
              f"above {high[d] / reps:.3f}); truth {truth[d]:.5f}")
    print(f"ignoring the covariance: {naive / reps:.3f}, {np.mean(widths):.2f}x as wide; "
          f"overlap {np.mean(overlap):.2f}; "
          f"fall shown {fall / reps:.3f}")
    # with only losses (and a few new items) the allowance for a gain or a loss the sample
    # missed makes the interval conservative (stratified 0.976, priority 0.990), at little cost
    # in power: the fall is shown in 71% and 93% of the replicates (69% and 96% by MOVER of
    # the two waves, which under-covers when units turn positive: test_change_coverage.py)
    assert lo_band <= hits["all"] / reps <= (0.985 if design == "stratified" else 0.995)
    assert fall / reps >= (0.65 if design == "stratified" else 0.9)
    for d in DOMAINS:  # never under-covers; in domains of 2-4 positives a wave it over-covers
        assert hits[d] / reps >= lo_band, d  # (0.999-1.000: MOVER cannot use the pairing)
        assert low[d] / reps <= 0.035 and high[d] / reps <= 0.035, d
    assert np.mean(overlap) > 0.9
    assert naive / reps >= hits["all"] / reps and np.mean(widths) > 1.5  # far too wide


def _interval(e):
    from curation.estimation.intervals import proportion_interval

    lo, hi, _ = proportion_interval(e, 0.95, "gamma")  # the pieces the change uses
    return lo, hi
