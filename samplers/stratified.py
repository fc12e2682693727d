"""Stratified simple random sampling without replacement by permanent random numbers."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from .context import DrawContext
from .design import DesignSampler, stratum_column
from .selection import BestK
from .strata import Strata


class StratifiedSampler(DesignSampler):
    """Stratified SRSWOR: in stratum h keep the ``n_h`` units of smallest PRN (bottom-k).

    Selecting the ``n_h`` smallest of i.i.d. uniform PRNs is an exact simple random sample
    without replacement, so ``π_i = n_h / N_h``. Samples nest (a larger ``n`` with the same seed
    contains the smaller) and the result does not depend on how the input is batched.

    Parameters
    ----------
    n : total sample size.
    seed : key of the permanent random numbers.
    strata : column names, a comma-separated string, a :class:`Strata`, or None (one stratum).
    allocation : 'proportional', 'equal', 'neyman' or 'power'.
    min_per_stratum : floor per stratum (small strata are taken whole).
    power : Bankier's exponent for 'power' allocation.
    neyman_col : for 'neyman' (n_h ∝ N_h·S_h), the numeric column S_h is computed from.
    neyman_s : how: 'sd' (default), the column is the variable to be estimated or a proxy of
        it and S_h is its standard deviation in the stratum (divisor N_h - 1); 'rms', the column
        holds each unit's anticipated standard deviation (e.g. sqrt(p(1-p)) of a risk score)
        and S_h is their root mean square (what ``neyman_col`` meant in manifests that do not
        record ``neyman_s``).
    unit_col : the unit id column (default: unit_id, impression_id or item_id).
    coordinate_with : path of a previous sample to coordinate with.
    overlap : 'max' (same PRNs) or 'min' (shifted start, avoid previous units).

    Examples
    --------
    >>> import pandas as pd
    >>> pop = pd.DataFrame({"item_id": [f"i{k}" for k in range(100)],
    ...                     "market": ["SE"] * 20 + ["BR"] * 80})
    >>> s = StratifiedSampler(n=10, seed=1, strata=["market"]).sample(pop)
    >>> s.allocation[["stratum", "N_h", "n_h"]].values.tolist()
    [['BR', 80, 8], ['SE', 20, 2]]
    """

    design_name = "stratified"

    def __init__(self, n: int, seed: int = 0, strata: Strata | str | list[str] | None = None,
                 allocation: str = "proportional", min_per_stratum: int = 0,
                 power: float = 0.5, neyman_col: str | None = None, neyman_s: str = "sd",
                 unit_col: str | None = None, coordinate_with: str | None = None,
                 overlap: str = "max"):
        self.n = n
        self.seed = seed
        self.strata = strata
        self.allocation = allocation
        self.min_per_stratum = min_per_stratum
        self.power = power
        self.neyman_col = neyman_col
        self.neyman_s = neyman_s
        self.unit_col = unit_col
        self.coordinate_with = coordinate_with
        self.overlap = overlap

    def _first_pass_k(self) -> int:
        return int(self.n)  # n_h ≤ n

    def _keeper(self, ctx: DrawContext) -> BestK:
        return BestK(ctx.n_h)

    def _offer(self, keeper: BestK, batch, row0: int, keys: np.ndarray, ctx: DrawContext) -> None:
        codes, u, h = self._prns(batch, ctx)
        keeper.offer(pa.table({"__key": keys}), codes, u, h)

    def _selected(self, keeper: BestK, ctx: DrawContext):
        rows, codes, u, _ = keeper.result()
        if rows is None:
            return None, np.zeros(0), np.zeros(0)
        pi = (ctx.n_h / ctx.N_h)[codes]
        rows = rows.append_column("__stratum", stratum_column(ctx.labels, codes))
        return rows, np.asarray(pi, dtype=np.float64), u
