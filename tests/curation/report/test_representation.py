"""Representation in the report: each group's known catalogue share, its exposure-weighted share
of recommendations from an impression sample, and their ratio with a CI — checked by hand on four
impressions and against the full recommendation log of the demo data."""

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats

from curation.cli.main import cli
from curation.report import ReportInputs, build_report


@pytest.fixture
def tiny(tmp_path):
    """Four catalogue items (a, a, a, b) and four sampled impressions of one SRSWOR stratum
    (π = 1/2, N = 8) at positions 1, 1, 3, 3 — exposures 1, 1, 1/2, 1/2."""
    pd.DataFrame({"item_id": ["i1", "i2", "i3", "i4"], "item_type": "track",
                  "creator_id": ["c1", "c1", "c2", "c3"],
                  "creator_group": ["a", "a", "a", "b"]}).to_parquet(tmp_path / "cat.parquet")
    pd.DataFrame({"impression_id": ["m1", "m2", "m3", "m4"], "unit_id": ["m1", "m2", "m3", "m4"],
                  "item_id": ["i1", "i4", "i2", "i4"], "position": [1, 1, 3, 3],
                  "creator_group": "ignored: the group comes from the catalogue",
                  "stratum": "all", "inclusion_prob": 0.5, "design_weight": 2.0,
                  "prn": 0.1}).to_parquet(tmp_path / "imp.parquet")
    return tmp_path


def test_representation_ratio_by_hand(tiny):
    report = build_report(ReportInputs(catalogue=tiny / "cat.parquet",
                                       impressions=(tiny / "imp.parquet",)), tiny / "r")
    got = json.loads(report.metrics.read_text())["representation"]["imp"]["creator_group"]
    # exposure share of a: (1 + 1/2) / (1 + 1 + 1/2 + 1/2) = 1/2; catalogue share 3/4
    assert got["a"]["catalogue_share"] == 0.75 and got["a"]["exposure_share"] == 0.5
    assert got["a"]["ratio"] == pytest.approx(2 / 3) and got["b"]["ratio"] == pytest.approx(2)
    # linearized scores w·z = (1/6, -1/6, 1/12, -1/12): V = (1 - 4/8)·4/3·Σx² = 20/432;
    # ratio interval exp(log r ± t_{3} · SE/share), the catalogue share being known
    se_log = np.sqrt(20 / 432) / 0.5
    t = stats.t.ppf(0.975, 3)
    assert got["a"]["ratio_ci_low"] == pytest.approx(2 / 3 * np.exp(-t * se_log))
    assert got["a"]["ratio_ci_high"] == pytest.approx(2 / 3 * np.exp(t * se_log))
    assert got["b"]["ratio_ci_high"] == pytest.approx(2 * np.exp(t * se_log))
    assert got["a"]["impressions"] == 2 and got["b"]["items"] == 1
    table = pd.read_csv(tiny / "r" / "tables" / "representation_imp.csv")
    assert list(table["group"]) == ["a", "b"]
    assert (tiny / "r" / "figures" / "representation_imp_creator_group.png").exists()


def test_a_group_without_sampled_impressions_has_ratio_zero_and_no_interval(tiny):
    pd.DataFrame({"item_id": ["i1", "i2", "i3", "i4", "i5"], "item_type": "track",
                  "creator_id": "c", "creator_group": ["a", "a", "a", "b", "c"]}).to_parquet(
        tiny / "cat.parquet")
    report = build_report(ReportInputs(catalogue=tiny / "cat.parquet",
                                       impressions=(tiny / "imp.parquet",)), tiny / "r")
    c = report.numbers["representation"]["imp"]["creator_group"]["c"]
    assert c == {**c, "exposure_share": 0.0, "ratio": 0.0, "ratio_ci_low": None,
                 "impressions": 0, "catalogue_share": 0.2}


