"""Annotation nonresponse: weighting-class adjustment within strata, cells or propensity classes.

A unit is a nonrespondent when its ``adjudication`` is in :data:`schemas.labels.NONRESPONSE`
(``unresolved``: annotators skipped it or were unsure and no expert resolved it;
``unlabeled``: nobody labeled it). A null label on a responding unit is not nonresponse but an
error (the curated table is inconsistent), so it is reported rather than silently dropped.

**Within strata** (``adjust(design, responded)``, the default). Strata are the weighting
classes (response homogeneity groups): within stratum h the respondents are taken as a sample of
the same design with ``π'_i = π_i · φ̂_h``, where ``φ̂_h = Σ_{r_h} w / Σ_{s_h} w`` is the weighted
response rate. The respondents' weights are thus scaled by ``1/φ̂_h`` (their weighted total
still estimates ``N_h``), and the variance is that of the design over the respondents: for
stratified SRSWOR this is exactly SRSWOR of ``r_h`` out of ``N_h``; for Poisson-type designs a
second, Poisson response phase with rate ``φ̂_h``.

**Within weighting cells** (``adjust(design, responded, cell_codes(df, "risk_score:5,market"))``,
or classes of a response-propensity model, :mod:`.propensity`). Cells cross any columns known
for every sampled unit with quantile bins of numeric ones, the bins cut over all sampled units
(respondents and not, so a cell holds the same kind of units whether or not they answered).
Within cell c the respondents' weights become ``w/φ̂_c``, ``φ̂_c = Σ_{r_c} w / Σ_{s_c} w``. This is
a two-phase estimator — the design draws s, response (Poisson with rate φ_c in cell c) draws r —
calibrated in phase 2 to the phase-1 cell totals ``Σ_{s_c} w``, so its variance is the sum of
(Särndal, Swensson & Wretman 1992, ch. 9 and 15: two phases, response homogeneity groups):

* phase 1, the design's variance of ``Σ_s w z`` as if every label were known, estimated from the
  respondents by double expansion: squares weighted by ``1/φ̂_i`` and the srswor formula's cross
  products by ``1/(φ̂_i φ̂_j)``, with the design's strata, ``n_h`` (sampled units, not
  respondents) and ``N_h`` — srswor stays srswor over its strata whatever the cells;
* phase 2, ``Σ_r (1-φ̂_c) (w e/φ̂_c)²``, ``e`` the residuals of the score on the cell indicators
  (as ``SurveyDesign.calib`` residualises for calibration).

The shortcut of one Poisson design with ``π φ̂`` and residualised scores drops the phase-1
variance of the cell totals, large when the cells predict y (a risk score does): in the Monte
Carlo of ``tests/curation/estimation/test_nonresponse.py`` (score-driven missingness, cells
``risk_score:5``) its mean V̂ is 0.91–0.95 of the true variance where the two-phase one is
0.95–1.04, and the KG / t intervals of the latter cover 0.94–0.96 for priority and stratified
SRSWOR samples. Strata are NOT crossed with the cells automatically: the phase-1 term already
holds them, and crossing the SRSWOR market strata with the bins changed neither variance nor
coverage there; add ``stratum`` to the spec when response may differ by stratum.

Every adjustment assumes labels missing at random given the classes; :mod:`.missingness`
states the assumption, bounds what it carries and says where it matters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import numpy as np
import pandas as pd

from schemas import DesignError, SchemaError
from schemas.labels import NONRESPONSE
from schemas.validate import rows_where

from .survey_design import SurveyDesign, _residualise, stratum_fpc

COLUMN = "adjudication"



class Cells(NamedTuple):
    """Weighting cells of the sampled units: ``codes`` index ``labels``."""

    codes: np.ndarray
    labels: tuple[str, ...]


@dataclass(frozen=True)
class NonresponseDesign(SurveyDesign):
    """The respondents of a one-stage design, response being a second (Poisson) phase in cells.

    ``prob = π φ̂`` and ``weight = 1/prob`` as for any design; ``phase1_prob`` is π,
    ``response_prob`` the φ̂ of each respondent's cell, ``cells`` the cell codes and
    ``sampled_h`` the sampled units (respondents or not) per stratum. The variance is phase 1
    plus phase 2 (module docstring).
    """

    phase1_prob: np.ndarray = field(default=None, repr=False)
    response_prob: np.ndarray = field(default=None, repr=False)
    cells: np.ndarray = field(default=None, repr=False)
    sampled_h: np.ndarray = field(default=None, repr=False)

    def variance(self, x: np.ndarray) -> np.ndarray | float:
        """Two-phase variance of ``Σ x_i`` for weighted scores ``x = w·z`` of the respondents."""
        x = np.asarray(x, dtype=np.float64)
        flat = x.ndim == 1
        x2 = x[:, None] if flat else x
        if self.calib is not None:
            x2 = _residualise(x2, self.weight, *self.calib)
        C = int(self.cells.max(initial=-1)) + 1
        wsum = np.bincount(self.cells, weights=self.weight, minlength=C)
        e = np.empty_like(x2)
        for j in range(x2.shape[1]):
            xs = np.bincount(self.cells, weights=x2[:, j], minlength=C)
            e[:, j] = x2[:, j] - self.weight * (xs / np.where(wsum > 0, wsum, 1.0))[self.cells]
        v = ((1.0 - self.response_prob)[:, None] * e * e).sum(axis=0) + self._phase1(x2)
        return float(v[0]) if flat else v

    def _phase1(self, x: np.ndarray) -> np.ndarray:
        """The design's variance of ``Σ_s φ̂ x`` over all sampled units, by double expansion."""
        phi = self.response_prob[:, None]
        if self.kind == "poisson":
            return ((1.0 - self.phase1_prob)[:, None] * phi * x * x).sum(axis=0)
        H = len(self.labels)
        n_h = self.sampled_h.astype(np.float64)
        fpc = stratum_fpc(self.labels, n_h, self.N_h)
        out = np.empty(x.shape[1])
        for j in range(x.shape[1]):
            sq = np.bincount(self.codes, weights=phi[:, 0] * x[:, j] ** 2, minlength=H)
            sums = np.bincount(self.codes, weights=x[:, j], minlength=H)
            own = np.bincount(self.codes, weights=x[:, j] ** 2, minlength=H)
            with np.errstate(invalid="ignore", divide="ignore"):
                ss = (n_h - 1.0) * sq - sums ** 2 + own  # (n_h - 1) Σ x² - Σ_{i≠j} x_i x_j
                per = np.where(n_h > 1, fpc / (n_h - 1.0) * np.maximum(ss, 0.0), 0.0)
            out[j] = per.sum()
        return out

    def subset(self, keep: np.ndarray) -> NonresponseDesign:
        """The design restricted to the kept units (response phase arrays alike)."""
        return replace(super().subset(keep), phase1_prob=self.phase1_prob[keep],
                       response_prob=self.response_prob[keep], cells=self.cells[keep])


