"""Phase 2 of a two-phase design: nested in phase 1, exact conditional probabilities, a floor,
the expected size, and a byte-identical redraw."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from samplers import ImportanceSampler, StratifiedSampler
from samplers.options import sampler_from_options
from samplers.phase2 import (
    MAX_UNCERTAINTY,
    Phase2Sampler,
    phase2_from_manifest,
    phase2_key,
    phase2_probabilities,
)
from schemas import DesignError, SchemaError, read_manifest
from tests.cli import run


def _population(N: int = 6000, seed: int = 1) -> pa.Table:
    """Units with a model probability p̂: most near 0, a few unsure, some exactly 0 or 1."""
    rng = np.random.default_rng(seed)
    p_hat = rng.beta(0.3, 12, N)
    p_hat[rng.choice(N, 40, replace=False)] = 0.0
    p_hat[rng.choice(N, 10, replace=False)] = 1.0
    return pa.table({"item_id": [f"it_{i:06d}" for i in range(N)],
                     "market": rng.choice(["US", "SE", "IS"], N, p=[0.6, 0.35, 0.05]),
                     "score": rng.uniform(0.01, 1.0, N), "p_hat": p_hat})


@pytest.fixture(scope="module")
def phase1(tmp_path_factory) -> str:
    """A stratified phase-1 sample of 800 units, written with its manifest."""
    path = tmp_path_factory.mktemp("phase1") / "p1.parquet"
    StratifiedSampler(n=800, seed=11, strata="market", allocation="power").sample(
        _population()).write(path)
    return str(path)


@pytest.fixture(scope="module")
def phase1_pps(tmp_path_factory) -> str:
    """An importance (unequal π1) phase-1 sample."""
    path = tmp_path_factory.mktemp("phase1pps") / "p1.parquet"
    ImportanceSampler(n=500, size="score", seed=5).sample(_population()).write(path)
    return str(path)


def test_phase2_is_nested_and_carries_every_phase1_column(phase1_pps):
    first = pq.read_table(phase1_pps).to_pandas().set_index("unit_id")
    second = Phase2Sampler(n=120, seed=3, uncertainty="p_hat").sample(phase1_pps).to_pandas()
    assert set(second["unit_id"]) <= set(first.index)
    assert set(first.columns) | {"unit_id"} <= set(second.columns)
    assert {"phase1_prob", "phase2_prob", "phase2_prn"} <= set(second.columns)
    kept = first.loc[second["unit_id"]]
    for col in ("item_id", "market", "p_hat", "stratum", "prn"):
        assert (kept[col].to_numpy() == second[col].to_numpy()).all(), col
    np.testing.assert_array_equal(second["phase1_prob"], kept["inclusion_prob"])
    np.testing.assert_allclose(second["inclusion_prob"],
                               second["phase1_prob"] * second["phase2_prob"], rtol=1e-15)
    np.testing.assert_allclose(second["design_weight"], 1 / second["inclusion_prob"],
                               rtol=1e-15)
    assert (second["phase2_prn"] < second["phase2_prob"]).all()


def test_uniform_phase2_has_equal_conditional_probabilities(phase1):
    second = Phase2Sampler(n=200, seed=0).sample(phase1).to_pandas()
    np.testing.assert_allclose(second["phase2_prob"], 200 / 800, rtol=1e-15)


def test_probabilities_follow_uncertainty_with_the_floor_and_sum_to_n():
    rng = np.random.default_rng(4)
    p = np.r_[rng.beta(0.3, 12, 500), np.zeros(30), np.ones(5), np.full(20, 0.5)]
    for floor in (0.05, 0.2):
        pi = phase2_probabilities(150, p.size, p, floor)
        size = np.maximum(np.sqrt(p * (1 - p)), floor * MAX_UNCERTAINTY)
        assert pi.sum() == pytest.approx(150, rel=1e-12)
        uncapped = pi < 1
        ratio = pi[uncapped] / size[uncapped]
        np.testing.assert_allclose(ratio, ratio[0], rtol=1e-12)  # π ∝ size below the cap
        # certain units (p̂ = 0 or 1) sit exactly on the floor, never at 0
        assert pi[p == 0].min() == pytest.approx(ratio[0] * floor * MAX_UNCERTAINTY)
        assert pi.min() / pi.max() >= floor * MAX_UNCERTAINTY / MAX_UNCERTAINTY - 1e-12


def test_the_cap_at_one_is_redistributed_like_poisson_pps():
    p = np.r_[np.full(10, 0.5), np.full(90, 0.001)]
    pi = phase2_probabilities(30, p.size, p, 0.05)
    assert (pi[:10] == 1.0).all()
    assert pi.sum() == pytest.approx(30, rel=1e-12)
    np.testing.assert_allclose(pi[10:], 20 / 90 * np.ones(90), rtol=1e-12)


def test_phase2_key_is_recorded_and_differs_from_phase1(phase1):
    sample = Phase2Sampler(n=100, seed=2).sample(phase1)
    first = read_manifest(phase1)
    m = sample.manifest
    assert m.prn["key"] == phase2_key(first.seed, 2) != first.seed
    assert m.design["name"] == "two_phase"
    assert m.design["phase1"]["content_hash"] == first.content_hash
    assert m.design["phase1"]["design"] == first.design
    assert m.design["phase1"]["path"] == phase1
    assert {"n": 100, "seed": 2, "uncertainty": None, "floor": 0.05}.items() <= m.design.items()
    assert phase2_key(first.seed, 2) != phase2_key(first.seed, 3)


@pytest.mark.slow
def test_monte_carlo_inclusion_frequencies_match_the_conditional_probabilities(phase1):
    """Over 1,500 phase-2 seeds, each unit's inclusion count is Binomial(R, π2|1): its
    standardised deviations have mean square 1 (±4 MC SE) and none beyond 4.5; realised sizes
    average n; and selection is uncorrelated with phase 1's PRN (independent keys)."""
    R = 1500
    counts = np.zeros(800)
    sizes = []
    pi = None
    ids = None
    for seed in range(R):
        t = Phase2Sampler(n=150, seed=seed, uncertainty="p_hat").sample(phase1).table
        if pi is None:
            base = pq.read_table(phase1)
            ids = base.column("unit_id").to_pylist()
            pi = phase2_probabilities(150, 800, base.column("p_hat").to_numpy(), 0.05)
            prn1 = base.column("prn").to_numpy()
            pos = {u: k for k, u in enumerate(ids)}
        idx = [pos[u] for u in t.column("unit_id").to_pylist()]
        counts[idx] += 1
        sizes.append(len(idx))
    z = (counts - R * pi) / np.sqrt(R * pi * (1 - pi))
    assert abs(np.mean(z ** 2) - 1) < 4 * np.sqrt(2 / 800), np.mean(z ** 2)
    assert np.abs(z).max() < 4.5
    var_size = float(np.sum(pi * (1 - pi)))
    assert abs(np.mean(sizes) - 150) < 4 * np.sqrt(var_size / R)
    assert abs(np.var(sizes) / var_size - 1) < 4 * np.sqrt(2 / R)
    freq = counts / R - pi
    assert abs(np.corrcoef(freq, prn1)[0, 1]) < 4 / np.sqrt(800)


