"""Agreement measures: textbook values, and what counts as a rating."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from annotation.agreement import agreement, cohen_kappa, krippendorff_alpha, summary

NA = np.nan
# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", the 4 observers × 12 units
# example with missing values: nominal alpha = 0.743, interval alpha = 0.849.
KRIPPENDORFF_2011 = np.array([
    [1, 2, 3, 3, 2, 1, 4, 1, 2, NA, NA, NA],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NA, 3],
    [NA, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NA],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NA],
])


def test_krippendorff_textbook_values():
    assert krippendorff_alpha(KRIPPENDORFF_2011, "nominal") == pytest.approx(0.743, abs=5e-4)
    assert krippendorff_alpha(KRIPPENDORFF_2011, "interval") == pytest.approx(0.849, abs=5e-4)


def test_cohen_kappa_textbook_value():
    # 50 items: both yes 20, A yes B no 5, A no B yes 10, both no 15 → po 0.7, pe 0.5, κ 0.4
    a = np.array([1] * 25 + [0] * 25)
    b = np.array([1] * 20 + [0] * 5 + [1] * 10 + [0] * 15)
    assert cohen_kappa(a, b) == pytest.approx(0.4)


def test_undefined_when_only_one_value_occurs():
    assert np.isnan(krippendorff_alpha(np.array([[1, 1, 1], [1, 1, NA]])))
    assert np.isnan(cohen_kappa(np.array([0, 0]), np.array([0, 0])))


def labels(rows):
    base = dict(skipped=False, unsure=False, severity=None, stage="review",
                updated_at=pd.Timestamp("2026-01-01", tz="UTC"))
    return pd.DataFrame([{**base, **r} for r in rows])


def test_skipped_unsure_and_old_versions_are_not_ratings():
    rows = []
    truth = [1, 0, 1, 1, 0, 0, 1, 0]
    for i, t in enumerate(truth):
        rows.append(dict(unit_id=f"u{i}", annotation_id=100 + i, annotator="a", sensitive=t))
        rows.append(dict(unit_id=f"u{i}", annotation_id=200 + i, annotator="b", sensitive=t))
    # noise that must not count: b's skip and unsure on u0, a superseded version of a on u1
    rows.append(dict(unit_id="u0", annotation_id=300, annotator="c", sensitive=0, skipped=True))
    rows.append(dict(unit_id="u0", annotation_id=301, annotator="d", sensitive=0, unsure=True))
    rows[2] = {**rows[2], "sensitive": 1, "updated_at": pd.Timestamp("2025-12-31", tz="UTC")}
    rows.append({**rows[2], "sensitive": 0})  # the newer version agrees with b
    table = agreement(labels(rows), categories=[], min_common=1)
    row = table[(table["field"] == "sensitive") & (table["measure"] == "alpha")].iloc[0]
    assert row["value"] == pytest.approx(1.0) and row["n_units"] == len(truth)
    kappas = table[table["measure"] == "kappa"]
    assert kappas[["annotator_a", "annotator_b"]].values.tolist() == [["a", "b"]]
    assert kappas["value"].iloc[0] == pytest.approx(1.0)


def test_alpha_of_a_labels_table_is_that_of_its_matrix():
    rng = np.random.default_rng(4)
    truth = rng.random(120) < 0.3
    rows = []
    for j, name in enumerate(("a", "b", "c")):
        flips = rng.random(120) < 0.15
        for i in range(120):
            if (i + j) % 4 == 0:
                continue  # not every annotator rates every unit
            rows.append(dict(unit_id=f"u{i:03d}", annotation_id=1000 * j + i, annotator=name,
                             sensitive=bool(truth[i] ^ flips[i])))
    frame = labels(rows)
    grid = frame.pivot(index="annotator", columns="unit_id", values="sensitive").astype(float)
    table = agreement(frame, categories=[], min_common=5)
    alpha = table.query("field == 'sensitive' and measure == 'alpha'")["value"].iloc[0]
    assert alpha == pytest.approx(krippendorff_alpha(grid.to_numpy()))
    assert 0.4 < alpha < 0.8  # 15% flips on a 30% prevalence: moderate agreement
    s = summary(table)
    assert s.loc["sensitive", "pairs"] == 3
    assert s.loc["sensitive", "kappa_min"] <= s.loc["sensitive", "kappa_mean"] \
        <= s.loc["sensitive", "kappa_max"]


def test_severity_counts_only_where_both_called_it_sensitive():
    rows = []
    for i in range(10):
        rows.append(dict(unit_id=f"u{i}", annotation_id=i, annotator="a", sensitive=True,
                         severity=1 + i % 3))
        rows.append(dict(unit_id=f"u{i}", annotation_id=50 + i, annotator="b",
                         sensitive=i < 6, severity=(1 + i % 3) if i < 6 else None))
    table = agreement(labels(rows), categories=[], min_common=1)
    sev = table.query("field == 'severity' and measure == 'kappa'").iloc[0]
    assert sev["n_units"] == 6 and sev["value"] == pytest.approx(1.0)


def test_only_units_with_two_counted_votes_count_and_the_basis_is_shown():
    from annotation.agreement import coverage

    rows = []
    for i in range(6):  # u0..u5 rated by a and b; u6..u9 by a alone; u10 by b without decision
        rows.append(dict(unit_id=f"u{i}", annotation_id=i, annotator="a", sensitive=i % 2 == 0))
        rows.append(dict(unit_id=f"u{i}", annotation_id=100 + i, annotator="b",
                         sensitive=i % 3 == 0))
    for i in range(6, 10):
        rows.append(dict(unit_id=f"u{i}", annotation_id=i, annotator="a", sensitive=True))
    rows.append(dict(unit_id="u10", annotation_id=110, annotator="b", sensitive=None))
    rows.append(dict(unit_id="u0", annotation_id=200, annotator="c", sensitive=None))
    frame = labels(rows)
    table = agreement(frame, categories=[], min_common=1)
    alpha = table.query("field == 'sensitive' and measure == 'alpha'").iloc[0]
    assert alpha["n_units"] == 6 and alpha["n_ratings"] == 12
    assert summary(table).loc["sensitive", "ratings"] == 12
    assert coverage(frame) == {"units_with_votes": 10, "units": 6, "ratings": 12,
                               "no_decision": 2, "skipped_or_unsure": 0}


def test_agreement_cli_says_why_when_no_unit_qualifies(tmp_path):
    import pyarrow as pa

    from schemas.io import write_parquet
    from tests.cli import run

    rows = [dict(unit_id=f"u{i}", annotation_id=i, annotator="a", sensitive=bool(i % 2),
                 created_at=pd.Timestamp("2026-01-01", tz="UTC"), lead_time_s=1.0)
            for i in range(5)]
    path = tmp_path / "labels.parquet"
    write_parquet(path, pa.Table.from_pandas(labels(rows), preserve_index=False))
    code, text = run("agreement", str(path))
    assert code == 0, text
    assert "no unit has two or more counted votes" in text and "5 unit(s) with one" in text
