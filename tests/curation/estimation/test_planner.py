"""The planner's plans are checked by simulation with the interval ``curate estimate`` publishes.

Populations: N = 30,000 items, prevalence 1% (exactly 1% in every region, so the domain's
anticipated prevalence p is its truth), regions of 40/30/18/12%, and a risk score of AUC 0.83,
``logistic(-3 + 1.4 y + N(0, 1))`` ("logit"). On that score the planner's relative prior (the
score rescaled to mean p) is too flat: the prevalence is 0.44× the prior's in the bottom score
quintile and 1.35× in the top one, because the score's logit slope is 1.4, not 1. The
"calibrated" population has the score without the shift (AUC 0.74) and its positives drawn ∝
score, the prior the planner assumes, to check the planner's machinery apart from the prior.

Every check draws REPS = 300 samples with the samplers' PRNs (``coverage.py``'s vectorized
SRSWOR, Neyman-on-score-bins and priority draws), computes the real interval
(:func:`proportion_interval` of :func:`hajek_mean`, the plan's method) and compares the mean
half-width with the margin. The Monte Carlo SE of that mean is 0.4–1.7% of the margin (it is in
every failure message). At the planned n the mean ± 3 SE must lie within (0.75, 1.10) of the
margin: every mean measured is ≥ 9 SE above 0.75 and ≥ 10 SE below 1.10. At 0.8 n the mean
must exceed the margin ("not wildly conservative": half-widths grow as n^-1/2, so 0.8 n is 12%
wider); the closest case, the importance plan's domain on the logit population, is 1.8 SE
above it, the others ≥ 3.5 SE. The fixed PRN seeds make every figure reproducible. The
importance plan on the logit population is conservative by ~17% in half-width (its mean
half-width at 0.8 n still meets the margin), which is the prior's fault, not the planner's: that
check is an expected failure (strict) that names the cause.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from curation.estimation import hajek_mean
from curation.estimation.intervals import proportion_interval, resolve_method
from curation.estimation.planning import (
    inclusion_probabilities,
    load_pilot,
    pa_table,
    plan_importance,
    plan_population,
    plan_srs,
    plan_stratified,
)
from curation.estimation.planning.plans import STAYS, _search, _srs_var
from samplers import StratifiedSampler, allocate
from samplers.strata import Strata, fit_strata
from schemas import DesignError, SchemaError, write_with_manifest
from tests.cli import run

from .coverage import priority, replicates, stratified, survey_design

REPS = 300
LEVEL = 0.95
MARGIN = 0.003
DOMAIN_MARGIN = 0.005
BINS = Strata(bins="risk_score", n_bins=5)
REGIONS = {"A": 0.40, "B": 0.30, "C": 0.18, "D": 0.12}


def population(N: int = 30_000, prevalence: float = 0.01, calibrated: bool = False,
               seed: int = 3) -> pd.DataFrame:
    """Items with exactly ``prevalence`` positives in every region and a risk score (module
    docstring: "logit", or "calibrated" when the prior the planner assumes is the truth)."""
    rng = np.random.default_rng(seed)
    region = rng.choice(list(REGIONS), N, p=list(REGIONS.values()))
    eps = rng.normal(0, 1, N)
    raw = 1 / (1 + np.exp(-(-3 + eps)))
    y = np.zeros(N, np.int64)
    for r in REGIONS:
        idx = np.flatnonzero(region == r)
        weights = raw[idx] / raw[idx].sum() if calibrated else None
        y[rng.choice(idx, int(round(prevalence * idx.size)), replace=False, p=weights)] = 1
    score = raw if calibrated else 1 / (1 + np.exp(-(-3 + 1.4 * y + eps)))
    return pd.DataFrame({"item_id": [f"pl{seed}-{k:06d}" for k in range(N)], "region": region,
                         "risk_score": np.round(score, 6), "sens": y})


@pytest.fixture(scope="module")
def pops():
    return {"logit": population(), "calibrated": population(calibrated=True)}


@pytest.fixture(scope="module")
def pop(pops):
    return pops["logit"]


def plans_of(pop: pd.DataFrame, domain: bool) -> dict[str, object]:
    p = float(pop.sens.mean())
    plans = plan_population(pop, MARGIN, p, LEVEL, score="risk_score", mixture=0.1,
                            strata=BINS, allocation="neyman", domain="region" if domain else None,
                            domain_margin=DOMAIN_MARGIN if domain else None)
    return dict(zip(("srs", "stratified", "importance"), plans, strict=True))


@dataclass(frozen=True)
class Sim:
    """Mean half-width over REPS samples, its Monte Carlo SE, and the share above the margin,
    all relative to the margin."""

    mean: float
    mcse: float
    missed: float

    @property
    def meets(self) -> bool:
        """The mean half-width ± 3 MC SEs within (0.75, 1.10) of the margin."""
        return self.mean - 3 * self.mcse > 0.75 and self.mean + 3 * self.mcse < 1.10

    def __str__(self) -> str:
        return f"mean half-width/margin {self.mean:.3f} ± {self.mcse:.3f}, missed {self.missed:.2f}"


def simulate(pop: pd.DataFrame, plan, n: int, domain: bool = False) -> Sim:
    """Draw REPS samples of size n with the plan's design; the real interval of each."""
    N = len(pop)
    y = pop["sens"].to_numpy(np.float64)
    if plan.design == "srs":
        draw = stratified(np.zeros(N, np.int64), np.array([n]))
    elif plan.design.startswith("stratified"):
        table = pa_table(pop)
        labels = fit_strata(BINS, [table], "item_id").labels(table).astype(str)
        names, codes = np.unique(labels, return_inverse=True)
        assert names.tolist() == plan.allocation.stratum.tolist()
        p_h = plan.allocation.p_h.to_numpy()
        n_h = allocate(plan.allocation.N_h.to_numpy(), n, "neyman", S_h=np.sqrt(p_h * (1 - p_h)))
        if n == plan.n:
            assert n_h.tolist() == plan.allocation.n_h.tolist()
        draw = stratified(codes, n_h)
    else:
        s = pop["risk_score"].to_numpy()
        draw = priority(0.9 * s / s.mean() + 0.1, n)
    mask = (pop["region"] == "D").to_numpy() if domain else None
    margin = DOMAIN_MARGIN if domain else MARGIN
    half = []
    for _, d in replicates(pop, draw, REPS):
        e = hajek_mean(survey_design(d), y[d.rows], None if mask is None else mask[d.rows])
        lo, hi, _ = proportion_interval(e, LEVEL, plan.method)
        half.append((hi - lo) / 2 / margin)
    half = np.asarray(half)
    return Sim(float(half.mean()), float(half.std(ddof=1) / np.sqrt(REPS)),
               float(np.mean(half > 1.0)))


