"""`curate sample`, `curate validate` and `curate demo-data` through the real entry point."""

import json
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curation.cli.main import cli
from schemas import read_manifest
from tests.cli import run


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    code, text = run("demo-data", out, "--items", 3000, "--impressions", 8000, "--seed", 4)
    assert code == 0, text
    return out


def test_stratified_sample_writes_parquet_manifest_and_prints_allocation(demo, tmp_path):
    out = tmp_path / "s.parquet"
    code, text = run("sample", demo / "catalogue.parquet", "-o", out, "--design", "stratified",
                     "--n", 200, "--seed", 7, "--strata", "market,item_type",
                     "--allocation", "power", "--min-per-stratum", 2)
    assert code == 0, text
    assert "stratum" in text and "N_h" in text and "total: N=3000, n=200" in text
    m = read_manifest(out)
    assert m.design["name"] == "stratified" and m.seed == 7
    assert json.loads((tmp_path / "s.manifest.json").read_text())["content_hash"] == \
        m.content_hash


def test_neyman_on_anticipated_standard_deviations_from_a_model(tmp_path):
    """Stratified by a model's label, S_h from each unit's anticipated sd sqrt(p(1-p)) of the
    model's probability (--neyman-s rms): the rare predicted-negative stratum gets the share
    N_h·S_h says, not the proportional one."""
    rng = np.random.default_rng(3)
    p = np.where(rng.uniform(size=20_000) < 0.01, 0.45, 0.0005)
    pq.write_table(pa.table({"item_id": [f"i{k}" for k in range(p.size)],
                             "model_label": (p > 0.1).astype(int).astype(str),
                             "model_sd": np.sqrt(p * (1 - p))}), tmp_path / "cat.parquet")
    out = tmp_path / "s.parquet"
    code, text = run("sample", tmp_path / "cat.parquet", "-o", out, "--n", 1000, "--strata",
                     "model_label", "--allocation", "neyman", "--neyman-col", "model_sd",
                     "--neyman-s", "rms")
    assert code == 0, text
    m = read_manifest(out)
    assert m.design["neyman_s"] == "rms"
    n_h = {a["stratum"]: a["n_h"] for a in m.allocation}
    N_h = {k: int(((p > 0.1).astype(int).astype(str) == k).sum()) for k in ("0", "1")}
    S_h = {"0": np.sqrt(0.0005 * 0.9995), "1": np.sqrt(0.45 * 0.55)}
    share = N_h["1"] * S_h["1"] / sum(N_h[k] * S_h[k] for k in N_h)
    assert abs(n_h["1"] - 1000 * share) <= 1 and n_h["1"] > 5 * 1000 * N_h["1"] / p.size


def test_columns_come_from_the_command_line_or_the_params_section(demo, tmp_path):
    (tmp_path / "params.yaml").write_text("slim:\n  n: 50\n  strata: market\n"
                                          "  columns: [title]\n")
    by_params, by_flag = tmp_path / "p.parquet", tmp_path / "f.parquet"
    code, text = run("sample", demo / "catalogue.parquet", "-o", by_params, "--params",
                     tmp_path / "params.yaml", "--section", "slim")
    assert code == 0, text
    code, text = run("sample", demo / "catalogue.parquet", "-o", by_flag, "--n", 50,
                     "--strata", "market", "--columns", "title")
    assert code == 0, text
    assert pq.read_schema(by_params).names == pq.read_schema(by_flag).names
    assert "genre" not in pq.read_schema(by_params).names
    assert read_manifest(by_params).content_hash == read_manifest(by_flag).content_hash


def test_a_fetch_that_falls_back_to_pyarrow_says_so_in_one_line(demo, tmp_path, monkeypatch):
    """DuckDB over its memory limit (a limit of 1 KB): the same sample, read with pyarrow,
    and one ``warning:`` line naming the file, not a silent slow draw or Python's
    two-line warning."""
    pytest.importorskip("duckdb")
    from samplers.kernels import rowfetch

    cat = tmp_path / "cat.parquet"
    pq.write_table(pq.read_table(demo / "catalogue.parquet"), cat, row_group_size=300)
    args = ["sample", cat, "--n", 60, "--strata", "market", "--allocation", "equal"]
    env = {"AUDIT_CURATION_SINGLE_PASS": "off"}  # select, then fetch the selected rows
    code, text = run(*args, "-o", tmp_path / "a.parquet", env=env)
    assert code == 0 and "warning:" not in text, text
    monkeypatch.setattr(rowfetch, "memory_limit", lambda meta, rows: "1KB")
    code, text = run(*args, "-o", tmp_path / "b.parquet", env=env)
    assert code == 0, text
    warned = [line for line in text.splitlines() if line.startswith("warning:")]
    assert len(warned) == 1 and str(cat) in warned[0], text
    assert "the DuckDB fetch of the selected rows failed" in warned[0]
    assert "RuntimeWarning" not in text and "rowfetch.py" not in text
    assert read_manifest(tmp_path / "a.parquet").content_hash == \
        read_manifest(tmp_path / "b.parquet").content_hash


