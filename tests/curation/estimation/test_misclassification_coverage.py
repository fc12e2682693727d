"""Annotator error inside the estimate, by Monte Carlo (``-m slow``; ``pytest -s`` prints its
table): 50,000 items at 2% prevalence (weak risk score, AUC ≈ 0.83); a stratified (by market,
proportional) and an importance design (priority on the score, mixture α = 0.1) of n = 1,500;
simulated annotators of known error rates (sensitivity 0.7 / 0.8 / 0.9, specificity 0.98 /
0.99 / 0.995): one of them at random per unit (``single``) or the majority of all three
(``majority3``); a gold set of 300 units, 30% positive, labeled by the same review in every
replicate. 1,000 replicates per design.
"""

import numpy as np
import pandas as pd
import pytest

from curation.estimation import (
    ErrorRates,
    adjusted_proportion,
    hajek_mean,
    rogan_gladen,
)
from curation.estimation.intervals import proportion_interval, resolve_method

from .coverage import Coverage, designs, hard_population, replicates, survey_design

TEAM = ((0.7, 0.98), (0.8, 0.99), (0.9, 0.995))  # (sensitivity, specificity) per annotator
GOLD_POS, GOLD_NEG = 90, 210
REPS = 1000


# --- Monte Carlo ----------------------------------------------------------------------------


def simulate_final(truth: np.ndarray, scheme: str, rng: np.random.Generator) -> np.ndarray:
    """Final labels of units of known ``truth`` under the review ``scheme``."""
    se = np.array([t[0] for t in TEAM])
    sp = np.array([t[1] for t in TEAM])
    p_yes = np.where(truth[:, None], se[None, :], 1 - sp[None, :])
    votes = rng.random(p_yes.shape) < p_yes
    if scheme == "majority3":
        return votes.sum(axis=1) >= 2
    who = rng.integers(0, len(TEAM), truth.size)
    return votes[np.arange(truth.size), who]


def final_rates_of(scheme: str) -> tuple[float, float]:
    """Exact sensitivity and specificity of the final label of ``scheme``."""
    se = np.array([t[0] for t in TEAM])
    sp = np.array([t[1] for t in TEAM])
    if scheme == "single":
        return float(se.mean()), float(sp.mean())

    def majority(p):
        a, b, c = p
        return a * b + a * c + b * c - 2 * a * b * c
    return float(majority(se)), float(1 - majority(1 - sp))


def bootstrap(q: float, var: float, r: ErrorRates, level: float, rng, draws: int = 2000):
    """Parametric bootstrap: gamma p_obs (mean, variance), Jeffreys-posterior Se and Sp."""
    qs = rng.gamma(q * q / var, var / q, draws) if var > 0 and q > 0 else np.full(draws, q)
    se = rng.beta(r.true_positives + 0.5, r.positives - r.true_positives + 0.5, draws)
    sp = rng.beta(r.true_negatives + 0.5, r.negatives - r.true_negatives + 0.5, draws)
    p = np.clip((qs + sp - 1) / (se + sp - 1), 0, 1)
    a = (1 - level) / 2
    return tuple(np.quantile(p, [a, 1 - a]))


