"""Bad input to a sampler: one clear error naming the column, rows or stratum."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from samplers import ImportanceSampler, PoissonSampler, Strata, StratifiedSampler
from schemas import DesignError, SchemaError


def test_null_ids_are_named_by_row():
    t = pa.table({"item_id": ["a", None, "c", None]})
    with pytest.raises(SchemaError, match=r"'item_id': 2 null id\(s\) at rows 1, 3"):
        StratifiedSampler(n=1).sample(t)


def test_duplicate_ids_are_named_with_rows_even_across_batches():
    t = pa.table({"item_id": ["a", "b", "c", "b", "e", "a"]})
    with pytest.raises(SchemaError, match=r"2 duplicate id\(s\).*'b' at rows 1, 3"):
        StratifiedSampler(n=1).sample(t.to_batches(max_chunksize=2))


@pytest.mark.parametrize(("values", "what"), [
    ([1.0, 0.0, 2.0], "sizes must be finite and > 0"),
    ([1.0, -3.0, 2.0], "sizes must be finite and > 0"),
    ([1.0, None, 2.0], "sizes must be finite and > 0"),
])
def test_non_positive_or_null_sizes(values, what):
    t = pa.table({"item_id": ["a", "b", "c"], "w": pa.array(values, pa.float64())})
    with pytest.raises(DesignError, match=rf"column 'w': 1 invalid value\(s\) \({what}\) at row 1"):
        ImportanceSampler(n=1, size="w").sample(t)


def test_negative_scores_with_mixture_and_bad_alpha():
    t = pa.table({"item_id": ["a", "b"], "s": [0.0, -0.5]})
    with pytest.raises(DesignError, match="scores must be finite and ≥ 0"):
        ImportanceSampler(n=1, size="s", mixture=0.1).sample(t)
    with pytest.raises(DesignError, match=r"mixture α must be in \(0, 1\]"):
        ImportanceSampler(n=1, size="s", mixture=1.5).sample(t)


def test_impossible_allocations_name_strata():
    t = pa.table({"item_id": [f"i{k}" for k in range(30)], "m": ["a"] * 25 + ["b"] * 5})
    with pytest.raises(DesignError, match="n=40 exceeds the population size N=30 by 10"):
        StratifiedSampler(n=40, strata="m").sample(t)
    with pytest.raises(DesignError, match="min_per_stratum=10 over 2 strata needs 15"):
        StratifiedSampler(n=12, strata="m", min_per_stratum=10).sample(t)


@pytest.mark.parametrize(("params", "message"), [
    ({"n": -1}, "n must be a non-negative integer"),
    ({"n": 2.5}, "n must be a non-negative integer"),
    ({"n": 2, "seed": -4}, "seed must be an integer"),
    ({"n": 2, "allocation": "fair"}, "unknown allocation 'fair'"),
    ({"n": 2, "allocation": "neyman"}, "neyman allocation needs neyman_col"),
])
def test_bad_parameters(params, message):
    t = pa.table({"item_id": ["a", "b", "c"]})
    with pytest.raises(DesignError, match=message):
        StratifiedSampler(**params).sample(t)


def test_wrong_unit_column_and_design_column_clash():
    t = pa.table({"x": ["a", "b"]})
    with pytest.raises(SchemaError, match="no unit id column"):
        PoissonSampler(n=1).sample(t)
    with pytest.raises(SchemaError, match="missing column"):
        PoissonSampler(n=1, unit_col="id").sample(t)
    t2 = pa.table({"item_id": ["a", "b"], "stratum": ["x", "y"]})
    with pytest.raises(SchemaError, match=r"already has design column\(s\) \['stratum'\]"):
        PoissonSampler(n=1).sample(t2)


def _neyman_population() -> pa.Table:
    """Stratum a: y = 10 ± 1 (sd ≈ 1), stratum b: y = 10 ± 3 (sd ≈ 3); same means, same RMS
    within 10%, so only the standard deviation tells them apart."""
    sign = np.tile([-1.0, 1.0], 50)
    return pa.table({"item_id": [f"i{k}" for k in range(200)],
                     "m": ["a"] * 100 + ["b"] * 100,
                     "y": np.r_[10 + sign, 10 + 3 * sign],
                     "sd": np.r_[np.full(100, 1.0), np.full(100, 3.0)]})


def test_neyman_s_h_is_the_standard_deviation_of_the_variable_in_each_stratum():
    t = _neyman_population()
    s = StratifiedSampler(n=40, strata="m", allocation="neyman", neyman_col="y").sample(t)
    assert [a["n_h"] for a in s.manifest.allocation] == [10, 30]
    sd = [float(np.std(t["y"].to_numpy()[sl], ddof=1)) for sl in (slice(0, 100), slice(100, 200))]
    assert np.allclose([a["S_h"] for a in s.manifest.allocation], sd, rtol=0, atol=1e-12)
    assert s.manifest.design["neyman_s"] == "sd"
    # the same S_h however the input is batched (exact sums)
    again = StratifiedSampler(n=40, strata="m", allocation="neyman",
                              neyman_col="y").sample(t.to_batches(max_chunksize=7))
    assert again.manifest.allocation == s.manifest.allocation


def test_neyman_s_h_loses_nothing_to_a_large_mean():
    t = _neyman_population()
    y = 1e9 + (t["y"].to_numpy() - 10.0) * 1e-3  # sd 1e-3 and 3e-3 around a mean of 1e9
    s = StratifiedSampler(n=40, strata="m", allocation="neyman", neyman_col="y").sample(
        t.set_column(2, "y", pa.array(y)))
    assert [a["n_h"] for a in s.manifest.allocation] == [10, 30]
    big = t.set_column(2, "y", pa.array(np.r_[y[:-1], 1e200]))
    with pytest.raises(DesignError, match=r"1 too large \(\|x\| > 1e\+150\) value\(s\) at "
                                          r"row 199"):
        StratifiedSampler(n=40, strata="m", allocation="neyman", neyman_col="y").sample(big)


def test_neyman_rms_takes_a_column_of_anticipated_standard_deviations():
    t = _neyman_population()
    s = StratifiedSampler(n=40, strata="m", allocation="neyman", neyman_col="sd",
                          neyman_s="rms").sample(t)
    assert [a["n_h"] for a in s.manifest.allocation] == [10, 30]
    assert [a["S_h"] for a in s.manifest.allocation] == [1.0, 3.0]
    with pytest.raises(DesignError, match=r"neyman_s must be one of \['sd', 'rms'\]"):
        StratifiedSampler(n=4, strata="m", allocation="neyman", neyman_col="sd",
                          neyman_s="var").sample(t)


def test_neyman_on_a_string_column_is_named():
    t = _neyman_population().append_column("txt", pa.array(["1.5"] * 200))
    with pytest.raises(DesignError, match=r"input: column 'txt' \(neyman_col\) is not numeric "
                                          r"\(string\): pass the numeric variable"):
        StratifiedSampler(n=4, strata="m", allocation="neyman", neyman_col="txt").sample(t)


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan, None])
def test_neyman_non_finite_values_are_named_by_row(bad):
    t = _neyman_population()
    y = t["y"].to_pylist()
    y[70] = y[150] = bad  # rows of the whole input, in the second and third batch
    t = t.set_column(2, "y", pa.array(y, pa.float64()))
    with pytest.raises(DesignError, match=r"column 'y' \(neyman_col\): 1 null or non-finite "
                                          r"value\(s\) at row 70$"):
        StratifiedSampler(n=4, strata="m", allocation="neyman",
                          neyman_col="y").sample(t.to_batches(max_chunksize=64))


def test_strata_columns_with_non_finite_values_are_named_by_row():
    t = _neyman_population()
    y = t["y"].to_pylist()
    y[120] = np.inf
    t = t.set_column(2, "y", pa.array(y, pa.float64()))
    for spec in (Strata(bins="y"), Strata(clusters=("y", "sd"), n_clusters=2)):
        with pytest.raises(DesignError, match=r"column 'y' used for strata has 1 null or "
                                              r"non-finite value\(s\) at row 120"):
            StratifiedSampler(n=4, strata=spec).sample(t.to_batches(max_chunksize=50))


ZERO = pa.table({"item_id": pa.array([], pa.string()), "m": pa.array([], pa.string()),
                 "x": pa.array([], pa.float64())})


@pytest.mark.parametrize("make", [
    lambda: StratifiedSampler(n=0, strata="m"),
    lambda: StratifiedSampler(n=1, strata=Strata(bins="x")),
    lambda: StratifiedSampler(n=1, strata=Strata(clusters=("x",))),
    lambda: StratifiedSampler(n=1, strata="m", allocation="neyman", neyman_col="x"),
    lambda: PoissonSampler(n=1),
    lambda: ImportanceSampler(n=1, size="x"),
])
@pytest.mark.parametrize("form", ["table", "frame", "empty batch", "no batches", "parquet"])
def test_an_input_without_rows_is_one_clear_error(make, form, tmp_path):
    path = tmp_path / "zero.parquet"
    pq.write_table(ZERO, path)
    data = {"table": ZERO, "frame": ZERO.to_pandas(), "parquet": str(path),
            "empty batch": pa.RecordBatch.from_pylist([], schema=ZERO.schema),
            "no batches": []}[form]
    with pytest.raises(SchemaError, match="the input has no rows") as err:
        make().sample(data)
    assert "\n" not in str(err.value)
    if form == "parquet":
        assert str(err.value).startswith(str(path))


@pytest.mark.parametrize(("args", "message"), [
    (("--allocation", "neyman", "--neyman-col", "genre", "--strata", "m"),
     "column 'genre' (neyman_col) is not numeric (string)"),
    (("--allocation", "neyman", "--neyman-col", "y", "--strata", "m"),
     "column 'y' (neyman_col): 1 null or non-finite value(s) at row 2"),
    (("--clusters", "y,z", "--n-clusters", "2"),
     "column 'y' used for strata has 1 null or non-finite value(s) at row 2"),
])
def test_cli_input_errors_are_one_line_without_a_traceback(tmp_path, args, message):
    from tests.cli import run

    t = pa.table({"item_id": ["a", "b", "c", "d"], "m": ["x", "x", "y", "y"],
                  "genre": ["pop"] * 4, "y": [1.0, 2.0, np.nan, 4.0], "z": [1.0, 2, 3, 4]})
    pq.write_table(t, tmp_path / "in.parquet")
    pq.write_table(ZERO, tmp_path / "zero.parquet")
    code, text = run("sample", tmp_path / "in.parquet", "-o", tmp_path / "out.parquet",
                     "--n", "2", *args)
    assert code == 1 and text.startswith("Error: ") and message in text, text
    assert text.count("\n") == 1 and "Traceback" not in text
    code, text = run("sample", tmp_path / "zero.parquet", "-o", tmp_path / "out.parquet",
                     "--n", "0")
    assert code == 1 and text == f"Error: {tmp_path / 'zero.parquet'}: the input has no rows\n"
    assert not (tmp_path / "out.parquet").exists()
