"""`curate estimate` through the real entry point: outputs, nonresponse, and bad input."""

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from click.testing import CliRunner

from curation.cli.main import cli
from samplers import StratifiedSampler
from schemas import write_with_manifest


def run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def labeled(tmp_path_factory, ):
    from .conftest import make_population

    pop = make_population(N=3000, seed=2)
    s = StratifiedSampler(n=240, seed=1, strata=["market"], allocation="equal").sample(pop)
    df = s.to_pandas()
    df["adjudication"] = "unanimous"
    df.loc[[0, 5, 9], "adjudication"] = "unresolved"
    df.loc[[0, 5, 9], ["sens", "rare"]] = np.nan
    out = tmp_path_factory.mktemp("lab") / "labeled.parquet"
    write_with_manifest(out, pa.Table.from_pandas(df, preserve_index=False), s.manifest)
    return out, df, s.manifest


@pytest.mark.parametrize("ext", ["csv", "parquet", "json"])
def test_writes_tidy_table_by_extension_and_prints_it(labeled, tmp_path, ext):
    path, df, _ = labeled
    out = tmp_path / f"est.{ext}"
    code, text = run("estimate", path, "-o", out, "--y", "sens", "--y", "minutes",
                     "--domain", "creator_group", "--level", "0.9", "--ci", "wilson")
    assert code == 0, text
    table = {"csv": pd.read_csv, "parquet": pd.read_parquet,
             "json": lambda p: pd.DataFrame(json.loads(p.read_text()))}[ext](out)
    assert list(table.columns)[:10] == ["metric", "y", "domain", "estimate", "se", "ci_low",
                                        "ci_high", "n", "n_eff", "deff"]
    prop = table[(table.metric == "proportion") & (table.domain == "all")].iloc[0]
    resp = df[df.adjudication != "unresolved"]
    assert prop["n"] == len(resp) == 237 and prop["ci_method"] == "wilson"
    assert prop["ci_low"] < prop["estimate"] < prop["ci_high"]
    assert set(table[table.metric == "mean"].domain) == {
        "all", "creator_group=indie", "creator_group=major", "creator_group=self"}
    rates = table[table.metric == "nonresponse_rate"].set_index("domain")
    strata = rates[rates.index.str.startswith("stratum=")]
    assert strata["n"].sum() == 240 and strata["estimate"].max() > 0
    assert rates.loc["all", "n"] == 240  # and one row per domain
    assert rates.loc[["creator_group=indie", "creator_group=major", "creator_group=self"],
                     "n"].sum() == 240
    assert "design: srswor (manifest design 'stratified'" in text
    assert "237 of 240 units responded" in text and "nonresponse_rate" in text


def test_nonresponse_adjustment_keeps_stratum_totals(labeled, tmp_path):
    path, df, manifest = labeled
    out = tmp_path / "e.csv"
    code, text = run("estimate", path, "-o", out, "--y", "sens", "--domain", "market")
    assert code == 0, text
    t = pd.read_csv(out)
    N = {a["stratum"]: a["N_h"] for a in manifest.allocation}
    resp = df[df.adjudication != "unresolved"]
    for market, rows in resp.groupby("market"):
        total = t[(t.metric == "total") & (t.domain == f"market={market}")].estimate.item()
        assert total == pytest.approx(N[market] * rows["sens"].mean(), rel=1e-12)


def test_csv_without_manifest_infers_stratified_design(labeled, tmp_path):
    _, df, _ = labeled
    src = tmp_path / "plain.csv"
    df[df.adjudication != "unresolved"].to_csv(src, index=False)
    code, text = run("estimate", src, "-o", tmp_path / "o.json", "--y", "sens")
    assert code == 0, text
    assert "design: srswor (no manifest; weights constant within strata; manifest: none)" in text


def _bad(tmp_path, frame: pd.DataFrame) -> str:
    src = tmp_path / "bad.parquet"
    frame.to_parquet(src)
    return str(src)