def test_importance_sample_of_impressions_by_exposure(demo, tmp_path):
    out = tmp_path / "r.parquet"
    code, text = run("sample", demo / "recommendations.parquet", "-o", out, "--design",
                     "importance", "--size", "exposure", "--n", 100, "--strata", "user_age_band")
    assert code == 0, text
    assert read_manifest(out).design["unit_col"] == "impression_id"
    assert "tau" in text


def test_parameters_from_a_params_yaml_section(demo, tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("sample_catalogue:\n  design: importance\n  n: 50\n  seed: 3\n"
                      "  size: risk_score\n  mixture: 0.1\n  strata: market\n")
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    assert run("sample", demo / "catalogue.parquet", "-o", a, "--params", params,
               "--section", "sample_catalogue")[0] == 0
    assert run("sample", demo / "catalogue.parquet", "-o", b, "--design", "importance",
               "--n", 50, "--seed", 3, "--size", "risk_score", "--mixture", 0.1,
               "--strata", "market")[0] == 0
    assert a.read_bytes() == b.read_bytes()
    params.write_text("sample_catalogue:\n  n: 50\n  sed: 3\n")
    code, text = run("sample", demo / "catalogue.parquet", "-o", tmp_path / "c.parquet",
                     "--params", params, "--section", "sample_catalogue")
    assert code == 1 and "unknown parameter(s) ['sed']" in text


def _bad_inputs(tmp_path):
    base = {"item_id": ["a", "b", "c", "d"], "market": ["US", "US", "SE", "SE"],
            "w": [1.0, 2.0, 3.0, 4.0]}

    def table(**over):
        cols = dict(base, **over)
        path = tmp_path / f"in_{len(list(tmp_path.iterdir()))}.parquet"
        pq.write_table(pa.table(cols), path)
        return path

    return [
        (table(), ["--strata", "genre"], "missing column(s) ['genre']"),
        (table(w=["x", "y", "z", "q"]), ["--design", "importance", "--size", "w"],
         "size column 'w' is not numeric"),
        (table(item_id=["a", "b", "a", "d"]), [],
         "1 duplicate id(s) over 2 rows (e.g. 'a' at rows 0, 2)"),
        (table(item_id=["a", None, "c", "d"]), [], "1 null id(s) at row 1"),
        (table(w=[1.0, -2.0, 3.0, 0.0]), ["--design", "importance", "--size", "w"],
         "2 invalid value(s) (sizes must be finite and > 0) at rows 1, 3"),
        (table(), ["--strata", "market", "--min-per-stratum", 3],
         "min_per_stratum=3 over 2 strata needs 4 units but n=2"),
        (table(), ["--n", 9], "n=9 exceeds the population size N=4 by 5"),
    ]


def test_bad_input_one_line_error_nonzero_exit_and_no_output(tmp_path):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for path, extra, message in _bad_inputs(inputs):
        out = tmp_path / "out.parquet"
        out.write_bytes(b"previous version")
        args = ["sample", path, "-o", out, *extra]
        if "--n" not in extra:
            args += ["--n", 2]
        code, text = run(*args)
        assert code == 1, (message, text)
        assert text.startswith("Error: ") and text.count("\n") == 1, text
        assert message in text, text
        assert out.read_bytes() == b"previous version"
        assert not (tmp_path / "out.manifest.json").exists()
        assert sorted(p.name for p in tmp_path.iterdir()) == ["inputs", "out.parquet"]


def test_real_entry_point_exit_codes(demo, tmp_path):
    curate = [sys.executable, "-m", "curation"]
    ok = subprocess.run([*curate, "--version"], capture_output=True, text=True)
    assert ok.returncode == 0 and "curate" in ok.stdout
    bad = subprocess.run([*curate, "sample", str(tmp_path / "missing.parquet"), "-o",
                          str(tmp_path / "o.parquet"), "--n", "3"], capture_output=True,
                         text=True)
    assert bad.returncode == 1
    assert bad.stderr.strip().startswith("Error: ") and "Traceback" not in bad.stderr
    usage = subprocess.run([*curate, "sample", "x"], capture_output=True, text=True)
    assert usage.returncode == 2


def test_validate_command(demo, tmp_path):
    code, text = run("validate", "catalogue", demo / "catalogue.parquet")
    assert code == 0 and "valid catalogue table, 3000 rows" in text
    code, text = run("validate", "recommendations", demo / "recommendations.parquet")
    assert code == 0, text
    code, text = run("validate", "sample", demo / "catalogue.parquet")
    assert code == 1 and "missing column 'unit_id'" in text and "missing column 'prn'" in text


def test_every_command_has_help():
    for name in cli.commands:
        code, text = run(name, "--help")
        assert code == 0 and "Usage:" in text


def test_sampling_the_demo_catalogue_reproduces_known_structure(demo):
    cat = pq.read_table(demo / "catalogue.parquet")
    assert np.isin(cat.column("market").to_numpy(zero_copy_only=False), ["IS"]).mean() < 0.03
