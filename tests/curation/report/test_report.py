"""The report: composition numbers that would expose a mis-drawn sample, a self-contained page
that renders in headless Chromium with every plot loaded and no console error."""

import json
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from curation.cli.main import cli
from curation.report import ReportInputs, build_report
from curation.report.composition import composition, population_counts
from samplers import ImportanceSampler, StratifiedSampler

from .browser import render


@pytest.fixture(scope="module")
def audit(tmp_path_factory):
    d = tmp_path_factory.mktemp("audit")
    rng = np.random.default_rng(1)
    N = 3000
    pop = pa.table({"item_id": [f"i{k}" for k in range(N)],
                    "market": rng.choice(["US", "SE", "IS"], N, p=[0.7, 0.25, 0.05]),
                    "risk_score": rng.beta(0.5, 6, N)})
    pq.write_table(pop, d / "catalogue.parquet")
    s = StratifiedSampler(n=150, seed=3, strata="market", allocation="equal").sample(
        str(d / "catalogue.parquet"))
    s.write(d / "sample.parquet")
    imp = ImportanceSampler(n=100, size="risk_score", mixture=0.1, strata="market",
                            seed=4).sample(str(d / "catalogue.parquet"))
    imp.write(d / "risky.parquet")
    curated = s.table.to_pandas()
    curated["adjudication"] = np.where(np.arange(len(curated)) % 10 == 0, "unlabeled",
                                       "unanimous")
    curated["agreement"] = np.where(curated["adjudication"] == "unlabeled", np.nan, 1.0)
    curated.to_parquet(d / "curated.parquet")
    est = pd.DataFrame({"metric": ["proportion"] * 3 + ["ratio"], "y": ["sensitive"] * 3 +
                        ["share"], "domain": ["US", "SE", "IS", "independent"],
                        "estimate": [0.02, 0.05, 0.0, 0.8], "se": [0.01, 0.02, 0.0, 0.1],
                        "ci_low": [0.005, 0.02, 0.0, 0.62], "ci_high": [0.05, 0.1, 0.06, 1.01],
                        "n": [50, 50, 50, 150]})
    est.to_csv(d / "estimates.csv", index=False)
    return d


def test_weighted_composition_of_a_stratified_sample_equals_the_population(audit):
    sample = pq.read_table(audit / "sample.parquet").to_pandas()
    table = composition(sample, population_counts(audit / "catalogue.parquet", ["market"]))
    assert np.allclose(table["weighted_share"], table["population_share"], atol=1e-12)
    # equal allocation over-represents the small market in the unweighted sample
    is_row = table.set_index("group").loc["IS"]
    assert is_row["sample_share"] == pytest.approx(1 / 3)
    assert is_row["population_share"] < 0.06
    # a sample whose weights were lost shows up as a gap
    broken = sample.assign(design_weight=1.0)
    gap = composition(broken, population_counts(audit / "catalogue.parquet", ["market"]))
    assert np.abs(gap["weighted_minus_population"]).max() > 0.2


def test_report_files_numbers_and_self_containment(audit, tmp_path):
    report = build_report(ReportInputs(
        samples=(audit / "sample.parquet", audit / "risky.parquet"),
        curated=(audit / "curated.parquet",), estimates=(audit / "estimates.csv",),
        title="Audit 2026Q4"), tmp_path / "report")
    html = report.html.read_text()
    assert "Audit 2026Q4" in html and "acprn v1" in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # nothing from the network
    # a composition per sample, status and units without a label, an estimate per (metric, y)
    assert html.count("data:image/png;base64,") == len(report.figures) == 6
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in report.figures)
    numbers = json.loads(report.metrics.read_text())
    assert numbers["samples"]["sample"]["max_weighted_share_gap"] < 1e-12
    assert numbers["annotation"]["curated"]["without_label"] == 15
    estimates = numbers["estimates"]["estimates"]
    assert estimates["proportion"]["sensitive"]["SE"] == {
        "estimate": 0.05, "se": 0.02, "ci_low": 0.02, "ci_high": 0.1, "n": 50}
    assert estimates["ratio"]["share"]["independent"]["ci_high"] == 1.01


def test_report_renders_in_headless_chromium(audit, tmp_path):
    report = build_report(ReportInputs(samples=(audit / "sample.parquet",),
                                       curated=(audit / "curated.parquet",),
                                       estimates=(audit / "estimates.csv",)), tmp_path / "r")
    page = render(report.html, screenshot=tmp_path / "shot.png")
    assert len(page.images) == len(report.figures) > 0
    assert all(i["complete"] and i["width"] > 100 for i in page.images), page.images
    assert page.console_errors == [] and page.page_errors == [] and page.failed_requests == []
    assert "How far is the review?" in page.text
    assert page.text.count("How prevalent is sensitive content, and where?") == 1
    assert "Overall and per group, with confidence intervals" in page.text


