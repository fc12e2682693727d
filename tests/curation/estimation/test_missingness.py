"""What missing labels could carry: worst-case bounds hold every filling of them, rates and
warnings name the domains, each adjustment states its missing-at-random assumption."""

import numpy as np
import pytest

from curation.estimation import hajek_mean, proportion_interval
from curation.estimation.missingness import (
    ASSUMPTIONS,
    assumption,
    domain_rates,
    warnings,
    worst_case_bounds,
)
from schemas import DesignError

from .conftest import small_frame as frame
from .conftest import small_poisson as poisson


def test_worst_case_bounds_hold_every_filling_of_the_missing_labels():
    d = poisson(40, seed=2)
    rng = np.random.default_rng(2)
    y = (rng.random(40) < 0.3).astype(float)
    r = rng.random(40) < 0.8
    lo, hi = worst_case_bounds(d, np.where(r, y, np.nan), r, level=0.95, method="beta")
    for fill in (0.0, 1.0):
        e = hajek_mean(d, np.where(r, y, fill))
        a, b, _ = proportion_interval(e, 0.95, "beta")
        assert lo <= a and b <= hi
    assert lo == proportion_interval(hajek_mean(d, np.where(r, y, 0.0)), 0.95, "beta")[0]
    # with full response they are the ordinary interval; in a domain they use its units only
    full = proportion_interval(hajek_mean(d, y), 0.95, "beta")[:2]
    assert worst_case_bounds(d, y, np.ones(40, bool)) == pytest.approx(full)
    dom = np.arange(40) < 20
    lo_d, hi_d = worst_case_bounds(d, y, r, dom)
    assert lo_d == proportion_interval(hajek_mean(d, np.where(r, y, 0.0), dom), 0.95,
                                       "beta")[0]
    with pytest.raises(DesignError, match="need a 0/1 y"):
        worst_case_bounds(d, np.where(r, 2.0, np.nan), r)


def test_domain_rates_and_warnings():
    d = poisson(12)
    r = np.array([1, 1, 0, 1, 1, 1, 0, 1, 1, 0, 1, 1], bool)
    market = frame().market.to_numpy()
    masks = {f"market={m}": market == m for m in ("BR", "SE", "US")}
    rates = domain_rates(d, r, masks)
    assert rates.domain.tolist() == ["all", "market=BR", "market=SE", "market=US"]
    assert rates.n.tolist() == [12, 4, 4, 4] and rates.respondents.tolist() == [9, 2, 3, 4]
    w = d.weight
    assert rates.nonresponse_rate[0] == pytest.approx(w[~r].sum() / w.sum())
    assert rates.nonresponse_rate[3] == 0.0
    lines = warnings(rates, threshold=0.05)
    assert [line.split(":")[0] for line in lines] == ["domain all", "domain market=BR",
                                                      "domain market=SE"]
    br = rates.nonresponse_rate[1]
    assert lines[1].startswith(f"domain market=BR: {br:.1%} of sampled units (weighted) have "
                               f"no label (threshold 5%; 2 of 4 units)")
    assert all("\n" not in line for line in lines)
    assert warnings(rates, threshold=0.99) == []
    pairs = domain_rates(d, r, [("all", np.ones(12, bool)), ("market=BR", market == "BR")])
    assert pairs.domain.tolist() == ["all", "market=BR"]


def test_assumptions_state_missing_at_random_for_each_method():
    assert set(ASSUMPTIONS) == {"strata", "cells", "propensity"}
    assert assumption("cells", "risk_score:5,market") == (
        "labels are missing at random within weighting cells of risk_score (5 quantile bins) × "
        "market: within a cell, whether a unit got a label does not depend on the label")
    assert "missing at random within the sampling strata (market)" in assumption("strata",
                                                                                 "market")
    assert assumption("propensity", "risk_score,market").startswith(
        "labels are missing at random given risk_score, market:")
    with pytest.raises(DesignError, match="unknown nonresponse method 'model'"):
        assumption("model", "x")
