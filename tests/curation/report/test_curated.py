"""Curated tables in the report: label prevalence per group with CIs, and the units still
without a final label per stratum — by hand on twelve units, and on the demo audit."""

import json

import numpy as np
import pandas as pd
import pytest

from curation.estimation.inputs import load_sample
from curation.report import ReportInputs, build_report


@pytest.fixture
def curated(tmp_path):
    """Two strata of six units (π = 1/2), one nonrespondent in each, so that every responding
    unit weighs the same: group a holds u1 u2 u3 u7 (two sensitive, one of them violent),
    group b the other six responding units (none sensitive)."""
    sens = [1, 1, 0, 0, 0, None, 0, 0, 0, 0, 0, None]
    frame = pd.DataFrame({
        "unit_id": [f"u{k}" for k in range(1, 13)], "item_id": [f"i{k}" for k in range(12)],
        "stratum": ["s1"] * 6 + ["s2"] * 6, "inclusion_prob": 0.5, "design_weight": 2.0,
        "prn": 0.5, "group": list("aaabba") + list("abbbbb"),
        "sensitive": pd.array([None if v is None else bool(v) for v in sens], "boolean"),
        "cat_violence": pd.array([True] + [False] * 4 + [None] + [False] * 5 + [None],
                                 "boolean"),
        "adjudication": ["unanimous"] * 5 + ["unlabeled"] + ["majority"] * 5 + ["unresolved"],
        "agreement": 1.0})
    frame.to_parquet(tmp_path / "cur.parquet", index=False)
    return tmp_path / "cur.parquet"


def test_prevalence_per_group_by_hand(curated, tmp_path):
    numbers = build_report(ReportInputs(curated=(curated,), groups=("group",)),
                           tmp_path / "r").numbers
    got = numbers["prevalence"]["cur"]["group"]
    assert got["a"]["sensitive"]["estimate"] == pytest.approx(2 / 4)
    assert got["a"]["cat_violence"]["estimate"] == pytest.approx(1 / 4)
    assert got["b"]["sensitive"]["estimate"] == 0
    # no positive in b: the exact one-sided 95% bound for 0 of 6 equally weighted units
    assert got["b"]["sensitive"]["ci_low"] == 0
    assert got["b"]["sensitive"]["ci_high"] == pytest.approx(1 - 0.05 ** (1 / 6))
    assert got["a"]["sensitive"]["difference"] == pytest.approx(2 / 4 - 0)
    assert got["b"]["sensitive"]["difference"] == pytest.approx(0 - 2 / 4)
    lo, hi = got["a"]["sensitive"]["ci_low"], got["a"]["sensitive"]["ci_high"]
    assert 0 < lo < 0.5 < hi < 1
    assert got["a"]["sensitive"]["n"] == 4 and got["b"]["sensitive"]["n"] == 6


def test_units_still_unlabeled_per_stratum(curated, tmp_path):
    out = tmp_path / "r"
    build_report(ReportInputs(curated=(curated,)), out)
    got = json.loads((out / "metrics.json").read_text())["annotation"]["cur"]
    assert (got["without_label"], got["unresolved"], got["unlabeled"]) == (2, 1, 1)
    assert got["share_without_label"] == pytest.approx(2 / 12)
    assert got["by_stratum"]["s1"] == {"units": 6, "final": 5, "unresolved": 0, "unlabeled": 1,
                                       "missing_share": pytest.approx(1 / 6, abs=1e-6)}
    assert got["by_stratum"]["s2"]["unresolved"] == 1
    assert got["unit_ids_without_label"] == ["u6", "u12"]
    assert "Without a final label: u6, u12" in (out / "report.html").read_text()
    table = pd.read_csv(out / "tables" / "unlabeled_cur.csv")
    assert list(table["missing_share"].round(4)) == [0.1667, 0.1667]


def test_every_curated_table_gets_prevalence_per_group(demo, tmp_path):
    report = build_report(ReportInputs(curated=(demo.cat_curated, demo.imp_curated),
                                       catalogue=demo.catalogue,
                                       groups=("creator_group", "market")), tmp_path / "r")
    prevalence = report.numbers["prevalence"]
    # catalogue sample: the groups and its stratification variable (market)
    assert set(prevalence["catalogue_curated"]) == {"creator_group", "market"}
    # impression sample: its own market (the user's), its strata, and creator_group joined
    # from the catalogue on item_id
    assert set(prevalence["impression_curated"]) == {"creator_group", "market", "user_age_band"}
    figures = {p.name for p in report.figures}
    for name in ("catalogue_curated", "impression_curated"):
        for col in prevalence[name]:
            assert f"{name}_prevalence_{col}.png" in figures
    # the same numbers as `curate estimate --domain market` on the same curated table
    est = pd.read_csv(demo.estimates)
    est = est[est["metric"] == "proportion"].set_index("domain")
    for market, row in prevalence["catalogue_curated"]["market"].items():
        e = est.loc[f"market={market}"]
        assert (row["sensitive"]["estimate"], row["sensitive"]["ci_high"]) == pytest.approx(
            (e["estimate"], e["ci_high"]))


def test_a_stratum_with_no_label_yet_leaves_prevalence_as_a_note(curated, tmp_path):
    frame, _, _ = load_sample(curated)
    frame.loc[frame["stratum"] == "s2", "adjudication"] = "unlabeled"
    frame.loc[frame["stratum"] == "s2", "sensitive"] = pd.NA
    frame.to_parquet(curated, index=False)
    report = build_report(ReportInputs(curated=(curated,), groups=("group",)), tmp_path / "r")
    assert "stratum 's2' has no responding unit" in report.numbers["prevalence"]["cur"]["error"]
    assert report.numbers["annotation"]["cur"]["unlabeled"] == 1 + 6
    assert np.isclose(report.numbers["annotation"]["cur"]["share_without_label"], 7 / 12)
