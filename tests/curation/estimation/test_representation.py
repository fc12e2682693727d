"""Representation metrics against R's survey package and against their definitions."""

import os
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from curation.estimation import recognise
from curation.estimation.representation import (
    exposure,
    exposure_share,
    known_share,
    prevalence_difference,
    representation_ratio,
)
from samplers import ImportanceSampler, StratifiedSampler

from .conftest import make_population


@pytest.mark.skipif(shutil.which("Rscript") is None and not os.environ.get("CI"),
                                reason="needs R (CI installs r-cran-survey and never skips)")
def test_exposure_share_and_group_difference_agree_with_r(tmp_path):
    pop = make_population(N=3000, seed=9)
    rng = np.random.default_rng(9)
    pop["position"] = rng.integers(1, 21, len(pop))
    s = ImportanceSampler(n=300, size="exposure", seed=2, strata=["market"],
                          method="poisson").sample(pop)
    df = s.to_pandas()
    d = recognise(df, s.manifest)
    g = (df.creator_group == "self").to_numpy()
    share = exposure_share(d, g, df.position.to_numpy())
    diff = prevalence_difference(d, df.sens.to_numpy(float), g,
                                 (df.creator_group == "major").to_numpy())
    df["e"] = exposure(df.position.to_numpy())
    df["eg"] = df["e"] * g
    df.to_csv(tmp_path / "s.csv", index=False, float_format="%.17g")
    script = f"""suppressMessages(library(survey)); x <- read.csv('{tmp_path / "s.csv"}')
d <- svydesign(ids=~1, strata=~stratum, probs=~inclusion_prob,
               pps=poisson_sampling(x$inclusion_prob), data=x)
r <- svyratio(~eg, ~e, d)
b <- svyby(~sens, ~creator_group, d, svymean, covmat=TRUE)
k <- svycontrast(b, c(indie=0, major=-1, self=1))
cat(sprintf('%.17g', c(coef(r), SE(r), coef(k), SE(k))))"""
    out = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    r_share, r_share_se, r_diff, r_diff_se = map(float, out.stdout.split())
    assert share.estimate == pytest.approx(r_share, rel=1e-9)
    assert share.se == pytest.approx(r_share_se, rel=1e-6)
    assert diff.estimate == pytest.approx(r_diff, rel=1e-9)
    assert diff.se == pytest.approx(r_diff_se, rel=1e-6)


def test_representation_ratio_covers_truth_in_simulation():
    """Exposure share of a group / its known catalogue share over 400 impression samples."""
    pop = make_population(N=2000, seed=4)
    rng = np.random.default_rng(4)
    pop["position"] = rng.integers(1, 21, len(pop))
    e = exposure(pop.position.to_numpy())
    g = (pop.creator_group == "self").to_numpy()
    cat = known_share(pop, "creator_group", "self")
    truth = (e[g].sum() / e.sum()) / cat.estimate
    hits, ests = 0, []
    for seed in range(400):
        s = StratifiedSampler(n=200, seed=seed, strata=["market"]).sample(pop)
        df = s.to_pandas()
        rec = exposure_share(recognise(df, s.manifest),
                             (df.creator_group == "self").to_numpy(), df.position.to_numpy())
        r = representation_ratio(rec, cat)
        ests.append(r.estimate)
        hits += r.ci_low <= truth <= r.ci_high
    assert 0.92 <= hits / 400 <= 0.975
    assert abs(np.mean(ests) - truth) < 3 * np.std(ests) / np.sqrt(400) + 0.01 * truth


def test_known_share_and_bad_positions():
    pop = pd.DataFrame({"g": ["a", "a", "b", "a"]})
    assert known_share(pop, "g", "a").estimate == 0.75 and known_share(pop, "g", "a").se == 0
    with pytest.raises(Exception, match="positions must be"):
        exposure(np.array([1, 0]))
