"""`curate trend`: the estimates of every tagged wave, read from DVC, as if checked out."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pandas as pd
import pytest

from tests.cli import run
from tests.curation.waves import DATASET, TAGS, waves_fixture

pytestmark = pytest.mark.dvc


@pytest.fixture(scope="module")
def waves(tmp_path_factory):
    yield from waves_fixture(tmp_path_factory)


@pytest.fixture(scope="module")
def trend(waves, tmp_path_factory):
    out = tmp_path_factory.mktemp("trend")
    code, text = run("trend", "--repo", waves.repo, "--dataset", DATASET, "-o",
                     out / "trend.csv", "--y", "sensitive", "--domain", "item_type",
                     "--tags", "audit-v*", "--changes", out / "changes.csv")
    assert code == 0, text
    return out, text


def test_the_series_is_curate_estimate_of_each_checked_out_wave_in_date_order(waves, trend):
    out, text = trend
    series = pd.read_csv(out / "trend.csv")
    assert list(series.columns[:6]) == ["version", "commit", "date", "metric", "y", "domain"]
    assert list(dict.fromkeys(series["version"])) == list(TAGS)  # v10 last: by date
    assert "tags without data/curated.parquet: audit-v0" in text
    for tag in TAGS:
        est = out / f"{tag}.csv"
        code, msg = run("estimate", waves.checked / f"{tag}.parquet", "-o", est, "--y",
                        "sensitive", "--domain", "item_type")
        assert code == 0, msg
        want = pd.read_csv(est)
        got = series[series["version"] == tag].drop(columns=["version", "commit", "date"])
        pd.testing.assert_frame_equal(got.reset_index(drop=True), want, check_exact=True)
        sha = subprocess.run(["git", "rev-parse", f"{tag}^{{commit}}"], cwd=waves.repo,
                             capture_output=True, text=True).stdout.strip()
        assert set(series.loc[series["version"] == tag, "commit"]) == {sha}


def test_the_latest_change_is_curate_compare_of_the_last_two_waves_with_alerts(waves, trend):
    out, text = trend
    changes = pd.read_csv(out / "changes.csv")
    code, msg = run("compare", waves.checked / f"{TAGS[1]}.parquet",
                    waves.checked / f"{TAGS[2]}.parquet", "-o", out / "cmp.csv", "--y",
                    "sensitive", "--domain", "item_type", "--fdr", 0.05)
    assert code == 0, msg
    want = pd.read_csv(out / "cmp.csv")
    assert set(changes["version_a"]) == {TAGS[1]} and set(changes["version_b"]) == {TAGS[2]}
    pd.testing.assert_frame_equal(changes.drop(columns=["version_a", "version_b"]), want)
    assert f"change {TAGS[1]} → {TAGS[2]}: {int(want['flagged'].sum())} of {len(want)}" in text


def test_the_figure_and_the_file_dvc_plots_show_draws(waves, trend, tmp_path):
    out, text = trend
    png = (out / "trend.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    wide = pd.read_csv(out / "trend.plot.csv")
    assert wide["wave"].tolist() == [1, 2, 3] and wide["version"].tolist() == list(TAGS)
    series = pd.read_csv(out / "trend.csv")
    last = series[(series["version"] == TAGS[2]) & (series["metric"] == "proportion")
                  & (series["domain"] == "all")]["estimate"].item()
    assert wide["sensitive all"].iloc[-1] == pytest.approx(last)
    repo = tmp_path / "repo"
    shutil.copytree(waves.repo, repo, symlinks=True)
    shutil.copy(out / "trend.plot.csv", repo / "trend.plot.csv")
    snippet = text[text.index("plots:\n"):].replace(str(out / "trend.plot.csv"),
                                                    "trend.plot.csv")
    (repo / "dvc.yaml").write_text(snippet)
    done = subprocess.run([sys.executable, "-m", "dvc", "plots", "show", "--json"], cwd=repo,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    plot = json.loads(done.stdout)["data"]["trend.plot.csv"][0]["content"]
    values = plot["data"]["values"]
    assert {v["version"] for v in values} == set(TAGS)
    assert {v["field"] for v in values} == set(wide.columns[2:])
    assert plot["encoding"]["x"]["field"] == "wave"


def test_one_domain_value_gives_its_series_and_its_change_only(waves, tmp_path):
    code, text = run("trend", "--repo", waves.repo, "--dataset", DATASET, "-o",
                     tmp_path / "t.parquet", "--y", "sensitive", "--domain", "item_type=track",
                     "--changes", tmp_path / "c.csv", "--fdr", 0.2)
    assert code == 0, text
    series = pd.read_parquet(tmp_path / "t.parquet")
    assert set(series["domain"]) == {"all", "item_type=track"}
    assert len(series) == 3 * 2 * 2  # versions × domains × (proportion, total)
    changes = pd.read_csv(tmp_path / "c.csv")
    assert changes["domain"].tolist() == ["all", "item_type=track"]
    assert changes["flagged"].dtype == bool
    assert (tmp_path / "t.png").is_file() and (tmp_path / "t.plot.csv").is_file()
