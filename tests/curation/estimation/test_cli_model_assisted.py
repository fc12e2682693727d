"""`curate estimate --pred-col`: the model-assisted rows beside today's, from predictions in the
data or in a table keyed by unit_id, with the model recorded; population-known (GREG) and
two-phase; after nonresponse adjustment; with the honest intervals of the calibrated variance."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curation.estimation import hajek_mean, ht_total, recognise
from curation.estimation.intervals import proportion_interval
from curation.estimation.model_assisted import greg, prediction_totals
from curation.estimation.nonresponse import adjust
from curation.estimation.predictions import MODEL_METADATA_KEY
from curation.estimation.two_phase import calibrate_phase2, two_phase_design
from samplers import ImportanceSampler, StratifiedSampler
from samplers.phase2 import Phase2Sampler
from tests.cli import run

from .conftest import make_population


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A population (with a model score ``risk_score``), a stratified and an importance
    sample of it."""
    path = tmp_path_factory.mktemp("model")
    pop = make_population()
    pq.write_table(pa.Table.from_pandas(pop, preserve_index=False), path / "pop.parquet")
    StratifiedSampler(n=400, seed=3, strata=["market"], allocation="power",
                      min_per_stratum=5).sample(pop).write(path / "s.parquet")
    ImportanceSampler(n=400, seed=3, strata=["market"], size="risk_score",
                      mixture=0.2).sample(pop).write(path / "imp.parquet")
    return path


def estimate(*args) -> tuple[pd.DataFrame, str]:
    out = args[args.index("-o") + 1]
    code, text = run("estimate", *args)
    assert code == 0, text
    return (pd.read_parquet(out) if str(out).endswith(".parquet") else pd.read_csv(out)), text


def by_hand(sample_path, pop: pd.DataFrame, y: str, dom: np.ndarray | None = None):
    s = pq.read_table(sample_path)
    from schemas import read_manifest

    df = s.to_pandas()
    design = recognise(df, read_manifest(sample_path))
    N, F = prediction_totals(pop["market"], pop["risk_score"], design.labels)
    return df, greg(design, df["risk_score"].to_numpy(), N, F)


@pytest.mark.parametrize("sample", ["s.parquet", "imp.parquet"])
def test_model_assisted_rows_sit_beside_unchanged_design_rows(folder, sample):
    plain, _ = estimate(folder / sample, "--y", "sens", "--y", "rare", "--domain",
                        "creator_group", "--population", folder / "pop.parquet", "-o",
                        folder / "plain.csv")
    both, text = estimate(folder / sample, "--y", "sens", "--y", "rare", "--domain",
                          "creator_group", "--pred-col", "sens=risk_score", "--pred-col",
                          "rare=risk_score", "--population", folder / "pop.parquet", "-o",
                          folder / "both.csv")
    assert "estimator" not in plain.columns and list(both.columns) == [*plain.columns,
                                                                        "estimator"]
    design = both[both["estimator"] == "design"].drop(columns="estimator")
    pd.testing.assert_frame_equal(design.reset_index(drop=True), plain)
    model = both[both["estimator"] == "model_assisted"].reset_index(drop=True)
    assert len(model) == len(plain)
    pop = pd.read_parquet(folder / "pop.parquet")
    df, cal = by_hand(folder / sample, pop, "sens")
    for r in model.itertuples():
        y = df[r.y].to_numpy(float)
        mask = None if r.domain == "all" else \
            (df["creator_group"] == r.domain.split("=")[1]).to_numpy()
        e = hajek_mean(cal, y, mask) if r.metric == "proportion" else ht_total(cal, y, mask)
        assert r.estimate == pytest.approx(e.estimate, rel=1e-9)
        assert r.se == pytest.approx(e.se, rel=1e-9)
        if r.metric == "proportion":  # the honest interval, on the GREG variance and n_eff
            lo, hi, method = proportion_interval(e, 0.95, r.ci_method)
            assert (r.ci_low, r.ci_high) == (pytest.approx(lo, rel=1e-9, abs=1e-15),
                                             pytest.approx(hi, rel=1e-9, abs=1e-15))
            assert r.n_eff == pytest.approx(e.n_eff, rel=1e-9)
    overall = model[(model["y"] == "sens") & (model["domain"] == "all")]
    assert (overall["se"].to_numpy() < design[(design["y"] == "sens") &
                                              (design["domain"] == "all")]["se"].to_numpy()).all()
    assert "correlation" in text and "power tuning λ per stratum: BR" in text


