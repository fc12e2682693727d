"""Labels are keyed by (server, project, annotation id): merging pulls without Label Studio."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from annotation.pull import _adopt, _arrow, _frame, export_rows, merge
from schemas.validate import validate_labels

KEY = b"k" * 32
CATS = ["violence"]


def task(tid, unit, annotations, overlap=1):
    return {"id": tid, "data": {"unit_id": unit}, "overlap": overlap,
            "annotations": [{"id": aid, "completed_by": 1, "result": result,
                             "created_at": "2026-03-01T10:00:00Z", "updated_at": updated,
                             "lead_time": 3.0, "was_cancelled": False}
                            for aid, result, updated in annotations]}


YES = [{"from_name": "sensitive", "type": "choices", "value": {"choices": ["yes"]}}]
SHOWN = [{"from_name": "reveal", "type": "choices", "value": {"choices": ["Show the content"]}}]


def frame(tasks, server, project="audit"):
    rows, _ = export_rows(tasks, project, "review", CATS, KEY, server)
    return _frame(rows, CATS)


def test_the_same_ids_from_another_server_are_new_annotations_not_edits():
    t1 = "2026-03-01T10:00:00Z"
    here = frame([task(1, "u1", [(10, YES, t1)]), task(2, "u2", [(11, YES, t1)])], "ls-here")
    there = frame([task(1, "u3", [(10, YES, "2026-03-02T10:00:00Z")]),
                   task(2, "u4", [(11, SHOWN, "2026-03-02T10:00:00Z")])], "ls-there")
    table, added, edits = merge(here, there)
    assert (added, edits) == (2, 0) and len(table) == 4
    again, added, edits = merge(table, there)
    assert (added, edits) == (0, 0)
    edited = frame([task(1, "u3", [(10, SHOWN, "2026-03-03T10:00:00Z")])], "ls-there")
    assert merge(table, edited)[1:] == (1, 1)


def test_rows_pulled_before_the_server_was_recorded_are_adopted_by_their_server():
    t1 = "2026-03-01T10:00:00Z"
    new = frame([task(1, "u1", [(10, YES, t1)], overlap=2)], "ls-here")
    old = new.drop(columns=["server", "planned_votes"])
    foreign = old.assign(unit_id="u9")  # the same id on another unit: not this annotation
    adopted, n = _adopt(pd.concat([old, foreign], ignore_index=True), new)
    assert n == 1 and adopted["server"].tolist()[0] == "ls-here"
    assert pd.isna(adopted["server"].tolist()[1])
    table, added, edits = merge(adopted, new)
    assert (added, edits) == (0, 0)


def test_no_annotation_yet_gives_an_empty_valid_labels_table():
    empty = _arrow(merge(None, frame([], "ls-here"))[0])
    validate_labels(empty)
    assert empty.num_rows == 0
    assert empty.schema.field("unit_id").type in (pa.string(), pa.large_string())
    assert str(empty.schema.field("sensitive").type) == "bool"


def test_an_undecided_annotation_is_pulled_as_null_with_its_planned_votes():
    f = frame([task(1, "u1", [(10, SHOWN, "2026-03-01T10:00:00Z")], overlap=3)], "ls-here")
    assert pd.isna(f.loc[0, "sensitive"]) and f.loc[0, "planned_votes"] == 3
    validate_labels(_arrow(f))
