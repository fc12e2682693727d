"""Validation reports every problem of a table at once, naming columns and rows."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from schemas import SCHEMAS, SchemaError, validate


def catalogue(**over):
    cols = {"item_id": ["a", "b", "c"], "item_type": ["track", "episode", "track"],
            "creator_id": ["x", "y", "x"], "risk_score": [0.1, 0.5, 0.9]}
    cols.update(over)
    return pd.DataFrame(cols)


def test_a_valid_catalogue_passes_and_extra_columns_are_kept():
    t = validate(catalogue(genre=["pop", "rock", "jazz"]), "catalogue")
    assert t.column_names[-1] == "genre"


def test_every_problem_is_reported_at_once():
    df = catalogue(item_id=["a", "a", None], item_type=["track", "song", "track"],
                   risk_score=[0.1, 1.5, np.nan]).drop(columns="creator_id")
    with pytest.raises(SchemaError) as err:
        validate(df, "catalogue", source="cat.parquet")
    msg = str(err.value)
    assert msg.startswith("cat.parquet: ")
    assert "missing column 'creator_id' (string)" in msg
    assert "column 'item_id': 1 null value(s) at row 2" in msg
    assert "column 'item_type': 1 value(s) not in ['track', 'episode'] (e.g. ['song'])" in msg
    assert "column 'risk_score': 1 value(s) outside [0, 1] at row 1" in msg
    assert "column 'risk_score': 1 null value(s) at row 2" in msg
    assert len(err.value.problems) >= 5


def test_duplicates_and_types():
    with pytest.raises(SchemaError, match=r"'item_id': 2 rows share .*'a'.* rows 0, 2"):
        validate(catalogue(item_id=["a", "b", "a"]), "catalogue")
    # integer ids are ids (the PRN of an integer is that of its decimal string) ...
    assert validate(catalogue(item_id=[1, 2, 3]), "catalogue").num_rows == 3
    # ... a float is not
    with pytest.raises(SchemaError, match="column 'item_id' has type double, expected string"):
        validate(catalogue(item_id=[1.0, 2.5, 3.0]), "catalogue")


def sample_table(pi):
    pi = np.asarray(pi, float)
    return pa.table({"unit_id": ["a", "b", "c"], "stratum": ["s"] * 3, "inclusion_prob": pi,
                     "design_weight": 1 / pi, "prn": [0.1, 0.2, 0.3]})


def test_sample_probabilities_must_lie_in_0_1():
    validate(sample_table([0.5, 1.0, 0.01]), "sample")
    with pytest.raises(SchemaError, match=r"'inclusion_prob': 2 value\(s\) outside \(0, 1\]"):
        validate(sample_table([0.0, 1.5, 0.3]), "sample")


def test_weight_must_be_inverse_probability():
    t = sample_table([0.5, 0.5, 0.5]).set_column(3, "design_weight", pa.array([2.0, 3.0, 2.0]))
    with pytest.raises(SchemaError, match="design_weight is not 1/inclusion_prob at row 1"):
        validate(t, "sample")


def test_recommendations_positions_and_timestamps():
    t = pa.table({"impression_id": ["i1", "i2"], "user_id": ["u", "u"], "item_id": ["a", "b"],
                  "surface": ["home", "home"], "position": [0, 3],
                  "served_at": pa.array([1, 2], pa.timestamp("s"))})
    with pytest.raises(SchemaError, match=r"'position': 1 value\(s\) outside \[1, inf\] at row 0"):
        validate(t, "recommendations")


def test_unknown_kind_and_arrow_schemas():
    with pytest.raises(SchemaError, match="unknown table kind 'foo'"):
        validate(catalogue(), "foo")
    assert SCHEMAS["sample"].field("inclusion_prob").type == pa.float64()
    assert set(SCHEMAS) == {"catalogue", "recommendations", "sample", "labels", "curated"}