def respondents(df: pd.DataFrame) -> np.ndarray:
    """Boolean mask of responding units (all units when there is no ``adjudication`` column)."""
    if COLUMN not in df.columns:
        return np.ones(len(df), bool)
    return ~df[COLUMN].isin(NONRESPONSE).to_numpy()


def parse_cells(spec: str) -> tuple[tuple[str, int | None], ...]:
    """``"risk_score:5,market"`` → ``(("risk_score", 5), ("market", None))``.

    ``COLUMN:K`` cuts a numeric column into K quantile bins (K ≥ 2); a bare ``COLUMN`` uses its
    values. A DesignError names what is wrong with the spec.

    Examples
    --------
    >>> parse_cells("risk_score:5, market")
    (('risk_score', 5), ('market', None))
    """
    items = [s.strip() for s in str(spec).split(",")]
    out: list[tuple[str, int | None]] = []
    for item in items:
        col, sep, k = (part.strip() for part in item.partition(":"))
        if not col:
            raise DesignError(f"cells spec {spec!r}: empty column name; expected COLUMN or "
                              f"COLUMN:BINS separated by commas (e.g. risk_score:5,market)")
        if col in (c for c, _ in out):
            raise DesignError(f"cells spec {spec!r}: column {col!r} given twice")
        bins = None
        if sep:
            try:
                bins = int(k)
            except ValueError:
                raise DesignError(f"cells spec {spec!r}: {item!r} must be COLUMN:BINS with a "
                                  f"whole number of bins (e.g. {col}:5)") from None
            if bins < 2:
                raise DesignError(f"cells spec {spec!r}: column {col!r} cut into {bins} "
                                  f"bin(s) separates nothing; use at least 2 (e.g. {col}:5)")
        out.append((col, bins))
    return tuple(out)