def test_a_predictions_table_and_its_model_metadata_are_recorded(folder, tmp_path):
    pop = pd.read_parquet(folder / "pop.parquet")
    table = pa.table({"unit_id": pop["item_id"], "p_llm": pop["risk_score"]})
    table = table.replace_schema_metadata({b"model_name": b"judge-llm",
                                           b"model_version": b"2026-11"})
    pq.write_table(table, tmp_path / "preds.parquet")
    pq.write_table(pa.Table.from_pandas(pop.drop(columns="risk_score"), preserve_index=False),
                   tmp_path / "pop.parquet")
    out, text = estimate(folder / "s.parquet", "--y", "sens", "--pred-col", "p_llm",
                         "--predictions", tmp_path / "preds.parquet", "--population",
                         tmp_path / "pop.parquet", "-o", tmp_path / "e.parquet")
    assert "model: judge-llm 2026-11" in text
    meta = json.loads(pq.read_schema(tmp_path / "e.parquet").metadata[MODEL_METADATA_KEY])
    assert (meta["model_name"], meta["model_version"]) == ("judge-llm", "2026-11")
    assert meta["pred_cols"] == {"sens": "p_llm"} and set(meta["labels"]["sens"]["lambda"]) == \
        {"BR", "IS", "SE", "US"}
    # the same numbers as predictions in columns; a CSV output gets a sidecar, names overridden
    ref, _ = estimate(folder / "s.parquet", "--y", "sens", "--pred-col", "risk_score",
                      "--population", folder / "pop.parquet", "-o", tmp_path / "r.csv",
                      "--model-name", "clf", "--model-version", "7")
    assert np.allclose(out["estimate"], ref["estimate"], rtol=1e-12)
    side = json.loads((tmp_path / "r.model.json").read_text())
    assert (side["model_name"], side["model_version"]) == ("clf", "7")


def test_calibration_comes_after_the_nonresponse_adjustment(folder, tmp_path):
    df = pd.read_parquet(folder / "s.parquet")
    lost = np.zeros(len(df), bool)
    lost[::9] = True
    labeled = df.assign(adjudication=np.where(lost, "unresolved", "majority"),
                        sens=np.where(lost, np.nan, df["sens"]))
    labeled.to_csv(tmp_path / "lab.csv", index=False)
    from schemas import read_manifest

    manifest = read_manifest(folder / "s.parquet")
    (tmp_path / "lab.manifest.json").write_text(manifest.to_json())
    out, text = estimate(tmp_path / "lab.csv", "--y", "sens", "--pred-col", "risk_score",
                         "--population", folder / "pop.parquet", "-o", tmp_path / "e.csv")
    assert "responded" in text and "nonresponse" in text
    design, _ = adjust(recognise(df, manifest), ~lost)
    pop = pd.read_parquet(folder / "pop.parquet")
    N, F = prediction_totals(pop["market"], pop["risk_score"], design.labels)
    cal = greg(design, df["risk_score"].to_numpy()[~lost], N, F)
    e = hajek_mean(cal, df["sens"].to_numpy(float)[~lost])
    row = out[(out["estimator"] == "model_assisted") & (out["metric"] == "proportion")]
    assert row["estimate"].item() == pytest.approx(e.estimate, rel=1e-9)
    assert row["se"].item() == pytest.approx(e.se, rel=1e-9)
    # worst-case bounds too: every missing label 0, then 1, over all sampled units, the
    # design calibrated on the predictions as for the estimate
    full = greg(recognise(df, manifest), df["risk_score"].to_numpy(), N, F)
    y = df["sens"].to_numpy(float)
    method = row["ci_method"].item()
    low = proportion_interval(hajek_mean(full, np.where(lost, 0.0, y)), 0.95, method)[0]
    high = proportion_interval(hajek_mean(full, np.where(lost, 1.0, y)), 0.95, method)[1]
    assert (row["worst_low"].item(), row["worst_high"].item()) == pytest.approx((low, high),
                                                                                rel=1e-9)
    assert row["worst_low"].item() < row["ci_low"].item() < row["ci_high"].item() < \
        row["worst_high"].item()


