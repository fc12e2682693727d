"""Importance sampling proportional to a size measure: priority sampling or Poisson PPS."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from schemas import DesignError

from .context import DrawContext
from .design import DesignSampler, stratum_column
from .poisson import Kept, poisson_offer, poisson_prepare, poisson_selected
from .selection import BestK
from .sizes import SizeMeasure
from .strata import Strata

METHODS = ("priority", "poisson")


class ImportanceSampler(DesignSampler):
    """Fixed-size sampling with probability proportional to size, per stratum.

    ``method='priority'`` (Duffield, Lund & Thorup): priority ``q_i = w_i/u_i``, keep the
    ``n_h`` largest; ``τ_h`` is the ``(n_h+1)``-th largest priority and ``π_i = min(1, w_i/τ_h)``
    (conditional on τ), which makes Horvitz–Thompson unbiased with variance estimator
    ``Σ y²(1-π)/π²``. ``method='poisson'`` draws Poisson PPS (random size, exact π).

    ``size`` is a column, or 'exposure' (``1/log2(position+1)`` for impressions). With
    ``mixture=α`` the column is a score and ``w = (1-α)·s/mean(s) + α`` (defensive mixture):
    rare sensitive content is found faster, yet no unit has zero probability.
    Other parameters as :class:`StratifiedSampler`.
    """

    design_name = "importance"

    def __init__(self, n: int, size: str, seed: int = 0, method: str = "priority",
                 mixture: float | None = None,
                 strata: Strata | str | list[str] | None = None,
                 allocation: str = "proportional", min_per_stratum: int = 0,
                 power: float = 0.5, neyman_col: str | None = None, neyman_s: str = "sd",
                 unit_col: str | None = None, coordinate_with: str | None = None,
                 overlap: str = "max"):
        self.n = n
        self.size = size
        self.seed = seed
        self.method = method
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

    def _check_params(self) -> None:
        super()._check_params()
        if self.method not in METHODS:
            raise DesignError(f"importance method must be one of {list(METHODS)}, "
                              f"got {self.method!r}")
        if not self.size:
            raise DesignError("importance sampling needs a size measure (a column or "
                              "'exposure')")

    def _size_measure(self) -> SizeMeasure:
        return SizeMeasure(self.size, self.mixture)

    def _prepare(self, ctx: DrawContext) -> None:
        if self.method == "poisson":
            poisson_prepare(ctx)
            return
        prof = ctx.profile
        ctx.score_mean = prof.score_sum.value / prof.rows \
            if ctx.size.mixture is not None else None

    def _first_pass_k(self) -> int | None:
        if self.method == "priority" and self.mixture is None:
            return int(self.n) + 1  # n_h ≤ n, and the (n_h+1)-th priority sets τ
        return None  # weights need the mean score; Poisson needs λ

    def _keeper(self, ctx: DrawContext):
        if self.method == "poisson":
            return Kept()
        n_h, N_h = ctx.n_h, ctx.N_h
        return BestK(np.where(N_h > n_h, n_h + 1, n_h))

    def _offer(self, keeper, batch, row0: int, keys: np.ndarray, ctx: DrawContext) -> None:
        if self.method == "poisson":
            return poisson_offer(self._prns, keeper, batch, row0, keys, ctx)
        size = ctx.size
        codes, u, h = self._prns(batch, ctx)
        w = size.weights(size.raw(batch, row0, ctx.source), ctx.score_mean)
        keeper.offer(pa.table({"__key": keys, "__w": w, "__u": u}), codes, -(w / u), h)
        return None

    def _selected(self, keeper, ctx: DrawContext):
        if self.method == "poisson":
            return poisson_selected(keeper, ctx)
        n_h = ctx.n_h
        rows, codes, neg_q, _ = keeper.result()
        tau = np.zeros(len(n_h))
        if rows is None:
            return None, np.zeros(0), np.zeros(0)
        rank = np.arange(len(codes)) - np.searchsorted(codes, codes, side="left")
        extra = rank >= n_h[codes]  # the (n_h+1)-th priority of each stratum sets τ
        tau[codes[extra]] = -neg_q[extra]
        ctx.alloc_extra["tau"] = tau
        keep = np.flatnonzero(~extra)
        w = rows.column("__w").to_numpy()[keep]
        t = tau[codes[keep]]
        pi = np.where(t > 0, np.minimum(1.0, w / np.where(t > 0, t, 1.0)), 1.0)
        u = rows.column("__u").to_numpy()[keep]
        out = pa.table({"__key": rows.column("__key").take(keep),
                        "__stratum": stratum_column(ctx.labels, codes[keep])})
        for name in rows.column_names:  # the carried columns of the single-pass mode
            if name.startswith("__payload"):
                out = out.append_column(name, rows.column(name).take(keep))
        return out, pi, u