def test_redraw_is_byte_identical_and_a_new_seed_is_another_sample(phase1, tmp_path):
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    sampler = Phase2Sampler(n=120, seed=9, uncertainty="p_hat", floor=0.1)
    sampler.sample(phase1).write(a)
    stored = read_manifest(a)
    again, path = phase2_from_manifest(stored)
    assert path == phase1 and again.get_params() == sampler.get_params()
    again.sample(path).write(b)
    assert a.read_bytes() == b.read_bytes()
    other = Phase2Sampler(n=120, seed=10, uncertainty="p_hat", floor=0.1).sample(phase1)
    assert other.manifest.content_hash != stored.content_hash


def test_options_and_the_cli_give_the_same_phase2(phase1, tmp_path):
    out = tmp_path / "cli.parquet"
    code, text = run("sample", "--phase2-of", phase1, "-o", out, "--n", 90, "--seed", 4,
                     "--uncertainty", "p_hat")
    assert code == 0, text
    lib = sampler_from_options({"phase2_of": phase1, "n": 90, "seed": 4,
                                "uncertainty": "p_hat"}).sample(phase1)
    assert read_manifest(out).content_hash == lib.manifest.content_hash


@pytest.mark.parametrize("kwargs, match", [
    (dict(n=801), "larger than the phase-1 sample"),
    (dict(n=0), "expected size"),
    (dict(n=10, floor=0.0), "floor"),
    (dict(n=10, uncertainty="nosuch"), "nosuch"),
    (dict(n=10, uncertainty="score"), None),  # in [0, 1]: accepted
])
def test_bad_parameters_name_what_is_wrong(phase1, kwargs, match):
    sampler = Phase2Sampler(**kwargs)
    if match is None:
        assert len(sampler.sample(phase1)) > 0
        return
    with pytest.raises((DesignError, SchemaError), match=match):
        sampler.sample(phase1)