PRIOR_TOO_FLAT = pytest.mark.xfail(
    strict=True, reason="the score's relative prior is too flat on the logit population "
    "(logit slope 1.4): the importance plan asks ~40% more labels than needed (mean "
    "half-width at 0.8 n ≈ 0.95 of the margin); see the calibrated population")


# ---------------------------------------------------------------------------- fast checks

def test_srs_sizes_under_the_interval_estimate_publishes():
    assert plan_srs(0.03, 0.5, method="normal").n == 1070  # textbook z: 1,068; t_{n-1}: 1,070
    assert plan_srs(0.03, 0.5, N=2000, method="normal").n == 698  # fpc (z: 697)
    kg, normal = plan_srs(0.002, 0.004, method="beta"), plan_srs(0.002, 0.004, method="normal")
    assert kg.n > 1.1 * normal.n  # a rare p's Korn–Graubard interval is wider than t·SE
    assert kg.lo > 0.004 - 0.002 and kg.hi > 0.004 + 0.002  # asymmetric: shifted up
    assert kg.half_width == pytest.approx((kg.hi - kg.lo) / 2) and kg.half_width <= 0.002
    assert kg.method == "beta" and normal.method == "normal"
    assert plan_srs(0.002, 0.004).method == resolve_method("auto", "srswor")
    with pytest.raises(DesignError, match="level must be in"):
        plan_srs(0.03, 0.5, level=1.0)
    with pytest.raises(DesignError, match="unknown interval method"):
        plan_srs(0.03, 0.5, method="exact")


