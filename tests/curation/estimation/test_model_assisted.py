"""Model-assisted (GREG / PPI++ per stratum) estimation: by hand, and against R's
``survey::calibrate`` on samples our samplers drew (estimates to 1e-9, SEs to 1e-6; for
Poisson/priority designs the SE is R's own variance pieces on the residualised scores, since
survey 4.1.1's ``ppsvar`` drops the residuals of a calibrated pps design)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from curation.estimation import hajek_mean, ht_total, recognise
from curation.estimation.model_assisted import greg, power_tuning, prediction_totals
from samplers import ImportanceSampler, StratifiedSampler
from schemas import DesignError

HERE = Path(__file__).parent
needs_r = pytest.mark.skipif(shutil.which("Rscript") is None and not os.environ.get("CI"),
                             reason="needs R (CI installs r-cran-survey and never skips)")


def drawn(population, design: str):
    if design == "stratified":
        return StratifiedSampler(n=400, seed=3, strata=["market"], allocation="power",
                                 min_per_stratum=5).sample(population)
    return ImportanceSampler(n=400, seed=3, strata=["market"], size="risk_score",
                             mixture=0.1).sample(population)


def greg_design(sample, population):
    df = sample.to_pandas()
    design = recognise(df, sample.manifest)
    N, F = prediction_totals(population["market"], population["risk_score"], design.labels)
    return df, design, greg(design, df["risk_score"].to_numpy(), N, F), N, F


def test_greg_is_the_separate_regression_estimator_under_stratified_srs(population):
    df, design, cal, N, F = greg_design(drawn(population, "stratified"), population)
    y, f = df["sens"].to_numpy(float), df["risk_score"].to_numpy()
    by_hand = 0.0
    for h, b in enumerate(power_tuning(design, y, f)):
        m = design.codes == h
        by_hand += N[h] * y[m].mean() + b * (F[h] - N[h] * f[m].mean())
    assert ht_total(cal, y).estimate == pytest.approx(by_hand, rel=1e-12)
    assert hajek_mean(cal, y).estimate == pytest.approx(by_hand / N.sum(), rel=1e-12)
    # the calibrated weights reproduce the known totals of every stratum
    for h in range(len(N)):
        m = design.codes == h
        assert cal.weight[m].sum() == pytest.approx(N[h], rel=1e-12)
        assert (cal.weight[m] * f[m]).sum() == pytest.approx(F[h], rel=1e-12)


def test_a_useless_prediction_costs_little_and_a_good_one_saves_much(population):
    s = drawn(population, "stratified")
    df = s.to_pandas()
    design = recognise(df, s.manifest)
    y = df["sens"].to_numpy(float)
    plain = hajek_mean(design, y).se
    rng = np.random.default_rng(1)
    noise = rng.uniform(0, 1, len(population))
    good = np.clip(population["sens"] * 0.8 + rng.uniform(0, 0.2, len(population)), 0, 1)
    ses = {}
    for name, pred in (("useless", noise), ("good", good)):
        pop = population.assign(pred=pred)
        sample_pred = pop.set_index("item_id").loc[df["item_id"], "pred"].to_numpy()
        N, F = prediction_totals(pop["market"], pop["pred"], design.labels)
        ses[name] = hajek_mean(greg(design, sample_pred, N, F), y).se
    assert ses["useless"] < 1.05 * plain
    assert ses["good"] < 0.5 * plain


@pytest.mark.parametrize("bad, message", [
    (np.nan, "missing or outside \\[0, 1\\]"), (1.5, "missing or outside \\[0, 1\\]")])
def test_predictions_missing_or_outside_0_1_are_one_line_errors(population, bad, message):
    s = drawn(population, "stratified")
    df = s.to_pandas()
    design = recognise(df, s.manifest)
    f = df["risk_score"].to_numpy().copy()
    f[[0, 3]] = bad
    with pytest.raises(DesignError, match=message) as e:
        greg(design, f, np.ones(len(design.labels)), np.ones(len(design.labels)))
    assert "2 sampled unit(s)" in str(e.value) and "\n" not in str(e.value)


@needs_r
@pytest.mark.parametrize("design", ["stratified", "importance"])
def test_greg_matches_r_survey_calibrate(population, tmp_path, design):
    s = drawn(population, design)
    df, plain, cal, N, F = greg_design(s, population)
    alloc = {a["stratum"]: a["N_h"] for a in s.manifest.allocation}
    data = df.assign(N_h=df["stratum"].map(alloc), pi=df["inclusion_prob"], f=df["risk_score"])
    src, totals, out = tmp_path / "in.csv", tmp_path / "totals.csv", tmp_path / "out.csv"
    data.to_csv(src, index=False, float_format="%.17g")
    pd.DataFrame({"stratum": plain.labels, "N": N, "F": F}).to_csv(
        totals, index=False, float_format="%.17g")
    kind = "srswor" if design == "stratified" else "poisson"
    proc = subprocess.run(["Rscript", str(HERE / "greg_reference.R"), str(src), str(totals),
                           str(out), kind, "sens,minutes"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    ref = pd.read_csv(out)
    if design == "importance":  # survey 4.1.1's ppsvar ignores the calibration (see the R file)
        assert ((ref["se_svytotal"] - ref["se"]).abs() > 1e-3 * ref["se"]).all()
    for row in ref.itertuples():
        y = data[row.y].to_numpy(float)
        est = ht_total(cal, y) if row.metric == "total" else hajek_mean(cal, y)
        assert est.estimate == pytest.approx(row.estimate, rel=1e-9), row
        assert est.se == pytest.approx(row.se, rel=1e-6), row


needs_ppi = pytest.mark.skipif(
    not os.environ.get("CI") and __import__("importlib").util.find_spec("ppi_py") is None,
    reason="needs ppi_py (the test extra installs ppi-python; CI never skips)")


@needs_ppi
@pytest.mark.parametrize("quality", ["good", "weak", "useless"])
def test_ppi_mean_is_ppi_py_on_an_iid_sample(quality):
    from ppi_py import ppi_mean_ci, ppi_mean_pointestimate

    from curation.estimation.model_assisted import ppi_mean

    rng = np.random.default_rng({"good": 1, "weak": 2, "useless": 3}[quality])
    truth = (rng.uniform(size=20_000) < 0.004).astype(float)
    f = {"good": np.clip(0.9 * truth + rng.uniform(0, 0.1, truth.size), 0, 1),
         "weak": np.clip(0.5 * truth + rng.uniform(0, 0.5, truth.size), 0, 1),
         "useless": rng.uniform(size=truth.size)}[quality]
    lab = rng.choice(truth.size, 2000, replace=False)
    rest = np.setdiff1d(np.arange(truth.size), lab)
    est, se, lo, hi, lam = ppi_mean(truth[lab], f[lab], f[rest], level=0.9)
    ref_est = float(np.squeeze(ppi_mean_pointestimate(truth[lab], f[lab], f[rest])))
    ref_lo, ref_hi = (float(np.squeeze(v)) for v in ppi_mean_ci(truth[lab], f[lab], f[rest],
                                                                 alpha=0.1))
    assert est == pytest.approx(ref_est, rel=1e-6, abs=1e-12)
    assert (lo, hi) == (pytest.approx(ref_lo, rel=1e-6, abs=1e-12),
                        pytest.approx(ref_hi, rel=1e-6, abs=1e-12))
