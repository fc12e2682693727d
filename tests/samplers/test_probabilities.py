"""Inclusion probabilities are what the samplers say: Monte Carlo over seeds (fixed, so the
test is deterministic), with tolerances from the simulation's own binomial error."""

import numpy as np
import pyarrow as pa
import pytest
from scipy import stats

from samplers import ImportanceSampler, PoissonSampler, StratifiedSampler

R = 2000
N = 60


@pytest.fixture(scope="module")
def small_pop() -> pa.Table:
    rng = np.random.default_rng(42)
    return pa.table({
        "unit_id": [f"u{i:03d}" for i in range(N)],
        "g": np.repeat(["a", "b", "c"], [30, 20, 10]),
        "w": np.round(rng.gamma(0.8, 1.0, N) + 0.02, 6),
        "y": np.round(rng.normal(5, 2, N) + 3 * (np.arange(N) % 7 == 0), 6),
    })


def draws(sampler, pop):
    ids = pop.column("unit_id").to_pylist()
    index = {u: i for i, u in enumerate(ids)}
    hits = np.zeros((R, len(ids)))
    inv_pi = np.zeros((R, len(ids)))
    pis = []
    for r in range(R):
        t = sampler.set_params(seed=r).sample(pop).table
        rows = [index[u] for u in t.column("unit_id").to_pylist()]
        hits[r, rows] = 1
        inv_pi[r, rows] = t.column("design_weight").to_numpy()
        pis.append(dict(zip(rows, t.column("inclusion_prob").to_numpy(), strict=True)))
    return hits, inv_pi, pis


def binomial_z(counts, pi):
    free = pi < 1
    assert np.all(counts[~free] == R)  # certainty units are always in
    return (counts[free] - R * pi[free]) / np.sqrt(R * pi[free] * (1 - pi[free]))


def assert_z_ok(z):
    assert np.max(np.abs(z)) < 4.5, np.max(np.abs(z))
    assert stats.chi2.sf(np.sum(z**2), len(z)) > 1e-3


def assert_ht_unbiased(inv_pi, y):
    ht = inv_pi @ y
    se = ht.std(ddof=1) / np.sqrt(R)
    assert abs(ht.mean() - y.sum()) < 3 * se, (ht.mean(), y.sum(), se)


def test_stratified_inclusion_frequencies_match_n_h_over_N_h(small_pop):
    s = StratifiedSampler(n=15, strata="g", allocation="equal")
    hits, inv_pi, _ = draws(s, small_pop)
    pi = np.repeat([5 / 30, 5 / 20, 5 / 10], [30, 20, 10])
    assert_z_ok(binomial_z(hits.sum(0), pi))
    assert_ht_unbiased(inv_pi, small_pop.column("y").to_numpy())
    assert np.all(hits.reshape(R, -1)[:, :30].sum(1) == 5)  # fixed size per stratum


def test_poisson_pps_inclusion_frequencies_match_pi(small_pop):
    s = PoissonSampler(n=12, size="w")
    hits, inv_pi, pis = draws(s, small_pop)
    w = small_pop.column("w").to_numpy()
    pi = np.zeros(N)
    for d in pis:
        for i, p in d.items():
            pi[i] = p
    # π is a fixed function of w: min(1, λw) with Σπ = 12
    assert np.isclose(pi[pi > 0].sum() + 0, pi.sum()) and abs(pi.sum() - 12) < 1e-9
    assert np.allclose(pi[pi < 1] / w[pi < 1], (pi[pi < 1] / w[pi < 1])[0])
    assert_z_ok(binomial_z(hits.sum(0), pi))
    assert_ht_unbiased(inv_pi, small_pop.column("y").to_numpy())


def test_priority_sampling_is_unbiased_unit_by_unit(small_pop):
    s = ImportanceSampler(n=12, size="w", strata="g")
    hits, inv_pi, _ = draws(s, small_pop)
    assert np.all(hits.sum(1) == 12)
    # E[I_i / π_i] = 1 for every unit (π conditional on τ, Duffield–Lund–Thorup)
    m = inv_pi.mean(0)
    se = inv_pi.std(0, ddof=1) / np.sqrt(R)
    z = (m - 1) / np.where(se > 0, se, 1)
    assert_z_ok(z[se > 0])
    assert_ht_unbiased(inv_pi, small_pop.column("y").to_numpy())


def test_defensive_mixture_keeps_every_unit_reachable(small_pop):
    table = small_pop.set_column(2, "w", pa.array(np.where(np.arange(N) % 3 == 0, 0.0,
                                                           small_pop.column("w").to_numpy())))
    s = ImportanceSampler(n=12, size="w", mixture=0.2)
    hits, inv_pi, _ = draws(s, table)
    assert hits.sum(0).min() > 0  # zero-score units are still sampled
    assert_ht_unbiased(inv_pi, table.column("y").to_numpy())
