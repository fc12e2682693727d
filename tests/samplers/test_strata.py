"""Strata from columns, quantile bins and clusters: seeded and batch-invariant."""

import numpy as np
import pyarrow as pa
import pytest

from samplers import Strata, StratifiedSampler
from samplers.strata import fit_strata
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
    t = pa.table({"item_id": ["a", "b", "c", "d"], "lang": ["en", None, "sv", None]})
    s = StratifiedSampler(n=4, strata="lang").sample(t)
    assert sorted(np.unique(s.table.column("stratum").to_pylist())) == ["(missing)", "en", "sv"]


def test_bin_labels_stay_q1_to_qk_and_the_manifest_gives_their_edges(pop):
    s = StratifiedSampler(n=100, seed=1, strata=Strata(bins="popularity", n_bins=4)).sample(pop)
    fit = s.manifest.design["strata_fit"]
    edges = fit["bin_edges"]
    e = [f"{x:.6g}" for x in edges]
    assert fit["bin_labels"] == {
        "q1": f"popularity(-inf,{e[1]})", "q2": f"popularity[{e[1]},{e[2]})",
        "q3": f"popularity[{e[2]},{e[3]})", "q4": f"popularity[{e[3]},inf)"}
    x = pop["popularity"].to_numpy()
    counts = np.bincount(np.searchsorted(edges[1:-1], x, side="right"))
    assert [a["N_h"] for a in s.manifest.allocation] == counts.tolist()


def _two_groups(N: int = 2000) -> pa.Table:
    """Column a holds two groups; column b is noise in units a thousand times larger."""
    rng = np.random.default_rng(3)
    g = rng.integers(0, 2, N)
    return pa.table({"item_id": [f"i{k}" for k in range(N)], "g": g,
                     "a": g + rng.normal(0, 0.05, N), "b": rng.normal(0, 1000, N)})


def test_clusters_are_fitted_on_standardized_columns():
    t = _two_groups()
    spec = Strata(clusters=("a", "b"), n_clusters=2, seed=1)
    s = StratifiedSampler(n=50, seed=2, strata=spec).sample(t)
    scale = s.manifest.design["strata_fit"]["cluster_scale"]
    assert scale["columns"] == ["a", "b"]
    X = np.column_stack([t["a"].to_numpy(), t["b"].to_numpy()])
    assert np.allclose(scale["mean"], X.mean(axis=0)) and np.allclose(scale["sd"], X.std(axis=0))
    fitted = fit_strata(spec, [t], "item_id")
    labels = fitted.labels(t)
    g = t["g"].to_numpy()
    # every cluster is one group: the noise in large units did not decide the clusters
    assert {len(set(g[labels == c])) for c in set(labels)} == {1}


def test_a_stored_fit_is_reused_without_scikit_learn(pop, monkeypatch):
    spec = Strata(columns=("market",), bins="popularity", n_bins=3,
                  clusters=("risk_score", "popularity"), n_clusters=3, seed=4)
    first = StratifiedSampler(n=90, seed=2, strata=spec).sample(pop)
    fit = first.manifest.design["strata_fit"]

    import sklearn.cluster
    import sklearn.preprocessing

    def refuse(*args, **kwargs):
        raise AssertionError("refitted")

    monkeypatch.setattr(sklearn.preprocessing, "KBinsDiscretizer", refuse)
    monkeypatch.setattr(sklearn.cluster, "KMeans", refuse)
    again = StratifiedSampler(n=90, seed=2, strata=spec.with_fit(fit)).sample(
        pop.to_batches(max_chunksize=700))
    assert again.manifest.content_hash == first.manifest.content_hash
    assert again.manifest.to_dict(False) == first.manifest.to_dict(False)
    # on another population the stored edges are applied, not fitted again
    half = pop.slice(0, 2500)
    other = StratifiedSampler(n=40, seed=2, strata=spec.with_fit(fit)).sample(half)
    assert other.manifest.design["strata_fit"] == fit
    with pytest.raises(AssertionError, match="refitted"):
        StratifiedSampler(n=40, seed=2, strata=spec).sample(half)


def test_a_manifest_before_the_scaling_reuses_its_unscaled_centres():
    t = _two_groups()
    spec = Strata(clusters=("a", "b"), n_clusters=2)
    old_fit = {"cluster_centers": [[0.0, -500.0], [1.0, 500.0]], "fit_rows": 2000}
    s = StratifiedSampler(n=20, strata=spec.with_fit(old_fit)).sample(t)
    b = t["b"].to_numpy()
    assert [a["N_h"] for a in s.manifest.allocation] == [int((b < 0).sum()), int((b >= 0).sum())]


@pytest.mark.parametrize(("spec", "fit", "message"), [
    (Strata(bins="risk_score"), {"bin_edges": [0.3, 0.1]}, "no increasing bin edges for "
                                                            "column 'risk_score'"),
    (Strata(bins="risk_score"), {}, "no increasing bin edges"),
    (Strata(clusters=("risk_score", "popularity")), {"cluster_centers": [[0.1]]},
     r"no cluster centres over the 2 column\(s\) \['risk_score', 'popularity'\]"),
    (Strata(clusters=("risk_score",)),
     {"cluster_centers": [[0.1]], "cluster_scale": {"mean": [0.0], "sd": [0.0]}},
     r"its scaling does not fit the columns \['risk_score'\]"),
])
def test_an_unusable_stored_fit_is_named(pop, spec, fit, message):
    with pytest.raises(DesignError, match="the stored strata fit cannot be reused: " + message):
        StratifiedSampler(n=10, strata=spec.with_fit(fit)).sample(pop)
