"""`curate build` and `curate report`: inputs that are not what they claim are refused."""

from __future__ import annotations

import pytest

from . import tables
from .refusal import refused

BUILD = ("build", "s.parquet", "labels.parquet", "-o", "c.parquet")


def test_build_refuses_a_sample_edited_after_it_was_drawn(work):
    tables.halve_first_pi("s.parquet")
    refused(*BUILD, names=["s.parquet"])


def test_build_refuses_labels_of_another_sample(work):
    refused("build", "s2.parquet", "labels.parquet", "-o", "c.parquet",
            names=["labels.parquet", "s2.parquet"])


@pytest.mark.parametrize("args, names", [
    (("build", "cat.parquet", "labels.parquet", "-o", "c.parquet"), ["cat.parquet"]),
    (("build", "cur.parquet", "labels.parquet", "-o", "c.parquet"), ["cur.parquet"]),
    (("build", "s.parquet", "cat.parquet", "-o", "c.parquet"), ["cat.parquet"]),
    (("build", "s.parquet", "nosuch.parquet", "-o", "c.parquet"), ["nosuch.parquet"]),
    ((*BUILD, "--gold", "notes.txt"), ["notes.txt"]),
    ((*BUILD, "--gold", "cur.parquet"), ["gold"]),
    ((*BUILD, "--votes", "0"), ["--votes"]),
], ids=["sample-is-a-catalogue", "sample-is-curated", "labels-are-a-catalogue",
        "labels-missing", "gold-not-parquet", "gold-are-sampled-units", "votes-0"])
def test_build_refuses_bad_inputs_in_one_line(work, args, names):
    refused(*args, names=names)


@pytest.mark.parametrize("args, names", [
    (("report", "--sample", "nosuch.parquet", "-o", "rep"), ["nosuch.parquet"]),
    (("report", "--estimates", "notes.txt", "-o", "rep"), ["notes.txt"]),
    (("report", "--sample", "cat.parquet", "-o", "rep"), ["cat.parquet"]),
    (("report", "-o", "rep"), ["--sample"]),
    (("report", "--curated", "cur.parquet", "--level", "1", "-o", "rep"), ["--level"]),
], ids=["missing-sample", "estimates-not-csv", "sample-is-a-catalogue", "no-input",
        "level-1"])
def test_report_refuses_bad_inputs_in_one_line(work, args, names):
    refused(*args, names=names)


def test_report_refuses_a_curated_dataset_edited_after_build(work):
    tables.flip_first_label("cur.parquet")
    refused("report", "--curated", "cur.parquet", "-o", "rep", names=["cur.parquet"])
