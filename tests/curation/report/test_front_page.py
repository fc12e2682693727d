"""The report as the audit's front page: the summary first (headline prevalence per label with
intervals, the change since the previous wave, the groups flagged after Benjamini–Hochberg, the
model's worth, the design and its caveats), one prevalence section, the change and trend
figures, the model vs people section; never "nan" or "None" before a reader; and it renders in
Chromium with nothing fetched beyond the file."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from curation.estimation import estimate_table, greg, hajek_mean, prediction_totals, recognise
from curation.estimation.alerts import benjamini_hochberg
from curation.estimation.change import change_table
from curation.estimation.inputs import load_sample
from curation.estimation.predictions import population_strata
from curation.report import ReportInputs
from curation.report.assembly import Builder
from curation.report.model import model_tables
from curation.report.waves import wave_change
from tests.cli import run

from .browser import render
from .conftest import curate
from .labels import simulated_labels

PRED = "sensitive=model_sensitive_simulated"
UNREADABLE = re.compile(r"(?i)\b(nan|none|inf)\b")


@pytest.fixture(scope="module")
def waves(demo, tmp_path_factory):
    """Wave B: the same catalogue sample (PRN-coordinated, every unit in both waves), labeled
    by the same simulated annotators after every SE item turned sensitive: a real change in
    market=SE and little elsewhere. The trend: A's and B's estimates as two versions."""
    d = tmp_path_factory.mktemp("waves")
    truth = pd.read_parquet(demo.truth).set_index("item_id")["sensitive"]
    cat = pd.read_parquet(demo.cat_sample)
    changed = truth.copy()
    changed[cat.loc[cat["market"] == "SE", "item_id"]] = True
    seen = pd.Series(changed.loc[cat["item_id"]].to_numpy(), index=cat["unit_id"])
    kept = cat.groupby("market").head(-6)["unit_id"].tolist()
    labels = pd.concat([simulated_labels(kept[::2], seen, per_unit=3, seed=1),
                        simulated_labels(kept[1::2], seen, per_unit=2, seed=2)])
    labels["annotation_id"] = range(1, len(labels) + 1)
    labels.to_parquet(d / "b_labels.parquet", index=False)
    curate("build", demo.cat_sample, d / "b_labels.parquet", "-o", d / "b_curated.parquet")
    rows = []
    for version, date, path in (("audit-v1", "2026-10-01", demo.cat_curated),
                                ("audit-v2", "2026-11-01", d / "b_curated.parquet")):
        df, manifest, _ = load_sample(path)
        t = estimate_table(df, ["sensitive"], domain="market", manifest=manifest)
        rows.append(t.assign(version=version, commit=version[-2:] + "abc", date=date))
    trend = pd.concat(rows)
    trend = trend[["version", "commit", "date",
                   *[c for c in trend.columns if c not in ("version", "commit", "date")]]]
    trend.to_csv(d / "trend.csv", index=False)
    return d


def args(demo, waves, out) -> list:
    return ["report", "--sample", demo.cat_sample, "--curated", waves / "b_curated.parquet",
            "--previous", demo.cat_curated, "--trend", waves / "trend.csv",
            "--pred-col", PRED, "--catalogue", demo.catalogue, "--group", "creator_group",
            "--labels", waves / "b_labels.parquet", "-o", out]


@pytest.fixture(scope="module")
def front(demo, waves, tmp_path_factory):
    out = tmp_path_factory.mktemp("front") / "report"
    code, text = run(*args(demo, waves, out))
    assert code == 0, text
    return out


def _text(html: str) -> str:
    html = re.sub(r'src="data:image/png;base64,[^"]*"', "", html)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_front_page_leads_with_the_answers(front, demo, waves):
    html = (front / "report.html").read_text()
    h2 = re.findall(r"<h2>([^<]+)</h2>", html)
    assert h2[0] == "In short"
    assert h2.count("How prevalent is sensitive content, and where?") == 1  # one section
    assert h2.index("How prevalent is sensitive content, and where?") == 1
    assert "Has it changed since the previous wave?" in h2
    assert any(h.startswith("How does the model compare with people?") for h in h2)
    assert h2[-1].startswith("How the sample was drawn")  # the design last
    first = _text(html.split("<h2>")[1])
    # headline prevalence per label with its interval, from the curated table
    assert re.search(r"sensitive: \d+\.\d\d% \(CI \d+\.\d\d%–\d+\.\d\d%; 2\d\d labeled units; "
                     r"b_curated\)", first)
    cats = first.split("per category (b_curated; CI in brackets): ")[1]
    for c in ("sexual_content", "violence", "misinformation"):
        assert re.match(rf".*\b{c} \d+\.\d\d% \(\d+\.\d\d%–\d+\.\d\d%\)", cats), c
    # the change overall, as change_table gives it
    df_a, m_a, _ = load_sample(demo.cat_curated)
    df_b, m_b, _ = load_sample(waves / "b_curated.parquet")
    c = change_table(df_a, m_a, df_b, m_b, ["sensitive"]).set_index("domain").loc["all"]
    assert (f"sensitive: {100 * c.estimate_a:.2f}% → {100 * c.estimate_b:.2f}% "
            f"({100 * c.difference:+.2f} pp, CI {100 * c.ci_low:+.2f} pp to "
            f"{100 * c.ci_high:+.2f} pp") in first
    # the flagged group, and no group whose change is noise
    flagged = re.findall(r"sensitive in ([^:]+): [+-]", first)
    assert "market=SE" in flagged and "market=US" not in flagged
    assert "audit date" in first and "version" in first and "stratified of 300 units" in first
    assert "the model (simulated demo-1) agrees with people" in first
    assert "human labels are worth" in first


def test_no_nan_or_none_reaches_a_reader(front):
    text = _text((front / "report.html").read_text())
    assert not UNREADABLE.findall(text), UNREADABLE.findall(text)[:5]
    for table in sorted((front / "tables").glob("*.csv")):
        found = UNREADABLE.findall(table.read_text())
        assert not found, (table.name, found[:5])
    metrics = (front / "metrics.json").read_text()
    assert "NaN" not in metrics and "Infinity" not in metrics
    numbers = json.loads(metrics)
    assert {"change", "trend", "model", "summary"} <= set(numbers)


def test_flags_are_benjamini_hochberg_over_every_change_tested(demo, waves):
    ctx = Builder(ReportInputs(curated=(waves / "b_curated.parquet",),
                               catalogue=demo.catalogue, groups=("creator_group",)),
                  waves / "unused")
    table = wave_change(ctx, demo.cat_curated, waves / "b_curated.parquet", 0.05)
    assert {"all", "market=SE", "creator_group=independent"} <= set(table["domain"])
    assert table["domain"].tolist().count("all") == table["y"].nunique()  # 'all' once per y
    np.testing.assert_array_equal(table["flagged"],
                                  benjamini_hochberg(table["p_value"].to_numpy(), 0.05))
    # each p-value agrees with the honest interval shown: below 5% exactly when it excludes 0
    excludes = (table["ci_low"] > 0) | (table["ci_high"] < 0)
    np.testing.assert_array_equal(table["p_value"] < 0.05, excludes)
    se = table.set_index(["y", "domain"]).loc[("sensitive", "market=SE")]
    assert se.flagged and se.difference > 0.5 and se.ci_low > 0
    assert se.se_difference == 0  # 0% → 100%: no design variance, yet flagged (its interval)
    assert (table["overlap_units"] > 0).all() and (table["coordination"] == "positive").all()


def test_model_vs_people_numbers_are_the_estimators(demo):
    ctx = Builder(ReportInputs(curated=(demo.cat_curated,), catalogue=demo.catalogue),
                  demo.d / "unused")
    confusion, side, notes = model_tables(ctx, demo.cat_curated,
                                          {"sensitive": "model_sensitive_simulated"})
    assert notes == []
    from curation.estimation.nonresponse import adjust, respondents

    df, manifest, _ = load_sample(demo.cat_curated)
    mask = respondents(df)
    resp = df.loc[mask]
    people, f = resp["sensitive"].astype(bool), resp["model_sensitive_simulated"]
    row = confusion.iloc[0]
    assert row.units == len(resp)
    assert row.people_yes_model_yes == int((people & (f >= 0.5)).sum())
    assert row.people_no_model_yes == int((~people & (f >= 0.5)).sum())
    assert row.model == "simulated demo-1"  # recorded in the catalogue's field metadata
    # labels saved: n × V_design / V_model with the GREG design calibrated to the catalogue
    design = adjust(recognise(df, manifest), mask)[0]
    y = df.loc[mask, "sensitive"].astype(float).to_numpy()
    fr = df.loc[mask, "model_sensitive_simulated"].to_numpy(float)
    cat = pq.read_table(demo.catalogue)
    N, F = prediction_totals(population_strata(cat, manifest, "catalogue"),
                             cat.column("model_sensitive_simulated").to_numpy(),
                             design.labels)
    plain, assisted = hajek_mean(design, y), hajek_mean(greg(design, fr, N, F), y)
    s = side.iloc[0]
    assert s.people_only == pytest.approx(plain.estimate, rel=1e-12)
    assert s.with_model == pytest.approx(assisted.estimate, rel=1e-12)
    assert s.effective_labels == pytest.approx(len(y) * plain.var / assisted.var, rel=1e-12)
    assert s.effective_labels > s.labels  # a good model is worth more labels than it has
    d = hajek_mean(design, (fr >= 0.5) - y)
    assert row.bias == pytest.approx(d.estimate, rel=1e-12)
    assert row.bias_ci_low < row.bias < row.bias_ci_high


def test_bad_inputs_are_one_line_errors_and_write_nothing(demo, waves, tmp_path):
    out = tmp_path / "r"
    base = ["report", "--curated", waves / "b_curated.parquet", "-o", out]
    for extra, code_want, words in (
            (["--pred-col", "sensitive"], 2, "is not Y=COL"),
            (["--pred-col", "sensitive=sensitive"], 2, "the model column is the label"),
            (["--pred-col", "sensitive=popularity"], 1, "have a prediction outside [0, 1]"),
            (["--pred-col", "sensitive=cat_violence"], 1, "is a label column, not a model's"),
            (["--pred-col", "severity=model_sensitive_simulated"], 1,
             "'severity' is not a 0/1 label field"),
            (["--previous", demo.cat_curated, "--previous", demo.cat_curated], 2,
             "more --previous than --curated"),
            (["--trend", demo.estimates], 1, "trend table lacks column(s) ['version']")):
        code, text = run(*base, *extra)
        assert code == code_want, text
        assert words in text and "Traceback" not in text, text
        assert not out.exists()


def test_predictions_missing_for_labeled_units_name_them_and_write_nothing(demo, tmp_path):
    frame, _, _ = load_sample(demo.cat_curated)
    frame["model_partial"] = frame["model_sensitive_simulated"]
    labeled = frame.index[frame["sensitive"].notna()][:3]
    frame.loc[labeled, "model_partial"] = np.nan
    frame.to_csv(tmp_path / "curated.csv", index=False)
    code, text = run("report", "--curated", tmp_path / "curated.csv", "--pred-col",
                     "sensitive=model_partial", "-o", tmp_path / "r")
    ids = frame.loc[labeled, "unit_id"].astype(str).tolist()
    assert code == 1 and "3 labeled unit(s) have no prediction" in text and ids[0] in text
    assert not (tmp_path / "r").exists()


def test_front_page_renders_in_chromium_summary_first_nothing_fetched(front, tmp_path):
    page = render(front / "report.html", screenshot=tmp_path / "shot.png")
    figures = sorted((front / "figures").glob("*.png"))
    assert len(page.images) == len(figures) > 0
    assert any(f.name.startswith("trend_") for f in figures)
    assert any(f.name.startswith("change_") for f in figures)
    assert all(i["complete"] and i["width"] > 0 for i in page.images), page.images
    assert page.console_errors == [] and page.page_errors == [] and page.failed_requests == []
    own = (front / "report.html").resolve().as_uri()
    assert [u for u in page.requests if u != own and not u.startswith("data:")] == []
    text = page.text
    assert text.index("In short") < text.index("How prevalent is sensitive content?") \
        < text.index("How prevalent is sensitive content, and where?") \
        < text.rindex("Has it changed since the previous wave?") \
        < text.index("How has it moved over the audit's versions?")


def test_population_after_the_samples_is_the_curated_tables(demo, tmp_path):
    """``--population`` beyond the ``--sample`` ones pairs with the ``--curated`` tables: the
    model-assisted estimate is calibrated to that population's predictions."""
    out = tmp_path / "r"
    code, text = run("report", "--curated", demo.cat_curated, "--population", demo.catalogue,
                     "--pred-col", PRED, "-o", out)
    assert code == 0, text
    numbers = json.loads((out / "metrics.json").read_text())
    e = numbers["model"]["catalogue_curated"]["estimates"]["sensitive"]
    assert e["with_model_ci_low"] <= e["with_model"] <= e["with_model_ci_high"]
    code, text = run("report", "--curated", demo.cat_curated, "--population", demo.catalogue,
                     "--population", demo.catalogue, "-o", tmp_path / "r2")
    assert code == 2 and "more --population than --sample and --curated" in text
