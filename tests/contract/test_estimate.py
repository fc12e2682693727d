"""`curate estimate` estimates only what its manifest vouches for, and never overwrites input.

The manifest's content hash must match the table (a curated dataset edited after `curate build`
— π, weights or labels changed, rows dropped or repeated — is refused), a manifest passed with
``--manifest`` must be the data's own, and the output may be no input nor an input's manifest.
"""

from __future__ import annotations

import pytest

from tests.cli import run

from . import tables
from .refusal import refused

EST = ("estimate", "cur.parquet", "--y", "sensitive")


@pytest.mark.parametrize("output, names", [
    ("cur.parquet", ["cur.parquet"]),
    ("cur.manifest.json", ["cur.manifest.json"]),
    ("s.manifest.json", ["s.manifest.json"]),
    ("est.txt", ["est.txt", ".csv"]),
    ("notes.txt/est.csv", ["notes.txt"]),
    (".", ["."]),
], ids=["its-input", "its-input's-manifest", "the-given-manifest", "unknown-extension",
        "folder-is-a-file", "a-folder"])
def test_estimate_never_writes_over_an_input_or_where_it_cannot(work, output, names):
    args = [*EST, "-o", output]
    if output == "s.manifest.json":
        args += ["--manifest", "s.manifest.json"]
    refused(*args, names=names)


@pytest.mark.parametrize("edit", [tables.halve_first_pi, tables.flip_first_label,
                                  tables.drop_rows, tables.duplicate_rows],
                         ids=["pi-and-weight-edited", "label-edited", "rows-dropped",
                              "rows-duplicated"])
def test_a_curated_dataset_edited_after_build_is_not_estimated(work, edit):
    edit("cur.parquet")
    refused(*EST, "-o", "e.csv", names=["cur.parquet"])


def test_rows_dropped_and_the_metadata_lost_are_caught_by_the_sidecar(work):
    tables.drop_rows("cur.parquet", metadata=False)
    refused(*EST, "-o", "e.csv", names=["cur.parquet", "cur.manifest.json"])


def test_the_manifest_of_another_sample_is_refused(work):
    refused(*EST, "-o", "e.csv", "--manifest", "s2.manifest.json",
            names=["s2.manifest.json", "cur.parquet"])


def test_the_manifest_of_another_sample_is_refused_for_a_sample_too(work):
    refused("estimate", "s.parquet", "--y", "risk_score", "-o", "e.csv", "--manifest",
            "s2.manifest.json", names=["s2.manifest.json", "s.parquet"])


def test_a_sample_with_its_own_manifest_and_label_columns_added_is_estimated(work):
    """A labeled sample keeps its sample manifest: the design columns are what it vouches
    for, and they are unchanged."""
    code, text = run("estimate", "cur.parquet", "--y", "sensitive", "-o", "e.csv",
                     "--manifest", "s.manifest.json")
    assert code == 0, text


@pytest.mark.parametrize("args, names", [
    (("--manifest", "notes.txt"), ["notes.txt"]),
    (("--manifest", "nosuch.json"), ["nosuch.json"]),
    (("--y", "nosuch"), ["nosuch"]),
    (("--level", "2"), ["level"]),
    (("--level", "high"), ["level"]),
    (("--domain", "nosuch"), ["nosuch"]),
    (("--calibrate", "notes.txt"), ["notes.txt"]),
    (("--population", "cat.parquet"), ["cat.parquet", "--domain"]),
    (("--population", "cat.parquet", "--domain", "nosuch"), ["cat.parquet", "nosuch"]),
    (("--gold-labels", "cat.parquet"), ["--labels"]),
    (("--nonresponse-by", "nosuch"), ["nosuch"]),
], ids=["manifest-not-json", "manifest-missing", "no-such-label", "level-2", "level-high",
        "no-such-domain", "totals-not-csv", "population-without-domain",
        "population-lacks-domain", "gold-without-labels", "no-such-cells-column"])
def test_estimate_refuses_bad_options_in_one_line(work, args, names):
    refused(*EST, "-o", "e.csv", *args, names=names)


@pytest.mark.parametrize("data, names", [
    ("nosuch.parquet", ["nosuch.parquet"]),
    ("notes.txt", ["notes.txt"]),
    ("labels.parquet", ["labels.parquet"]),
], ids=["missing", "not-parquet", "not-a-sample"])
def test_estimate_refuses_data_that_is_no_labeled_sample(work, data, names):
    refused("estimate", data, "--y", "sensitive", "-o", "e.csv", names=names)
