"""The planner's plans are checked by simulation: drawing samples of the planned size with the
planned design gives a z·SD of the estimate within 10% of the planned half-width."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from click.testing import CliRunner
from scipy import stats

from curation.cli.main import cli
from curation.estimation.planner import (
    inclusion_probabilities,
    plan_importance,
    plan_population,
    plan_srs,
    plan_stratified,
)
from samplers import StratifiedSampler
from samplers.prn import prn
from schemas import DesignError

REPS = 400
Z = stats.norm.ppf(0.975)


@pytest.fixture(scope="module")
def pop():
    """Items whose sensitivity is drawn from the risk score (so the score is a true prior)."""
    rng = np.random.default_rng(5)
    N = 6000
    score = np.clip(rng.beta(0.3, 12, N), 0, 1)
    market = rng.choice(["US", "BR", "SE"], N, p=[0.5, 0.3, 0.2])
    sens = (rng.random(N) < score).astype(float)
    return pd.DataFrame({"item_id": [f"p{k:05d}" for k in range(N)], "market": market,
                         "risk_score": score, "sens": sens})


def test_textbook_srs_sizes():
    assert plan_srs(0.03, 0.5).n == 1068
    assert plan_srs(0.05, 0.5).n == 385
    assert plan_srs(0.03, 0.5, N=2000).n == 697  # with the finite population correction
    with pytest.raises(DesignError, match="level must be in"):
        plan_srs(0.03, 0.5, level=1.0)


def test_srs_and_stratified_plans_hold_in_simulation(pop):
    y = pop.sens.to_numpy()
    plans = plan_population(pop, margin=0.012, p=float(y.mean()), strata=["market"])
    srs, strat = plans
    for plan, strata in ((srs, None), (strat, ["market"])):
        est = []
        for seed in range(REPS):
            s = StratifiedSampler(n=plan.n, seed=seed, strata=strata).sample(pop).to_pandas()
            est.append(np.dot(s.design_weight, s.sens) / s.design_weight.sum())
        achieved = Z * np.std(est, ddof=1)
        assert achieved == pytest.approx(plan.half_width, rel=0.10), (plan, achieved)


def test_importance_plan_holds_in_simulation_and_beats_srs(pop):
    s = pop.risk_score.to_numpy()
    y = pop.sens.to_numpy()
    plan = plan_importance(0.006, s, mixture=0.1)
    assert plan.n < plan_srs(0.006, plan.p, N=len(s)).n and plan.deff < 1
    w = 0.9 * s / s.mean() + 0.1
    pi = inclusion_probabilities(w, plan.n)
    assert pi.sum() == pytest.approx(plan.n)
    ids = pa.array(pop.item_id)
    est = []
    for seed in range(REPS):  # Poisson PPS with the samplers' PRNs: unit in iff u < π
        keep = prn(ids, seed) < pi
        est.append(np.sum(y[keep] / pi[keep]) / np.sum(1 / pi[keep]))
    achieved = Z * np.std(est, ddof=1)
    assert achieved == pytest.approx(plan.half_width, rel=0.10), (plan, achieved)


def test_stratified_neyman_allocates_more_to_risky_strata():
    plan = plan_stratified(0.01, np.array([5000, 5000]), np.array([0.01, 0.2]),
                           allocation="neyman", labels=["low", "high"])
    n_h = plan.allocation.set_index("stratum")["n_h"]
    assert n_h["high"] > 3 * n_h["low"] and plan.deff < 1


def test_curate_plan_prints_every_design(pop, tmp_path):
    path = tmp_path / "pop.parquet"
    pop.to_parquet(path)
    result = CliRunner().invoke(cli, ["plan", "--margin", "0.01", "--population", str(path),
                                      "--score", "risk_score", "--bins", "risk_score",
                                      "--n-bins", "4", "--allocation", "neyman"])
    assert result.exit_code == 0, result.output
    for text in ("srs", "stratified (neyman)", "importance (α=0.1)", "expected deff", "q4"):
        assert text in result.output
    bad = CliRunner().invoke(cli, ["plan", "--margin", "0.01"])
    assert bad.exit_code == 1 and "give the anticipated prevalence" in bad.output