def test_planned_n_is_the_smallest_that_meets_the_margin_and_stays_met():
    from curation.estimation import Estimate

    N, p, m = 20_000, 0.006, 0.002
    plan = plan_srs(m, p, N=N, method="beta")

    def half(n):
        v = _srs_var(p, n, N)
        e = Estimate(p, v, n, n - 1, 1.0, 1.0, n, float("nan"), round(n * p))
        lo, hi, _ = proportion_interval(e, LEVEL, "beta")
        return (hi - lo) / 2

    assert half(plan.n - 1) > m
    assert all(half(k) <= m for k in range(plan.n, plan.n + STAYS + 1))
    assert half(plan.n) == pytest.approx(plan.half_width)


def test_search_steps_over_a_non_monotone_blip():
    def bumpy(n):  # crosses 0.01 at n = 10,000, back above it at 10,004, below from 10,005
        return 0.02 if n in (10_004,) else 1.0 / np.sqrt(n)

    assert _search(bumpy, 2, None, 0.01, 500) == 10_005
    assert _search(bumpy, 2, None, 0.01, 50_000) == 10_005
    assert _search(lambda n: 1.0 / np.sqrt(n), 2, None, 0.01, 10_000) == 10_000
    with pytest.raises(DesignError, match="whole population"):
        _search(lambda n: 1.0, 2, 100, 0.01, 50)


def test_no_prevalence_is_an_error_never_the_score_mean(pop):
    with pytest.raises(DesignError, match="give the anticipated prevalence --p, or a labeled"):
        plan_population(pop, MARGIN, score="risk_score")
    with pytest.raises(DesignError, match="give the anticipated prevalence"):
        plan_importance(MARGIN, pop.risk_score.to_numpy())
    assert pop.risk_score.mean() > 5 * pop.sens.mean()  # what the old planner took as p


def test_stratified_neyman_allocates_more_to_risky_strata():
    plan = plan_stratified(0.01, np.array([5000, 5000]), np.array([0.01, 0.2]),
                           allocation="neyman", labels=["low", "high"])
    n_h = plan.allocation.set_index("stratum")["n_h"]
    assert n_h["high"] > 3 * n_h["low"] and plan.deff < 1
    assert plan.method == resolve_method("auto", "srswor")


def test_importance_plan_beats_srs_and_its_pi_sum_to_n(pop):
    s = pop.risk_score.to_numpy()
    p = float(pop.sens.mean())
    plan = plan_importance(MARGIN, s, mixture=0.1, p=p)
    assert plan.n < plan_srs(MARGIN, p, N=len(s)).n and plan.deff < 1
    assert plan.method == resolve_method("auto", "poisson")
    pi = inclusion_probabilities(0.9 * s / s.mean() + 0.1, plan.n)
    assert pi.sum() == pytest.approx(plan.n)


def test_domain_gets_its_share_or_its_strata_allocation(pop):
    p = float(pop.sens.mean())
    N_d = int((pop.region == "D").sum())
    srs, strat = plan_population(pop, MARGIN, p, strata=["region"], allocation="power",
                                 domain="region", domain_margin=DOMAIN_MARGIN)
    assert srs.domain.name == strat.domain.name == "region=D" and N_d == srs.domain.N
    assert srs.domain.units == pytest.approx(srs.n * N_d / len(pop))
    assert srs.n == srs.domain.n_needed > srs.n_margin  # the domain decides
    n_h = strat.allocation.set_index("stratum")["n_h"]
    assert strat.domain.units == pytest.approx(n_h["D"])  # stratified on the column
    assert strat.domain.half_width <= DOMAIN_MARGIN and strat.half_width <= MARGIN
    assert strat.n < srs.n  # power allocation favours the small region


# ---------------------------------------------------------------------------- simulation

