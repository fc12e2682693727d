"""What a sample represents: unsampled strata are named, never silently left out of "all";
a domain's count is bounded by the domain's own size, never the population's."""

import numpy as np
import pandas as pd
import pytest

from curation.estimation import estimate_table
from curation.estimation.frame import domain_sizes, strata_sizes, unsampled_strata
from samplers import ImportanceSampler, StratifiedSampler
from schemas import DesignError, write_with_manifest
from tests.cli import run

from .coverage import hard_population


@pytest.fixture(scope="module")
def pop():
    return hard_population(N=20_000, prevalence=0.004, separation=1.35, seed=3)


@pytest.fixture(scope="module")
def thin(pop):
    """n = 60 by market: the two 0.5% markets get no unit (as found by the issue)."""
    return StratifiedSampler(n=60, seed=2, strata=["market"]).sample(pop)


def test_unsampled_strata_are_named_from_the_manifest(thin):
    gone = unsampled_strata(thin.manifest)
    assert set(gone.stratum) == {"IS", "NZ"}
    assert gone.N_h.sum() == pytest.approx(0.01 * 20_000, rel=0.2)


def test_estimate_refuses_all_when_strata_were_allocated_no_unit(thin):
    with pytest.raises(DesignError, match=r"'IS', 'NZ' \(N = [\d,]+, [\d.]+% of the pop"):
        estimate_table(thin.to_pandas(), ["sens"], manifest=thin.manifest)


def test_accepted_unsampled_strata_are_recorded_in_the_output(thin):
    t = estimate_table(thin.to_pandas(), ["sens"], domain="market", manifest=thin.manifest,
                       accept_unsampled=True)
    assert t.attrs["unsampled_strata"] == ["IS", "NZ"]
    assert 0.98 < t.attrs["represented_share"] < 1.0
    # the unsampled markets are shown as rows without estimates, not dropped
    gone = t[t.domain.isin(["market=IS", "market=NZ"])]
    assert len(gone) == 4 and (gone.n == 0).all() and gone.estimate.isna().all()
    assert set(gone.ci_method) == {"no sampled unit"}


def test_cli_names_what_is_not_represented_and_writes_nothing(thin, tmp_path):
    data = tmp_path / "thin.parquet"
    thin.write(data)
    out = tmp_path / "est.csv"
    code, text = run("estimate", data, "-o", out, "--y", "sens")
    assert code == 1 and "'IS', 'NZ'" in text and "--accept-unsampled" in text
    assert "Traceback" not in text and len(text.strip().splitlines()) == 1
    assert not out.exists()
    code, text = run("estimate", data, "-o", out, "--y", "sens", "--accept-unsampled")
    assert code == 0, text
    assert "covers the sampled strata only" in text and out.exists()


def test_sample_warns_of_strata_with_no_or_one_unit(pop, tmp_path):
    src = tmp_path / "pop.parquet"
    pop.to_parquet(src)
    code, text = run("sample", src, "-o", tmp_path / "s.parquet", "--n", 45, "--strata",
                     "market")
    assert code == 0, text
    assert "warning: 2 strata allocated no unit: 'IS'" in text and "'NZ'" in text
    assert "warning: 1 strata allocated one unit: 'SE'" in text
    assert "--min-per-stratum 2" in text
    code, text = run("sample", src, "-o", tmp_path / "s2.parquet", "--n", 45, "--strata",
                     "market", "--min-per-stratum", 2)
    assert code == 0 and "warning" not in text


def test_domain_sizes_come_from_population_totals_or_strata(pop, thin):
    sizes, basis = domain_sizes("market", thin.manifest)
    assert basis == "manifest allocation"
    assert sizes == pop.market.value_counts().astype(float).to_dict()
    assert strata_sizes(thin.manifest, "creator_group") is None
    sizes, basis = domain_sizes("creator_group", thin.manifest, population=pop)
    assert basis == "population" and sum(sizes.values()) == len(pop)


def counts(table):
    return table[(table.metric == "total")].set_index("domain")


@pytest.mark.parametrize("design", ["stratified", "importance"])
def test_domain_count_intervals_never_exceed_the_domain(pop, design):
    """A small zero-positive market's count bound is a fraction of that market, not of N."""
    if design == "stratified":
        s = StratifiedSampler(n=600, seed=1, strata=["market"], min_per_stratum=5).sample(pop)
    else:
        s = ImportanceSampler(n=600, seed=1, size="risk_score", mixture=0.1).sample(pop)
    N_d = pop.market.value_counts()
    for population in (None, pop):
        t = counts(estimate_table(s.to_pandas(), ["sens"], domain="market",
                                  manifest=s.manifest, population=population))
        for m, size in N_d.items():
            row = t.loc[f"market={m}"]
            if row.n == 0:
                continue
            bound = size if population is not None or design == "stratified" else \
                s.to_pandas().query("market == @m").design_weight.sum()
            assert row.ci_high <= bound * (1 + 1e-12), (m, row.ci_high, bound)
        zero = t.loc["market=IS"]
        assert zero.estimate == 0 and 0 < zero.ci_high < N_d["IS"]


def test_zero_positive_domain_count_bound_scales_with_the_domain(pop):
    s = StratifiedSampler(n=600, seed=1, strata=["market"], min_per_stratum=5).sample(pop)
    t = estimate_table(s.to_pandas(), ["sens"], domain="market", manifest=s.manifest)
    prop, tot = (t[(t.metric == m) & (t.domain == "market=IS")].iloc[0]
                 for m in ("proportion", "total"))
    N_is = float((pop.market == "IS").sum())
    assert tot.ci_high == pytest.approx(prop.ci_high * N_is, rel=1e-12)


def test_population_file_sizes_domains_in_the_cli(pop, tmp_path):
    s = ImportanceSampler(n=600, seed=1, size="risk_score", mixture=0.1).sample(pop)
    data, src, out = tmp_path / "s.parquet", tmp_path / "pop.parquet", tmp_path / "e.csv"
    s.write(data)
    pop.to_parquet(src)
    code, text = run("estimate", data, "-o", out, "--y", "sens", "--domain", "creator_group",
                     "--population", src)
    assert code == 0, text
    assert "domain sizes N_d: population" in text
    t = counts(pd.read_csv(out))
    for g, size in pop.creator_group.value_counts().items():
        assert t.loc[f"creator_group={g}"].ci_high <= size
    code, text = run("estimate", data, "-o", out, "--y", "sens", "--domain", "nosuch",
                     "--population", src)
    assert code == 1 and "no domain column 'nosuch'" in text


def test_estimate_never_overwrites_its_input(pop, tmp_path):
    s = StratifiedSampler(n=200, seed=1, strata=["market"], min_per_stratum=2).sample(pop)
    data = tmp_path / "s.parquet"
    write_with_manifest(data, s.table, s.manifest)
    before = data.read_bytes()
    code, text = run("estimate", data, "-o", data, "--y", "sens")
    assert code == 1 and "would overwrite the input" in text
    assert data.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.manifest.json", "s.parquet"]


def test_table_without_manifest_is_not_refused(pop):
    s = StratifiedSampler(n=200, seed=1, strata=["market"], min_per_stratum=2).sample(pop)
    df = s.to_pandas()
    t = estimate_table(df, ["sens"], domain="market")
    assert t.attrs["unsampled_strata"] == [] and np.isnan(t.attrs["represented_share"])
