"""Synthetic populations with known truth, and small designs, for the estimation tests."""

import numpy as np
import pandas as pd
import pytest


def make_population(N: int = 4000, seed: int = 0, prevalence: float = 0.08) -> pd.DataFrame:
    """Items in unequal markets with a group cutting across them, a numeric y, a binary y
    ``sens`` near ``prevalence``, a rare binary ``rare`` (~1%) and an imperfect risk score."""
    rng = np.random.default_rng(seed)
    market = rng.choice(["US", "BR", "SE", "IS"], N, p=[0.5, 0.3, 0.15, 0.05])
    group = rng.choice(["major", "indie", "self"], N, p=[0.4, 0.4, 0.2])
    base = np.log(prevalence / (1 - prevalence))
    logit = base + 0.6 * (group == "self") - 0.4 * (market == "US") + rng.normal(0, 0.5, N)
    sens = rng.random(N) < 1 / (1 + np.exp(-logit))
    score = 1 / (1 + np.exp(-(-2.5 + 2.5 * sens + rng.normal(0, 1.0, N))))
    rare = rng.random(N) < np.where(sens, 0.08, 0.004)
    minutes = rng.gamma(2.0, 3.0, N) + 4 * sens + 2 * (market == "BR")
    plays = rng.poisson(20, N) + 1
    return pd.DataFrame({
        "item_id": [f"it{k:06d}" for k in range(N)], "market": market, "creator_group": group,
        "risk_score": np.round(score, 6), "sens": sens.astype(np.int64),
        "rare": rare.astype(np.int64), "minutes": minutes, "plays": plays.astype(float)})


@pytest.fixture(scope="session")
def population() -> pd.DataFrame:
    return make_population()


def rare_population(N: int = 20_000, positives: int = 100, seed: int = 0) -> pd.DataFrame:
    """Exactly ``positives/N`` (0.5%) sensitive items and an imperfect risk score of them
    (positives score ~0.5 on average, negatives ~0.1, with much overlap)."""
    rng = np.random.default_rng(seed)
    sens = np.zeros(N, np.int64)
    sens[rng.choice(N, positives, replace=False)] = 1
    score = 1 / (1 + np.exp(-(-2.5 + 2.5 * sens + rng.normal(0, 1.0, N))))
    market = rng.choice(["US", "BR", "SE"], N, p=[0.5, 0.3, 0.2])
    return pd.DataFrame({"item_id": [f"r{k:06d}" for k in range(N)], "market": market,
                         "risk_score": np.round(score, 6), "sens": sens})


def small_poisson(n: int = 12, seed: int = 0):
    """A Poisson design of ``n`` units with π in [0.05, 0.5], population 200."""
    from curation.estimation import SurveyDesign

    pi = np.random.default_rng(seed).uniform(0.05, 0.5, n)
    return SurveyDesign("poisson", np.zeros(n, int), ("all",), pi, 1 / pi, population=200.0)


def small_frame(n: int = 12) -> pd.DataFrame:
    """Covariates of those units: a score, three markets, a flag."""
    return pd.DataFrame({"risk_score": np.linspace(0.01, 0.9, n),
                         "market": ["BR", "US", "SE"] * (n // 3),
                         "flag": [True, False] * (n // 2)})
