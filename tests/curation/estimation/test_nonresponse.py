"""Nonresponse beyond sampling strata: weighting cells, propensity classes (worst-case bounds,
rates and assumptions: ``test_missingness.py``).

Unit tests pin each function and each bad input; the Monte Carlo (``slow``) shows that labels
missing more often among risky units bias the within-strata adjustment, that cells of risk-score
bins (and a response-propensity model on the score) remove the bias with 95% intervals that
cover, and that the worst-case bounds always hold the truth.
"""

import itertools
import time

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from curation.estimation import (
    SurveyDesign,
    calibrate,
    hajek_mean,
    proportion_interval,
    t_interval,
)
from curation.estimation.missingness import worst_case_bounds
from curation.estimation.nonresponse import NonresponseDesign, adjust, cell_codes, parse_cells
from curation.estimation.propensity import propensities, propensity_adjust, propensity_cells
from samplers import allocate
from samplers.prn import prn
from schemas import CurationError, DesignError, SchemaError

from .conftest import small_frame as frame
from .conftest import small_poisson as poisson


def srswor() -> SurveyDesign:
    codes = np.array([0] * 6 + [1] * 6)
    N_h = np.array([30.0, 60.0])
    pi = (6 / N_h)[codes]
    return SurveyDesign("srswor", codes, ("a", "b"), pi, 1 / pi, N_h=N_h, population=90.0)


# --- cells -----------------------------------------------------------------------------------

def test_parse_cells_reads_columns_and_bins():
    assert parse_cells("risk_score:5,market") == (("risk_score", 5), ("market", None))
    assert parse_cells(" market ") == (("market", None),)


