"""`curate build`: the curated table of a sample and its labels (DESIGN §3)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from curation.cli.main import cli
from curation.curated import build_curated
from samplers import StratifiedSampler
from schemas import SchemaError, content_hash, read_manifest, validate
from schemas.labels import DEFAULT_CATEGORIES


@pytest.fixture
def sample_path(tmp_path):
    pop = pd.DataFrame({"item_id": [f"i{k:03d}" for k in range(300)],
                        "market": ["SE"] * 100 + ["BR"] * 200,
                        "popularity": np.linspace(0, 1, 300)})
    path = tmp_path / "sample.parquet"
    StratifiedSampler(n=30, seed=3, strata=["market"]).sample(pop).write(path)
    return path


def annotation(unit, aid, sensitive, *, annotator="a1", stage="review", skipped=False,
               unsure=False, severity=None, violence=False, **extra):
    row = dict(unit_id=unit, annotation_id=aid, annotator=annotator,
               created_at=pd.Timestamp("2026-03-01", tz="UTC"),
               updated_at=pd.Timestamp("2026-03-01", tz="UTC") + pd.Timedelta(seconds=aid),
               lead_time_s=4.0, sensitive=sensitive, unsure=unsure, skipped=skipped,
               severity=severity, note=None, project="audit", stage=stage)
    row.update({f"cat_{c}": False for c in DEFAULT_CATEGORIES})
    row["cat_violence"] = violence
    return {**row, **extra}


def write_labels(path, rows):
    frame = pd.DataFrame(rows)
    frame["severity"] = frame["severity"].astype("Int64")
    frame["note"] = frame["note"].astype("string")
    if frame["sensitive"].map(lambda v: v is None or isinstance(v, bool)).all():
        frame["sensitive"] = frame["sensitive"].astype("boolean")
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    return path


def units_of(sample_path):
    t = pq.read_table(sample_path)
    return t.column("unit_id").to_pylist(), t.column("stratum").to_pylist()


def test_one_row_per_unit_with_final_labels_and_explicit_nonresponse(sample_path, tmp_path):
    units, strata = units_of(sample_path)
    se = [u for u, s in zip(units, strata, strict=True) if s == "SE"]
    br = [u for u, s in zip(units, strata, strict=True) if s == "BR"]
    rows = [annotation(se[0], 1, True, severity=3, violence=True),
            annotation(se[0], 2, True, annotator="a2", severity=2, violence=True),
            annotation(se[1], 3, True), annotation(se[1], 4, False, annotator="a2"),  # tie
            annotation(br[0], 5, False), annotation(br[0], 6, False, annotator="a2"),
            annotation(br[0], 7, True, annotator="a3", severity=1),
            annotation(br[1], 8, False, skipped=True)]                   # only a skip
    labels = write_labels(tmp_path / "labels.parquet", rows)
    cur = build_curated(sample_path, labels)
    t = validate(cur.table, "curated")
    assert t.column("unit_id").to_pylist() == units  # every unit, in sample order
    frame = t.to_pandas().set_index("unit_id")
    assert frame.loc[se[0], "adjudication"] == "unanimous" and frame.loc[se[0], "sensitive"]
    assert frame.loc[se[0], "cat_violence"] and frame.loc[se[0], "severity"] == 3
    assert frame.loc[se[0], "n_annotations"] == 2 and frame.loc[se[0], "agreement"] == 1.0
    assert frame.loc[se[1], "adjudication"] == "unresolved" and pd.isna(
        frame.loc[se[1], "sensitive"])
    assert frame.loc[br[0], "adjudication"] == "majority"
    assert frame.loc[br[0], "agreement"] == pytest.approx(2 / 3)
    assert frame.loc[br[1], "adjudication"] == "unresolved"
    others = frame.drop(index=[se[0], se[1], br[0], br[1]])
    assert (others["adjudication"] == "unlabeled").all()
    assert (others["n_annotations"] == 0).all() and others["agreement"].isna().all()
    assert others["sensitive"].isna().all()
    report = cur.nonresponse.set_index("stratum")
    n_se, n_br = len(se), len(br)
    assert report.loc["SE", ["units", "final", "unresolved", "unlabeled"]].tolist() == \
        [n_se, 1, 1, n_se - 2]
    assert report.loc["BR", ["units", "final", "unresolved", "unlabeled"]].tolist() == \
        [n_br, 1, 1, n_br - 2]
    assert report.loc["SE", "missing_share"] == pytest.approx((n_se - 1) / n_se, abs=1e-6)
    # sample columns and design columns carried through untouched
    sample = pq.read_table(sample_path)
    for name in sample.column_names:
        assert t.column(name).equals(sample.column(name))


def test_manifest_records_both_inputs_and_its_own_hash(sample_path, tmp_path):
    units, _ = units_of(sample_path)
    labels = write_labels(tmp_path / "labels.parquet", [annotation(units[0], 1, False)])
    out = tmp_path / "curated.parquet"
    code = CliRunner().invoke(cli, ["build", str(sample_path), str(labels), "-o", str(out)])
    assert code.exit_code == 0, code.output
    assert "without a final label: 29 of 30 units" in code.output
    m = read_manifest(out)
    stored = pq.read_table(out)
    assert m.kind == "curated" and m.content_hash == content_hash(
        stored.replace_schema_metadata(None))
    sample_m = read_manifest(sample_path)
    assert m.inputs["sample"]["manifest"]["content_hash"] == sample_m.content_hash
    assert m.inputs["sample"]["path"] == str(sample_path)
    assert m.inputs["labels"]["rows"] == 1 and len(m.inputs["labels"]["content_hash"]) == 64
    assert m.design == sample_m.design and m.allocation == sample_m.allocation
    assert m.inputs["categories"] == list(DEFAULT_CATEGORIES)
    again = build_curated(sample_path, labels)
    assert again.manifest.content_hash == m.content_hash  # deterministic


def test_empty_labels_give_an_all_unlabeled_table(sample_path, tmp_path):
    units, _ = units_of(sample_path)
    labels = write_labels(tmp_path / "l.parquet", [annotation(units[0], 1, True)])
    t = pq.read_table(labels)
    pq.write_table(t.slice(0, 0), labels)
    cur = build_curated(sample_path, labels)
    assert set(cur.table.column("adjudication").to_pylist()) == {"unlabeled"}
    assert cur.nonresponse["missing_share"].eq(1.0).all()


@pytest.mark.parametrize("problem, message", [
    ("stray", "labeled unit_id(s) are not in the sample"),
    ("no_field", "lacks column(s) ['unsure']"),
    ("tampered", "does not match its manifest's content hash"),
])
def test_bad_inputs_are_one_line_errors_and_write_nothing(sample_path, tmp_path, problem,
                                                          message):
    units, _ = units_of(sample_path)
    rows = [annotation(units[0], 1, True)]
    if problem == "stray":
        rows.append(annotation("not-sampled", 2, True))
    labels = write_labels(tmp_path / "labels.parquet", rows)
    if problem == "no_field":
        pq.write_table(pq.read_table(labels).drop_columns(["unsure"]), labels)
    if problem == "tampered":
        t = pq.read_table(sample_path)
        pq.write_table(t.slice(1).replace_schema_metadata(t.schema.metadata), sample_path)
    out = tmp_path / "curated.parquet"
    result = CliRunner().invoke(cli, ["build", str(sample_path), str(labels), "-o", str(out)])
    assert result.exit_code == 1 and message in result.output, result.output
    assert result.output.startswith("Error: ") and result.output.count("\n") == 1
    assert not out.exists()
    with pytest.raises(SchemaError):
        build_curated(sample_path, labels)


def build(*args):
    result = CliRunner().invoke(cli, ["build", *map(str, args)])
    return result.exit_code, result.output


def test_annotations_without_a_decision_are_no_votes_never_negatives(sample_path, tmp_path):
    units, _ = units_of(sample_path)
    # "Show the content" ticked and submitted, nothing decided: sensitive is null everywhere
    rows = [annotation(units[0], 1, None), annotation(units[0], 2, None, annotator="a2"),
            annotation(units[1], 3, None), annotation(units[2], 4, True, violence=True),
            annotation(units[2], 5, None, annotator="a2")]
    labels = write_labels(tmp_path / "labels.parquet", rows)
    out = tmp_path / "curated.parquet"
    code, text = build(sample_path, labels, "-o", out)
    assert code == 0, text
    frame = pq.read_table(out).to_pandas().set_index("unit_id")
    assert (frame.loc[[units[0], units[1]], "adjudication"] == "unresolved").all()
    assert frame.loc[[units[0], units[1]], "sensitive"].isna().all()
    assert frame.loc[units[2], "sensitive"] and frame.loc[units[2], "n_annotations"] == 1
    assert "4 without a decision" in text and "1 counted of 5 annotations" in text
    # every annotation undecided: no unit is a negative, no unit is unanimous
    all_null = write_labels(tmp_path / "null.parquet",
                            [annotation(u, i, None) for i, u in enumerate(units[:10])])
    cur = build_curated(sample_path, all_null).table.to_pandas()
    assert not cur["adjudication"].isin(["unanimous", "majority"]).any()
    assert cur["sensitive"].isna().all()


def test_fewer_votes_than_planned_is_incomplete(sample_path, tmp_path):
    units, _ = units_of(sample_path)
    rows = [annotation(units[0], 1, False, planned_votes=2),            # 1 of 2
            annotation(units[1], 2, True, planned_votes=2, violence=True, severity=2),
            annotation(units[1], 3, True, annotator="a2", planned_votes=2, violence=True,
                       severity=2),                                       # 2 of 2
            annotation(units[2], 4, False, planned_votes=1)]             # 1 of 1
    labels = write_labels(tmp_path / "labels.parquet", rows)
    out = tmp_path / "curated.parquet"
    code, text = build(sample_path, labels, "-o", out)
    assert code == 0, text
    frame = validate(pq.read_table(out), "curated").to_pandas().set_index("unit_id")
    assert frame.loc[units[0], "adjudication"] == "incomplete"
    assert frame.loc[units[0], "sensitive"] == False  # noqa: E712 (a respondent, its vote)
    assert frame.loc[units[1], "adjudication"] == "unanimous"
    assert frame.loc[units[2], "adjudication"] == "unanimous"
    assert "1 unit(s) incomplete" in text
    report = build_curated(sample_path, labels).nonresponse
    assert report["incomplete"].sum() == 1
    assert report["final"].sum() == 3  # incomplete units are respondents
    # --votes: every unit planned for at least that many
    code, text = build(sample_path, labels, "-o", out, "--votes", 2)
    assert code == 0 and "2 unit(s) incomplete" in text
    assert read_manifest(out).inputs["votes"] == 2


@pytest.mark.parametrize("verb", ["build", "agreement", "report"])
def test_a_labels_file_breaking_the_label_contract_is_a_one_line_error(sample_path, tmp_path,
                                                                       verb):
    units, _ = units_of(sample_path)
    rows = [annotation(units[0], 1, "yes"), annotation(units[1], 2, "no"),
            annotation(units[2], 3, True)]
    rows[2]["sensitive"] = "yes"
    labels = write_labels(tmp_path / "labels.parquet", rows)
    out = tmp_path / "out"
    args = {"build": ["build", sample_path, labels, "-o", out / "c.parquet"],
            "agreement": ["agreement", labels, "-o", out / "a.csv"],
            "report": ["report", "--labels", labels, "-o", out]}[verb]
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {labels}: "), result.output
    assert "column 'sensitive'" in lines[0] and "expected boolean" in lines[0]
    assert "rows 0, 1, 2" in lines[0] and "Traceback" not in result.output
    assert not out.exists()
