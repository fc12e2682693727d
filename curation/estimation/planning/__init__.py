"""Sample-size planning: how many labels for an interval half-width ``m`` at level ``1-α`` on a
prevalence, under the interval that ``curate estimate`` will publish.

**The prevalence p** is the user's (``--p``) or a labeled pilot's Hájek estimate
(:func:`pilot_estimate`: respondents only, nonresponse adjusted within strata, exactly as
``curate estimate`` would estimate it). It is never taken from a risk score's mean: scores are
not calibrated (a score ``logistic(-3 + 1.4 y + N(0,1))``, AUC 0.83, has mean 0.07 whatever the
prevalence: 7× it at 1%), so the score serves only as the *relative* prior across units and
strata, rescaled to mean p. That is an assumption (prevalence ∝ score): on that score, whose
prevalence rises faster than the score (logit slope 1.4), plans are conservative — simulated
half-widths at the planned n are 0.92 of the margin for Neyman on score bins and 0.84 for
importance sampling (tests/curation/estimation/test_planner.py) — and on a score flatter than
its scale they would be optimistic.

**The half-width planned** is half the width of the interval
:func:`~.intervals.proportion_interval` gives for an :class:`~.estimators.Estimate` of the
anticipated values at n: ``estimate = p``, ``var = V(n)``, ``n``, ``df = n - H`` (H strata),
``deff = V(n)/V_srs(n)``, ``weight_sum = 1``, ``kish_n = n`` and ``nonzero`` the expected number
of sampled positives. The method is the one ``auto`` resolves to for the design's kind,
``srswor`` for SRS and stratified plans and ``poisson`` for importance plans
(:func:`~.intervals.resolve_method`: Korn–Graubard and the mid-p gamma interval), unless
``method`` says otherwise, so a plan follows whatever ``curate estimate`` publishes. For a rare p
these intervals are wider than ``z·SE`` (at p = 0.005, ±0.002: SRS n = 5,321 under
Korn–Graubard, 4,781 under the normal approximation) and asymmetric: the planned interval
``[lo, hi]`` is printed with the half-width ``(hi - lo)/2``.

**Variances** V(n) of the Hájek proportion, linearized as in :mod:`.estimators`, from a prior
``p_i`` per population unit (p, or the score rescaled to mean p):

* SRS: ``V = p(1-p)/n · (N-n)/(N-1)`` (no correction when N is unknown).
* Stratified (an allocation over known ``N_h``, e.g. score bins): ``V = Σ W_h² (1-n_h/N_h)
  S_h²/n_h`` with ``S_h² = p_h(1-p_h) N_h/(N_h-1)`` and ``n_h`` from :func:`samplers.allocate`
  exactly as the sampler allocates (Neyman with ``S_h = sqrt(p_h(1-p_h))``).
* Importance (priority or Poisson PPS on the score with a defensive mixture): ``π_i = min(1, λ
  w_i)`` with ``Σ π = n``, ``V = N^{-2} Σ (1-π_i)/π_i · E(y_i - p)²`` with ``E(y_i - p)² =
  p_i(1-p_i) + (p_i - p)²``. Priority sampling's variance is at most this Poisson PPS one.
* A domain d (the smallest group of a population column, anticipated prevalence ``p_d``: the
  pilot's estimate of the group, else p; its units' priors rescaled to mean ``p_d``): the variance
  of its Hájek mean, score ``z_i = d_i (y_i - p_d)``. Stratified (SRS is one stratum): ``V_d =
  N_d^{-2} Σ_h N_h² (1-f_h) S²_{z,h}/n_h``, so the domain gets ``Σ_h n_h N_dh/N_h`` units in
  expectation: ``n N_d/N`` under SRS and proportional allocation, its strata's ``n_h`` under a
  design stratified on its column. Importance: ``V_d = N_d^{-2} Σ_{i∈d} (1-π_i)/π_i E(y_i -
  p_d)²``, the domain's units' π. A plan's n is the larger of what the overall margin and the
  domain's margin need.

**Search.** A half-width is not exactly monotone in n (largest-remainder allocation can move a
unit between strata, ``df`` and the expected positives are integers), so the smallest n is found
in four steps: bisection on the smooth variance gives the normal-approximation n; geometric steps
(×1.25) from there bracket the interval's half-width between a failing and a meeting n;
bisection on the half-width narrows the bracket to neighbours; and a local scan moves up until the
half-width meets m at n and at every one of n+1, …, n+K (:data:`STAYS`, 10). The n returned is
thus the smallest above the bracket's last failure that meets the margin and stays met.
"""

from .assisted import ModelPlan, optimal_ratio, plan_greg_srs, plan_two_phase, plan_with_model
from .designs import inclusion_probabilities, plan_importance, plan_srs, plan_stratified
from .informative import ModelPilot, load_model_pilot, model_pilot
from .pilot import Pilot, load_pilot, pilot_estimate
from .plans import DomainPlan, DomainTarget, Plan, check_request
from .population import pa_table, plan_population, smallest_domain

__all__ = ["DomainPlan", "DomainTarget", "ModelPilot", "ModelPlan", "Pilot", "Plan",
           "check_request", "inclusion_probabilities", "load_model_pilot", "load_pilot",
           "model_pilot", "optimal_ratio", "pa_table", "pilot_estimate", "plan_greg_srs",
           "plan_importance", "plan_population", "plan_srs", "plan_stratified",
           "plan_two_phase", "plan_with_model", "smallest_domain"]
