"""`curate validate` reports every problem at once, with the rows, and agrees with `sample`.

Both read a file or directory through one reader with one set of rules; a manifest's content
hash is checked, so an edited sample or curated dataset is not "valid".
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from tests.cli import run

from . import tables
from .refusal import error_line, refused
from .workspace import catalogue, with_column, write

HOSTILE = {"empty": "", "blank": "   ", "padded": " i004", "trailing-space": "i004 ",
           "nul": "i\x00004", "newline": "i\n004", "tab": "i\t004",
           "5000-characters": "x" * 5000}


def hostile_catalogue(value):
    ids = catalogue().column("item_id").to_pylist()
    ids[4] = value
    write(Path("h.parquet"), with_column(catalogue(), "item_id", ids))


@pytest.mark.parametrize("value", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_ids_are_refused_with_their_rows(work, value):
    hostile_catalogue(value)
    refused("validate", "catalogue", "h.parquet", names=["h.parquet", "item_id", "row 4"])


def test_a_hostile_unit_id_in_a_sample_is_refused_too(work):
    tables.edited("s.parquet", "unit_id", lambda v: v.__setitem__(2, "u\n2"))
    refused("validate", "sample", "s.parquet", names=["s.parquet", "unit_id", "row 2"])


def test_an_empty_catalogue_is_not_valid(work):
    write(Path("z.parquet"), catalogue().slice(0, 0))
    refused("validate", "catalogue", "z.parquet", names=["z.parquet", "no rows"])


def test_integer_ids_are_valid_ids(work):
    write(Path("ints.parquet"), with_column(catalogue(), "item_id", list(range(60)),
                                            pa.int64()))
    code, text = run("validate", "catalogue", "ints.parquet")
    assert code == 0, text


def test_a_type_error_does_not_hide_the_columns_other_problems(work):
    ids = [1.5] * 60
    ids[7] = None
    write(Path("f.parquet"), with_column(catalogue(), "item_id", ids, pa.float64()))
    line = refused("validate", "catalogue", "f.parquet", names=["f.parquet", "item_id"])
    assert "double" in line and "null" in line and "row 7" in line and "unique" in line, line


def test_every_problem_of_the_table_at_once(work):
    table = with_column(catalogue(), "item_type", ["track", "song"] * 30)
    table = with_column(table, "risk_score", [1.5] + [0.5] * 59)
    write(Path("m.parquet"), table.drop(["creator_id"]))
    refused("validate", "catalogue", "m.parquet",
            names=["creator_id", "item_type", "song", "risk_score", "row 0"])


# -- directories: one reader, one set of rules, for validate and sample -------------------------

DIRS = {
    "cast": ["b.parquet", "risk_score"],
    "large_string": ["b.parquet", "item_id"],
    "missing": ["b.parquet", "creator_id"],
    "extra": ["b.parquet", "creator_id"],
    "hive": ["market=SE", "market"],
}
VERBS = {"validate": ("validate", "catalogue", "dir"),
         "sample": ("sample", "dir", "-o", "o.parquet", "--n", 5)}


@pytest.mark.parametrize("verb", VERBS)
@pytest.mark.parametrize("kind", DIRS)
def test_a_directory_whose_files_disagree_is_refused_by_validate_and_sample(work, kind, verb):
    tables.parts(kind)
    refused(*VERBS[verb], names=DIRS[kind])


@pytest.mark.parametrize("kind", ["hive-ok"])
def test_validate_and_sample_accept_the_same_directories(work, kind):
    tables.parts(kind)
    code, text = run(*VERBS["validate"])
    assert code == 0, text
    assert "60 rows" in text
    code, text = run(*VERBS["sample"])
    assert code == 0, text


def test_the_same_message_from_validate_and_sample(work):
    tables.parts("cast")
    from .refusal import snapshot

    before = snapshot(work)
    one = error_line(*run(*VERBS["validate"]))
    two = error_line(*run(*VERBS["sample"]))
    assert one.split(": ", 1)[1] == two.split(": ", 1)[1]
    assert snapshot(work) == before


# -- content hashes ---------------------------------------------------------------------------

EDITS = {
    "pi-and-weight-edited": tables.halve_first_pi,
    "label-edited": tables.flip_first_label,
    "rows-dropped": tables.drop_rows,
    "rows-duplicated": tables.duplicate_rows,
}


@pytest.mark.parametrize("edit", EDITS.values(), ids=EDITS.keys())
def test_a_curated_dataset_edited_after_build_is_not_valid(work, edit):
    edit("cur.parquet")
    refused("validate", "curated", "cur.parquet", names=["cur.parquet"])


def test_a_sample_edited_after_it_was_drawn_is_not_valid(work):
    tables.halve_first_pi("s.parquet")
    refused("validate", "sample", "s.parquet", names=["s.parquet", "content hash"])


@pytest.mark.parametrize("args, names", [
    (("validate", "catalogue", "nosuch.parquet"), ["nosuch.parquet"]),
    (("validate", "catalogue", "notes.txt"), ["notes.txt"]),
    (("validate", "labels", "cat.parquet"), ["cat.parquet", "annotation_id"]),
    (("validate", "recommendations", "cat.parquet"), ["cat.parquet", "impression_id"]),
    (("validate", "nosuch", "cat.parquet"), ["nosuch"]),
], ids=["missing-file", "not-parquet", "catalogue-as-labels", "catalogue-as-recommendations",
        "unknown-kind"])
def test_validate_refuses_other_bad_input(work, args, names):
    refused(*args, names=names)


def test_a_valid_table_is_valid(work):
    for kind, name in (("catalogue", "cat.parquet"), ("sample", "s.parquet"),
                       ("curated", "cur.parquet"), ("labels", "labels.parquet")):
        code, text = run("validate", kind, name)
        assert code == 0, text


