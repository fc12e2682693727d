"""Strata from columns, quantile bins and clusters: seeded and batch-invariant."""

import numpy as np
import pytest

from samplers import Strata, StratifiedSampler
from schemas import DesignError, SchemaError


def test_column_strata_label_every_combination(pop):
    s = StratifiedSampler(n=120, seed=1, strata="market,genre").sample(pop)
    labels = {a["stratum"] for a in s.manifest.allocation}
    assert "US|pop" in labels and len(labels) == 12


def test_quantile_bins_have_near_equal_counts(pop):
    s = StratifiedSampler(n=100, seed=1, strata=Strata(bins="risk_score", n_bins=4)).sample(pop)
    N_h = [a["N_h"] for a in s.manifest.allocation]
    assert [a["stratum"] for a in s.manifest.allocation] == ["q1", "q2", "q3", "q4"]
    assert max(N_h) - min(N_h) <= 0.02 * pop.num_rows
    assert len(s.manifest.design["strata_fit"]["bin_edges"]) == 5


def test_clusters_are_seeded_and_batch_invariant(pop):
    spec = Strata(columns=("market",), clusters=("risk_score", "popularity"), n_clusters=3,
                  seed=4)
    a = StratifiedSampler(n=90, seed=2, strata=spec).sample(pop)
    b = StratifiedSampler(n=90, seed=2, strata=spec).sample(pop.to_batches(max_chunksize=333))
    assert a.manifest.content_hash == b.manifest.content_hash
    assert {a_["stratum"].split("|")[1] for a_ in a.manifest.allocation} == {"c0", "c1", "c2"}


def test_fit_subsample_bounds_the_fit(pop):
    spec = Strata(bins="popularity", n_bins=3, fit_rows=500)
    s = StratifiedSampler(n=60, seed=2, strata=spec).sample(pop)
    assert s.manifest.design["strata_fit"]["fit_rows"] == 500


def test_non_numeric_bins_and_missing_columns_fail_clearly(pop):
    with pytest.raises(DesignError, match="'market' used for strata is not numeric"):
        StratifiedSampler(n=10, strata=Strata(bins="market")).sample(pop)
    with pytest.raises(SchemaError, match=r"missing column\(s\) \['nope'\]"):
        StratifiedSampler(n=10, strata="market,nope").sample(pop)


def test_missing_values_form_their_own_stratum():
    import pyarrow as pa

    t = pa.table({"item_id": ["a", "b", "c", "d"], "lang": ["en", None, "sv", None]})
    s = StratifiedSampler(n=4, strata="lang").sample(t)
    assert sorted(np.unique(s.table.column("stratum").to_pylist())) == ["(missing)", "en", "sv"]