def test_demo_representation_covers_the_full_logs_exposure_share(demo, tmp_path):
    report = build_report(ReportInputs(samples=(demo.cat_sample, demo.imp_sample),
                                       populations={str(demo.cat_sample): demo.catalogue,
                                                    str(demo.imp_sample): demo.recs},
                                       groups=("creator_group", "market")), tmp_path / "r")
    got = report.numbers["representation"]["impression_sample"]
    cat = pd.read_parquet(demo.catalogue)
    recs = pd.read_parquet(demo.recs).merge(cat[["item_id", "creator_group", "market"]],
                                            on="item_id", suffixes=("_user", ""))
    e = 1 / np.log2(recs["position"] + 1)
    for col in ("creator_group", "market"):
        truth = e.groupby(recs[col]).sum() / e.sum()
        share = cat[col].value_counts(normalize=True)
        for group, row in got[col].items():
            assert row["catalogue_share"] == pytest.approx(share[group])
            assert row["ratio"] == pytest.approx(row["exposure_share"] / share[group])
            assert row["exposure_ci_low"] <= truth.get(group, 0) <= row["exposure_ci_high"], \
                (col, group)
    # the default catalogue is the catalogue sample's population; the impression sample's own
    # `market` (the user's) was replaced by the item's
    assert set(got["market"]) == set(cat["market"])


def test_cli_representation_defaults_to_creator_group(demo, tmp_path):
    out = tmp_path / "r"
    ok = CliRunner().invoke(cli, ["report", "--catalogue", str(demo.catalogue),
                                  "--impressions", str(demo.imp_sample), "-o", str(out)])
    assert ok.exit_code == 0, ok.output
    numbers = json.loads((out / "metrics.json").read_text())
    assert set(numbers["representation"]["impression_sample"]) == {"creator_group"}
    assert (out / "figures" / "representation_impression_sample_creator_group.png").exists()


@pytest.mark.parametrize("args, message", [
    (["--group", "no_such_column"], "group column(s) ['no_such_column'] in neither"),
    (["--catalogue", "{d}/nowhere.parquet"], "nowhere.parquet: catalogue file not found"),
    (["--catalogue", "{d}/noid.parquet"], "noid.parquet: catalogue lacks column(s) ['item_id']"),
])
def test_bad_representation_inputs_are_one_line_errors(tiny, args, message):
    pd.DataFrame({"creator_group": ["a"]}).to_parquet(tiny / "noid.parquet")
    args = [a.format(d=tiny) for a in args]
    if "--catalogue" not in args:
        args += ["--catalogue", str(tiny / "cat.parquet")]
    result = CliRunner().invoke(cli, ["report", "--impressions", str(tiny / "imp.parquet"),
                                      *args, "-o", str(tiny / "r")])
    assert result.exit_code == 1 and message in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tiny / "r").exists()


def test_impressions_without_a_catalogue_or_with_unknown_items_are_errors(tiny):
    run = CliRunner().invoke
    alone = run(cli, ["report", "--impressions", str(tiny / "imp.parquet"), "-o",
                      str(tiny / "r")])
    assert alone.exit_code == 1 and "pass --catalogue" in alone.output
    pd.DataFrame({"item_id": ["i1", "i2"], "creator_group": ["a", "b"]}).to_parquet(
        tiny / "small.parquet")
    unknown = run(cli, ["report", "--impressions", str(tiny / "imp.parquet"), "--catalogue",
                        str(tiny / "small.parquet"), "-o", str(tiny / "r")])
    assert unknown.exit_code == 1 and "item_id(s) not in the catalogue (e.g. ['i4'])" in \
        unknown.output
    assert not (tiny / "r").exists()


def test_a_curated_impression_table_gives_the_same_representation_as_its_sample(demo, tmp_path):
    def representation(path):
        report = build_report(ReportInputs(catalogue=demo.catalogue, impressions=(path,)),
                              tmp_path / path.stem)
        return report.numbers["representation"][path.stem]["creator_group"]

    # labels do not matter: every sampled impression counts, labeled or not
    assert representation(demo.imp_curated) == representation(demo.imp_sample)