@pytest.mark.slow
@pytest.mark.parametrize("design", ["srs", "stratified", "importance"])
def test_plan_meets_its_margin_in_simulation(pop, design):
    """Measured (srs and stratified under Korn–Graubard, importance under gamma): srs
    1.000, stratified 0.918, importance 0.835 (MC SE ≤ 0.007)."""
    plan = plans_of(pop, domain=False)[design]
    sim = simulate(pop, plan, plan.n)
    assert sim.meets, (plan, str(sim))


@pytest.mark.slow
@pytest.mark.parametrize("design", ["srs", "stratified",
                                    pytest.param("importance", marks=PRIOR_TOO_FLAT)])
def test_plan_is_not_wildly_conservative(pop, design):
    """At 0.8 n the margin is missed on average. Measured: srs 1.143, stratified 1.050
    (MC SE ≤ 0.006); importance 0.953 ± 0.009 (expected failure, module docstring)."""
    plan = plans_of(pop, domain=False)[design]
    sim = simulate(pop, plan, int(round(0.8 * plan.n)))
    assert sim.mean > 1.0, (plan, str(sim))


@pytest.mark.slow
@pytest.mark.parametrize("design", ["srs", "stratified", "importance"])
def test_smallest_domain_plan_holds_in_simulation(pop, design):
    """The domain decides every plan's n. At n, measured: srs 1.001, stratified 0.930,
    importance 0.863; at 0.8 n: 1.189, 1.113, 1.029 (MC SE ≤ 0.016)."""
    plan = plans_of(pop, domain=True)[design]
    assert plan.domain.name == "region=D" and plan.n == plan.domain.n_needed > plan.n_margin
    at_n = simulate(pop, plan, plan.n, domain=True)
    assert at_n.meets, str(at_n)
    below = simulate(pop, plan, int(round(0.8 * plan.n)), domain=True)
    assert below.mean > 1.0, str(below)


@pytest.mark.slow
@pytest.mark.parametrize("domain", [False, True])
def test_importance_plan_is_tight_when_the_prior_is_right(pops, domain):
    """On the calibrated population. Measured: overall 0.988 at n, 1.119 at 0.8 n; domain
    0.886 at n, 1.060 at 0.8 n (MC SE ≤ 0.017). The domain's 11% to spare with the right prior
    is the skew of the variance estimate at ~18 sampled positives: the mean of the interval's
    half-width is below its half-width at the mean variance."""
    pop = pops["calibrated"]
    plan = plans_of(pop, domain)["importance"]
    at_n = simulate(pop, plan, plan.n, domain)
    below = simulate(pop, plan, int(round(0.8 * plan.n)), domain)
    assert at_n.meets, str(at_n)
    assert below.mean > 1.0, str(below)


# ---------------------------------------------------------------------------- pilot

@pytest.fixture(scope="module")
def pilot(pop, tmp_path_factory):
    """A pilot drawn from the population (equal allocation over regions), labeled with the
    truth."""
    sample = StratifiedSampler(n=4000, seed=11, strata=["region"], allocation="equal")
    s = sample.sample(pop)
    path = tmp_path_factory.mktemp("pilot") / "pilot.parquet"
    s.write(path)
    return path, s


def test_pilot_gives_the_prevalence_and_the_same_plan_as_p(pop, pilot):
    path, _ = pilot
    found = load_pilot(path, y="sens", domain="region")
    truth = float(pop.sens.mean())
    assert abs(found.p - truth) < 3 * found.estimate.se and abs(found.p / truth - 1) < 0.3
    assert found.n == found.sampled == 4000 and found.kind == "srswor"
    assert 0.5 < found.deff < 2
    args = dict(score="risk_score", strata=BINS, allocation="neyman")
    from_pilot = plan_population(pop, MARGIN, pilot=found, **args)
    from_p = plan_population(pop, MARGIN, p=found.p, **args)
    assert [q.n for q in from_pilot] == [q.n for q in from_p]
    assert [q.half_width for q in from_pilot] == [q.half_width for q in from_p]
    with_domain = plan_population(pop, MARGIN, pilot=found, domain="region",
                                  domain_margin=DOMAIN_MARGIN)[0].domain
    assert with_domain.p == found.domains["D"].estimate and with_domain.source.startswith("pilot")


