"""Agreement with R's survey package on samples drawn by our samplers (and on R's api data).

Points to 1e-9 relative, standard errors, design effects and intervals (t and Korn–Graubard)
to 1e-6 relative. Needs ``Rscript`` with the ``survey`` package (Debian ``r-cran-survey``).
"""

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from curation.estimation import estimate_table, hajek_mean, ratio, recognise
from samplers import ImportanceSampler, StratifiedSampler

HERE = Path(__file__).parent
pytestmark = pytest.mark.skipif(shutil.which("Rscript") is None and not os.environ.get("CI"),
                                reason="needs R (CI installs r-cran-survey and never skips)")


def r_reference(tmp_path, data: pd.DataFrame, kind: str, binary, numeric, domain=None,
                level=0.95, rake=None) -> pd.DataFrame:
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    data.to_csv(src, index=False, float_format="%.17g")
    args = ["Rscript", str(HERE / "survey_reference.R"), str(src), str(out), kind, str(level),
            ",".join(binary) or "-", ",".join(numeric) or "-", domain or "-"]
    if rake is not None:
        rows = [(c, lv, t) for c, levels in rake.items() for lv, t in levels.items()]
        pd.DataFrame(rows, columns=["column", "level", "total"]).to_csv(tmp_path / "rake.csv",
                                                                       index=False)
        args.append(str(tmp_path / "rake.csv"))
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return pd.read_csv(out)


def for_r(sample) -> pd.DataFrame:
    df = sample.to_pandas()
    N = {a["stratum"]: a["N_h"] for a in sample.manifest.allocation}
    df["N_h"] = df["stratum"].map(N)
    df["pi"] = df["inclusion_prob"]
    return df


def compare(ours: pd.DataFrame, ref: pd.DataFrame) -> dict[str, float]:
    """Max relative differences per column; asserts every (metric, y, domain) is matched."""
    keys = ["metric", "y", "domain"]
    m = ours.merge(ref, on=keys, suffixes=("", "_r"), how="inner")
    assert len(m) == len(ref) > 0
    diffs = {}
    for col in ["estimate", "se", "ci_low", "ci_high", "deff"]:
        a, b = m[col].to_numpy(float), m[col + "_r"].to_numpy(float)
        both = np.isfinite(b)
        assert np.array_equal(np.isfinite(a)[both], both[both]), (col, m[keys][~np.isfinite(a)])
        scale = np.maximum(np.abs(b[both]), 1e-300)
        diffs[col] = float(np.max(np.abs(a[both] - b[both]) / scale, initial=0.0))
    return diffs


def check(diffs: dict[str, float], deff: bool = True) -> None:
    assert diffs["estimate"] < 1e-9, diffs
    for col in ["se", "ci_low", "ci_high"] + ["deff"] * deff:
        assert diffs[col] < 1e-6, (col, diffs)


def test_stratified_srswor_with_domain_and_rare_proportion(population, tmp_path):
    s = StratifiedSampler(n=400, seed=3, strata=["market"], allocation="power",
                          min_per_stratum=5).sample(population)
    ours = estimate_table(s.to_pandas(), ["sens", "rare", "minutes"], domain="creator_group",
                          ci="beta", manifest=s.manifest)
    ref = r_reference(tmp_path, for_r(s), "srswor", ["sens", "rare"], ["minutes"],
                      "creator_group")
    check(compare(ours, ref))


@pytest.mark.parametrize("method", ["poisson", "priority"])
def test_importance_designs_use_poisson_variance(population, tmp_path, method):
    s = ImportanceSampler(n=300, size="risk_score", mixture=0.1, method=method, seed=11,
                          strata=["market"]).sample(population)
    ours = estimate_table(s.to_pandas(), ["sens", "rare", "minutes"], domain="creator_group",
                          ci="beta", manifest=s.manifest, level=0.9)
    ref = r_reference(tmp_path, for_r(s), "poisson", ["sens", "rare"], ["minutes"],
                      "creator_group", level=0.9)
    check(compare(ours, ref), deff=False)  # R's svytotal.pps deff has no 1/n


def test_raking_to_known_totals(population, tmp_path):
    s = StratifiedSampler(n=400, seed=5, strata=["market"], allocation="equal").sample(population)
    totals = {"creator_group": population["creator_group"].value_counts().to_dict()}
    ours = estimate_table(s.to_pandas(), ["sens", "minutes"], manifest=s.manifest, totals=totals,
                          ci="beta")
    ref = r_reference(tmp_path, for_r(s), "srswor", ["sens"], ["minutes"], rake=totals)
    check(compare(ours, ref))


def test_ratio_and_api_textbook_values(tmp_path):
    csv = tmp_path / "apistrat.csv"
    script = (f"suppressMessages(library(survey)); data(api); write.csv(apistrat, '{csv}', "
              "row.names=FALSE); d <- svydesign(ids=~1, strata=~stype, fpc=~fpc, data=apistrat);"
              " r <- svyratio(~api00, ~api99, d); m <- svymean(~api00, d);"
              " cat(sprintf('%.17g', c(coef(r), SE(r), coef(m), SE(m))))")
    proc = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    r_ratio, r_ratio_se, r_mean, r_mean_se = map(float, proc.stdout.split())
    api = pd.read_csv(csv)
    api["inclusion_prob"] = api.groupby("stype")["fpc"].transform(lambda f: len(f) / f)
    api["design_weight"] = 1 / api["inclusion_prob"]
    api["stratum"] = api["stype"]
    d = recognise(api)  # no manifest: constant weights per stratum → SRSWOR, N_h = Σ w
    assert d.kind == "srswor" and sorted(d.N_h.tolist()) == [755.0, 1018.0, 4421.0]
    m = hajek_mean(d, api["api00"].to_numpy(float))
    assert round(m.estimate, 2) == 662.29 and round(m.se, 4) == 9.4089  # Lumley (2010) §2.3
    assert abs(m.estimate / r_mean - 1) < 1e-9 and abs(m.se / r_mean_se - 1) < 1e-6
    r = ratio(d, api["api00"].to_numpy(float), api["api99"].to_numpy(float))
    assert abs(r.estimate / r_ratio - 1) < 1e-9 and abs(r.se / r_ratio_se - 1) < 1e-6