def test_cli_report_and_bad_inputs(audit, tmp_path):
    run = CliRunner().invoke
    ok = run(cli, ["report", "--sample", str(audit / "sample.parquet"), "--population",
                   str(audit / "catalogue.parquet"), "-o", str(tmp_path / "r")])
    assert ok.exit_code == 0, ok.output
    assert (tmp_path / "r" / "report.html").exists()
    bad = run(cli, ["report", "--estimates", str(audit / "catalogue.parquet"), "-o",
                    str(tmp_path / "bad")])
    assert bad.exit_code == 1 and "estimates table lacks column(s)" in bad.output
    assert not (tmp_path / "bad").exists()
    none = run(cli, ["report", "-o", str(tmp_path / "x")])
    assert none.exit_code == 2


def full_report_args(demo, out) -> list[str]:
    """`curate report` on the demo audit with every kind of input."""
    return ["report", "--title", "Demo audit",
            "--sample", str(demo.cat_sample), "--population", str(demo.catalogue),
            "--sample", str(demo.imp_sample), "--population", str(demo.recs),
            "--catalogue", str(demo.catalogue), "--impressions", str(demo.imp_sample),
            "--group", "creator_group", "--group", "market",
            "--curated", str(demo.cat_curated), "--curated", str(demo.imp_curated),
            "--estimates", str(demo.estimates),
            "--labels", str(demo.cat_labels), "--labels", str(demo.imp_labels), "-o", str(out)]


def test_full_report_renders_in_headless_chromium(demo, tmp_path):
    out = tmp_path / "audit"
    result = CliRunner().invoke(cli, full_report_args(demo, out))
    assert result.exit_code == 0, result.output
    figures = sorted((out / "figures").iterdir())
    page = render(out / "report.html", screenshot=tmp_path / "shot.png")
    # compositions 2, representation 2 (groups), curated 4 + 5 (status, unlabeled, prevalence
    # per group and stratification variable), labels 2 × 2, estimates 3 (proportion, total,
    # share of units without a final label)
    assert len(page.images) == len(figures) == 2 + 2 + 4 + 5 + 4 + 3
    assert all(i["complete"] and i["width"] > 100 for i in page.images), page.images
    assert page.console_errors == [] and page.page_errors == [] and page.failed_requests == []
    for heading in ("In short", "Are groups represented in recommendations",
                    "Each label per group", "Who reviewed", "Units still unlabeled",
                    "Overall and per group, with confidence intervals",
                    "What the reviewers were exposed to"):
        assert heading in page.text
    numbers = json.loads((out / "metrics.json").read_text())
    assert "NaN" not in (out / "metrics.json").read_text()  # strict JSON: undefined is null
    assert set(numbers["representation"]["impression_sample"]) == {"creator_group", "market"}
    assert set(numbers["prevalence"]) == {"catalogue_curated", "impression_curated"}
    assert set(numbers["agreement"]) == set(numbers["labels"]) == {"catalogue_labels",
                                                                   "impression_labels"}
    # the demo leaves the last six units of every market unlabeled
    assert numbers["annotation"]["catalogue_curated"]["unlabeled"] == 6 * 10


def test_report_states_the_nonresponse_assumption_and_worst_case_bounds(audit, tmp_path):
    est = pd.read_csv(audit / "estimates.csv")
    est["worst_low"], est["worst_high"] = 0.01, 0.3
    est["assumption"] = "labels are missing at random within weighting cells of market"
    est.to_csv(tmp_path / "estimates.csv", index=False)
    report = build_report(ReportInputs(estimates=(tmp_path / "estimates.csv",)),
                          tmp_path / "report")
    html = report.html.read_text()
    assert "Nonresponse: labels are missing at random within weighting cells of market" in html
    # stated once above the table (not in every row of it), and repeated in the summary
    section = html.split("Overall and per group, with confidence intervals")[1]
    assert section.count("missing at random") == 1 and html.count("missing at random") == 2
    assert "<th>worst_low</th>" in html and "<th>assumption</th>" not in html
    numbers = json.loads(report.metrics.read_text())
    row = numbers["estimates"]["estimates"]["proportion"]["sensitive"]["SE"]
    assert (row["worst_low"], row["worst_high"]) == (0.01, 0.3)
