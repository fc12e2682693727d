"""Annotation progress and agreement from a labels table: counts of the latest versions per
annotator, Krippendorff's alpha and Cohen's kappa computed by hand, one-line errors."""

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from curation.cli.main import cli
from curation.report import ReportInputs, build_report

from .labels import label_rows

A = [True, True, True, False, False, False]
B = [True, True, False, False, False, True]


@pytest.fixture
def labels(tmp_path):
    """Two annotators on six units (A and B above), a third who skipped one unit and was
    unsure of another, and an earlier version of A's last annotation (edited since)."""
    votes = [(f"u{k + 1}", who, v) for who, row in (("ann_a", A), ("ann_b", B))
             for k, v in enumerate(row)]
    votes += [("u1", "ann_c", "skip"), ("u2", "ann_c", "unsure")]
    frame = label_rows(votes)
    edit = frame.iloc[[5]].assign(sensitive=True, cat_sexual_content=True, severity=3,
                                  updated_at=frame["updated_at"].iloc[5] - pd.Timedelta("1h"))
    path = tmp_path / "labels.parquet"
    pd.concat([frame, edit]).to_parquet(path, index=False)
    return path


def test_progress_counts_latest_versions_skips_and_unsure(labels, tmp_path):
    numbers = build_report(ReportInputs(labels=(labels,)), tmp_path / "r").numbers
    got = numbers["labels"]["labels"]
    assert {k: got[k] for k in ("versions", "annotations", "annotators", "units",
                                "units_with_overlap", "counted", "skipped", "unsure")} == {
        "versions": 15, "annotations": 14, "annotators": 3, "units": 6,
        "units_with_overlap": 6, "counted": 12, "skipped": 1, "unsure": 1}
    assert got["by_annotator"]["ann_a"] == {"annotations": 6, "units": 6, "counted": 6,
                                            "unsure": 0, "skipped": 0}
    assert got["by_annotator"]["ann_c"] == {"annotations": 2, "units": 2, "counted": 0,
                                            "unsure": 1, "skipped": 1}


def test_agreement_by_hand(labels, tmp_path):
    out = tmp_path / "r"
    build_report(ReportInputs(labels=(labels,)), out)
    agreement = json.loads((out / "metrics.json").read_text())["agreement"]["labels"]
    # 4 of 6 units agree, each annotator says yes to half: kappa = (2/3 - 1/2) / (1 - 1/2)
    # alpha (nominal): D_o = 4/12 disagreeing pairable values, D_e = 2·6·6/(12·11) → 7/18
    sensitive = agreement["sensitive"]
    assert sensitive["kappa_mean"] == pytest.approx(1 / 3)
    assert sensitive["kappa_min"] == sensitive["kappa_max"] == sensitive["kappa_mean"]
    assert sensitive["alpha"] == pytest.approx(7 / 18)
    assert sensitive["units"] == 6 and sensitive["pairs"] == 1
    assert agreement["cat_sexual_content"]["alpha"] == pytest.approx(7 / 18)
    # every rating the same value: undefined, written as null rather than hidden
    assert agreement["cat_violence"]["alpha"] is None
    assert agreement["severity"]["alpha"] is None
    table = pd.read_csv(out / "tables" / "agreement_labels.csv")
    assert {"field", "alpha", "kappa_mean", "kappa_min", "kappa_max"} <= set(table.columns)
    assert {p.name for p in (out / "figures").iterdir()} == {"labels_agreement.png",
                                                             "labels_annotators.png"}


@pytest.mark.parametrize("drop, message", [
    ("skipped", "labels table lacks column(s) ['skipped']"),
    ("annotator", "annotator"),
])
def test_a_labels_file_missing_columns_is_a_one_line_error(labels, tmp_path, drop, message):
    bad = tmp_path / "bad.parquet"
    pd.read_parquet(labels).drop(columns=drop).to_parquet(bad, index=False)
    result = CliRunner().invoke(cli, ["report", "--labels", str(bad), "-o", str(tmp_path / "r")])
    assert result.exit_code == 1, result.output
    assert result.output.startswith(f"Error: {bad}") and message in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


def test_exposure_per_annotator_counts_what_each_judged_sensitive(labels, tmp_path):
    frame = pd.read_parquet(labels)
    late = frame[frame["annotator"] == "ann_b"].index[:2]  # two of B's days later, severe
    frame.loc[late, "created_at"] += pd.Timedelta("1D")
    frame.loc[late, "severity"] = 3
    frame.to_parquet(labels, index=False)
    out = tmp_path / "r"
    numbers = build_report(ReportInputs(labels=(labels,)), out).numbers
    seen = numbers["exposure"]["labels"]
    assert seen["ann_a"] == {"tasks": 6, "days": 1, "sensitive": 3, "high_severity": 0,
                             "busiest_day": 3}
    assert seen["ann_b"] == {"tasks": 6, "days": 2, "sensitive": 3, "high_severity": 2,
                             "busiest_day": 2}
    assert seen["ann_c"] == {"tasks": 2, "days": 1, "sensitive": 0, "high_severity": 0,
                             "busiest_day": 0}
    table = pd.read_csv(out / "tables" / "exposure_labels.csv").set_index("annotator")
    assert table.loc["ann_a", "cat_sexual_content"] == 3
    assert table.loc["ann_a", "cat_violence"] == 0
    assert "What the reviewers were exposed to" in (out / "report.html").read_text()
