"""Monte Carlo coverage harness: hard populations, vectorized draws, coverage per tail and domain.

Populations make the interval methods sweat (DESIGN §5): rare prevalence, a weak or a strong
risk score, markets from 0.5% to 30% of the population (one with no positive at all) and a
creator group cutting across them. Draws are exactly the samplers' (PRNs of the ids, bottom-k per
stratum, Poisson PPS, priority with τ the (n+1)-th priority; checked against the samplers in
``test_coverage.py``) but vectorized, so that 1,000 replicates of a 100k population take seconds.
Estimates and intervals go through the library (``recognise``-free :class:`SurveyDesign`,
:func:`hajek_mean`, :func:`proportion_interval`) so that what is tested is what users run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy import stats

from curation.estimation import SurveyDesign, hajek_mean
from curation.estimation.planning import inclusion_probabilities
from samplers import allocate
from samplers.prn import prn

MARKETS = {"US": 0.30, "BR": 0.25, "DE": 0.20, "JP": 0.13, "MX": 0.08, "SE": 0.03,
           "IS": 0.005, "NZ": 0.005}
GROUPS = {"major": 0.55, "indie": 0.30, "self": 0.15}
ZERO_MARKET = "IS"  # a domain with no positive at all


def hard_population(N: int = 100_000, prevalence: float = 0.004, separation: float = 1.35,
                    seed: int = 0) -> pd.DataFrame:
    """Items with a rare 0/1 ``sens`` (exactly ``prevalence·N`` positives, none in IS), a risk
    score ``logistic(-3 + separation·sens + N(0, 1))`` (AUC ≈ Φ(separation/√2): 0.83 at 1.35,
    0.96 at 2.5), unequal markets and creator groups whose prevalence differs."""
    rng = np.random.default_rng(seed)
    market = rng.choice(list(MARKETS), N, p=list(MARKETS.values()))
    group = rng.choice(list(GROUPS), N, p=list(GROUPS.values()))
    lift = np.exp(0.7 * (group == "self") + 0.3 * (group == "indie") - 0.3 * (market == "US")
                  + 0.4 * (market == "BR"))
    lift[market == ZERO_MARKET] = 0.0
    positives = rng.choice(N, int(round(prevalence * N)), replace=False, p=lift / lift.sum())
    sens = np.zeros(N, np.int64)
    sens[positives] = 1
    score = 1 / (1 + np.exp(-(-3.0 + separation * sens + rng.normal(0, 1, N))))
    return pd.DataFrame({"item_id": [f"h{seed}-{k:07d}" for k in range(N)], "market": market,
                         "creator_group": group, "risk_score": np.round(score, 6),
                         "sens": sens})


MODELS = {"good": (0.9, 0.995), "weak": (0.8, 0.99)}  # a model label's sensitivity, specificity
AUC85 = 1.466  # hard_population's separation for a score of AUC ≈ Φ(1.466/√2) = 0.85


def model_population(N: int = 100_000, prevalence: float = 0.004, seed: int = 0,
                     ) -> pd.DataFrame:
    """:func:`hard_population` with a risk score of AUC ≈ 0.85 and three model labels
    (issue 14): ``label_good`` and ``label_weak`` flag exactly the sensitivity share of the
    positives and 1 − specificity of the negatives (:data:`MODELS`), ``label_random`` flags as
    many units as ``label_good`` at random (a useless model)."""
    pop = hard_population(N, prevalence, AUC85, seed)
    rng = np.random.default_rng(seed + 1)
    y = pop["sens"].to_numpy()
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    for name, (se, sp) in MODELS.items():
        label = np.zeros(N, np.int64)
        label[rng.choice(pos, int(round(se * pos.size)), replace=False)] = 1
        label[rng.choice(neg, int(round((1 - sp) * neg.size)), replace=False)] = 1
        pop[f"label_{name}"] = label
    label = np.zeros(N, np.int64)
    label[rng.choice(N, int(pop["label_good"].sum()), replace=False)] = 1
    pop["label_random"] = label
    return pop


@dataclass(frozen=True)
class Draw:
    """One replicate: the kept rows of the population, their π and sampling stratum codes."""

    rows: np.ndarray
    prob: np.ndarray
    strata: np.ndarray
    kind: str
    N_h: np.ndarray | None = None


def score_bins(score: np.ndarray, bins: int) -> np.ndarray:
    edges = np.quantile(score, np.linspace(0, 1, bins + 1)[1:-1])
    return np.searchsorted(edges, score, side="right")


def stratified(codes: np.ndarray, n_h: np.ndarray) -> Callable[[np.ndarray], Draw]:
    """Bottom-k per stratum (the StratifiedSampler's SRSWOR) for given allocations."""
    N_h = np.bincount(codes, minlength=n_h.size)

    def draw(u: np.ndarray) -> Draw:
        order = np.lexsort((u, codes))
        start = np.concatenate([[0], np.cumsum(N_h)[:-1]])
        rank = np.empty(u.size, np.int64)
        rank[order] = np.arange(u.size) - np.repeat(start, N_h)
        rows = np.flatnonzero(rank < n_h[codes])
        return Draw(rows, (n_h / N_h)[codes[rows]], codes[rows], "srswor", N_h.astype(float))
    return draw


def bottom_k(codes: np.ndarray, n_h: np.ndarray) -> Callable[[np.ndarray], Draw]:
    """:func:`stratified`'s selection (the same units, in stratum order but not sorted by PRN)
    by a partial sort per stratum: several times faster on large populations."""
    N_h = np.bincount(codes, minlength=n_h.size)
    members = [np.flatnonzero(codes == h) for h in range(n_h.size)]

    def draw(u: np.ndarray) -> Draw:
        rows = np.concatenate([m if k >= m.size else m[np.argpartition(u[m], k - 1)[:k]]
                               for m, k in zip(members, n_h, strict=True)])
        return Draw(rows, (n_h / N_h)[codes[rows]], codes[rows], "srswor", N_h.astype(float))
    return draw


def poisson_pps(w: np.ndarray, n: int) -> Callable[[np.ndarray], Draw]:
    pi = inclusion_probabilities(w, n)

    def draw(u: np.ndarray) -> Draw:
        rows = np.flatnonzero(u < pi)
        return Draw(rows, pi[rows], np.zeros(rows.size, np.int64), "poisson")
    return draw


def priority(w: np.ndarray, n: int) -> Callable[[np.ndarray], Draw]:
    def draw(u: np.ndarray) -> Draw:
        q = w / u
        top = np.argpartition(-q, n)[: n + 1]
        top = top[np.argsort(-q[top])]
        rows = top[:n]
        return Draw(rows, np.minimum(1.0, w[rows] / q[top[n]]), np.zeros(n, np.int64),
                    "poisson")
    return draw


def designs(pop: pd.DataFrame, n: int, alpha: float = 0.1, bins: int = 5,
            ) -> dict[str, Callable[[np.ndarray], Draw]]:
    """The five designs of the issue, each a function from the PRNs to a draw."""
    score = pop["risk_score"].to_numpy()
    market, mcodes = np.unique(pop["market"].to_numpy(), return_inverse=True)
    N_m = np.bincount(mcodes)
    bcodes = score_bins(score, bins)
    N_b = np.bincount(bcodes)
    prior = np.bincount(bcodes, weights=score) / N_b
    w = (1 - alpha) * score / score.mean() + alpha
    return {
        "stratified": stratified(mcodes, allocate(N_m, n, "proportional", min_per_stratum=2)),
        "neyman": stratified(bcodes, allocate(N_b, n, "neyman", S_h=np.sqrt(prior * (1 - prior)),
                                              min_per_stratum=2)),
        "poisson": poisson_pps(w, n),
        "priority": priority(score, n),
        "mixture": priority(w, n),
    }


def replicates(pop: pd.DataFrame, design: Callable[[np.ndarray], Draw], reps: int,
               seed0: int = 0) -> Iterator[tuple[int, Draw]]:
    ids = pa.array(pop["item_id"].to_numpy())
    for seed in range(seed0, seed0 + reps):
        yield seed, design(prn(ids, seed))


def survey_design(draw: Draw) -> SurveyDesign:
    labels = tuple(str(h) for h in range(int(draw.strata.max(initial=0)) + 1))
    if draw.kind == "srswor":
        return SurveyDesign("srswor", draw.strata, labels, draw.prob, 1 / draw.prob,
                            N_h=draw.N_h, population=float(draw.N_h.sum()))
    return SurveyDesign("poisson", draw.strata, labels, draw.prob, 1 / draw.prob,
                        population=float((1 / draw.prob).sum()))


def domains(pop: pd.DataFrame) -> dict[str, np.ndarray]:
    """``all``, every market and every creator group, as population masks."""
    out = {"all": np.ones(len(pop), bool)}
    for col in ("market", "creator_group"):
        values = pop[col].to_numpy()
        for level in sorted(set(values)):
            out[f"{col}={level}"] = values == level
    return out


IntervalFn = Callable[[object, float, str], tuple[float, float]]
"""``(estimate, level, design kind) -> (low, high)``."""


def library(method: str = "auto") -> IntervalFn:
    """The library's interval ``method`` (``auto`` resolved by the design kind)."""
    from curation.estimation.intervals import proportion_interval, resolve_method

    def fn(e, level, kind):
        return proportion_interval(e, level, resolve_method(method, kind))[:2]
    return fn


class Coverage:
    """Interval hits and misses per (design, method, domain), with their Monte Carlo errors."""

    def __init__(self, truth: dict[str, float], level: float = 0.95):
        self.truth = truth
        self.level = level
        self.rows: list[dict] = []

    def add(self, design: str, method: str, domain: str, estimate: float, lo: float,
            hi: float) -> None:
        t = self.truth[domain]
        self.rows.append({"design": design, "method": method, "domain": domain,
                          "estimate": estimate, "width": hi - lo, "below": t < lo,
                          "above": t > hi})

    def table(self) -> pd.DataFrame:
        """Per (design, method, domain): reps, coverage, miss rate of each tail, mean width,
        relative bias and its MCSE, with the binomial MCSE of the coverage."""
        df = pd.DataFrame(self.rows)
        g = df.groupby(["design", "method", "domain"], sort=False)
        out = g.agg(reps=("estimate", "size"), mean=("estimate", "mean"),
                    sd=("estimate", "std"), width=("width", "mean"),
                    truth_below_ci=("below", "mean"), truth_above_ci=("above", "mean"))
        out["coverage"] = 1 - out.truth_below_ci - out.truth_above_ci
        out["coverage_mcse"] = np.sqrt(self.level * (1 - self.level) / out.reps)
        truth = out.index.get_level_values("domain").map(self.truth).to_numpy(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            out["rel_bias"] = out["mean"] / truth - 1
            out["bias_mcse"] = (out["mean"] - truth) / (out["sd"] / np.sqrt(out.reps))
        return out.reset_index()


def run(pop: pd.DataFrame, n: int, reps: int, methods: dict[str, IntervalFn],
        level: float = 0.95, only: tuple[str, ...] | None = None,
        expected_positives: bool = True) -> pd.DataFrame:
    """Coverage table of every method × design × domain over ``reps`` replicates.

    With ``expected_positives`` the table gets each domain's expected number of sampled
    positives (the mean over replicates), which says where coverage can be judged at all.
    """
    y_pop = pop["sens"].to_numpy(np.float64)
    doms = domains(pop)
    truth = {k: float(y_pop[m].mean()) for k, m in doms.items()}
    tally = Coverage(truth, level)
    positives: dict[tuple[str, str], list[float]] = {}
    for name, design in designs(pop, n).items():
        if only and name not in only:
            continue
        for _, draw in replicates(pop, design, reps):
            d = survey_design(draw)
            y = y_pop[draw.rows]
            for dom, mask in doms.items():
                m = mask[draw.rows]
                positives.setdefault((name, dom), []).append(float(y[m].sum()))
                if not m.any():
                    continue
                e = hajek_mean(d, y, m)
                for method, fn in methods.items():
                    lo, hi = fn(e, level, draw.kind)
                    tally.add(name, method, dom, e.estimate, lo, hi)
    out = tally.table()
    if expected_positives:
        out["sampled_positives"] = [np.mean(positives[(r.design, r.domain)])
                                    for r in out.itertuples()]
    out["truth"] = out["domain"].map(truth)
    return out


def binomial_band(level: float, reps: int, k: float = 3.0) -> tuple[float, float]:
    """``level ± k`` Monte Carlo SEs of a coverage estimated from ``reps`` replicates."""
    se = np.sqrt(level * (1 - level) / reps)
    return level - k * se, level + k * se


def z(level: float) -> float:
    return float(stats.norm.ppf(0.5 + level / 2))
