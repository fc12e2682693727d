"""Predictions as inputs: which column predicts which label, the strata of every population
unit as the sampler assigned them (its stored bin edges), and what a bad prediction is."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from curation.estimation.predictions import (
    for_units,
    parse_pred_cols,
    population_strata,
    population_totals,
    weighted_correlation,
)
from samplers import StratifiedSampler
from samplers.strata import Strata
from schemas import DesignError, SchemaError


def test_pred_cols_pair_each_label_with_its_prediction():
    assert parse_pred_cols(["p"], ["sens"]) == {"sens": "p"}
    assert parse_pred_cols(["a=pa", "b = pb"], ["a", "b"]) == {"a": "pa", "b": "pb"}
    with pytest.raises(DesignError, match="say which label"):
        parse_pred_cols(["p"], ["a", "b"])
    with pytest.raises(DesignError, match="'b' is also a --y label column"):
        parse_pred_cols(["a=b"], ["a", "b"])
    with pytest.raises(DesignError, match="two prediction columns for 'a'"):
        parse_pred_cols(["a=p", "a=q"], ["a"])


def test_population_strata_are_the_samplers_own_bins(population):
    """Quantile bins are fitted on a PRN subsample when drawing; the population's strata are
    recomputed from the manifest's stored edges, so they agree unit for unit with the sample."""
    s = StratifiedSampler(n=300, seed=2, strata=Strata(columns=("market",), bins="minutes",
                                                       n_bins=3), min_per_stratum=3)
    sample = s.sample(population)
    table = pa.Table.from_pandas(population, preserve_index=False)
    strata = population_strata(table, sample.manifest, "pop")
    df = sample.to_pandas()
    at = pd.Index(population["item_id"]).get_indexer(df["item_id"])
    assert (strata[at] == df["stratum"].astype(str).to_numpy()).all()
    got, preds = population_totals(table, sample.manifest, {"sens": "risk_score"}, None,
                                   "pop", "")
    assert (got == strata).all() and np.array_equal(preds["sens"], population["risk_score"])


def test_a_population_that_is_not_the_sampled_frame_is_refused(population):
    sample = StratifiedSampler(n=200, seed=2, strata=["market"]).sample(population)
    table = pa.Table.from_pandas(population.iloc[:-10], preserve_index=False)
    with pytest.raises(DesignError, match="not the frame the sample was drawn from"):
        population_totals(table, sample.manifest, {"sens": "risk_score"}, None, "pop", "")


def test_predictions_join_on_unit_id_and_name_the_units_they_lack():
    df = pd.DataFrame({"unit_id": ["a", "b", "c"]})
    preds = pd.DataFrame({"unit_id": ["c", "a"], "p": [0.3, 0.1]})
    with pytest.raises(SchemaError, match=r"no prediction for 1 sampled unit\(s\) \(unit_id b\)"):
        for_units(df, {"y": "p"}, preds, "DATA", "P")
    out = for_units(df.iloc[[2, 0]], {"y": "p"}, preds, "DATA", "P")
    assert out["y"].tolist() == [0.3, 0.1]


def test_weighted_correlation():
    w = np.array([1.0, 2.0, 1.0, 3.0])
    y = np.array([0.0, 1.0, 0.0, 1.0])
    assert weighted_correlation(w, y, y) == pytest.approx(1.0)
    assert np.isnan(weighted_correlation(w, y, np.full(4, 0.2)))
