"""`curate sample --phase2-of PHASE1` refuses what is not a phase-1 sample, a bad uncertainty
column and a phase 2 larger than phase 1: one line, nothing written."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.cli import run

from .refusal import refused
from .workspace import frame, with_column, write

P2 = ("sample", "--phase2-of", "s.parquet", "-o", "p2.parquet")


@pytest.mark.parametrize("args, names", [
    (("sample", "--phase2-of", "cat.parquet", "-o", "p2.parquet", "--n", "4"),
     ["cat.parquet", "manifest"]),
    (("sample", "--phase2-of", "notes.txt", "-o", "p2.parquet", "--n", "4"), ["notes.txt"]),
    (("sample", "--phase2-of", "nosuch.parquet", "-o", "p2.parquet", "--n", "4"),
     ["nosuch.parquet"]),
    (("sample", "--phase2-of", "cur.parquet", "-o", "p2.parquet", "--n", "4"),
     ["cur.parquet"]),
    ((*P2, "--n", "4", "--uncertainty", "nosuch"), ["s.parquet", "nosuch"]),
    ((*P2, "--n", "4", "--uncertainty", "popularity"), ["s.parquet", "popularity", "[0, 1]"]),
    ((*P2, "--n", "4", "--uncertainty", "market"), ["s.parquet", "market", "numeric"]),
    ((*P2, "--n", "13"), ["s.parquet", "13", "12"]),
    ((*P2, "--n", "0"), ["--n"]),
    (P2, ["--n"]),
    ((*P2, "--n", "4", "--strata", "market"), ["strata"]),
    ((*P2, "--n", "4", "--uncertainty", "risk_score", "--floor", "0"), ["--floor"]),
    (("sample", "s2.parquet", "--phase2-of", "s.parquet", "-o", "p2.parquet", "--n", "4"),
     ["s2.parquet", "s.parquet"]),
    (("sample", "cat.parquet", "-o", "p2.parquet", "--n", "4", "--uncertainty", "risk_score"),
     ["--phase2-of"]),
    (("sample", "--phase2-of", "s.parquet", "-o", "s.parquet", "--n", "4"), ["s.parquet"]),
    (("sample", "-o", "p2.parquet", "--n", "4"), ["--phase2-of"]),
], ids=["population-not-a-sample", "not-parquet", "missing", "curated-not-a-sample",
        "no-such-uncertainty-column", "uncertainty-outside-0-1", "uncertainty-not-numeric",
        "n-larger-than-phase1", "n-zero", "no-n", "strata-do-not-apply", "floor-zero",
        "input-and-phase1-differ", "uncertainty-without-phase2", "overwrites-phase1",
        "no-input"])
def test_phase2_refuses_in_one_line(work, args, names):
    refused(*args, names=names)


def test_a_phase1_edited_after_drawing_is_refused(work):
    table = pq.read_table("s.parquet")
    values = table.column("risk_score").to_pylist()
    write(work / "edited.parquet", with_column(table, "risk_score", [0.5, *values[1:]]))
    refused("sample", "--phase2-of", "edited.parquet", "-o", "p2.parquet", "--n", "4",
            names=["edited.parquet", "content hash"])


def test_null_model_probabilities_are_refused_with_their_rows(work):
    table = pq.read_table("cat.parquet")
    values = table.column("risk_score").to_pylist()
    write(work / "cat_nulls.parquet", with_column(table, "risk_score", [None] * 30 + values[30:]))
    code, text = run("sample", "cat_nulls.parquet", "-o", "s_nulls.parquet", "--n", "30",
                     "--seed", "7")
    assert code == 0, text
    refused("sample", "--phase2-of", "s_nulls.parquet", "-o", "p2.parquet", "--n", "4",
            "--uncertainty", "risk_score", names=["s_nulls.parquet", "risk_score", "row"])


def test_phase2_writes_the_two_phase_contract(work):
    code, text = run(*P2, "--n", "6", "--seed", "1", "--uncertainty", "risk_score")
    assert code == 0, text
    first, second = frame("s.parquet"), frame("p2.parquet")
    assert set(first.columns) <= set(second.columns)
    assert set(second["unit_id"]) <= set(first["unit_id"])
    merged = second.merge(first[["unit_id", "inclusion_prob", "stratum"]], on="unit_id",
                          suffixes=("", "_1"))
    np.testing.assert_array_equal(merged["phase1_prob"], merged["inclusion_prob_1"])
    np.testing.assert_allclose(merged["inclusion_prob"],
                               merged["phase1_prob"] * merged["phase2_prob"])
    assert (merged["stratum"] == merged["stratum_1"]).all()
    assert (work / "p2.manifest.json").is_file()


def test_predictions_must_cover_phase1_and_hold_probabilities(work):
    ids = pq.read_table("s.parquet", columns=["unit_id"]).column(0).to_pylist()
    pq.write_table(pa.table({"unit_id": ids[1:], "llm_p": [0.5] * (len(ids) - 1)}),
                   "short.parquet")
    pq.write_table(pa.table({"unit_id": ids, "llm_p": [1.5] * len(ids)}), "high.parquet")
    refused(*P2, "--n", "4", "--uncertainty", "llm_p", "--predictions", "short.parquet",
            names=["short.parquet", "1 phase-1 unit", ids[0]])
    refused(*P2, "--n", "4", "--uncertainty", "llm_p", "--predictions", "high.parquet",
            names=["high.parquet", "llm_p", "[0, 1]"])
    refused(*P2, "--n", "4", "--predictions", "high.parquet", names=["--uncertainty"])
    refused(*P2, "--n", "4", "--uncertainty", "risk_score", "--predictions", "high.parquet",
            names=["risk_score", "already a phase-1 column"])
    refused("sample", "--phase2-of", "s.parquet", "-o", "high.parquet", "--n", "4",
            "--uncertainty", "llm_p", "--predictions", "high.parquet", names=["high.parquet"])