def test_a_phase1_modified_after_drawing_or_a_phase2_file_is_refused(phase1, tmp_path):
    table = pq.read_table(phase1)
    i = table.schema.get_field_index("p_hat")
    changed = table.set_column(i, "p_hat", pa.array(np.zeros(table.num_rows)))
    pq.write_table(changed.replace_schema_metadata(table.schema.metadata),
                   tmp_path / "edited.parquet")
    with pytest.raises(SchemaError, match="content hash"):
        Phase2Sampler(n=10).sample(tmp_path / "edited.parquet")
    Phase2Sampler(n=100).sample(phase1).write(tmp_path / "p2.parquet")
    with pytest.raises(SchemaError, match="already a phase-2 sample"):
        Phase2Sampler(n=10).sample(tmp_path / "p2.parquet")


def test_predictions_made_after_phase1_join_by_unit_id(phase1, tmp_path):
    """A model run on the phase-1 units (an LLM judge) gives p̂ in a table keyed by unit_id, in
    any row order: the draw equals one with the same p̂ as a phase-1 column."""
    table = pq.read_table(phase1)
    ids = table.column("unit_id").to_pylist()
    p_hat = table.column("p_hat").to_numpy()
    pq.write_table(pa.table({"unit_id": ids[::-1], "llm_p": p_hat[::-1]}),
                   tmp_path / "preds.parquet")
    joined = Phase2Sampler(n=120, seed=3, uncertainty="llm_p",
                           predictions=str(tmp_path / "preds.parquet")).sample(phase1)
    inline = Phase2Sampler(n=120, seed=3, uncertainty="p_hat").sample(phase1)
    a, b = joined.to_pandas(), inline.to_pandas()
    assert a["unit_id"].tolist() == b["unit_id"].tolist()
    np.testing.assert_array_equal(a["phase2_prob"], b["phase2_prob"])
    np.testing.assert_array_equal(a["llm_p"], b["p_hat"])
    recorded = joined.manifest.design["predictions"]
    assert recorded["column"] == "llm_p" and len(recorded["content_hash"]) == 64
    pq.write_table(pa.table({"unit_id": ids[:-2], "llm_p": p_hat[:-2]}),
                   tmp_path / "short.parquet")
    with pytest.raises(SchemaError, match=r"no prediction for 2 phase-1 unit\(s\)"):
        Phase2Sampler(n=120, uncertainty="llm_p",
                      predictions=str(tmp_path / "short.parquet")).sample(phase1)


