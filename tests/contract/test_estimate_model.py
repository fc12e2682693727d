"""`curate estimate` with a model's predictions refuses bad predictions in one line, naming
how many units and which, and writes nothing: predictions missing for sampled or population
units, outside [0, 1] or not numbers, a prediction column that is a label column or does not
exist, and a phase-2 sample that is not nested in the phase 1 it names."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from samplers.phase2 import Phase2Sampler

from .refusal import refused
from .workspace import frame, with_column, write

EST = ("estimate", "cur.parquet", "--y", "sensitive", "-o", "e.csv")
POP = ("--population", "cat.parquet")


def predictions(units: list[str], values) -> Path:
    """A predictions table ``unit_id, p`` of ``units`` (written before the snapshot)."""
    return write(Path("preds.parquet"), pa.table({"unit_id": units, "p": values}))


def sampled() -> list[str]:
    return frame("cur.parquet")["unit_id"].tolist()


def catalogue_ids() -> list[str]:
    return frame("cat.parquet")["item_id"].tolist()


def test_predictions_missing_for_sampled_units_are_named(work):
    units = [u for u in catalogue_ids() if u not in sampled()[:3]]
    predictions(units, [0.5] * len(units))
    line = refused(*EST, *POP, "--predictions", "preds.parquet", "--pred-col", "p",
                   names=["preds.parquet", "3 sampled unit(s)", sampled()[0]])
    assert "no prediction" in line


def test_the_population_missing_predictions_is_refused(work):
    keep = set(sampled())
    units = [u for u in catalogue_ids() if u in keep]  # the sample's units only
    predictions(units, [0.5] * len(units))
    refused(*EST, *POP, "--predictions", "preds.parquet", "--pred-col", "p",
            names=["preds.parquet", f"{60 - len(keep)} population unit(s)"])


@pytest.mark.parametrize("bad, names", [
    (1.5, ["outside [0, 1]", "1 value(s)"]), (-0.1, ["outside [0, 1]", "1 value(s)"]),
    (None, ["missing for 1 sampled unit(s)"])], ids=["above-1", "below-0", "null"])
def test_predictions_outside_0_1_or_null_are_refused(work, bad, names):
    units = catalogue_ids()
    first = sampled()[0]
    predictions(units, [bad if u == first else 0.3 for u in units])
    refused(*EST, *POP, "--predictions", "preds.parquet", "--pred-col", "p",
            names=["preds.parquet", "'p'", first, *names])


def test_non_numeric_predictions_are_refused(work):
    units = catalogue_ids()
    predictions(units, ["high"] * len(units))
    refused(*EST, *POP, "--predictions", "preds.parquet", "--pred-col", "p",
            names=["preds.parquet", "'p'", "not numeric"])


def test_a_prediction_column_of_the_data_outside_0_1_is_refused(work):
    refused(*EST, *POP, "--pred-col", "popularity", names=["cur.parquet", "'popularity'",
                                                           "outside [0, 1]"])


@pytest.mark.parametrize("args, names", [
    (("--pred-col", "sensitive", *POP), ["sensitive", "label column"]),
    (("--pred-col", "nosuch", *POP), ["nosuch", "cur.parquet"]),
    (("--pred-col", "other=risk_score", *POP), ["other", "--y"]),
    (("--pred-col", "risk_score"), ["--population", "--phase1"]),
    (("--model-name", "clf", *POP), ["--pred-col"]),
    (("--pred-col", "risk_score", "--predictions", "nosuch.parquet", *POP),
     ["nosuch.parquet"]),
    (("--pred-col", "risk_score", "--population", "nosuch.parquet"), ["nosuch.parquet"]),
    (("--pred-col", "risk_score", *POP, "--phase1", "s.parquet"), ["not both"]),
], ids=["prediction-is-the-label", "unknown-column", "unknown-label", "no-population",
        "model-without-pred-col", "no-such-predictions-file", "no-such-population",
        "population-and-phase1"])
def test_bad_prediction_options_are_refused_in_one_line(work, args, names):
    refused(*EST, *args, names=names)


def phase2_of(phase1: str, out: str) -> None:
    Phase2Sampler(n=6, seed=2, uncertainty="risk_score").sample(phase1).write(out)


def test_a_phase2_sample_not_nested_in_its_phase1_is_refused(work):
    phase2_of("s.parquet", "p2.parquet")
    n2 = len(frame("p2.parquet"))
    outside = sorted(set(frame("p2.parquet")["unit_id"]) - set(frame("s2.parquet")["unit_id"]))
    refused("estimate", "p2.parquet", "--phase1", "s2.parquet", "--y", "risk_score",
            "--pred-col", "risk_score=popularity", "-o", "e.csv",
            names=["p2.parquet", "s2.parquet", f"{len(outside)} phase-2 unit(s)", outside[0]])
    assert outside and n2


def test_a_phase1_changed_since_phase2_was_drawn_is_refused(work):
    phase2_of("s.parquet", "p2.parquet")
    s = pq.read_table("s.parquet")
    write(Path("s.parquet"), with_column(s, "popularity", [0.5] * s.num_rows))
    refused("estimate", "p2.parquet", "--phase1", "s.parquet", "--y", "risk_score",
            "--pred-col", "risk_score=popularity", "-o", "e.csv",
            names=["p2.parquet", "s.parquet", "content hash"])
