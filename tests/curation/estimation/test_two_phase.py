"""The two-phase design: its variance is the Δ̌-matrix formula of R's twophase2var written out,
the double expansion's variance estimator is unbiased (simulation), and the calibrated
(GREG) weights reproduce the phase-1 totals of 1 and the prediction in every stratum."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from curation.estimation import hajek_mean, ht_total
from curation.estimation.two_phase import calibrate_phase2, two_phase_design
from schemas import DesignError


def phase1_frame(N_h=(30, 50), n_h=(10, 16), seed=0):
    """A stratified SRSWOR phase 1 from a population of two strata, as a sample table."""
    rng = np.random.default_rng(seed)
    ids, strata, pi = [], [], []
    for h, (N, n) in enumerate(zip(N_h, n_h, strict=True)):
        ids += [f"h{h}u{k}" for k in rng.choice(N, n, replace=False)]
        strata += [f"s{h}"] * n
        pi += [n / N] * n
    pi = np.array(pi)
    return pd.DataFrame({"unit_id": ids, "stratum": strata, "inclusion_prob": pi,
                         "design_weight": 1 / pi})


def phase2_frame(p1: pd.DataFrame, pi2: np.ndarray, keep: np.ndarray) -> pd.DataFrame:
    return p1.loc[keep].assign(phase2_prob=pi2[keep],
                               inclusion_prob=p1["inclusion_prob"][keep] * pi2[keep],
                               design_weight=1 / (p1["inclusion_prob"][keep] * pi2[keep]))


def dcheck(design) -> tuple[np.ndarray, np.ndarray]:
    """Phase 1's and phase 2's Δ̌ over the phase-2 units, written out as R builds them."""
    n = design.n
    d1 = np.diag(1 - design.pi1)
    for i in range(n):
        for j in range(n):
            h = design.codes[i]
            if i != j and design.codes[j] == h:
                f = 1 - design.n1_h[h] / design.N_h[h]
                d1[i, j] = -f / (design.n1_h[h] - 1)
    return d1, np.diag(1 - design.pi2)


def test_variance_is_the_twophase2var_formula():
    p1 = phase1_frame()
    rng = np.random.default_rng(1)
    pi2 = rng.uniform(0.3, 0.9, len(p1))
    keep = rng.uniform(size=len(p1)) < pi2
    f1 = rng.uniform(size=len(p1))
    p2 = phase2_frame(p1, pi2, keep)
    plain = two_phase_design(p1, None, p2)
    cal = calibrate_phase2(plain, f1, f1[keep])
    d1, d2 = dcheck(plain)
    x = rng.normal(size=plain.n) * plain.weight
    full = d1 + d2 - d1 * d2  # survey's twophaseDcheck
    assert plain.variance(x) == pytest.approx(x @ full @ x, rel=1e-12)
    X, base = cal.calib
    z = x / cal.weight
    beta = np.linalg.solve((X * base[:, None]).T @ X, (X * base[:, None]).T @ z)
    e = (z - X @ beta) * cal.weight
    assert cal.variance(x) == pytest.approx(x @ (full - d2) @ x + e @ d2 @ e, rel=1e-10)
    # the calibrated weights reproduce phase 1's HT totals of 1 and f per stratum
    w1 = 1 / p1["inclusion_prob"].to_numpy()
    for h in range(2):
        m1, m2 = plain.phase1_codes == h, cal.codes == h
        assert cal.weight[m2].sum() == pytest.approx(w1[m1].sum(), rel=1e-12)
        assert cal.weight[m2] @ f1[keep][m2] == pytest.approx(w1[m1] @ f1[m1], rel=1e-12)


@pytest.mark.slow  # ~10 s of CPU: 4,000 draws through the public constructor
def test_the_double_expansion_and_its_variance_are_unbiased():
    """Population of 80 in two strata; 4,000 draws of both phases: the mean of V̂ is the
    simulated variance of the total within its Monte Carlo error (~2.5%)."""
    rng = np.random.default_rng(7)
    y_pop = {f"h{h}u{k}": float(v) for h, N in enumerate((30, 50)) for k in range(N)
             for v in [rng.gamma(2.0, 1.0 + h)]}
    truth = sum(y_pop.values())
    est, var = [], []
    for r in range(4000):
        p1 = phase1_frame(seed=r)
        g = np.random.default_rng(10_000 + r)
        pi2 = np.clip(0.2 + 0.6 * g.uniform(size=len(p1)), 0, 1)
        keep = g.uniform(size=len(p1)) < pi2
        if keep.sum() < 4 or len(set(p1["stratum"][keep])) < 2:
            continue
        d = two_phase_design(p1, None, phase2_frame(p1, pi2, keep))
        t = ht_total(d, p1["unit_id"][keep].map(y_pop).to_numpy())
        est.append(t.estimate)
        var.append(t.var)
    est, var = np.array(est), np.array(var)
    assert abs(est.mean() - truth) < 3 * est.std() / np.sqrt(est.size)
    assert var.mean() == pytest.approx(est.var(), rel=0.08)


def test_a_stratum_without_phase2_units_cannot_be_calibrated():
    p1 = phase1_frame()
    pi2 = np.full(len(p1), 0.5)
    keep = (p1["stratum"] == "s0").to_numpy()
    d = two_phase_design(p1, None, phase2_frame(p1, pi2, keep))
    with pytest.raises(DesignError, match="'s1' has no phase-2 unit"):
        calibrate_phase2(d, np.zeros(len(p1)), np.zeros(d.n))


def test_constant_phase2_predictions_in_a_stratum_calibrate_its_count_only():
    """A rare 0/1 model label none of whose positives reached phase 2 in a stratum: λ_h = 0
    there (the phase-1 count calibration only), the prediction used elsewhere."""
    p1 = phase1_frame()
    rng = np.random.default_rng(2)
    pi2 = np.full(len(p1), 0.5)
    keep = rng.uniform(size=len(p1)) < pi2
    f1 = rng.uniform(size=len(p1))
    s0 = (p1["stratum"] == "s0").to_numpy()
    f1[s0 & keep] = 0.0  # s0's phase-2 units all say 0; its phase-1 units do not
    d = two_phase_design(p1, None, phase2_frame(p1, pi2, keep))
    cal = calibrate_phase2(d, f1, f1[keep])
    w1 = 1 / p1["inclusion_prob"].to_numpy()
    m0 = cal.codes == 0
    assert cal.weight[m0].sum() == pytest.approx(w1[s0].sum(), rel=1e-12)
    assert np.allclose(cal.weight[m0], cal.weight[m0][0])  # the count only: one g in s0
    m1 = cal.codes == 1
    assert cal.weight[m1] @ f1[keep][m1] == pytest.approx(w1[~s0] @ f1[~s0], rel=1e-12)


def test_phase2_units_outside_phase1_are_named():
    p1 = phase1_frame()
    p2 = phase2_frame(p1, np.full(len(p1), 0.5), np.ones(len(p1), bool))
    p2.loc[p2.index[:7], "unit_id"] = [f"x{k}" for k in range(7)]
    with pytest.raises(DesignError, match=r"7 phase-2 unit\(s\) are not in the phase-1 "
                                          r"sample P1 \(unit_id x0, x1, x2, x3, x4 \+2 more\)"):
        two_phase_design(p1, None, p2, phase1_source="P1")


def test_a_useful_prediction_narrows_the_interval_and_a_useless_one_costs_little():
    rng = np.random.default_rng(3)
    p1 = phase1_frame(N_h=(3000, 5000), n_h=(600, 1000), seed=3)
    y1 = (rng.uniform(size=len(p1)) < 0.1).astype(float)
    good = np.clip(0.8 * y1 + rng.uniform(0, 0.2, y1.size), 0, 1)
    useless = rng.uniform(size=y1.size)
    pi2 = np.full(len(p1), 0.2)
    keep = rng.uniform(size=len(p1)) < pi2
    plain = two_phase_design(p1, None, phase2_frame(p1, pi2, keep))
    se = {name: hajek_mean(calibrate_phase2(plain, f, f[keep]), y1[keep]).se
          for name, f in (("good", good), ("useless", useless))}
    base = hajek_mean(plain, y1[keep]).se
    assert se["good"] < 0.6 * base and se["useless"] < 1.05 * base
