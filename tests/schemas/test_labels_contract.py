"""The label contract: types, allowed values, booleans that are booleans; the counted-vote rule."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from schemas import SchemaError, validate_labels
from schemas.labels import counted, no_decision
from schemas.tables import ADJUDICATIONS, CONTRACTS

T0 = pd.Timestamp("2026-03-01", tz="UTC")


def labels(**over) -> pd.DataFrame:
    n = 3
    cols = {"unit_id": ["u1", "u2", "u3"], "annotation_id": [1, 2, 3],
            "annotator": ["a"] * n, "created_at": [T0] * n, "updated_at": [T0] * n,
            "lead_time_s": [1.0] * n, "project": ["p"] * n, "stage": ["review"] * n,
            "sensitive": pd.array([True, False, None], dtype="boolean"),
            "cat_violence": [True, False, False],
            "severity": pd.array([2, None, None], dtype="Int64"),
            "unsure": [False] * n, "skipped": [False] * n}
    cols.update(over)
    return pd.DataFrame(cols)


def test_a_pulled_labels_table_passes_with_an_undecided_annotation():
    validate_labels(labels())
    # every `sensitive` null (Arrow type null): still a labels table, of no votes
    t = pa.Table.from_pandas(labels(sensitive=[None] * 3), preserve_index=False)
    assert pa.types.is_null(t.schema.field("sensitive").type)
    validate_labels(t)


@pytest.mark.parametrize("over, needles", [
    ({"sensitive": ["yes", "no", "no"]},
     ["column 'sensitive' has type", "expected boolean", "'yes'", "rows 0, 1, 2"]),
    ({"severity": pd.array([0, 4, None], dtype="Int64")},
     ["column 'severity': 2 value(s) outside [1, 3] at rows 0, 1"]),
    ({"unsure": ["false", "true", "false"]}, ["column 'unsure' has type", "expected boolean"]),
    ({"cat_violence": ["x", None, None]}, ["column 'cat_violence' has type", "at row 0"]),
    ({"stage": ["review", "reviewer", "review"]}, ["column 'stage'", "'reviewer'", "row 1"]),
    ({"skipped": [False, None, False]}, ["column 'skipped': 1 null value(s) at row 1"]),
])
def test_bad_label_fields_are_named_with_their_rows(over, needles):
    with pytest.raises(SchemaError) as err:
        validate_labels(labels(**over), source="labels.parquet")
    msg = str(err.value)
    assert msg.startswith("labels.parquet: ") and "\n" not in msg
    for needle in needles:
        assert needle in msg, msg


def test_missing_label_fields_are_named():
    with pytest.raises(SchemaError, match=r"lacks column\(s\) \['unsure'\]"):
        validate_labels(labels().drop(columns="unsure"))


def test_the_same_annotation_id_on_two_servers_is_not_a_duplicate():
    two = labels(annotation_id=[7, 7, 8], server=["ls-a", "ls-b", "ls-a"])
    validate_labels(two)
    with pytest.raises(SchemaError, match="must be unique"):
        validate_labels(labels(annotation_id=[7, 7, 8], server=["ls-a", "ls-a", "ls-a"]))


def test_a_counted_vote_is_not_skipped_not_unsure_and_decided():
    f = pd.DataFrame({"sensitive": pd.array([True, False, None, True, False], dtype="boolean"),
                      "unsure": [False, False, False, True, False],
                      "skipped": [False, False, False, False, True]})
    assert counted(f).tolist() == [True, True, False, False, False]
    assert no_decision(f).tolist() == [False, False, True, False, False]


def test_incomplete_is_an_adjudication_of_the_curated_contract():
    assert "incomplete" in ADJUDICATIONS
    assert "incomplete" in CONTRACTS["curated"].column("adjudication").choices