def _dvc_repo(tmp_path, monkeypatch):
    """A git + DVC repository (isolated from the machine's config) holding a population."""
    import sys
    from pathlib import Path

    from tests.curation.versions.conftest import new_repo

    for key, value in {"DVC_NO_ANALYTICS": "1", "DVC_SITE_CACHE_DIR": str(tmp_path / "site"),
                       "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0",
                       "PATH": f"{Path(sys.executable).parent}:{Path('/usr/bin')}:"
                               f"{Path('/bin')}"}.items():
        monkeypatch.setenv(key, value)
    repo = new_repo(tmp_path / "repo", tmp_path / "remote")
    (repo / "data").mkdir()
    pq.write_table(_population(3000), repo / "data" / "pop.parquet")
    return repo


@pytest.mark.dvc
def test_curate_reproduce_redraws_a_phase2_stage_identically(tmp_path, monkeypatch):
    """A pipeline whose second stage is `curate sample --phase2-of`: `curate reproduce` redraws
    both stages from the revision's own files and proves them identical."""
    import yaml

    from tests.curation.versions.conftest import commit, curate, sh

    repo = _dvc_repo(tmp_path, monkeypatch)
    stages = {
        "phase1": {"cmd": "curate sample data/pop.parquet -o data/p1.parquet --n 400 --seed 3 "
                          "--strata market",
                   "deps": ["data/pop.parquet"],
                   "outs": ["data/p1.parquet", {"data/p1.manifest.json": {"cache": False}}]},
        "phase2": {"cmd": "curate sample --phase2-of data/p1.parquet -o data/p2.parquet --n 60 "
                          "--seed 1 --uncertainty p_hat",
                   "deps": ["data/p1.parquet"],
                   "outs": ["data/p2.parquet", {"data/p2.manifest.json": {"cache": False}}]}}
    (repo / "dvc.yaml").write_text(yaml.safe_dump({"stages": stages}, sort_keys=False))
    sh(repo, "dvc", "repro", "-q")
    commit(repo, "two-phase audit", tag="v1")
    sh(repo, "dvc", "push", "-q")
    monkeypatch.chdir(repo)
    code, text = curate("reproduce", "v1")
    assert code == 0, text
    assert text.count("REPRODUCED") == 2 and "NOT REPRODUCED" not in text, text


@pytest.mark.dvc
def test_curate_reproduce_redraws_a_dvc_added_phase2_from_its_manifest(tmp_path, monkeypatch):
    """Without a stage, the phase-2 manifest is the recipe: the redraw reads the revision's
    phase-1 sample and its committed model scores (a --predictions file), not the workspace."""
    from tests.curation.versions.conftest import commit, curate, sh

    repo = _dvc_repo(tmp_path, monkeypatch)
    monkeypatch.chdir(repo)
    code, text = curate("sample", "data/pop.parquet", "-o", "data/p1.parquet", "--n", "400",
                        "--seed", "3", "--strata", "market")
    assert code == 0, text
    p1 = pq.read_table("data/p1.parquet").to_pandas()
    scores = pd.DataFrame({"unit_id": p1["unit_id"], "llm_p": p1["p_hat"][::-1].to_numpy()})
    scores.to_parquet("data/llm.parquet", index=False)
    code, text = curate("sample", "--phase2-of", "data/p1.parquet", "-o", "data/p2.parquet",
                        "--n", "60", "--seed", "1", "--uncertainty", "llm_p", "--predictions",
                        "data/llm.parquet")
    assert code == 0, text
    sh(repo, "dvc", "add", "-q", "data/p1.parquet", "data/p2.parquet", "data/llm.parquet")
    commit(repo, "two-phase audit, files added", tag="v1")
    sh(repo, "dvc", "push", "-q")
    scores.assign(llm_p=0.5).to_parquet("data/llm.parquet", index=False)  # the workspace moves on
    code, text = curate("reproduce", "v1", "--dataset", "data/p2.parquet")
    assert code == 0, text
    assert "REPRODUCED" in text and "NOT REPRODUCED" not in text, text
