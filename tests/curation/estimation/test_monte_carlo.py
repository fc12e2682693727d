"""Monte Carlo validity with fixed seeds: 1,000 samples per design from populations with known
truth; |bias| within 3 Monte Carlo standard errors and 95% coverage within [0.93, 0.97]."""

import numpy as np
import pyarrow as pa
import pytest

from curation.estimation import (
    adjust,
    calibrate,
    count_interval,
    hajek_mean,
    ht_total,
    proportion_interval,
    ratio,
    recognise,
    t_interval,
)
from samplers import ImportanceSampler, StratifiedSampler
from samplers.prn import prn

from .conftest import make_population, rare_population

REPS = 1000
LEVEL = 0.95


class Tally:
    """Estimates and intervals of several estimands over the replicates."""

    def __init__(self, truth: dict[str, float]):
        self.truth = truth
        self.rows = {k: [] for k in truth}

    def add(self, key, estimate, lo, hi):
        self.rows[key].append((estimate, lo, hi))

    def check(self) -> dict[str, tuple[float, float]]:
        out = {}
        for key, truth in self.truth.items():
            r = np.array(self.rows[key])
            assert len(r) == REPS
            mcse = r[:, 0].std(ddof=1) / np.sqrt(REPS)
            bias = r[:, 0].mean() - truth
            cover = np.mean((r[:, 1] <= truth) & (truth <= r[:, 2]))
            out[key] = (bias / mcse, cover)
        bad = {k: v for k, v in out.items() if abs(v[0]) > 3 or not 0.93 <= v[1] <= 0.97}
        print({k: (round(b, 2), c) for k, (b, c) in out.items()})  # shown with pytest -s
        assert not bad, f"bias/MCSE, coverage out of bounds: {bad} (all: {out})"
        return out


def t_ci(e):
    return t_interval(e.estimate, e.se, e.df, LEVEL)


def count_ci(e, N):
    return count_interval(e, N, LEVEL, "beta")[:2]


def p_ci(e):
    return proportion_interval(e, LEVEL, "beta")[:2]


def test_stratified_srswor_totals_means_ratios_domains_nonresponse_raking():
    pop = make_population(N=1500, seed=1)
    grp = pop["creator_group"].to_numpy()
    resp_rate = {"US": 0.95, "BR": 0.8, "SE": 0.7, "IS": 0.9}
    counts = pop["creator_group"].value_counts().to_dict()
    tally = Tally({"total minutes": pop.minutes.sum(), "mean minutes": pop.minutes.mean(),
                   "p sens": pop.sens.mean(), "p sens | self": pop.sens[grp == "self"].mean(),
                   "ratio minutes/plays": pop.minutes.sum() / pop.plays.sum(),
                   "nonresponse mean minutes": pop.minutes.mean(),
                   "raked mean minutes": pop.minutes.mean()})
    for seed in range(REPS):
        s = StratifiedSampler(n=150, seed=seed, strata=["market"], allocation="power",
                              min_per_stratum=5).sample(pop)
        df = s.to_pandas()
        d = recognise(df, s.manifest)
        minutes, sens = df.minutes.to_numpy(), df.sens.to_numpy(float)
        tally.add("total minutes", ht_total(d, minutes).estimate, *t_ci(ht_total(d, minutes)))
        e = hajek_mean(d, minutes)
        tally.add("mean minutes", e.estimate, *t_ci(e))
        e = hajek_mean(d, sens)
        tally.add("p sens", e.estimate, *p_ci(e))
        e = hajek_mean(d, sens, df.creator_group.to_numpy() == "self")
        tally.add("p sens | self", e.estimate, *p_ci(e))
        e = ratio(d, minutes, df.plays.to_numpy())
        tally.add("ratio minutes/plays", e.estimate, *t_ci(e))
        # response at random within strata, with rates that differ between strata
        rng = np.random.default_rng(seed)
        responded = rng.random(len(df)) < df.market.map(resp_rate).to_numpy()
        adj, _ = adjust(d, responded)
        e = hajek_mean(adj, minutes[responded])
        tally.add("nonresponse mean minutes", e.estimate, *t_ci(e))
        e = hajek_mean(calibrate(d, df, {"creator_group": counts}), minutes)
        tally.add("raked mean minutes", e.estimate, *t_ci(e))
    tally.check()


def test_poisson_pps_with_defensive_mixture():
    pop = make_population(N=1500, seed=2)
    tally = Tally({"total sens": pop.sens.sum(), "p sens": pop.sens.mean(),
                   "mean minutes": pop.minutes.mean()})
    for seed in range(REPS):
        s = ImportanceSampler(n=150, seed=seed, size="risk_score", mixture=0.1, method="poisson",
                              strata=["market"]).sample(pop)
        df = s.to_pandas()
        d = recognise(df, s.manifest)
        assert d.kind == "poisson"
        e = ht_total(d, df.sens.to_numpy(float))
        tally.add("total sens", e.estimate, *count_ci(e, d.population))
        e = hajek_mean(d, df.sens.to_numpy(float))
        tally.add("p sens", e.estimate, *p_ci(e))
        e = hajek_mean(d, df.minutes.to_numpy())
        tally.add("mean minutes", e.estimate, *t_ci(e))
    tally.check()


def priority_draw(ids: pa.Array, w: np.ndarray, seed: int, n: int):
    """Priority sampling exactly as ImportanceSampler (one stratum): rows kept and π."""
    q = w / prn(ids, seed)
    top = np.argpartition(-q, n)[: n + 1]
    top = top[np.argsort(-q[top])]
    return top[:n], np.minimum(1.0, w[top[:n]] / q[top[n]])


@pytest.fixture(scope="module")
def rare():
    return rare_population()


def test_vectorized_priority_draw_is_the_samplers_sample(rare):
    ids = pa.array(rare.item_id)
    s = rare.risk_score.to_numpy()
    w = 0.9 * s / s.mean() + 0.1
    for seed in (0, 1, 7):
        sample = ImportanceSampler(n=400, seed=seed, size="risk_score", mixture=0.1).sample(rare)
        keep, pi = priority_draw(ids, w, seed, 400)
        ours = dict(zip(rare.item_id.to_numpy()[keep], pi, strict=True))
        theirs = dict(zip(sample.table.column("unit_id").to_pylist(),
                          sample.table.column("inclusion_prob").to_pylist(), strict=True))
        assert ours.keys() == theirs.keys()
        assert max(abs(ours[k] / theirs[k] - 1) for k in ours) < 1e-12


def test_prevalence_half_percent_from_priority_importance_sample(rare):
    """0.5% prevalence, an imperfect risk score, defensive mixture α = 0.1, n = 400."""
    from curation.estimation import SurveyDesign

    ids = pa.array(rare.item_id)
    s = rare.risk_score.to_numpy()
    w = 0.9 * s / s.mean() + 0.1
    y = rare.sens.to_numpy(float)
    assert y.mean() == 0.005
    tally = Tally({"p sens": y.mean(), "total sens": y.sum()})
    for seed in range(REPS):
        keep, pi = priority_draw(ids, w, seed, 400)
        d = SurveyDesign("poisson", np.zeros(keep.size, int), ("all",), pi, 1 / pi)
        e = hajek_mean(d, y[keep])
        tally.add("p sens", e.estimate, *p_ci(e))
        e = ht_total(d, y[keep])
        tally.add("total sens", e.estimate, *count_ci(e, len(y)))
    tally.check()
