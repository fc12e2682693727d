"""The default intervals hold on populations that make them sweat (issue 13).

Three generated populations of 100,000 items: a weak risk score (AUC ≈ 0.83) at 0.4% prevalence,
a strong one (AUC ≈ 0.96) at 0.3%, and a score unrelated to the label (AUC 0.5, a category the
score was not built for) at 1%; markets from 0.5% to 30% of the items (IS has no positive) and
creator groups cutting across them. Five designs of n = 4,000 (stratified by market, Neyman on
score bins, Poisson PPS, priority on the bare score, priority with the defensive mixture), 1,000
replicates each, the library's default (``auto``) interval.

Judged where coverage means something (a domain with ≥ 10 sampled positives on average), for the
weak and strong scores: overall 95% coverage in [0.94, 0.965], every domain ≥ 0.93, each tail's
miss rate ≤ 0.035, relative bias within 3 Monte Carlo SEs; zero-positive domains always covered
(one-sided bound). For the unrelated score: overall coverage ≥ 0.94 under every design.

Known costs, not hidden (bench/ESTIMATION.md): under a strong score the importance designs
over-cover (0.970–0.979): no sample can tell the weights of unseen heavy positives from those of
a strong score's light ones, and allowing for them is what holds the upper tail when the score is
weak; there the ceiling is 0.985. Korn–Graubard under Neyman allocation over-covers by a little
(0.967–0.968 measured, 0.4 MCSE above 0.965): the ceiling there is 0.965 + 1 MCSE. Under the
unrelated score the upper tail misses 3.2–4.1% overall (priority on the bare score the most).
"""

import numpy as np
import pyarrow as pa
import pytest

from samplers import ImportanceSampler, StratifiedSampler
from samplers.prn import prn

from .coverage import designs, hard_population, library, run

REPS = 1000
N_ITEMS = 100_000
N = 4000
POPULATIONS = {"weak": dict(prevalence=0.004, separation=1.35, seed=11),
               "strong": dict(prevalence=0.003, separation=2.5, seed=12),
               "unrelated": dict(prevalence=0.01, separation=0.0, seed=13)}
MCSE = float(np.sqrt(0.95 * 0.05 / REPS))
CEILING = {**{("strong", d): 0.985 for d in ("poisson", "priority", "mixture")},
           **{(p, "neyman"): 0.965 + MCSE for p in ("weak", "strong")}}
JUDGED = ("weak", "strong")


def test_vectorized_draws_are_the_samplers_samples():
    pop = hard_population(N=5000, prevalence=0.01, seed=1)
    ids = pa.array(pop.item_id)
    d = designs(pop, n=300)
    cases = {
        "stratified": StratifiedSampler(n=300, strata=["market"], min_per_stratum=2, seed=4),
        "poisson": ImportanceSampler(n=300, size="risk_score", mixture=0.1, method="poisson",
                                     seed=4),
        "mixture": ImportanceSampler(n=300, size="risk_score", mixture=0.1, seed=4),
        "priority": ImportanceSampler(n=300, size="risk_score", seed=4),
    }
    for name, sampler in cases.items():
        sample = sampler.sample(pop)
        draw = d[name](prn(ids, 4))
        ours = dict(zip(pop.item_id.to_numpy()[draw.rows], draw.prob, strict=True))
        theirs = dict(zip(sample.table.column("unit_id").to_pylist(),
                          sample.table.column("inclusion_prob").to_pylist(), strict=True))
        assert ours.keys() == theirs.keys(), name
        assert max(abs(ours[k] / theirs[k] - 1) for k in ours) < 1e-9, name


@pytest.fixture(scope="module", params=list(POPULATIONS))
def coverage(request):
    pop = hard_population(N_ITEMS, **POPULATIONS[request.param])
    table = run(pop, N, REPS, {"auto": library("auto")})
    table.insert(0, "population", request.param)
    with np.printoptions(linewidth=200):
        print(table[["population", "design", "domain", "truth", "sampled_positives",
                     "coverage", "truth_below_ci", "truth_above_ci", "width",
                     "bias_mcse"]].round(4).to_string())  # shown with pytest -s
    return table


@pytest.mark.slow
def test_overall_coverage_is_nominal_with_both_tails_bounded(coverage):
    overall = coverage[coverage.domain == "all"].set_index("design")
    assert set(overall.index) == {"stratified", "neyman", "poisson", "priority", "mixture"}
    assert (overall.reps == REPS).all()
    if overall.population.iloc[0] not in JUDGED:
        assert (overall.coverage >= 0.94).all(), overall[["coverage", "truth_above_ci"]]
        return
    judged = overall[overall.sampled_positives >= 10]
    assert len(judged) == 5, overall.sampled_positives
    ceiling = [CEILING.get((r.population, d), 0.965) for d, r in judged.iterrows()]
    bad = judged[(judged.coverage < 0.94) | (judged.coverage > ceiling)
                 | (judged.truth_below_ci > 0.035) | (judged.truth_above_ci > 0.035)]
    assert bad.empty, bad[["coverage", "truth_below_ci", "truth_above_ci"]]


@pytest.mark.slow
def test_every_domain_with_ten_expected_positives_is_covered(coverage):
    if coverage.population.iloc[0] not in JUDGED:
        pytest.skip("the unrelated score is judged overall only (module docstring)")
    judged = coverage[(coverage.domain != "all") & (coverage.sampled_positives >= 10)]
    assert len(judged) >= 8  # markets of 8% to 30% and every creator group, in some design
    bad = judged[(judged.coverage < 0.93) | (judged.truth_below_ci > 0.035)
                 | (judged.truth_above_ci > 0.035)]
    assert bad.empty, bad[["design", "domain", "coverage", "truth_below_ci", "truth_above_ci"]]


@pytest.mark.slow
def test_estimates_are_unbiased_and_zero_domains_always_covered(coverage):
    live = coverage[(coverage.truth > 0) & (coverage.sampled_positives >= 10)]
    assert (live.bias_mcse.abs() <= 3).all(), live[live.bias_mcse.abs() > 3]
    zero = coverage[coverage.domain == "market=IS"]
    assert len(zero) == 5 and (zero.truth == 0).all() and (zero.coverage == 1).all()
