"""Redraws and fitted strata: stored bin edges and cluster centres reused from a manifest,
refits explained (which column, stored vs redrawn), package versions named when they changed."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sklearn.preprocessing

import samplers.base
from curation.versions.reproduce import reproduce, sampler_from_manifest
from curation.versions.tablediff import (
    design_differences,
    fit_differences,
    package_differences,
)
from samplers import Strata, StratifiedSampler
from schemas import Manifest

from .conftest import commit, curate, set_params, sh

CAT = "data/samples/catalogue_sample.parquet"
BINNED = "data/samples/binned_sample.parquet"
REAL_VERSION = samplers.base.version


class UniformBins(sklearn.preprocessing.KBinsDiscretizer):
    """Stands for a scikit-learn release that fits other edges: uniform, not quantile, bins."""

    def __init__(self, n_bins=5, **kwargs):
        super().__init__(n_bins=n_bins, encode="ordinal", strategy="uniform")


def new_scikit_learn(monkeypatch) -> None:
    monkeypatch.setattr(sklearn.preprocessing, "KBinsDiscretizer", UniformBins)
    monkeypatch.setattr(samplers.base, "version",
                        lambda name: "9.9.9" if name == "scikit-learn" else REAL_VERSION(name))


def population(N: int = 3000) -> pa.Table:
    return pa.table({"item_id": [f"i{k:05d}" for k in range(N)],
                     "market": ["SE", "BR", "US"] * (N // 3),
                     "popularity": [1.0 + (k * 7919 % 1000) ** 2 / 1000.0 for k in range(N)],
                     "x": [float(k % 10) for k in range(N)]})


def test_a_redraw_from_a_manifest_reuses_the_fit_and_refits_only_on_request(monkeypatch):
    pop = population()
    spec = Strata(columns=("market",), bins="popularity", n_bins=4)
    drawn = StratifiedSampler(n=60, seed=3, strata=spec).sample(pop)
    new_scikit_learn(monkeypatch)
    again = sampler_from_manifest(drawn.manifest).sample(pop)
    assert again.manifest.content_hash == drawn.manifest.content_hash
    assert again.manifest.design["strata_fit"] == drawn.manifest.design["strata_fit"]
    refit = sampler_from_manifest(drawn.manifest, refit=True).sample(pop)
    assert refit.manifest.content_hash != drawn.manifest.content_hash
    [line] = fit_differences(drawn.manifest.design, refit.manifest.design)
    assert line.startswith("bins of 'popularity' fitted differently: stored edges [1, ")
    assert refit.manifest.packages["scikit-learn"] == "9.9.9"


def test_an_old_neyman_manifest_redraws_with_the_root_mean_square():
    pop = population()
    drawn = StratifiedSampler(n=60, strata="market", allocation="neyman", neyman_col="x",
                              neyman_s="rms").sample(pop)
    old = drawn.manifest.to_dict()
    del old["design"]["neyman_s"]  # written before neyman_s was recorded
    manifest = Manifest.from_dict(old)
    sampler = sampler_from_manifest(manifest)
    assert sampler.neyman_s == "rms"
    assert sampler.sample(pop).manifest.content_hash == drawn.manifest.content_hash
    declared = {"neyman_col": "x", "neyman_s": "sd"}
    assert design_differences(old["design"], declared, "HEAD's params") == [
        "neyman_s: sample drawn with 'rms', HEAD's params says 'sd'"]
    assert design_differences(old["design"], {**declared, "neyman_s": "rms"}, "x") == []


def _manifest(packages: dict, version: str = "0.1.0") -> Manifest:
    return Manifest(kind="sample", design={}, seed=1, prn={}, population={}, allocation=[],
                    content_hash="0", package_version=version, packages=packages)


def test_package_differences_say_what_each_change_can_do():
    stored = _manifest({"audit-curation": "0.1.0", "numpy": "1.26.4", "scikit-learn": "1.4.2",
                        "pandas": "2.2.0"})
    now = {"audit-curation": "0.1.0", "numpy": "2.2.6", "scikit-learn": "1.7.1",
           "pandas": "2.2.0"}
    assert package_differences(stored, now, refitted=True) == [
        "numpy 1.26.4 → 2.2.6 since the sample was drawn; sums, distances and fitted strata "
        "may differ in their last bits",
        "scikit-learn 1.4.2 → 1.7.1 since the sample was drawn; bins and clusters may be "
        "fitted differently"]
    # scikit-learn cannot matter when nothing was fitted again
    assert [line.split()[0] for line in package_differences(stored, now, False)] == ["numpy"]
    [line] = package_differences(_manifest({}), now, refitted=True)
    assert line.startswith("the manifest records no package versions (drawn by audit-curation "
                           "0.1.0, now 0.1.0); the redraw used numpy 2.2.6, scikit-learn 1.7.1")


def test_fit_differences_name_the_columns_and_both_fits():
    spec = {"bins": "popularity", "clusters": ["a", "b"]}
    stored = {"strata_spec": spec, "strata_fit": {
        "bin_edges": [0.0, 1.0, 2.0], "cluster_centers": [[0.0, 10.0], [1.0, -10.0]],
        "fit_rows": 100}}
    redrawn = {"strata_spec": spec, "strata_fit": {
        "bin_edges": [0.0, 1.5, 2.0], "cluster_centers": [[0.5, 1.0], [-0.5, -1.0]],
        "cluster_scale": {"columns": ["a", "b"], "mean": [0.5, 0.0], "sd": [0.5, 10.0]},
        "fit_rows": 100}}
    assert fit_differences(stored, redrawn) == [
        "bins of 'popularity' fitted differently: stored edges [0, 1, 2], redrawn [0, 1.5, 2]",
        "clusters of ['a', 'b']: stored centres were fitted on the columns' own units, the "
        "redraw standardizes them first (mean 0, sd 1)",
        "clusters of ['a', 'b'] fitted differently: stored centres [0, 10]; [1, -10], redrawn "
        "[0.5, 1]; [-0.5, -1]"]
    assert fit_differences(stored, stored) == []


@pytest.mark.dvc
def test_a_refit_under_a_new_scikit_learn_is_explained(clone, monkeypatch):
    repo = clone.repo
    set_params(repo, sample_catalogue__bins="popularity", sample_catalogue__n_bins=4)
    sh(repo, "dvc", "repro", "-q", "-s", "sample_catalogue")
    monkeypatch.chdir(repo)
    code, text = curate("sample", "data/raw/catalogue.parquet", "-o", BINNED, "--n", 80,
                        "--bins", "popularity", "--n-bins", 3, "--seed", 5)
    assert code == 0, text
    sh(repo, "dvc", "add", "-q", BINNED)
    commit(repo, "binned samples", tag="binned")
    stored = pq.read_table(repo / CAT).column("stratum").unique().to_pylist()
    assert any(label.endswith("|q4") for label in stored)

    new_scikit_learn(monkeypatch)
    results = {r.path: r for r in reproduce(repo, "binned")}
    params = results[CAT]  # redrawn from params: bins fitted again, and differently
    assert not params.reproduced
    text = "\n".join(params.differences)
    assert "bins of 'popularity' fitted differently: stored edges [" in text
    assert "scikit-learn " + REAL_VERSION("scikit-learn") + " → 9.9.9 since the sample was " \
           "drawn; bins and clusters may be fitted differently" in text
    added = results[BINNED]  # redrawn from its manifest: the stored edges are reused
    assert added.reproduced and added.recipe.startswith("the design in its manifest")
    code, out = curate("reproduce", "binned", "--dataset", BINNED)
    assert code == 0 and f"binned:{BINNED}  REPRODUCED" in out, out
