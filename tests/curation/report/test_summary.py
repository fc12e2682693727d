"""The report leads with the answer: the first section states date, version, headline
prevalence with its interval, the representation gaps that exclude parity and the caveats, from
the same numbers as the sections below; a reader never meets "nan"."""

from __future__ import annotations

import json
import re
import subprocess

import pandas as pd
import pytest

from curation.report import ReportInputs, build_report

from .test_report import audit  # noqa: F401 (the shared audit fixture)


@pytest.fixture
def estimates(audit, tmp_path):  # noqa: F811
    rows = [("proportion", "sensitive", "all", 0.031, 0.008, 0.017, 0.052, 150),
            ("proportion", "sensitive", "market=US", 0.02, 0.01, 0.005, 0.05, 50),
            ("proportion", "sensitive", "market=IS", 0.09, 0.05, 0.02, 0.3, 7),
            ("nonresponse_rate", "", "all", 0.1, None, None, None, 150)]
    frame = pd.DataFrame(rows, columns=["metric", "y", "domain", "estimate", "se", "ci_low",
                                        "ci_high", "n"])
    frame["assumption"] = ["missing at random within strata"] * 3 + [None]
    path = tmp_path / "estimates.csv"
    frame.to_csv(path, index=False)
    return path


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


def test_the_first_section_is_the_answer(audit, estimates, tmp_path):  # noqa: F811
    report = build_report(ReportInputs(samples=(audit / "sample.parquet",),
                                       curated=(audit / "curated.parquet",),
                                       estimates=(estimates,)), tmp_path / "r")
    html = report.html.read_text()
    headings = re.findall(r"<h2>([^<]+)</h2>", html)
    assert headings[0] == "In short"
    first = html.split("<h2>")[1]
    assert "sensitive: 3.10% (CI 1.70%–5.20%; 150 labeled units; estimates)" in first
    assert "highest in market=IS: 9.00% (CI 2.00%–30.00%)" in first
    assert "15 of 150 units have no final label yet (10.00%)" in first
    assert "nonresponse (estimates): missing at random within strata" in first
    assert "1 domain(s) with fewer than 10 labeled units" in first and "market=IS" in first
    assert "audit date" in first and "version" in first
    numbers = json.loads(report.metrics.read_text())["summary"]
    assert numbers["headlines"][0].startswith("sensitive: 3.10%")
    assert "nan" not in _text(html).lower().split()
    assert "share of units without a final label" in html  # not "nonresponse_rate of"


def test_representation_gaps_name_only_groups_whose_interval_excludes_parity(tmp_path):
    from curation.report.summary import _gaps

    numbers = {"representation": {"imp": {"creator_group": {
        "major": {"ratio": 1.98, "ratio_ci_low": 1.59, "ratio_ci_high": 2.47},
        "indie": {"ratio": 0.90, "ratio_ci_low": 0.72, "ratio_ci_high": 1.13},
        "self": {"ratio": 0.35, "ratio_ci_low": 0.20, "ratio_ci_high": 0.63}}}}}
    gaps = _gaps(numbers)
    assert gaps == ["creator_group=self: 0.35× its catalogue share in recommendations "
                    "(CI 0.20–0.63)",
                    "creator_group=major: 1.98× its catalogue share in recommendations "
                    "(CI 1.59–2.47)"]


def test_the_version_is_the_tag_and_commit_of_the_audit_repository(audit, estimates,  # noqa: F811
                                                                   tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t.invalid"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "audit"], check=True)
    subprocess.run([*git, "tag", "audit-v3"], check=True)
    commit = subprocess.run([*git, "rev-parse", "--short", "HEAD"], check=True,
                            capture_output=True, text=True).stdout.strip()
    report = build_report(ReportInputs(estimates=(estimates,)), repo / "data" / "reports")
    assert f"audit-v3 (commit {commit})" in report.html.read_text()  # folders made by it