def check_covariates(df: pd.DataFrame, columns: Sequence[str], source: str,
                     role: str = "cells") -> None:
    """Raise naming the column that is missing, null somewhere, or constant over the sample."""
    for col in columns:
        if col not in df.columns:
            raise SchemaError(f"no {role} column {col!r} (columns: {list(df.columns)[:20]})",
                              source=source)
        nulls = df[col].isna().to_numpy()
        if nulls.any():
            raise SchemaError(f"{role} column {col!r} has {int(nulls.sum())} null value(s) at "
                              f"{rows_where(nulls)}: it must be known for every sampled unit, "
                              f"respondent or not", source=source)
        if df[col].nunique() < 2:
            shown = repr(str(df[col].iloc[0])) if len(df) else "no value"
            raise DesignError(f"{source}: {role} column {col!r} is constant ({shown}) over the "
                              f"{len(df)} sampled units, so it cannot tell who answered: drop it")


def _is_numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)


def quantile_bins(x: np.ndarray, bins: int, name: str) -> Cells:
    """Codes of ``bins`` quantile bins of ``x`` (fewer when values tie), labelled by range."""
    edges = np.unique(np.quantile(x, np.linspace(0.0, 1.0, bins + 1)[1:-1]))
    _, codes = np.unique(np.searchsorted(edges, x, side="right"), return_inverse=True)
    codes = codes.reshape(-1)
    k = int(codes.max()) + 1
    lo = np.full(k, np.inf)
    hi = np.full(k, -np.inf)
    np.minimum.at(lo, codes, x)
    np.maximum.at(hi, codes, x)
    return Cells(codes, tuple(f"{name} bin {j + 1}/{k} [{lo[j]:.4g}, {hi[j]:.4g}]"
                              for j in range(k)))


def cell_codes(df: pd.DataFrame, spec: str, source: str = "DATA") -> Cells:
    """Weighting cells of every sampled unit from a spec (:func:`parse_cells`).

    ``df`` holds ALL sampled units (respondents and not), in the design's order: bins are cut
    over them and every column must be known for each. Cells are the observed combinations.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"s": [.1, .2, .3, .4], "m": ["a", "b", "a", "b"]})
    >>> codes, labels = cell_codes(df, "s:2,m")
    >>> codes.tolist(), labels[0]
    ([0, 1, 2, 3], 's bin 1/2 [0.1, 0.2] & m=a')
    """
    parsed = parse_cells(spec)
    check_covariates(df, [c for c, _ in parsed], source, "cells")
    parts, names = [], []
    for col, bins in parsed:
        s = df[col]
        if bins is None:
            levels, code = np.unique(s.astype(str).to_numpy(), return_inverse=True)
            parts.append(code.reshape(-1))
            names.append([f"{col}={v}" for v in levels])
            continue
        if not _is_numeric(s):
            raise SchemaError(f"cells column {col!r} is not numeric ({s.dtype}), so it cannot "
                              f"be cut into {bins} bins: write {col!r} without ':{bins}' to use "
                              f"its values as cells", source=source)
        x = s.to_numpy(np.float64)
        if not np.isfinite(x).all():
            raise SchemaError(f"cells column {col!r} is infinite at "
                              f"{rows_where(~np.isfinite(x))}", source=source)
        code, labels = quantile_bins(x, bins, col)
        parts.append(code)
        names.append(list(labels))
    uniq, inverse = np.unique(np.stack(parts, axis=1), axis=0, return_inverse=True)
    labels = tuple(" & ".join(names[j][u[j]] for j in range(len(parts))) for u in uniq)
    return Cells(inverse.reshape(-1).astype(np.int64), labels)


