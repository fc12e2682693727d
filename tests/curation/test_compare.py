"""`curate compare`: two waves of curated data, drawn with coordinated PRNs, and their change."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from tests.cli import run
from tests.curation.report.labels import label_rows


def curated_wave(tmp_path, name, catalogue, truth, *extra):
    sample = tmp_path / f"{name}.parquet"
    code, text = run("sample", catalogue, "-o", sample, "--n", 400, "--seed", 7, "--strata",
                     "market", "--min-per-stratum", 2, *extra)
    assert code == 0, text
    units = pq.read_table(sample, columns=["unit_id"]).column(0).to_pylist()
    labels = label_rows([(u, "ann_a", bool(truth.get(u, False))) for u in units])
    labels.to_parquet(tmp_path / f"{name}_labels.parquet", index=False)
    curated = tmp_path / f"{name}_curated.parquet"
    code, text = run("build", sample, tmp_path / f"{name}_labels.parquet", "-o", curated)
    assert code == 0, text
    return curated


@pytest.fixture(scope="module")
def two_waves(tmp_path_factory):
    d = tmp_path_factory.mktemp("waves")
    code, text = run("demo-data", d, "--items", 4000, "--impressions", 200, "--seed", 3)
    assert code == 0, text
    cat = pd.read_parquet(d / "catalogue.parquet")
    rng = np.random.default_rng(0)
    truth_a = dict(zip(cat["item_id"], rng.uniform(size=len(cat)) < 0.08, strict=True))
    later = cat.loc[rng.uniform(size=len(cat)) > 0.02]  # 2% of items removed
    later.to_parquet(d / "catalogue_b.parquet", index=False)
    truth_b = {k: v and rng.uniform() > 0.4 for k, v in truth_a.items()}  # 40% fixed
    a = curated_wave(d, "wave_a", d / "catalogue.parquet", truth_a)
    b = curated_wave(d, "wave_b", d / "catalogue_b.parquet", truth_b, "--coordinate-with",
                     d / "wave_a.parquet")
    return d, a, b


def test_compare_two_coordinated_waves(two_waves):
    d, a, b = two_waves
    out = d / "change.csv"
    code, text = run("compare", a, b, "-o", out, "--y", "sensitive", "--domain", "market")
    assert code == 0, text
    table = pd.read_csv(out)
    row = table[table["domain"] == "all"].iloc[0]
    assert row["estimate_b"] < row["estimate_a"]
    assert row["difference"] == pytest.approx(row["estimate_b"] - row["estimate_a"])
    assert row["ci_low"] <= row["difference"] <= row["ci_high"] < 0
    assert row["coordination"] == "positive" and row["overlap_units"] > 300
    assert 0.3 < row["correlation"] <= 1
    independent = d / "independent.csv"
    code, text = run("compare", a, b, "-o", independent, "--y", "sensitive",
                     "--coordination", "independent")
    assert code == 0, text
    wide = pd.read_csv(independent).iloc[0]
    assert wide["se_difference"] > 1.5 * row["se_difference"]
    assert set(table["domain"]) > {"all"}
    per = table[table["domain"] != "all"]
    assert per["overlap_units"].sum() == row["overlap_units"]  # each domain's own overlap


@pytest.mark.parametrize("args, message", [
    (("--y", "nosuch"), "no column 'nosuch'"),
    (("--y", "sensitive", "--domain", "nosuch"), "no domain column 'nosuch'"),
    (("--y", "sensitive", "--level", "1.5"), "level"),
])
def test_bad_compare_requests_are_one_line_and_write_nothing(two_waves, args, message):
    d, a, b = two_waves
    out = d / "never.csv"
    code, text = run("compare", a, b, "-o", out, *args)
    assert code != 0 and message in text and "Traceback" not in text, text
    assert not out.exists()


def test_compare_refuses_to_overwrite_a_wave(two_waves):
    d, a, b = two_waves
    before = a.read_bytes()
    code, text = run("compare", a, b, "-o", a, "--y", "sensitive")
    assert code != 0 and a.read_bytes() == before, text


def test_compare_a_rotating_panel(two_waves):
    d, a, b = two_waves
    truth = pq.read_table(b, columns=["unit_id", "sensitive"]).to_pandas()  # new units: 0
    truth = dict(zip(truth["unit_id"], truth["sensitive"].fillna(False), strict=True))
    r = curated_wave(d, "wave_r", d / "catalogue_b.parquet", truth, "--rotate-from",
                     d / "wave_a.parquet", "--rotation", 0.25)
    out = d / "rotation.csv"
    code, text = run("compare", a, r, "-o", out, "--y", "sensitive")
    assert code == 0, text
    row = pd.read_csv(out).iloc[0]
    assert row["coordination"] == "rotation" and "rotation coordination" in text
    assert 0.6 * 400 < row["overlap_units"] < 0.8 * 400  # 3/4 kept, less the items removed
    assert row["ci_low"] <= row["difference"] <= row["ci_high"]
    code, text = run("compare", a, b, "-o", d / "panel.csv", "--y", "sensitive")
    assert code == 0, text
    panel = pd.read_csv(d / "panel.csv").iloc[0]  # the full panel shares more units
    assert row["overlap_units"] < panel["overlap_units"]


def test_compare_refuses_waves_of_different_populations(two_waves):
    d, a, _ = two_waves
    imp = d / "impressions_sample.parquet"
    code, text = run("sample", d / "recommendations.parquet", "-o", imp, "--n", 50, "--seed", 7)
    assert code == 0, text
    out = d / "never.csv"
    code, text = run("compare", a, imp, "-o", out, "--y", "sensitive")
    assert code == 1 and "waves of different populations cannot be compared" in text, text
    assert len(text.strip().splitlines()) == 1 and not out.exists()