def test_curate_plan_from_a_pilot(pilot, pop, tmp_path):
    path, _ = pilot
    found = load_pilot(path, y="sens")
    code, text = run("plan", "--margin", MARGIN, "--pilot", path, "--y", "sens")
    assert code == 0, text
    assert f"p = {found.p:.4g}" in text and f"deff {found.deff:.3f}" in text
    assert f"n = {found.n} labeled" in text
    assert f"{plan_srs(MARGIN, found.p).n}" in text


# ---------------------------------------------------------------------------- CLI

@pytest.fixture(scope="module")
def files(pop, pilot, tmp_path_factory):
    """The population and broken pilots: no y column, y all null, no responding unit."""
    root = tmp_path_factory.mktemp("plan")
    pop_path = root / "pop.parquet"
    pop.to_parquet(pop_path)
    _, s = pilot
    df = s.to_pandas()
    broken = {"no_y": df.drop(columns=["sens"]),
              "null_y": df.assign(sens=np.nan),
              "nobody": df.assign(adjudication="unresolved")}
    paths = {"pop": pop_path}
    for name, frame in broken.items():
        paths[name] = root / f"{name}.parquet"
        write_with_manifest(paths[name], pa.Table.from_pandas(frame, preserve_index=False),
                            s.manifest)
    return paths


def test_curate_plan_prints_every_design_and_the_domain(files):
    code, text = run("plan", "--margin", MARGIN, "--p", "0.01", "--population", files["pop"],
                     "--score", "risk_score", "--bins", "risk_score", "--allocation", "neyman",
                     "--domain", "region", "--domain-margin", DOMAIN_MARGIN)
    assert code == 0, text
    for part in ("srs", "stratified (neyman)", "importance (α=0.1)", "expected deff", "q5",
                 "planned interval", "half-width", "x fewer", "smallest region group, region=D",
                 "n = max(overall", "region=D gets"):
        assert part in text, part
    assert text.count("n = max(overall") == 3


@pytest.mark.parametrize("args, message", [
    ((), "give the anticipated prevalence --p, or a labeled pilot"),
    (("--p", "0.01", "--pilot", "{no_y}"), "not both"),
    (("--pilot", "{no_y}", "--y", "sens"), "no label column 'sens'"),
    (("--pilot", "{null_y}", "--y", "sens"), "has no label (every value is null)"),
    (("--pilot", "{nobody}", "--y", "sens"), "no unit of the pilot responded"),
    (("--p", "0.01", "--domain-margin", "0.005"), "--domain-margin needs --domain"),
    (("--p", "0.01", "--domain", "region", "--domain-margin", "0.005"),
     "needs --population"),
    (("--p", "0.01", "--population", "{pop}", "--domain", "genre", "--domain-margin", "0.005"),
     "no domain column 'genre' in the population"),
    (("--p", "0.01", "--population", "{pop}", "--domain", "region", "--domain-margin", "0.001"),
     "smaller than --margin 0.003"),
    (("--p", "0.01", "--population", "{pop}", "--domain", "region"), "needs --domain-margin"),
])
def test_bad_input_is_one_line_error_and_writes_nothing(files, args, message):
    root = files["pop"].parent
    before = sorted(root.iterdir())
    code, text = run("plan", "--margin", MARGIN,
                     *(a.format(**{k: str(v) for k, v in files.items()}) for a in args))
    assert code == 1, text
    lines = text.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0], text
    assert sorted(root.iterdir()) == before


def test_library_errors_are_curation_errors(pop):
    with pytest.raises(SchemaError, match="no domain column"):
        plan_population(pop, MARGIN, 0.01, domain="genre", domain_margin=0.005)
    with pytest.raises(DesignError, match="were the two swapped"):
        plan_population(pop, MARGIN, 0.01, domain="region", domain_margin=0.002)
