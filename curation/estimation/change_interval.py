"""The interval of a change between two waves.

The interval of a change of rare proportions (both at most 10%; ``ci="auto"``) is built from
what changed. The difference is exactly ``G − L``: per unit of either sample its contribution
``c = w_B y_B/N̂_B − w_A y_A/N̂_A``, the gains ``G = Σ max(c, 0)`` (units positive in B only,
or weighing more in B) and the losses ``L = Σ max(−c, 0)``. Each is a nonnegative weighted sum
of rare counts, so each gets the skewed mid-p gamma interval of :mod:`.intervals` plus one
unseen count (:func:`~.intervals.unseen_weight` of its wave), and the two are combined by the
method of variance estimates recovery (Zou & Donner 2008), taken as independent (different
units; exact under Poisson sampling) with the difference's variance above shared between them
in the proportion of their Poisson forms ``Σ c²(1 − π)``, so that without skew the interval is
``±z·√V``. The skew of each sum is that of a compound Poisson sum whose counts weigh as the
units that can make them: a gain may be any of B's units (the weights of B's sample), a loss was
one of A's positives (theirs); the shifted gamma's unit is the ratio ``Σw³/Σw²`` of those
weights, or the heaviest count seen if heavier. Why not MOVER of the two waves' intervals: at
high overlap the waves are strongly correlated and their arms shrink together, while the skew
comes from the few units that changed; when negatives turn positive they are spread over heavily
weighted units, and that interval's upper arm missed 6–7% of the time under PPS at 75–100%
overlap (bench/CHANGE.md). Common proportions (above 10%) keep MOVER of
the two waves' mid-p gamma (there Korn–Graubard) intervals with their correlation; ``ci`` other
than ``auto`` applies that method to both waves' pieces.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .estimators import Estimate
from .intervals import skew_gamma_interval, unseen_weight
from .survey_design import SurveyDesign


def mover_of_difference(d1: float, lo1: float, hi1: float, d2: float, lo2: float, hi2: float,
                        r: float, bound: float = 1.0) -> tuple[float, float]:
    """MOVER interval of ``d1 − d2`` from each one's interval and their correlation ``r``
    (Zou & Donner 2008), clipped to ``[−bound, bound]``.

    Examples
    --------
    >>> [round(v, 4) for v in mover_of_difference(.2, .13, .29, .1, .05, .17, 0.0)]
    [0.001, 0.203]
    """
    d = d1 - d2
    low = d - math.sqrt(max((d1 - lo1) ** 2 + (hi2 - d2) ** 2
                            - 2 * r * (d1 - lo1) * (hi2 - d2), 0.0))
    high = d + math.sqrt(max((hi1 - d1) ** 2 + (d2 - lo2) ** 2
                             - 2 * r * (hi1 - d1) * (d2 - lo2), 0.0))
    return max(low, -bound), min(high, bound)


def counts_interval(total: float, var: float, heavy: float, unseen: float,
                    level: float) -> tuple[float, float]:
    """Interval of a nonnegative weighted sum of rare counts: the skewed mid-p gamma interval
    (:func:`~.intervals.skew_gamma_interval`, unit ``heavy``: its largest count) and, with no
    count seen, ``[0, −a·ln α]``, the mid-p bound of one unseen count of weight ``a``.

    Examples
    --------
    >>> [round(v, 5) for v in counts_interval(0.0, 0.0, 0.0, 1 / 2000, 0.95)]
    [0.0, 0.0015]
    """
    if total <= 0.0:
        return 0.0, -unseen * math.log(1.0 - level)
    heavy = heavy if heavy > 0 else unseen
    return skew_gamma_interval(total, max(var, total * heavy * 1e-12), heavy, unseen, level)


@dataclass(frozen=True)
class Side:
    """One wave's side of a change: its design, 0/1 ``y``, unit keys, domain mask, estimate."""

    design: SurveyDesign
    y: np.ndarray
    keys: np.ndarray
    mask: np.ndarray
    estimate: Estimate

    def contributions(self) -> np.ndarray:
        """Each unit's share of the Hájek proportion, ``w·y/N̂`` over the domain."""
        w = self.design.weight
        return np.where(self.mask, w * self.y, 0.0) / self.estimate.weight_sum


def gains_and_losses(a: Side, b: Side) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per unit of either sample, its gain ``max(c, 0)`` and loss ``max(−c, 0)`` with
    ``c = w_B y_B/N̂_B − w_A y_A/N̂_A``, and the π of the wave each is drawn in (B, A): the
    difference is ``Σ gains − Σ losses`` exactly."""
    keys = np.union1d(a.keys, b.keys)
    ia, ib = np.searchsorted(keys, a.keys), np.searchsorted(keys, b.keys)
    ca, cb = a.contributions(), b.contributions()
    c = np.zeros(keys.size)
    c[ia] -= ca  # each wave's keys are unique
    c[ib] += cb
    pi_a, pi_b = np.ones(keys.size), np.ones(keys.size)
    pi_a[ia], pi_b[ib] = a.design.prob, b.design.prob
    scale = max(float(np.max(ca, initial=0.0)), float(np.max(cb, initial=0.0)))
    c[np.abs(c) <= 1e-9 * scale] = 0.0  # a unit weighing the same in both: rounding noise
    return np.maximum(c, 0.0), pi_b, np.maximum(-c, 0.0), pi_a


def compound_unit(side: Side, units: np.ndarray) -> float:
    """``Σw³/Σw²`` of the normalized weights of a wave's sampled ``units`` (a mask): the unit
    whose shifted gamma has the third cumulant of a compound Poisson sum whose counts weigh as
    those units do (0 for none)."""
    w = side.design.weight[units] / side.estimate.weight_sum
    return float(np.sum(w ** 3) / np.sum(w ** 2)) if w.size else 0.0


def split_interval(a: Side, b: Side, var: float, level: float) -> tuple[float, float]:
    """Interval of ``p_B − p_A`` as the gains minus the losses, two nonnegative weighted sums
    of rare counts taken as independent (module docstring). The difference's variance ``var``
    is shared between them in the proportion of their Poisson forms ``Σ c²(1 − π)`` (of their
    sizes when neither varies), so that without skew the interval is ``±z·√var``."""
    gain, pi_b, loss, pi_a = gains_and_losses(a, b)
    g, m = float(gain.sum()), float(loss.sum())
    v_gain, v_loss = float(np.sum(gain ** 2 * (1 - pi_b))), float(np.sum(loss ** 2 * (1 - pi_a)))
    if v_gain + v_loss <= 0.0:
        v_gain, v_loss = g, m
    share = var / (v_gain + v_loss) if v_gain + v_loss > 0.0 else 0.0
    # the skew: a unit that turns positive may be any of B's units, one that turns negative
    # was one of A's positives; each sum's counts weigh as those do (or its heaviest, if more)
    heavy_gain = max(float(gain.max(initial=0.0)), compound_unit(b, b.mask))
    heavy_loss = max(float(loss.max(initial=0.0)), compound_unit(a, a.mask & (a.y == 1)))
    up = counts_interval(g, v_gain * share, heavy_gain, unseen_weight(b.estimate), level)
    down = counts_interval(m, v_loss * share, heavy_loss, unseen_weight(a.estimate), level)
    return mover_of_difference(g, *up, m, *down, 0.0)


def census(design: SurveyDesign) -> bool:
    """Whether every unit of the population is in the sample (every π is 1)."""
    return bool(np.all(design.prob >= 1.0))