def test_two_phase_estimates_from_the_phase2_sample_and_its_phase1(folder, tmp_path):
    pop = pd.read_parquet(folder / "pop.parquet")
    StratifiedSampler(n=1500, seed=5, strata=["market"], min_per_stratum=5).sample(pop) \
        .write(tmp_path / "p1.parquet")
    Phase2Sampler(n=250, seed=1, uncertainty="risk_score").sample(tmp_path / "p1.parquet") \
        .write(tmp_path / "p2.parquet")
    out, text = estimate(tmp_path / "p2.parquet", "--phase1", tmp_path / "p1.parquet", "--y",
                         "sens", "--pred-col", "risk_score", "--domain", "creator_group", "-o",
                         tmp_path / "e.csv")
    assert "two-phase" in text
    from schemas import read_manifest

    p1, p2 = pd.read_parquet(tmp_path / "p1.parquet"), pd.read_parquet(tmp_path / "p2.parquet")
    plain = two_phase_design(p1, read_manifest(tmp_path / "p1.parquet"), p2)
    cal = calibrate_phase2(plain, p1["risk_score"].to_numpy(), p2["risk_score"].to_numpy())
    y = p2["sens"].to_numpy(float)
    for estimator, design in (("design", plain), ("model_assisted", cal)):
        rows = out[(out["estimator"] == estimator) & (out["metric"] == "proportion")]
        for r in rows.itertuples():
            mask = None if r.domain == "all" else \
                (p2["creator_group"] == r.domain.split("=")[1]).to_numpy()
            e = hajek_mean(design, y, mask)
            assert (r.estimate, r.se) == (pytest.approx(e.estimate, rel=1e-9),
                                          pytest.approx(e.se, rel=1e-9))
        assert len(rows) == 4  # all + three creator groups
    # the double expansion's total is unbiased for the population count; the model's SE is less
    se = out[(out["metric"] == "total") & (out["domain"] == "all")].set_index("estimator")["se"]
    assert se["model_assisted"] < se["design"]
    # without --pred-col: the double expansion alone, today's columns
    alone, _ = estimate(tmp_path / "p2.parquet", "--phase1", tmp_path / "p1.parquet", "--y",
                        "sens", "--domain", "creator_group", "-o", tmp_path / "d.csv")
    assert "estimator" not in alone.columns
    pd.testing.assert_frame_equal(
        alone, out[out["estimator"] == "design"].drop(columns="estimator").reset_index(drop=True))


@pytest.mark.parametrize("allocation, interval", [("neyman", "skew"), ("proportional", "beta")])
def test_auto_interval_is_skew_when_a_models_label_drove_the_allocation(tmp_path, allocation,
                                                                       interval):
    """Neyman allocation on a good model label samples the predicted positives 20-fold more:
    the few positives among the heavy predicted negatives make the estimate skewed, and
    Korn–Graubard misses high there (bench/ESTIMATION.md), so ``auto`` is ``skew``; a
    proportional design keeps Korn–Graubard (R's method)."""
    rng = np.random.default_rng(5)
    N = 40_000
    y = (rng.uniform(size=N) < 0.004).astype(int)
    flag = np.where(y == 1, rng.uniform(size=N) < 0.9, rng.uniform(size=N) < 0.005)
    p = np.where(flag, 0.4, 0.0005)
    pq.write_table(pa.table({"item_id": [f"i{k}" for k in range(N)], "sensitive": y,
                             "model_label": flag.astype(int).astype(str),
                             "model_sd": np.sqrt(p * (1 - p))}), tmp_path / "pop.parquet")
    StratifiedSampler(n=3000, seed=2, strata=["model_label"], allocation=allocation,
                      neyman_col="model_sd" if allocation == "neyman" else None,
                      neyman_s="rms").sample(str(tmp_path / "pop.parquet")).write(
        tmp_path / "s.parquet")
    table, _ = estimate(tmp_path / "s.parquet", "-o", tmp_path / "e.csv", "--y", "sensitive")
    assert set(table["ci_method"]) == {interval}
