"""Poisson sampling: each unit in independently iff its PRN falls below its probability."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from .context import DrawContext
from .design import DesignSampler, stratum_column
from .prn import selected
from .sizes import SizeMeasure
from .strata import Strata


def pps_lambda(total: float, top_desc: np.ndarray, n: float) -> float:
    """λ with ``Σ min(1, λ·w_i) = n``, from the stratum's total size and its largest sizes.

    Units with ``λ·w_i ≥ 1`` are certainties; they are among the ``n`` largest, so the sizes
    of the largest ``n`` units (descending) and the total are enough.
    """
    if n <= 0:
        return 0.0
    taken = 0.0
    for k in range(len(top_desc) + 1):
        rest = total - taken
        if rest <= 0 or n - k <= 0:
            return np.inf
        lam = (n - k) / rest
        if k == len(top_desc) or lam * top_desc[k] < 1.0:
            return lam
        taken += top_desc[k]
    return np.inf


def poisson_probabilities(ctx: DrawContext, size: SizeMeasure | None) -> np.ndarray | None:
    """Per-stratum λ for PPS (π = min(1, λ·w)); None means equal probabilities n_h/N_h."""
    if size is None:
        return None
    prof = ctx.profile
    mean = prof.score_sum.value / prof.rows if size.mixture is not None else None
    lam = np.zeros(len(ctx.labels))
    for label, h in zip(ctx.labels, range(len(ctx.labels)), strict=True):
        code = prof.codes[label]
        raw_total = prof.size_sums[code].value
        N = prof.counts[code]
        total = raw_total if mean is None else \
            (1 - size.mixture) * raw_total / mean + size.mixture * N
        top = size.weights(prof.top[code][::-1], mean)
        lam[h] = pps_lambda(total, top, float(ctx.n_h[h]))
    ctx.score_mean = mean
    return lam


class PoissonSampler(DesignSampler):
    """Poisson (Bernoulli) sampling with PRNs: unit i is in iff ``u_i < π_i``.

    Without ``size``, ``π_i = n_h/N_h`` in each stratum; with ``size`` (a column, 'exposure',
    or a score with ``mixture``), ``π_i = min(1, λ_h·w_i)`` with ``Σ π = n_h`` (Poisson PPS).
    The sample size is random with expectation ``n``; probabilities are exact.
    Parameters as :class:`StratifiedSampler`, plus ``size`` and ``mixture``.
    """

    design_name = "poisson"

    def __init__(self, n: int, seed: int = 0, size: str | None = None,
                 mixture: float | None = None,
                 strata: Strata | str | list[str] | None = None,
                 allocation: str = "proportional", min_per_stratum: int = 0,
                 power: float = 0.5, neyman_col: str | None = None, neyman_s: str = "sd",
                 unit_col: str | None = None, coordinate_with: str | None = None,
                 overlap: str = "max"):
        self.n = n
        self.seed = seed
        self.size = size
        self.mixture = mixture
        self.strata = strata
        self.allocation = allocation
        self.min_per_stratum = min_per_stratum
        self.power = power
        self.neyman_col = neyman_col
        self.neyman_s = neyman_s
        self.unit_col = unit_col
        self.coordinate_with = coordinate_with
        self.overlap = overlap

    def _size_measure(self) -> SizeMeasure | None:
        return SizeMeasure(self.size, self.mixture) if self.size else None

    def _prepare(self, ctx: DrawContext) -> None:
        poisson_prepare(ctx)

    def _keeper(self, ctx: DrawContext) -> Kept:
        return Kept()

    def _offer(self, keeper: Kept, batch, row0: int, keys: np.ndarray,
               ctx: DrawContext) -> None:
        poisson_offer(self._prns, keeper, batch, row0, keys, ctx)

    def _selected(self, keeper: Kept, ctx: DrawContext):
        return poisson_selected(keeper, ctx)


def poisson_prepare(ctx: DrawContext) -> None:
    """λ_h of the Poisson PPS design (none for equal probabilities), before selection."""
    ctx.lam = poisson_probabilities(ctx, ctx.size)
    if ctx.lam is not None:
        ctx.alloc_extra["lambda"] = ctx.lam


def poisson_offer(prns, keeper: Kept, batch, row0: int, keys: np.ndarray,
                  ctx: DrawContext) -> None:
    """Keep the rows of a batch that :func:`~samplers.prn.selected` takes (``u < π``;
    ``prns`` gives their strata and PRNs)."""
    codes, u, _ = prns(batch, ctx)
    if ctx.lam is None:
        pi = (ctx.n_h / ctx.N_h)[codes]
    else:
        w = ctx.size.weights(ctx.size.raw(batch, row0, ctx.source), ctx.score_mean)
        pi = np.minimum(1.0, ctx.lam[codes] * w)
    keep = selected(u, pi)
    if keep.size:
        keeper.parts.append((keys[keep], codes[keep], pi[keep], u[keep]))


def poisson_selected(keeper: Kept, ctx: DrawContext):
    """The kept rows, their π and PRNs."""
    if not keeper.parts:
        return None, np.zeros(0), np.zeros(0)
    keys, codes, pi, u = (np.concatenate(x) for x in zip(*keeper.parts, strict=True))
    rows = pa.table({"__key": keys, "__stratum": stratum_column(ctx.labels, codes)})
    return rows, pi, u


class Kept:
    """Rows kept by a Poisson design: (keys, codes, π, u) per batch; merged by concatenation."""

    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, ...]] = []

    def merge(self, other: Kept) -> Kept:
        self.parts.extend(other.parts)
        return self
