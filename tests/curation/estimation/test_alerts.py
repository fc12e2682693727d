"""Alerts: Benjamini–Hochberg over the changes of many groups controls the false-discovery rate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from scipy import stats

from curation.estimation.alerts import benjamini_hochberg, change_p_values, flag_changes
from curation.estimation.change import proportion_change
from samplers import allocate
from samplers.prn import prn
from schemas import DesignError

from .coverage import stratified, survey_design


@pytest.mark.parametrize("seed", range(6))
def test_flags_are_scipys_adjusted_p_values_at_the_level(seed):
    rng = np.random.default_rng(seed)
    p = np.round(rng.uniform(0, 0.2, 25) ** 2, 3)  # rounding makes ties
    for level in (0.01, 0.05, 0.2):
        want = stats.false_discovery_control(p, method="bh") <= level
        assert benjamini_hochberg(p, level).tolist() == want.tolist()


def test_step_up_ties_and_missing_p_values():
    # 0.03 > 0.05·2/4 on its own, but the step-up passes it because 0.035 ≤ 0.05·3/4
    assert benjamini_hochberg([0.001, 0.03, 0.035, 0.9], 0.05).tolist() == [True, True, True,
                                                                           False]
    assert benjamini_hochberg([0.03, 0.03, 0.03], 0.05).tolist() == [True] * 3  # all or none
    assert benjamini_hochberg([0.04, 0.04, 0.9], 0.05).tolist() == [False] * 3
    p = [0.01, np.nan, 0.02, np.nan]  # NaN: never flagged, and not one of the m tests
    assert benjamini_hochberg(p, 0.05).tolist() == [True, False, True, False]
    assert benjamini_hochberg([np.nan, np.nan], 0.05).tolist() == [False, False]
    assert benjamini_hochberg([], 0.05).tolist() == []


def test_bad_levels_and_p_values_are_refused():
    with pytest.raises(DesignError, match="level"):
        benjamini_hochberg([0.1], 1.0)
    with pytest.raises(DesignError, match=r"\[0, 1\]"):
        benjamini_hochberg([1.2], 0.05)


def test_p_values_of_changes_agree_with_their_intervals():
    z = stats.norm.ppf(0.975)
    # symmetric intervals: the Wald test; skewed ones: the side towards 0 decides
    p = change_p_values([0.02, -0.02, 0.02, 0.0, 0.01], [0.02 - z * 0.01, -0.02 - z * 0.01,
                        0.02 - z * 0.02, -0.01, np.nan], [0.02 + z * 0.01, -0.02 + z * 0.01,
                        0.03, 0.01, 0.02], 0.95)
    assert p[:3] == pytest.approx([2 * stats.norm.sf(2)] * 2 + [2 * stats.norm.sf(1)])
    assert p[3] == 1.0 and np.isnan(p[4])
    # a change from 0% to 100% in a small group: design SE 0, interval far from 0
    assert change_p_values([1.0], [0.6], [1.0], 0.95)[0] < 1e-6
    # significant at 5% exactly when the 95% interval excludes 0
    lo, hi = np.array([0.001, -0.001]), np.array([0.05, 0.05])
    assert (change_p_values([0.02, 0.02], lo, hi, 0.95) < 0.05).tolist() == [True, False]
    table = pd.DataFrame({"difference": [0.05, 0.0, 0.001], "ci_low": [0.03, -0.01, -0.02],
                          "ci_high": [0.07, 0.01, 0.02]})
    out = flag_changes(table, 0.05, 0.95)
    assert out["flagged"].tolist() == [True, False, False] and "p_value" not in table


GROUPS, TRUE = 40, 8  # forty groups; in eight of them the policy fixed 70% of the positives


def _population(N: int = 40_000, seed: int = 0):
    rng = np.random.default_rng(seed)
    group = rng.integers(0, GROUPS, N)
    risk = rng.integers(0, 4, N)  # the sampling strata, cutting across groups
    base = 0.04 + 0.03 * risk + 0.002 * group
    a = (rng.uniform(size=N) < base).astype(float)
    b = np.where((group < TRUE) & (a == 1) & (rng.uniform(size=N) < 0.7), 0.0, a)
    ids = np.array([f"g{k}" for k in range(N)])
    truth = np.array([b[group == g].mean() - a[group == g].mean() for g in range(GROUPS)])
    return ids, group, risk, a, b, truth


@pytest.mark.slow
def test_benjamini_hochberg_controls_the_fdr_of_change_alerts():
    """Two independent waves of n = 8,000 (stratified on risk) of one population of 40,000
    items in 40 groups; per replicate the 40 changes' p-values (read from their intervals) go
    through BH at 10%. In the 32 null groups no label changed (true change 0); in the others
    a 70% fall."""
    ids, group, risk, a, b, truth = _population()
    null = truth == 0
    assert null.sum() == GROUPS - TRUE and (truth[~null] < -0.01).all()
    plan = stratified(risk, allocate(np.bincount(risk), 8000, "proportional"))
    keys = pa.array(ids)
    level, reps = 0.10, 120
    fdp, power, fdp_alone = [], [], []
    for seed in range(reps):
        da, db = plan(prn(keys, 2 * seed)), plan(prn(keys, 2 * seed + 1))
        sa, sb = survey_design(da), survey_design(db)
        ga, gb = group[da.rows], group[db.rows]
        diff, lo, hi = np.empty(GROUPS), np.empty(GROUPS), np.empty(GROUPS)
        for g in range(GROUPS):
            c = proportion_change(sa, a[da.rows], ids[da.rows], sb, b[db.rows], ids[db.rows],
                                  "independent", domain_a=ga == g, domain_b=gb == g)
            diff[g], lo[g], hi[g] = c.difference, c.ci_low, c.ci_high
        p = change_p_values(diff, lo, hi, 0.95)
        flagged = benjamini_hochberg(p, level)
        fdp.append((flagged & null).sum() / max(flagged.sum(), 1))
        alone = p <= level  # each group tested at the level on its own
        fdp_alone.append((alone & null).sum() / max(alone.sum(), 1))
        power.append((flagged & ~null).sum() / (~null).sum())
    fdr, mc = np.mean(fdp), np.std(fdp, ddof=1) / np.sqrt(reps)
    print(f"\nFDR {fdr:.3f} ± {mc:.3f} (level {level}); power {np.mean(power):.2f} over "
          f"{(~null).sum()} true changes; {reps} replicates; without BH the FDR is "
          f"{np.mean(fdp_alone):.3f}")
    assert fdr <= level + 3 * mc
    assert np.mean(power) > 0.3  # it finds real changes too
