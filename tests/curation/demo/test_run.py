"""`curate demo` end to end at small size: its own Label Studio, simulated annotators through
the API, DVC version; the estimates must cover the demo's hidden truth."""

from __future__ import annotations

import json
import subprocess

import pandas as pd
import pytest

from annotation import server
from tests.cli import run

pytestmark = [pytest.mark.studio, pytest.mark.dvc]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("demo") / "audit"
    code, text = run("demo", work, "--items", 3000, "--impressions", 10000, "--seed", 5,
                     "--n-catalogue", 150, "--n-impressions", 120, "--port", server.free_port(),
                     "--keep-running")
    yield work, code, text
    server.stop(work / ".studio")


def true_prevalence(work, population: str, column: str) -> pd.Series:
    """Prevalence of the hidden truth in the population, overall ('all') and per group."""
    truth = pd.read_parquet(work / "data/raw/truth.parquet", columns=["item_id", "sensitive"])
    pop = pd.read_parquet(work / f"data/raw/{population}.parquet", columns=["item_id", column])
    pop = pop.merge(truth, on="item_id", validate="many_to_one")
    per = pop.groupby(column)["sensitive"].mean()
    per.index = [f"{column}={k}" for k in per.index]
    return pd.concat([pd.Series({"all": pop["sensitive"].mean()}), per])


def test_demo_runs_end_to_end_and_says_annotators_are_simulated(demo_run):
    work, code, text = demo_run
    assert code == 0, text
    assert "SIMULATED annotators" in text and "simulated expert" in text.lower()
    assert (work / "data/reports/audit/report.html").exists()
    assert f"file://{work / 'data/reports/audit/report.html'}" in text
    assert "Label Studio is still running at http://127.0.0.1:" in text
    assert run("studio", "status", "--dir", work / ".studio")[1].startswith("up at")
    labels = pd.read_parquet(work / "data/labels/catalogue_labels.parquet")
    assert labels["annotator"].nunique() >= 3
    assert (labels["note"].dropna() == "simulated annotator (demo)").all()


def test_the_report_shows_the_simulated_model_against_people(demo_run):
    """The demo's catalogue carries a SIMULATED model label: the report compares it with the
    simulated annotators' final labels and shows the labels it saves, for both audits (the
    impressions get their item's prediction from the catalogue)."""
    work, code, text = demo_run
    assert code == 0, text
    numbers = json.loads((work / "data/reports/audit/metrics.json").read_text())
    for audit in ("catalogue_curated", "impression_curated"):
        c = numbers["model"][audit]["confusion"]["sensitive"]
        assert c["model"] == "simulated demo-1" and c["units"] > 50
        assert c["specificity"] > 0.95
        e = numbers["model"][audit]["estimates"]["sensitive"]
        assert e["with_model_ci_low"] <= e["with_model"] <= e["with_model_ci_high"]
    html = (work / "data/reports/audit/report.html").read_text()
    assert "How does the model compare with people? (catalogue_curated)" in html
    assert "How good is the model, and what does it save?" in html
    assert "With the SIMULATED model label" in text and "with the model" in text


@pytest.mark.parametrize("audit, population, column", [
    ("catalogue", "catalogue", "market"), ("impression", "recommendations", "user_age_band")])
def test_estimates_cover_the_hidden_truth(demo_run, audit, population, column):
    work, code, text = demo_run
    assert code == 0, text
    est = pd.read_parquet(work / f"data/reports/{audit}_estimates.parquet")
    est = est[(est["metric"] == "proportion") & (est["y"] == "sensitive")].set_index("domain")
    truth = true_prevalence(work, population, column)
    assert est.loc["all", "ci_low"] <= truth["all"] <= est.loc["all", "ci_high"]
    groups = est.drop(index="all")
    covered = (groups["ci_low"] <= truth[groups.index]) & (truth[groups.index]
                                                            <= groups["ci_high"])
    assert len(groups) >= 4 and covered.mean() >= 0.8, covered


def test_the_version_is_committed_tagged_pushed_and_reproducible(demo_run):
    work, code, text = demo_run
    assert code == 0, text
    git = lambda *a: subprocess.run(["git", "-C", str(work), *a], capture_output=True,  # noqa: E731
                                    text=True, check=True).stdout
    assert git("tag").split() == ["audit-v1"]
    assert git("status", "--porcelain") == ""
    assert any((work / ".dvc-remote").rglob("*")), "nothing was pushed to the DVC remote"
    code, out = run("reproduce", "audit-v1", "--repo", work)
    assert code == 0, out
    assert out.count("REPRODUCED") == 2
    code, out = run("versions", "--repo", work)
    assert code == 0 and "data/curated/impression_curated.parquet" in out