@pytest.mark.parametrize("spec, message", [
    ("risk_score:1", "'risk_score' cut into 1 bin(s) separates nothing; use at least 2"),
    ("risk_score:five", "must be COLUMN:BINS with a whole number of bins (e.g. risk_score:5)"),
    ("market,,risk_score", "empty column name"),
    ("", "empty column name"),
    ("market,market", "column 'market' given twice"),
])
def test_parse_cells_rejects_bad_specs(spec, message):
    with pytest.raises(DesignError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_cells(spec)


def test_cells_cross_values_with_quantile_bins_over_all_sampled_units():
    df = frame()
    codes, labels = cell_codes(df, "risk_score:2,market")
    assert len(labels) == 6 and codes.shape == (12,)
    low = df.risk_score <= df.risk_score.median()
    for c, label in enumerate(labels):
        inside = codes == c
        assert df.market[inside].nunique() == 1
        assert f"market={df.market[inside].iloc[0]}" in label
        assert low[inside].all() or (~low[inside]).all()
        assert ("bin 1/2" in label) == low[inside].all()
    # quantile bins with ties give fewer, never empty, bins
    codes, labels = cell_codes(pd.DataFrame({"s": [0.0] * 8 + [1.0] * 2}), "s:5")
    assert labels == ("s bin 1/2 [0, 0]", "s bin 2/2 [1, 1]")
    assert np.bincount(codes).tolist() == [8, 2]


@pytest.mark.parametrize("spec, df, error, message", [
    ("score:5", frame(), SchemaError, "no cells column 'score'"),
    ("market:3", frame(), SchemaError, "cells column 'market' is not numeric ("),
    ("market:3", frame(), SchemaError, "so it cannot be cut into 3 bins: write 'market' without "
     "':3' to use its values as cells"),
    ("flag:2", frame(), SchemaError, "cells column 'flag' is not numeric (bool)"),
    ("risk_score:5,market", frame().assign(market="BR"), DesignError,
     "cells column 'market' is constant ('BR') over the 12 sampled units"),
    ("risk_score:5", frame().assign(risk_score=0.3), DesignError,
     "cells column 'risk_score' is constant"),
    ("market", frame().assign(market=[None, "US", None] + ["BR"] * 9), SchemaError,
     "cells column 'market' has 2 null value(s) at rows 0, 2: it must be known for every "
     "sampled unit"),
    ("risk_score:2", frame().assign(risk_score=[np.inf] + [0.1, 0.2] * 5 + [0.3]), SchemaError,
     "cells column 'risk_score' is infinite at row 0"),
])
def test_cell_codes_bad_input_names_the_column(spec, df, error, message):
    with pytest.raises(error) as info:
        cell_codes(df, spec, source="s.parquet")
    assert message in str(info.value) and "\n" not in str(info.value)
    assert isinstance(info.value, CurationError)


# --- adjustment ------------------------------------------------------------------------------

def test_no_cells_is_the_within_strata_adjustment_and_cells_of_strata_give_its_weights():
    d = srswor()
    r = np.ones(12, bool)
    r[[1, 7, 8]] = False
    strata, rates = adjust(d, r)
    assert type(strata) is SurveyDesign and list(rates.columns)[0] == "stratum"
    cells, crates = adjust(d, r, (d.codes, d.labels))
    assert isinstance(cells, NonresponseDesign) and list(crates.columns)[0] == "cell"
    np.testing.assert_allclose(cells.weight, strata.weight)
    np.testing.assert_allclose(crates.nonresponse_rate, rates.nonresponse_rate)
    assert cells.weight.sum() == pytest.approx(90.0)


def test_a_domains_variance_under_cell_adjustment_is_the_cells_two_phase_one():
    """The domain shortcut of srswor designs must not bypass the cells' own variance."""
    d = srswor()
    r = np.ones(12, bool)
    r[[1, 7, 8]] = False
    adj, _ = adjust(d, r, (np.arange(12) % 3, ("a", "b", "c")))
    assert isinstance(adj, NonresponseDesign) and adj.kind == "srswor"
    x = np.linspace(1.0, 4.0, adj.n)
    units = np.arange(0, adj.n, 2)
    full = np.zeros(adj.n)
    full[units] = x[units]
    assert adj.domain_variance(units, x[units]) == adj.variance(full)


def test_cell_weights_restore_each_cells_sampled_weight():
    d = poisson()
    df = frame()
    r = np.array([1, 0, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1], bool)
    cells = cell_codes(df, "risk_score:2,market")
    adj, rates = adjust(d, r, cells)
    for c in range(len(cells.labels)):
        inside = cells.codes == c
        assert adj.weight[inside[r]].sum() == pytest.approx(d.weight[inside].sum())
    np.testing.assert_allclose(adj.weight * adj.prob, 1.0)
    assert rates.n.sum() == 12 and rates.respondents.sum() == 9
    phi = rates.set_index("cell").response_rate
    assert ((phi > 0) & (phi <= 1)).all()


def test_a_cell_without_respondents_is_named_with_the_fix():
    df = frame()
    r = np.ones(12, bool)
    r[df.risk_score.to_numpy() > 0.8] = False  # the top of the top bin, all markets: one cell
    codes, labels = cell_codes(df, "risk_score:4,market")
    with pytest.raises(DesignError, match=r"weighting cell 'risk_score bin 4/4 .* & market=\w+' "
                                          r"has no responding unit .*use fewer bins"):
        adjust(poisson(), r, (codes, labels))


def test_mismatched_lengths_are_design_errors():
    with pytest.raises(DesignError, match="responded has 3 entries for a design of 12"):
        adjust(poisson(), np.ones(3, bool))
    with pytest.raises(DesignError, match="cells has 2 codes for a design of 12"):
        adjust(poisson(), np.ones(12, bool), (np.zeros(2, int), ("x",)))


@pytest.mark.parametrize("make", [poisson, srswor])
def test_with_full_response_the_two_phase_variance_is_the_designs(make):
    d = make()
    x = np.random.default_rng(3).normal(size=(12, 2))
    adj, _ = adjust(d, np.ones(12, bool), cell_codes(frame(), "risk_score:3"))
    np.testing.assert_allclose(adj.variance(x), d.variance(x))


def test_phase_one_by_double_expansion_is_unbiased_over_response_patterns():
    """E over every Poisson response pattern of the srswor phase-1 estimate = the full one."""
    d = srswor()
    x = np.random.default_rng(5).normal(size=12) + d.codes
    phi = np.where(np.arange(12) % 3 == 0, 0.5, 0.8)
    expect = 0.0
    for pattern in itertools.product((False, True), repeat=12):
        r = np.array(pattern)
        if r.sum() == 0:
            continue
        p = np.prod(np.where(r, phi, 1 - phi))
        sub = NonresponseDesign("srswor", d.codes[r], d.labels, d.prob[r] * phi[r],
                                d.weight[r] / phi[r], N_h=d.N_h, phase1_prob=d.prob[r],
                                response_prob=phi[r], cells=np.zeros(int(r.sum()), int),
                                sampled_h=np.array([6, 6]))
        expect += p * sub._phase1((x[r] / phi[r])[:, None])[0]
    assert expect == pytest.approx(d.variance(x), rel=1e-10)


def test_poisson_two_phase_variance_is_phase_one_plus_residual_phase_two():
    d = poisson()
    r = np.array([1, 1, 0, 1, 1, 1, 0, 1, 1, 0, 1, 1], bool)
    codes = np.array([0, 1] * 6)
    adj, _ = adjust(d, r, (codes, ("a", "b")))
    x = np.random.default_rng(1).normal(size=9) * adj.weight
    phi = adj.response_prob
    cell = codes[r]
    e = x.copy()
    for c in (0, 1):
        m = cell == c
        e[m] -= adj.weight[m] * x[m].sum() / adj.weight[m].sum()
    v1 = np.sum((1 - d.prob[r]) * phi * x ** 2)
    v2 = np.sum((1 - phi) * e ** 2)
    assert adj.variance(x) == pytest.approx(v1 + v2, rel=1e-12)


def test_calibrating_an_adjusted_design_keeps_the_two_phase_variance():
    d = poisson()
    df = frame()
    r = np.array([1, 1, 0, 1, 1, 1, 0, 1, 1, 0, 1, 1], bool)
    adj, _ = adjust(d, r, cell_codes(df, "risk_score:2"))
    resp = df[r].reset_index(drop=True)
    cal = calibrate(adj, resp, {"market": {"BR": 50, "US": 80, "SE": 70}})
    assert isinstance(cal, NonresponseDesign) and cal.calib is not None
    e = hajek_mean(cal, resp.risk_score.to_numpy())
    assert np.isfinite(e.var) and e.var > 0


# --- propensity ------------------------------------------------------------------------------

def test_propensity_classes_follow_the_modelled_response():
    rng = np.random.default_rng(0)
    n = 400
    df = pd.DataFrame({"risk_score": rng.random(n), "market": rng.choice(["BR", "US"], n)})
    r = rng.random(n) < 0.95 - 0.5 * df.risk_score.to_numpy()
    d = poisson(n)
    phi = propensities(d, df, r, ["risk_score", "market"])
    assert np.corrcoef(phi, df.risk_score)[0, 1] < -0.9
    codes, labels = propensity_cells(d, df, r, "risk_score,market")
    assert len(labels) == 5 and labels[0].startswith("propensity bin 1/5")
    assert np.abs(np.bincount(codes) - n / 5).max() <= 1
    adj, rates = propensity_adjust(d, df, r, "risk_score,market")
    assert adj.weight.sum() == pytest.approx(d.weight.sum())
    assert rates.nonresponse_rate.iloc[0] > rates.nonresponse_rate.iloc[-1]
    full, rates = propensity_adjust(d, df, np.ones(n, bool), "risk_score")
    assert len(rates) == 1 and full.weight.sum() == pytest.approx(d.weight.sum())


@pytest.mark.parametrize("columns, df, error, message", [
    ("score", frame(), SchemaError, "no propensity column 'score'"),
    ("risk_score,market", frame().assign(market="BR"), DesignError,
     "propensity column 'market' is constant ('BR') over the 12 sampled units"),
    ("risk_score", frame().assign(risk_score=[np.nan] + [0.5] * 11), SchemaError,
     "propensity column 'risk_score' has 1 null value(s) at row 0"),
    ("risk_score:5", frame(), DesignError, "the model takes columns, not bins"),
    ("", frame(), DesignError, "give column names separated by commas"),
])
def test_propensity_bad_input_names_the_column(columns, df, error, message):
    r = np.array([1, 0] * 6, bool)
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        propensity_adjust(poisson(), df, r, columns)


# --- Monte Carlo -----------------------------------------------------------------------------

REPS = 1000
LEVEL = 0.95


def risky_population(N: int = 20_000, seed: int = 0) -> pd.DataFrame:
    """Items whose 0/1 ``sens`` (~3%) and numeric ``minutes`` rise with a risk score, and whose
    labels go missing 30% of the time among the riskier half of the catalogue, 3% elsewhere."""
    rng = np.random.default_rng(seed)
    u = rng.normal(0, 1, N)
    market = rng.choice(["US", "BR", "SE", "IS"], N, p=[0.5, 0.3, 0.15, 0.05])
    score = 1 / (1 + np.exp(-(-2.5 + 1.2 * u + rng.normal(0, 0.5, N))))
    sens = (rng.random(N) < 1 / (1 + np.exp(-(-4.3 + 1.4 * u)))).astype(float)
    minutes = rng.gamma(2.0, 3.0, N) + 3 * sens + 1.5 * u
    return pd.DataFrame({"item_id": [f"n{seed}-{k:06d}" for k in range(N)], "market": market,
                         "risk_score": score, "sens": sens, "minutes": minutes,
                         "missing": np.where(score > np.median(score), 0.30, 0.03)})


def designs(pop: pd.DataFrame, n: int):
    """Priority sampling (mixture α = 0.1 on the score) and proportional SRSWOR by market,
    vectorized exactly as the samplers draw them, each a function of the seed."""
    ids = pa.array(pop.item_id.to_numpy())
    score = pop.risk_score.to_numpy()
    w = 0.9 * score / score.mean() + 0.1
    markets, codes = np.unique(pop.market.to_numpy(), return_inverse=True)
    N_h = np.bincount(codes)
    n_h = allocate(N_h, n, "proportional", min_per_stratum=2)
    start = np.concatenate([[0], np.cumsum(N_h)[:-1]])

    def priority(seed):
        q = w / prn(ids, seed)
        top = np.argpartition(-q, n)[: n + 1]
        top = top[np.argsort(-q[top])]
        pi = np.minimum(1.0, w[top[:n]] / q[top[n]])
        return top[:n], SurveyDesign("poisson", np.zeros(n, int), ("all",), pi, 1 / pi,
                                     population=float(len(pop)))

    def stratified(seed):
        u = prn(ids, seed)
        order = np.lexsort((u, codes))
        rank = np.empty(u.size, np.int64)
        rank[order] = np.arange(u.size) - np.repeat(start, N_h)
        rows = np.flatnonzero(rank < n_h[codes])
        pi = (n_h / N_h)[codes[rows]]
        return rows, SurveyDesign("srswor", codes[rows], tuple(markets), pi, 1 / pi,
                                  N_h=N_h.astype(float), population=float(len(pop)))

    return {"priority": priority, "srswor": stratified}


def monte_carlo(pop: pd.DataFrame, reps: int = REPS, n: int = 800) -> pd.DataFrame:
    """Per (design, method, estimand): reps, relative bias, bias / MCSE, coverage; and for the
    worst-case bounds whether they held the full-response interval (all labels known)."""
    truth = {"p sens": pop.sens.mean(), "mean minutes": pop.minutes.mean()}
    rows = []
    for name, draw in designs(pop, n).items():
        for seed in range(reps):
            keep, d = draw(seed)
            df = pop.iloc[keep].reset_index(drop=True)
            r = np.random.default_rng(10_000 + seed).random(keep.size) >= df.missing.to_numpy()
            y, m = df.sens.to_numpy(), df.minutes.to_numpy()
            a, b, _ = proportion_interval(hajek_mean(d, y), LEVEL, "beta")
            rows.append((name, "all labels known", "p sens", np.nan, a, b, True))
            lo, hi = worst_case_bounds(d, np.where(r, y, np.nan), r, level=LEVEL, method="beta")
            rows.append((name, "worst case", "p sens", np.nan, lo, hi, lo <= a and b <= hi))
            for method, (adj, _) in {
                "strata": adjust(d, r),
                "cells risk_score:5": adjust(d, r, cell_codes(df, "risk_score:5")),
                "propensity risk_score": propensity_adjust(d, df, r, "risk_score"),
            }.items():
                e = hajek_mean(adj, y[r])
                rows.append((name, method, "p sens", e.estimate,
                             *proportion_interval(e, LEVEL, "beta")[:2], True))
                e = hajek_mean(adj, m[r])
                rows.append((name, method, "mean minutes", e.estimate,
                             *t_interval(e.estimate, e.se, e.df, LEVEL), True))
    res = pd.DataFrame(rows, columns=["design", "method", "estimand", "estimate", "lo", "hi",
                                      "holds_full"])
    res["truth"] = res.estimand.map(truth)
    res["cover"] = (res.lo <= res.truth) & (res.truth <= res.hi)
    g = res.groupby(["design", "method", "estimand"], sort=False)
    table = g.agg(reps=("cover", "size"), mean=("estimate", "mean"), sd=("estimate", "std"),
                  coverage=("cover", "mean"), misses=("cover", lambda c: int((~c).sum())),
                  holds_full=("holds_full", "all"), truth=("truth", "first"))
    table["rel_bias"] = table["mean"] / table.truth - 1
    table["bias_mcse"] = (table["mean"] - table.truth) / (table.sd / np.sqrt(table.reps))
    return table[["reps", "rel_bias", "bias_mcse", "coverage", "misses", "holds_full"]]


@pytest.mark.slow
def test_monte_carlo_cells_and_propensity_remove_the_bias_that_strata_leave():
    t0 = time.perf_counter()
    table = monte_carlo(risky_population(seed=0))
    with pd.option_context("display.width", 200, "display.max_columns", 20,
                           "display.float_format", "{:.3f}".format):
        print(f"\n{table}\n({time.perf_counter() - t0:.1f} s)")  # shown with pytest -s
    assert (table.reps == REPS).all()
    for design in ("priority", "srswor"):
        t = table.loc[design]
        assert (t.loc["strata"].bias_mcse < -3).all(), t
        for method in ("cells risk_score:5", "propensity risk_score"):
            assert (t.loc[method].bias_mcse.abs() <= 3).all(), t
            assert t.loc[method].coverage.between(0.93, 0.97).all(), t
        # The bounds hold the interval we would report with every label known, in every
        # replicate, so they miss the truth only when sampling error alone does (srswor: one
        # replicate of 1,000 whose sample had 39 positives for 24.5 expected).
        worst = t.loc[("worst case", "p sens")]
        assert worst.holds_full and worst.coverage >= 0.995, t
