"""The model-aware planner: how informative a model is from a pilot, the optimal two-phase split,
and every plan checked by simulation (samples of the planned sizes, estimated with the project's
GREG, reach the target half-width).

The population: N = 200,000 at prevalence 0.4%, a good model label (sensitivity 0.9,
specificity 0.995) and a score of AUC ≈ 0.85; the pilot an SRS of 40,000 of it.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from curation.estimation.estimators import hajek_mean
from curation.estimation.intervals import proportion_interval
from curation.estimation.model_assisted import greg
from curation.estimation.planning.assisted import (
    optimal_ratio,
    plan_two_phase,
    plan_with_model,
    two_phase_variance,
)
from curation.estimation.planning.informative import model_pilot
from curation.estimation.survey_design import SurveyDesign

N, P, MARGIN = 200_000, 0.004, 0.0015


@pytest.fixture(scope="module")
def world():
    rng = np.random.default_rng(20261201)
    y = (rng.uniform(size=N) < P).astype(float)
    label = np.where(y == 1, rng.uniform(size=N) < 0.9, rng.uniform(size=N) < 0.005)
    score = expit(-4.0 + 1.45 * y + rng.normal(size=N))
    return {"y": y, "label": label.astype(float), "score": score}


def _pilot(world, n: int, seed: int) -> dict:
    """Model pilots (label and score) from an SRS of ``n`` units (n = N: the population)."""
    idx = np.random.default_rng(seed).choice(N, n, replace=False) if n < N else np.arange(N)
    df = pd.DataFrame({"unit_id": [f"u{i}" for i in idx], "stratum": "all",
                       "inclusion_prob": n / N, "design_weight": N / n, "y": world["y"][idx],
                       "label": world["label"][idx], "score": world["score"][idx]})
    return {col: model_pilot(df, None, "y", col) for col in ("label", "score")}


@pytest.fixture(scope="module")
def pilots(world):
    return _pilot(world, 40_000, 7)


@pytest.fixture(scope="module")
def census(world):
    """The population itself as the pilot: the planner's figures without pilot noise."""
    return _pilot(world, N, 0)


def _auc(y: np.ndarray, s: np.ndarray) -> float:
    ranks = pd.Series(s).rank().to_numpy()
    pos = y == 1
    return float((ranks[pos].sum() - pos.sum() * (pos.sum() + 1) / 2) / (pos.sum() * (~pos).sum()))


def test_the_population_is_the_hard_case(world):
    y = world["y"]
    assert 0.003 <= y.mean() <= 0.005
    assert 0.83 <= _auc(y, world["score"]) <= 0.87
    assert world["label"][y == 1].mean() == pytest.approx(0.9, abs=0.02)
    assert 1 - world["label"][y == 0].mean() == pytest.approx(0.995, abs=0.001)


def test_pilot_estimates_sensitivity_specificity_and_r2(world, pilots):
    """Within 3 SE of the population's own figures (pilot of 40,000: ~160 positives)."""
    c = pilots["label"].confusion()
    y, f = world["y"], world["label"]
    sens, spec = f[y == 1].mean(), 1 - f[y == 0].mean()
    assert c["sensitivity"] == pytest.approx(sens, abs=3 * np.sqrt(sens * (1 - sens) / 160))
    assert c["specificity"] == pytest.approx(spec, abs=3 * np.sqrt(spec * (1 - spec) / 39_840))
    r2_pop = np.corrcoef(y, f)[0, 1] ** 2
    assert pilots["label"].r2() == pytest.approx(r2_pop, abs=0.06)
    assert pilots["score"].r2() < pilots["label"].r2()


def test_optimal_ratio_minimises_cost_at_the_variance():
    """The closed form n2/n1 = √(C_m(1−R²)/(C_h R²)) against a brute-force search over n1."""
    p, r2, ch, cm, target = 0.004, 0.4, 1.0, 0.01, 4e-7
    best = None
    for n1 in range(2000, 200_000, 50):
        s2, e2 = p * (1 - p), (1 - r2) * p * (1 - p)
        denom = target - s2 / n1 + e2 / n1
        if denom <= 0:
            continue
        n2 = e2 / denom
        if n2 > n1:
            continue
        cost = cm * n1 + ch * n2
        if best is None or cost < best[0]:
            best = (cost, n1, n2)
    _, n1, n2 = best
    assert n2 / n1 == pytest.approx(optimal_ratio(r2, ch, cm), rel=0.02)
    assert two_phase_variance(p, r2, n1, n2, None) == pytest.approx(target, rel=1e-9)


def test_a_useless_model_buys_nothing_and_two_phase_falls_back_to_humans():
    plan, n1, ratio = plan_two_phase(MARGIN, P, 0.0, N, 1.0, 0.01)
    assert ratio == 1.0 and n1 == plan.n


def test_the_label_bound_is_near_seven_fold_at_this_prevalence(pilots):
    plans = {p.plan.design: p for p in plan_with_model(pilots["label"], MARGIN)}
    srs = plans["srs"].plan.n
    ney = plans["stratified by model label, Neyman"].plan.n
    assert 5.0 <= srs / ney <= 9.0, srs / ney


# ---------------------------------------------------------------------------- simulation

def _srs_design(n: int, Npop: float) -> SurveyDesign:
    return SurveyDesign("srswor", np.zeros(n, np.int64), ("all",), np.full(n, n / Npop),
                        np.full(n, Npop / n), N_h=np.array([float(Npop)]))


def _interval(e, level: float = 0.95) -> tuple[float, float]:
    lo, hi, _ = proportion_interval(e, level, "beta")
    return lo, hi


def _srs(rng, y, n):
    s = rng.choice(y.size, n, replace=False)
    return _interval(hajek_mean(_srs_design(n, y.size), y[s]))