def _rates(first: str, codes: np.ndarray, labels: Sequence[str], weight: np.ndarray,
           responded: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.DataFrame]:
    """(n, r, φ̂) per class and the table ``<first>, n, respondents, response_rate, ...``."""
    k = len(labels)
    n_c = np.bincount(codes, minlength=k)
    r_c = np.bincount(codes[responded], minlength=k)
    w_all = np.bincount(codes, weights=weight, minlength=k)
    w_resp = np.bincount(codes[responded], weights=weight[responded], minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        phi = np.where(n_c > 0, w_resp / w_all, np.nan)
    seen = n_c > 0
    table = pd.DataFrame({first: np.asarray(labels, object)[seen], "n": n_c[seen],
                          "respondents": r_c[seen], "response_rate": phi[seen],
                          "nonresponse_rate": 1.0 - phi[seen]})
    return n_c, r_c, phi, table


def _mask(responded: np.ndarray, n: int, what: str = "responded") -> np.ndarray:
    mask = np.asarray(responded, bool)
    if mask.shape != (n,):
        raise DesignError(f"{what} has {mask.size} entries for a design of {n} sampled units")
    return mask


def adjust(design: SurveyDesign, responded: np.ndarray,
           cells: tuple[np.ndarray, Sequence[str]] | None = None,
           ) -> tuple[SurveyDesign, pd.DataFrame]:
    """The respondents' design with weighting-class adjusted weights, and the rates per class.

    Parameters
    ----------
    design : the design of ALL sampled units (as :func:`~.design.recognise` gives it).
    responded : boolean mask of responding units (:func:`respondents`).
    cells : ``(codes, labels)`` of every sampled unit (:func:`cell_codes`); None adjusts within
        the sampling strata, the variance being the design's over the respondents (module
        docstring); with cells it is the two-phase variance of :class:`NonresponseDesign`.

    Returns
    -------
    The adjusted design over the respondents (in their original order) and a table
    ``stratum`` (or ``cell``), ``n, respondents, response_rate, nonresponse_rate`` (rates
    weighted by ``w``). A class with sampled units but no respondent is a DesignError.

    Examples
    --------
    >>> import numpy as np
    >>> from curation.estimation.survey_design import SurveyDesign
    >>> d = SurveyDesign("srswor", np.array([0, 0, 0, 0]), ("a",), np.full(4, .4),
    ...                  np.full(4, 2.5), N_h=np.array([10.]))
    >>> adj, rates = adjust(d, np.array([True, True, False, True]))
    >>> adj.weight.tolist(), rates["nonresponse_rate"].tolist()
    ([3.3333333333333335, 3.3333333333333335, 3.3333333333333335], [0.25])
    """
    responded = _mask(responded, design.n)
    if cells is None:
        return _adjust_strata(design, responded)
    codes = np.asarray(cells[0], np.int64)
    labels = tuple(cells[1])
    if codes.shape != (design.n,):
        raise DesignError(f"cells has {codes.size} codes for a design of {design.n} units")
    n_c, r_c, phi, table = _rates("cell", codes, labels, design.weight, responded)
    empty = np.flatnonzero((n_c > 0) & (r_c == 0))
    if empty.size:
        c = int(empty[0])
        more = f" (and {empty.size - 1} more)" if empty.size > 1 else ""
        raise DesignError(f"weighting cell {labels[c]!r} has no responding unit among its "
                          f"{int(n_c[c])} sampled units{more}: use fewer bins or columns")
    sub = design.subset(responded)
    factor = phi[codes[responded]]
    adjusted = NonresponseDesign(
        sub.kind, sub.codes, sub.labels, sub.prob * factor, sub.weight / factor, N_h=sub.N_h,
        basis=sub.basis, population=sub.population, phase1_prob=sub.prob,
        response_prob=factor, cells=codes[responded],
        sampled_h=np.bincount(design.codes, minlength=len(design.labels)))
    return adjusted, table


def _adjust_strata(design: SurveyDesign, responded: np.ndarray,
                   ) -> tuple[SurveyDesign, pd.DataFrame]:
    """Strata as weighting classes, the design's own variance over the respondents."""
    n_h, r_h, phi, table = _rates("stratum", design.codes, design.labels, design.weight,
                                  responded)
    empty = (n_h > 0) & (r_h == 0)
    if empty.any():
        names = [design.labels[h] for h in np.flatnonzero(empty)]
        raise DesignError(f"stratum {names[0]!r} has no responding unit (all "
                          f"{int(n_h[np.flatnonzero(empty)[0]])} unresolved or unlabeled; also "
                          f"{names[1:5]}): resolve them in the expert project or collapse strata")
    sub = design.subset(responded)
    factor = phi[sub.codes]
    if sub.kind == "srswor":
        H = len(design.labels)
        prob = np.bincount(sub.codes, minlength=H)[sub.codes] / sub.N_h[sub.codes]
    else:
        prob = sub.prob * factor
    return replace(sub, prob=prob, weight=sub.weight / factor), table
