"""Monte Carlo of change between PRN-coordinated waves: a rotating panel at 0%, 50%, 75% and
100% overlap, a stable population and one whose items come and go, a rare (1%) and a common
(20%) label with a true change and none, stratified SRSWOR and Poisson PPS.

Each replicate is a pair of waves drawn with one PRN key, exactly as ``curate sample`` then
``curate sample --rotate-from A --rotation r`` draw them (the samplers' rules, vectorised over
the population and checked against the samplers below), estimated with the library's
:func:`proportion_change` (coordination ``rotation``, the shift read from the PRNs). Checked per
case: mean estimated variance of the difference over its empirical variance in [0.9, 1.1] and
95% coverage of the difference in [0.94, 0.965], each up to its own Monte Carlo error (z = 3),
with the misses per tail printed (figures in ``bench/CHANGE.md``). With no overlap the
covariance of disjoint waves, ``−Σ_U z_A z_B``, has no common unit to be estimated from; its
share of the variance is the sampling fraction (2.5% here), inside the tolerance. The weak spot
is Poisson PPS with a rare label whose units flip both ways at 75–100% overlap: new positives
among low-probability units make the difference right-skewed and MOVER's upper arm too short
(coverage ≈ 0.925, 5–6% of truths above the interval), inside 3 MC SEs of 0.94 but reported.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from curation.estimation import SurveyDesign
from curation.estimation.change import proportion_change
from curation.estimation.planning import inclusion_probabilities
from samplers import PoissonSampler, StratifiedSampler, allocate
from samplers.prn import prn, shifted
from samplers.rotation import entrants, rank_shift, stratum_shift

#: the labels estimated in each population: every prevalence × (change, none) once
LABELS = {"stable": ("rare_same", "common_change"), "churn": ("rare_change", "common_same")}
ROTATIONS = {"0%": 1.0, "50%": 0.5, "75%": 0.25, "100%": 0.0}  # overlap: rotation
MIN = "none (min)"  # and --coordinate-with A --overlap min: no common unit under PPS either
MARKETS = {"US": 0.45, "BR": 0.30, "DE": 0.20, "SE": 0.05}
ALPHA = 0.1  # defensive mixture of the PPS size


@dataclass(frozen=True)
class Population:
    """Items of one wave: id number, market code, risk score and the labels of each y."""

    ids: np.ndarray
    market: np.ndarray
    score: np.ndarray
    y: dict[str, np.ndarray]

    def table(self) -> pa.Table:
        return pa.table({"item_id": [f"c{i:07d}" for i in self.ids],
                         "market": np.array(list(MARKETS))[self.market],
                         "risk_score": self.score})


def populations(N: int = 80_000, seed: int = 0) -> tuple[Population, dict[str, Population]]:
    """Wave A, and wave B ``stable`` (the same items) or ``churn`` (2% removed, 3% new).

    Labels: ``rare`` 1% in A and ``common`` 20%; in B ``*_change`` loses 30% of its positives
    (rare 1% → 0.7%, common 20% → 14%) and ``*_same`` turns 30% of its positives negative and as
    many negatives positive (no change in prevalence, yet units change); new items get the
    wave's prevalence. The risk score is ``logistic(-3 + 1.35·rare + N(0, 1))`` (AUC ≈ 0.83).
    """
    rng = np.random.default_rng(seed)

    def items(ids):
        n = ids.size
        market = rng.choice(len(MARKETS), n, p=list(MARKETS.values()))
        rare = (rng.uniform(size=n) < 0.01).astype(float)
        common = (rng.uniform(size=n) < 0.20).astype(float)
        score = 1 / (1 + np.exp(3.0 - 1.35 * rare - rng.normal(0, 1, n)))
        return market, score, rare, common

    ids = np.arange(N)
    market, score, rare, common = items(ids)
    a = Population(ids, market, score, {"rare": rare, "common": common})
    fixed = rng.uniform(size=N) < 0.30
    labels_b = {"rare_change": np.where(fixed, 0.0, rare), "rare_same": flipped(rare, rng),
                "common_change": np.where(fixed, 0.0, common), "common_same": flipped(common, rng)}
    stable = Population(ids, market, score, labels_b)
    keep = rng.uniform(size=N) > 0.02
    new = np.arange(N, N + int(0.03 * N))
    m2, s2, r2, c2 = items(new)
    rare_new = {"rare_change": r2 * (rng.uniform(size=new.size) > 0.30), "rare_same": r2,
                "common_change": c2 * (rng.uniform(size=new.size) > 0.30), "common_same": c2}
    churn = Population(np.r_[ids[keep], new], np.r_[market[keep], m2], np.r_[score[keep], s2],
                       {k: np.r_[v[keep], rare_new[k]] for k, v in labels_b.items()})
    return a, {"stable": stable, "churn": churn}


def flipped(y: np.ndarray, rng: np.random.Generator, share: float = 0.30) -> np.ndarray:
    """``y`` with ``share`` of its positives turned negative and as many negatives positive."""
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    k = int(round(share * pos.size))
    out = y.copy()
    out[rng.choice(pos, k, replace=False)] = 0.0
    out[rng.choice(neg, k, replace=False)] = 1.0
    return out


def base_y(name: str) -> str:
    return name.split("_")[0]


@dataclass(frozen=True)
class Wave:
    """A drawn wave: rows of its population, π, recorded (shifted) PRNs and stratum codes."""

    rows: np.ndarray
    prob: np.ndarray
    prn: np.ndarray
    strata: np.ndarray
    N_h: np.ndarray | None

    def design(self) -> SurveyDesign:
        labels = tuple(str(h) for h in range(len(MARKETS)))
        if self.N_h is not None:
            return SurveyDesign("srswor", self.strata, labels, self.prob, 1 / self.prob,
                                N_h=self.N_h, population=float(self.N_h.sum()))
        return SurveyDesign("poisson", np.zeros(self.rows.size, np.int64), ("0",), self.prob,
                            1 / self.prob, population=float((1 / self.prob).sum()))


def bottom_k(v: np.ndarray, codes: np.ndarray, n_h: np.ndarray) -> np.ndarray:
    """Rows of the ``n_h`` smallest ``v`` of every stratum (StratifiedSampler's bottom-k)."""
    out = []
    for h, k in enumerate(n_h):
        idx = np.flatnonzero(codes == h)
        out.append(idx[np.argpartition(v[idx], k - 1)[:k]] if k < idx.size else idx)
    return np.concatenate(out)


def min_start(previous: Wave) -> np.ndarray:
    """``--coordinate-with A --overlap min``: each stratum's PRNs start just past A's units
    (``1 − max u`` over them; the sampler takes those still in the population)."""
    top = np.zeros(len(MARKETS))
    np.maximum.at(top, previous.strata, previous.prn)
    return np.where(top > 0, 1.0 - top, 0.0)


def stratified_wave(u: np.ndarray, pop: Population, n: int, previous: Wave | None = None,
                    rotation: float | None = 0.0) -> Wave:
    """``curate sample --strata market`` (proportional), or ``--rotate-from`` ``previous``:
    the rank shift of ``samplers/rotation.py`` (A's PRNs are unshifted: a first wave)."""
    N_h = np.bincount(pop.market, minlength=len(MARKETS))
    n_h = allocate(N_h, n, "proportional")
    v = u
    if previous is not None and rotation is None:
        v = shifted(u, min_start(previous)[pop.market])
    elif previous is not None:
        n_a = np.bincount(previous.strata, minlength=len(MARKETS))
        k = entrants(n_a, n_h, rotation)
        step = np.zeros(len(MARKETS))
        for h in range(len(MARKETS)):
            uh = u[pop.market == h]
            top = -np.sort(-uh[np.argpartition(-uh, k[h])[: k[h] + 1]]) if k[h] else uh[:0]
            step[h] = rank_shift(top, int(k[h]))
        v = shifted(u, step[pop.market]) if step.any() else u
    rows = bottom_k(v, pop.market, n_h)
    return Wave(rows, (n_h / N_h)[pop.market[rows]], v[rows], pop.market[rows],
                N_h.astype(float))


def pps_wave(u: np.ndarray, pop: Population, n: int, previous: Wave | None = None,
             rotation: float | None = 0.0) -> Wave:
    """``curate sample --design poisson --size risk_score --mixture 0.1`` (one stratum), or
    ``--rotate-from``: PRNs shifted by ``r·n/N`` (``rotation`` None: ``--overlap min``)."""
    w = (1 - ALPHA) * pop.score / pop.score.mean() + ALPHA
    pi = inclusion_probabilities(w, n)
    v = u
    if previous is not None and rotation is None:
        v = shifted(u, min_start(previous)[0])
    elif previous is not None:
        step = stratum_shift(np.array([n]), np.array([u.size]), rotation)[0]
        v = shifted(u, step) if step else u
    rows = np.flatnonzero(v < pi)
    return Wave(rows, pi[rows], v[rows], np.zeros(rows.size, np.int64), None)


DRAWS = {"stratified": stratified_wave, "pps": pps_wave}


def wave_pairs(a: Population, bs: dict[str, Population], n: int, reps: int, seed0: int = 0,
               ) -> Iterator[tuple[int, str, str, str, Wave, Wave]]:
    """``(seed, design, population, overlap, wave A, wave B)`` for every replicate and case."""
    universe = np.unique(np.concatenate([a.ids, *(b.ids for b in bs.values())]))
    names = pa.array([f"c{i:07d}" for i in universe])
    for seed in range(seed0, seed0 + reps):
        u_all = prn(names, seed)
        u_a = u_all[np.searchsorted(universe, a.ids)]
        for design, draw in DRAWS.items():
            wa = draw(u_a, a, n)
            for pname, b in bs.items():
                u_b = u_all[np.searchsorted(universe, b.ids)]
                for overlap, rotation in {**ROTATIONS, MIN: None}.items():
                    yield seed, design, pname, overlap, wa, draw(u_b, b, n, wa, rotation)


N_WAVE = 2000  # 2.5% of 80,000: 20 rare positives a wave


def truth(a: Population, b: Population, y: str) -> float:
    return float(b.y[y].mean() - a.y[base_y(y)].mean())


def simulate(reps: int, seed0: int = 0, N: int = 80_000) -> pd.DataFrame:
    """One row per replicate, case and y: difference, its estimated variance, the interval."""
    a, bs = populations(N)
    rows = []
    for seed, design, pname, overlap, wa, wb in wave_pairs(a, bs, N_WAVE, reps, seed0):
        da, db = wa.design(), wb.design()
        ids_a, ids_b = a.ids[wa.rows], bs[pname].ids[wb.rows]
        for y in LABELS[pname]:
            c = proportion_change(da, a.y[base_y(y)][wa.rows], ids_a, db,
                                  bs[pname].y[y][wb.rows], ids_b,
                                  "negative" if overlap == MIN else "rotation",
                                  prn_a=wa.prn, prn_b=wb.prn)
            rows.append((seed, design, pname, overlap, y, c.difference, c.se_difference ** 2,
                         c.ci_low, c.ci_high, c.overlap_units / max(len(ids_a), 1)))
    df = pd.DataFrame(rows, columns=["seed", "design", "population", "overlap", "y",
                                     "difference", "var", "ci_low", "ci_high", "overlap_share"])
    df["truth"] = [truth(a, bs[p], y) for p, y in zip(df["population"], df["y"], strict=True)]
    return df


def summary(df: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Per case: variance ratio and coverage with their Monte Carlo SEs, misses per tail."""
    df = df.assign(below=df["truth"] < df["ci_low"], above=df["truth"] > df["ci_high"])
    g = df.groupby(["design", "population", "overlap", "y"], sort=False)
    out = g.agg(reps=("difference", "size"), emp_var=("difference", "var"),
                mean_var=("var", "mean"), sd_var=("var", "std"),
                truth_below_ci=("below", "mean"), truth_above_ci=("above", "mean"),
                overlap_share=("overlap_share", "mean"))
    out["var_ratio"] = out["mean_var"] / out["emp_var"]
    kurt = g["difference"].apply(lambda d: ((d - d.mean()) ** 4).mean() / d.var() ** 2)
    # delta method: SE of mean(v̂)/s² from the SEs of both (s²: (κ − 1)/R relative variance)
    out["var_ratio_mcse"] = out["var_ratio"] * np.sqrt(
        (out["sd_var"] / out["mean_var"]) ** 2 / out["reps"] + (kurt - 1) / out["reps"])
    out["coverage"] = 1 - out["truth_below_ci"] - out["truth_above_ci"]
    out["coverage_mcse"] = np.sqrt(level * (1 - level) / out["reps"])
    return out.reset_index()


def test_the_vectorised_waves_are_the_samplers_draws(tmp_path):
    a, bs = populations(N=6000, seed=3)
    table_a = a.table()
    for name, b in bs.items():
        table_b = b.table()
        for seed in (1, 2):
            u_a, u_b = prn(table_a.column("item_id"), seed), prn(table_b.column("item_id"), seed)
            for design, draw in DRAWS.items():
                make = (lambda **kw: StratifiedSampler(n=150, strata="market", **kw)) \
                    if design == "stratified" else \
                    (lambda **kw: PoissonSampler(n=150, size="risk_score", mixture=ALPHA, **kw))
                first = make(seed=seed).sample(table_a)
                first.write(tmp_path / "a.parquet")
                wa = draw(u_a, a, 150)
                assert _ids(first) == set(table_a.column("item_id").take(wa.rows).to_pylist())
                for rotation in (0.25, 1.0):
                    link = make(seed=seed)
                    link.rotate_from, link.rotation = str(tmp_path / "a.parquet"), rotation
                    real = link.sample(table_b)
                    wb = draw(u_b, b, 150, wa, rotation)
                    got = set(table_b.column("item_id").take(wb.rows).to_pylist())
                    assert _ids(real) == got, (name, seed, design, rotation)
                    recorded = dict(zip(real.table.column("unit_id").to_pylist(),
                                        real.table.column("prn").to_numpy(), strict=True))
                    mine = table_b.column("item_id").take(wb.rows).to_pylist()
                    assert np.allclose([recorded[k] for k in mine], wb.prn)


def _ids(sample) -> set[str]:
    return set(sample.table.column("unit_id").to_pylist())


@pytest.mark.slow
def test_variance_of_change_and_coverage_hold_at_every_overlap():
    table = summary(simulate(reps=1000))
    with pd.option_context("display.width", 200, "display.max_rows", 100):
        print("\n" + table[["design", "population", "overlap", "y", "overlap_share",
                            "var_ratio", "var_ratio_mcse", "coverage", "truth_below_ci",
                            "truth_above_ci"]].round(4).to_string(index=False))
    k = 3.0
    for r in table.itertuples():
        case = f"{r.design} {r.population} {r.overlap} {r.y}"
        assert 0.9 - k * r.var_ratio_mcse <= r.var_ratio <= 1.1 + k * r.var_ratio_mcse, case
        assert 0.94 - k * r.coverage_mcse <= r.coverage <= 0.965 + k * r.coverage_mcse, case
    expected = {"0%": 0.0, "50%": 0.5, "75%": 0.75, "100%": 1.0, MIN: 0.0}
    for r in table[table["population"] == "stable"].itertuples():
        if r.design == "stratified":  # by rank: exactly 1 - r, up to round(r·n_h)
            assert r.overlap_share == pytest.approx(expected[r.overlap], abs=0.005)
        elif r.overlap == MIN:  # PPS past A's units: none in common while π_A + π_B ≤ 1
            assert r.overlap_share == 0.0
        else:  # PPS: at least 1 - r (heavy units rotate more slowly)
            assert expected[r.overlap] - 0.01 <= r.overlap_share <= expected[r.overlap] + 0.35