def _greg_srs(rng, y, f, n):
    s = rng.choice(y.size, n, replace=False)
    d = greg(_srs_design(n, y.size), f[s], np.array([float(y.size)]), np.array([f.sum()]))
    return _interval(hajek_mean(d, y[s]))


def _stratified(rng, y, f, allocation, edges):
    codes_pop = np.searchsorted(edges, f, side="right")
    parts, codes, prob = [], [], []
    for h, n_h in enumerate(allocation["n_h"].to_numpy()):
        units = np.flatnonzero(codes_pop == h)
        s = rng.choice(units, int(n_h), replace=False)
        parts.append(s)
        codes.append(np.full(s.size, h))
        prob.append(np.full(s.size, n_h / units.size))
    s, c, pi = np.concatenate(parts), np.concatenate(codes), np.concatenate(prob)
    N_h = np.bincount(codes_pop).astype(float)
    d = SurveyDesign("srswor", c, tuple(allocation["stratum"]), pi, 1 / pi, N_h=N_h)
    if len(edges) > 1:  # score bins: GREG within each bin; a 0/1 label is constant in its
        F_h = np.bincount(codes_pop, weights=f)  # stratum, where GREG is the stratified mean
        d = greg(d, f[s], N_h, F_h)
    return _interval(hajek_mean(d, y[s]))


def _two_phase(rng, y, f, n1, n2):
    """Regression estimator with the phase-1 mean of f; variance = phase-2 GREG variance
    (given phase 1) + the phase-1 variance of a mean, s²(1/n1 − 1/N)."""
    s1 = rng.choice(y.size, n1, replace=False)
    s2 = s1[rng.choice(n1, n2, replace=False)]
    e = hajek_mean(greg(_srs_design(n2, n1), f[s2], np.array([float(n1)]),
                        np.array([f[s1].sum()])), y[s2])
    p = min(max(e.estimate, 0.0), 1.0)
    var = e.var + p * (1 - p) * (1 / n1 - 1 / y.size)
    var_srs = p * (1 - p) * (1 / n2 - 1 / y.size)
    return _interval(replace(e, var=var, deff=var / var_srs if var_srs > 0 else e.deff))


def _drawer(mp, rng, y, f):
    """One replicate of the plan's design and estimator: its interval."""
    pl = mp.plan
    if pl.design == "srs":
        return lambda: _srs(rng, y, pl.n)
    if pl.design.startswith("GREG"):
        return lambda: _greg_srs(rng, y, f, pl.n)
    if pl.design.startswith("stratified"):
        return lambda: _stratified(rng, y, f, pl.allocation, np.array(mp.edges))
    if pl.design.startswith("two-phase"):
        return lambda: _two_phase(rng, y, f, mp.phase1, pl.n)
    return None  # importance: checked by tests/curation/estimation/test_planner.py


def simulate_plans(world, pilots, col: str, reps: int = 150) -> dict[str, dict]:
    """Per plan: human labels, achieved mean half-width / target (and its MC SE), coverage of
    the population prevalence, and the plan's note."""
    y, f = world["y"], world[col]
    truth = float(y.mean())
    rng = np.random.default_rng({"label": 1, "score": 2}[col])
    plans = plan_with_model(pilots[col], MARGIN, population=f, cost_human=1.0,
                            cost_model=0.001)
    report = {}
    for mp in plans:
        draw = _drawer(mp, rng, y, f)
        if draw is None:
            continue
        ci = np.array([draw() for _ in range(reps)])
        hw = (ci[:, 1] - ci[:, 0]) / 2 / MARGIN
        report[mp.plan.design] = {
            "n": mp.plan.n, "ratio": float(hw.mean()),
            "se": float(hw.std(ddof=1) / np.sqrt(reps)),
            "coverage": float(np.mean((ci[:, 0] <= truth) & (truth <= ci[:, 1]))),
            "note": mp.note}
    return report


#: Achieved mean half-width / target, per plan. With the population's own figures (census
#: pilot) the planner must be right within 10% (+3 MC SE): its variance is a large-sample
#: one and the interval's width varies with p̂. With a 40,000-unit pilot (~160 positives, ~16
#: of them among the model's negatives) the plan also carries the pilot's error (±25% on the
#: prevalence among model negatives), so it may land further under the target, never over.
TOLERANCE = {"census": (0.90, 1.10), "pilot": (0.70, 1.10)}
REPS = 150
COVERAGE_FLOOR = 0.95 - 3 * np.sqrt(0.95 * 0.05 / REPS)  # 0.897


@pytest.mark.slow
@pytest.mark.parametrize("source", ["census", "pilot"])
@pytest.mark.parametrize("col", ["label", "score"])
def test_every_plan_reaches_the_target_half_width_in_simulation(world, request, source, col):
    """Every plan's intervals are at most the target wide; a plan that expects to see no
    positive in a stratum says so (its interval under-covers, the others' do not), and the
    rest are also no narrower than the stated tolerance."""
    report = simulate_plans(world, request.getfixturevalue(
        "census" if source == "census" else "pilots"), col, REPS)
    print(col, source, {k: (r["n"], round(r["ratio"], 3), round(r["se"], 3), r["coverage"])
                        for k, r in report.items()})
    low, high = TOLERANCE[source]
    for design, r in report.items():
        assert r["ratio"] <= high + 3 * r["se"], (design, r)
        warned = "under-covers" in r["note"]
        if not warned:
            assert r["ratio"] >= low - 3 * r["se"], (design, r)
            assert r["coverage"] >= COVERAGE_FLOOR, (design, r)
        elif source == "census":
            assert r["coverage"] < 0.95, (design, r)  # the warning is not a false alarm
    assert len(report) == 4