def study(reps: int = REPS, N: int = 50_000, n: int = 1500, prevalence: float = 0.02,
          level: float = 0.95) -> pd.DataFrame:
    """Coverage table (design/scheme × method) of the unadjusted and adjusted estimates."""
    pop = hard_population(N, prevalence=prevalence, separation=1.35, seed=21)
    y_pop = pop["sens"].to_numpy()
    P = float(y_pop.mean())
    truths = {"all": P}
    for scheme in ("single", "majority3"):  # what p_obs estimates: Se·P + (1 - Sp)(1 - P)
        se, sp = final_rates_of(scheme)
        truths[f"E[p_obs] {scheme}"] = se * P + (1 - sp) * (1 - P)
    tally = Coverage(truths, level)
    gold_truth = np.r_[np.ones(GOLD_POS, bool), np.zeros(GOLD_NEG, bool)]
    all_designs = designs(pop, n)
    for name in ("stratified", "mixture"):
        for seed, draw in replicates(pop, all_designs[name], reps):
            d = survey_design(draw)
            truth = y_pop[draw.rows].astype(bool)
            interval = resolve_method("auto", draw.kind)
            for scheme in ("single", "majority3"):
                rng = np.random.default_rng([seed, 7, len(scheme)])
                y = simulate_final(truth, scheme, rng).astype(float)
                g = simulate_final(gold_truth, scheme, rng)
                r = ErrorRates(int(g[:GOLD_POS].sum()), GOLD_POS,
                               int((~g[GOLD_POS:]).sum()), GOLD_NEG)
                tag = f"{name}/{scheme}"
                q = hajek_mean(d, y)
                lo, hi, _ = proportion_interval(q, level, interval)
                tally.add(tag, "unadjusted", "all", q.estimate, lo, hi)
                tally.add(tag, "p_obs interval", f"E[p_obs] {scheme}", q.estimate, lo, hi)
                a = adjusted_proportion(d, y, r, level=level)  # the default: mid-p gamma piece
                est = a.estimate.estimate
                tally.add(tag, "mover (default)", "all", est, a.ci_low, a.ci_high)
                b = adjusted_proportion(d, y, r, level=level, interval=interval,
                                        method="delta")
                tally.add(tag, "delta", "all", est, b.ci_low, b.ci_high)
                se, sp = r.sensitivity, r.specificity
                t_lo, t_hi = (np.clip(rogan_gladen(v, se, sp), 0, 1) for v in (lo, hi))
                tally.add(tag, "transform only", "all", est, t_lo, t_hi)
                b_lo, b_hi = bootstrap(q.estimate, q.var, r, level, rng)
                tally.add(tag, "bootstrap", "all", est, b_lo, b_hi)
                tally.add(tag, "raw RG (unclipped)", "all", a.raw, a.ci_low, a.ci_high)
    out = tally.table()
    out["truth"] = out["domain"].map(truths)
    return out


@pytest.fixture(scope="module")
def mc():
    table = study()
    cols = ["design", "method", "truth", "reps", "mean", "rel_bias", "bias_mcse", "coverage",
            "truth_below_ci", "truth_above_ci", "width"]
    with pd.option_context("display.width", 200):
        print("\n" + table[cols].round(4).to_string())  # shown with pytest -s
    return table.set_index(["design", "method"])


@pytest.mark.slow
def test_unadjusted_estimate_is_biased_far_beyond_monte_carlo_error(mc):
    raw = mc.xs("unadjusted", level="method")
    assert len(raw) == 4 and (raw.reps == REPS).all()
    assert (raw.bias_mcse.abs() > 10).all(), raw.bias_mcse
    single = raw.loc[["stratified/single", "mixture/single"]]
    assert (single.rel_bias > 0.15).all()  # false alarms: apparent prevalence up ~20%
    majority = raw.loc[["stratified/majority3", "mixture/majority3"]]
    assert (majority.rel_bias < -0.05).all()  # the majority misses ~10% of the positives


@pytest.mark.slow
def test_adjusted_estimate_is_unbiased_and_covers_with_both_tails_bounded(mc):
    adj = mc.xs("mover (default)", level="method")
    own = mc.xs("p_obs interval", level="method")
    assert len(adj) == 4 and (adj.reps == REPS).all()
    assert (adj.bias_mcse.abs() <= 3).all(), adj.bias_mcse
    assert adj.coverage.between(0.93, 0.97).all(), adj.coverage
    assert (adj.truth_below_ci <= 0.035).all(), adj.truth_below_ci
    # The upper tail is the p_obs interval's (mid-p gamma): at n = 1,500 it misses its own
    # expectation Se·P + (1-Sp)(1-P) high up to 4.7% under these designs (false alarms land on
    # heavily weighted low-score units), and the adjustment must add nothing to that miss.
    ceiling = np.maximum(0.035, own.truth_above_ci + 0.005)
    assert (adj.truth_above_ci <= ceiling).all(), adj.truth_above_ci
    assert (adj.truth_above_ci <= 0.04).all()
    # ignoring the error rates' uncertainty is far from nominal; the delta method misses low
    assert (mc.xs("transform only", level="method").coverage < 0.8).any()
    delta = mc.xs("delta", level="method")
    assert (delta.truth_below_ci > 0.05).any()


def test_simulated_final_label_rates_are_the_exact_ones():
    rng = np.random.default_rng(0)
    truth = np.r_[np.ones(200_000, bool), np.zeros(200_000, bool)]
    for scheme in ("single", "majority3"):
        said = simulate_final(truth, scheme, rng)
        se, sp = final_rates_of(scheme)
        assert said[:200_000].mean() == pytest.approx(se, abs=0.003)
        assert (~said[200_000:]).mean() == pytest.approx(sp, abs=0.001)