@pytest.mark.parametrize("case, args, message", [
    ("missing", [], "missing design column(s) ['inclusion_prob']"),
    ("weights", [], "column 'design_weight': 2 weight(s) not > 0 at rows 1, 4"),
    ("nulls", [], "y column 'sens' has 2 null value(s) among responding units at unit_id "),
    ("domain", ["--domain", "market=NO"], "domain market=NO has no sampled (responding) unit"),
])
def test_bad_input_is_one_line_error_exit_1_and_no_output(labeled, tmp_path, case, args,
                                                           message):
    _, df, _ = labeled
    frame = df[df.adjudication != "unresolved"].drop(columns="adjudication").reset_index(
        drop=True)
    if case == "missing":
        frame = frame.drop(columns="inclusion_prob")
    elif case == "weights":
        frame.loc[[1, 4], "design_weight"] = [0.0, -2.0]
    elif case == "nulls":
        frame.loc[[2, 7], "sens"] = np.nan
    out = tmp_path / "out.csv"
    code, text = run("estimate", _bad(tmp_path, frame), "-o", out, "--y", "sens", *args)
    assert code == 1, text
    assert message in text, text
    assert text.startswith("Error: ") and text.count("\n") == 1
    assert not out.exists()
    if case == "nulls":
        ids = frame.loc[[2, 7], "unit_id"].tolist()
        assert all(i in text for i in ids) and "rows 2, 7" in text


@pytest.fixture(scope="module")
def skewed(tmp_path_factory):
    """An importance sample whose labels are missing mostly where the risk score is high."""
    from samplers import ImportanceSampler

    from .conftest import make_population

    pop = make_population(N=4000, seed=3)
    s = ImportanceSampler(n=400, seed=2, size="risk_score", mixture=0.1).sample(pop)
    df = s.to_pandas()
    high = df.risk_score > df.risk_score.median()
    rng = np.random.default_rng(0)
    missing = rng.random(len(df)) < np.where(high, 0.3, 0.03)
    df["adjudication"] = np.where(missing, "unlabeled", "unanimous")
    df.loc[missing, "sens"] = np.nan
    df["flat"] = 1.0
    out = tmp_path_factory.mktemp("skew") / "labeled.parquet"
    write_with_manifest(out, pa.Table.from_pandas(df, preserve_index=False), s.manifest)
    return out


def test_nonresponse_cells_bounds_assumption_and_warnings(skewed, tmp_path):
    out = tmp_path / "est.csv"
    code, text = run("estimate", skewed, "-o", out, "--y", "sens", "--domain", "market",
                     "--nonresponse-by", "risk_score:5", "--nonresponse-warn", "0.02")
    assert code == 0, text
    assert "nonresponse (cells): labels are missing at random within weighting cells of " \
           "risk_score (5 quantile bins)" in text
    assert "warning: domain all: " in text and "(threshold 2%" in text
    t = pd.read_csv(out)
    prop = t[(t.metric == "proportion")].set_index("domain")
    assert (prop.worst_low <= prop.ci_low).all() and (prop.ci_high <= prop.worst_high).all()
    assert prop.assumption.str.contains("risk_score").all()
    cells = t[(t.metric == "nonresponse_rate") & t.domain.str.startswith("cell=")]
    assert len(cells) == 5


@pytest.mark.parametrize("args, message", [
    (["--nonresponse-by", "nosuch"], "no cells column 'nosuch'"),
    (["--nonresponse-by", "flat"], "'flat'"),
    (["--nonresponse-by", "market:3"], "not numeric"),
    (["--nonresponse-model", "nosuch"], "'nosuch'"),
    (["--nonresponse-by", "market", "--nonresponse-model", "risk_score"], "not both"),
])
def test_bad_nonresponse_requests_fail_in_one_line_and_write_nothing(skewed, tmp_path, args,
                                                                     message):
    out = tmp_path / "est.csv"
    code, text = run("estimate", skewed, "-o", out, "--y", "sens", *args)
    assert code == 1 and message in text, text
    assert len(text.strip().splitlines()) == 1 and "Traceback" not in text
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("level", ["1.5", "0", "high"])
def test_a_level_outside_0_1_is_a_usage_error_like_every_command_s(labeled, tmp_path, level):
    _, df, _ = labeled
    out = tmp_path / "out.csv"
    frame = df[df.adjudication != "unresolved"].drop(columns="adjudication")
    code, text = run("estimate", _bad(tmp_path, frame.reset_index(drop=True)), "-o", out,
                     "--y", "sens", "--level", level)
    assert code == 2 and "Invalid value for '--level'" in text and not out.exists(), text
