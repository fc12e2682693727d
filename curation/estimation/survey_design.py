"""The sampling design of a sample table, recognised from its design columns and manifest.

Two variance families cover every design the samplers draw (DESIGN §4):

* ``srswor`` — stratified simple random sampling without replacement (``StratifiedSampler``):
  ``V̂ = Σ_h (1 - n_h/N_h) · n_h/(n_h-1) · Σ_{i∈h} (x_i - x̄_h)²`` over the weighted scores
  ``x_i = w_i z_i``, with ``N_h`` from the manifest's allocation (the finite population
  correction); as R ``svydesign(ids=~1, strata=~stratum, fpc=~N_h)``.
* ``poisson`` — Poisson sampling, Poisson PPS and priority sampling (``PoissonSampler``,
  ``ImportanceSampler``): ``V̂ = Σ_i (1-π_i) x_i²`` i.e. ``Σ (1-π)/π² z²``; as R
  ``svydesign(ids=~1, strata=~stratum, probs=~pi, pps=poisson_sampling(pi))``. For priority
  sampling π is conditional on the threshold τ, which keeps this estimator unbiased
  (Duffield, Lund & Thorup).

Without a manifest (a table that lost its Parquet metadata), the rule is: weights constant
within every stratum → ``srswor`` with ``N_h = Σ_{i∈h} w_i`` (exact for SRSWOR, where
``w = N_h/n_h``); otherwise ``poisson``. Pass ``kind`` to override.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from schemas import DesignError, Manifest, SchemaError
from schemas.validate import rows_where, weights_off

KINDS = ("srswor", "poisson")
REQUIRED = ("stratum", "inclusion_prob", "design_weight")
KIND_OF_DESIGN = {"stratified": "srswor", "poisson": "poisson", "importance": "poisson"}


@dataclass(frozen=True)
class SurveyDesign:
    """A one-stage design over the ``n`` sampled units (after any nonresponse adjustment).

    ``codes`` index ``labels``; ``N_h`` (srswor only) is the population size of each label.
    ``prob`` are the (adjusted) inclusion probabilities and ``weight = 1/prob`` unless a
    calibration changed it, in which case ``calib`` holds the model matrix and base weights
    used to residualise scores before the base variance (as R ``calibrate``).
    """

    kind: str
    codes: np.ndarray
    labels: tuple[str, ...]
    prob: np.ndarray
    weight: np.ndarray
    N_h: np.ndarray | None = None
    calib: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    basis: str = ""
    population: float = float("nan")

    @property
    def n(self) -> int:
        return int(self.codes.size)

    def n_strata(self, mask: np.ndarray | None = None) -> int:
        """Strata holding at least one of the (masked) units."""
        codes = self.codes if mask is None else self.codes[mask]
        return int(np.unique(codes).size)

    def df(self, mask: np.ndarray | None = None) -> int:
        """Degrees of freedom ``n - H`` of the (masked) units, at least 1 (R ``degf``)."""
        n = self.n if mask is None else int(np.count_nonzero(mask))
        return max(1, n - self.n_strata(mask))

    def variance(self, x: np.ndarray) -> np.ndarray | float:
        """Design variance of ``Σ x_i`` for weighted scores ``x = w·z`` (1-D or one per column);
        a lonely sampled unit in a stratum is an error (:func:`stratum_fpc`)."""
        x = np.asarray(x, dtype=np.float64)
        flat = x.ndim == 1
        x2 = x[:, None] if flat else x
        if self.calib is not None:
            x2 = _residualise(x2, self.weight, *self.calib)
        if self.kind == "poisson":
            v = ((1.0 - self.prob)[:, None] * x2 * x2).sum(axis=0)
        else:
            v = self._srswor(x2)
        return float(v[0]) if flat else v

    @cached_property
    def _n_h(self) -> np.ndarray:
        """Sampled units per label (once per design: every domain's variance needs it)."""
        return np.bincount(self.codes, minlength=len(self.labels)).astype(np.float64)

    @cached_property
    def _fpc(self) -> np.ndarray:
        """:func:`stratum_fpc` of the design (once: every domain's variance needs it)."""
        return stratum_fpc(self.labels, self._n_h, self.N_h)

    def fractions(self) -> np.ndarray | None:
        """The sampling fraction ``n_h/N_h`` of every label (srswor only, else None): how
        disproportionate the allocation is (the ``auto`` interval reads it)."""
        if self.kind != "srswor" or self.N_h is None:
            return None
        with np.errstate(invalid="ignore", divide="ignore"):
            return self._n_h / np.asarray(self.N_h, np.float64)

    def domain_variance(self, units: np.ndarray, x: np.ndarray) -> float:
        """:meth:`variance` of a score that is ``x`` on ``units`` (indices) and 0 elsewhere, as
        a domain's is: under srswor from those units alone, the cost of the domain, not of the
        sample (the same result to the bit). A design with its own :meth:`variance`
        (nonresponse cells, two phases) always goes through it."""
        if (self.kind != "srswor" or self.calib is not None
                or type(self).variance is not SurveyDesign.variance):
            full = np.zeros(self.n)
            full[units] = x
            return self.variance(full)
        return self._srswor_sum(self.codes[units], np.asarray(x, np.float64))

    def _srswor(self, x: np.ndarray) -> np.ndarray:
        out = np.empty(x.shape[1])
        for j in range(x.shape[1]):
            nz = np.flatnonzero(x[:, j])
            out[j] = self._srswor_sum(self.codes[nz], x[nz, j])
        return out

    def _srswor_sum(self, codes: np.ndarray, x: np.ndarray) -> float:
        """The srswor variance from the units whose score is not 0 (``codes``, ``x``): the
        others add nothing to a stratum's sums, and bincount adds in index order."""
        H, several, n_or_1, scale = self._srswor_terms
        sums = np.bincount(codes, weights=x, minlength=H)
        sq = np.bincount(codes, weights=x ** 2, minlength=H)
        with np.errstate(invalid="ignore", divide="ignore"):
            ss = np.where(several, sq - sums ** 2 / n_or_1, 0.0)
            per = np.where(several, scale * np.maximum(ss, 0.0), 0.0)
        return float(per.sum())

    @cached_property
    def _srswor_terms(self) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
        """What :meth:`_srswor_sum` needs per stratum whatever the score (once per design):
        ``H``, ``n_h > 1``, ``n_h`` (1 where 0) and ``(1 - n_h/N_h) · n_h/(n_h - 1)``."""
        n_h, fpc = self._n_h, self._fpc
        with np.errstate(invalid="ignore", divide="ignore"):
            return len(self.labels), n_h > 1, np.where(n_h > 0, n_h, 1), fpc * n_h / (n_h - 1)

    def subset(self, keep: np.ndarray) -> SurveyDesign:
        """The design restricted to the kept units (respondents), labels unchanged."""
        return replace(self, codes=self.codes[keep], prob=self.prob[keep],
                       weight=self.weight[keep], calib=None)


def stratum_fpc(labels: tuple[str, ...], n_h: np.ndarray, N_h: np.ndarray) -> np.ndarray:
    """``1 - n_h/N_h`` per stratum (0 where none is sampled).

    A stratum with one sampled unit and ``n_h < N_h`` has no variance estimate: that is a
    DesignError, as R's default ``lonely.psu="fail"``.
    """
    fpc = np.where(n_h > 0, 1.0 - n_h / N_h, 0.0)
    lonely = (n_h == 1) & (fpc > 0)
    if lonely.any():
        names = [labels[h] for h in np.flatnonzero(lonely)]
        raise DesignError(f"stratum {names[0]!r} has one sampled unit, so its variance "
                          f"cannot be estimated (also: {names[1:5]}); redraw with "
                          f"--min-per-stratum 2 or stratify on coarser columns")
    return fpc


def _residualise(x: np.ndarray, weight: np.ndarray, model: np.ndarray,
                 base: np.ndarray) -> np.ndarray:
    """``w·e`` where ``e`` are residuals of ``x/w`` on the calibration model (base-weighted LS)."""
    z = x / weight[:, None]
    root = np.sqrt(base)[:, None]
    beta, *_ = np.linalg.lstsq(model * root, z * root, rcond=None)
    return (z - model @ beta) * weight[:, None]


def check_design_columns(df: pd.DataFrame, source: str) -> None:
    """Raise SchemaError naming missing design columns or invalid weights/probabilities."""
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise SchemaError(f"missing design column(s) {missing}: DATA must be a sample drawn by "
                          f"`curate sample` (joined with labels)", source=source)
    w = pd.to_numeric(df["design_weight"], errors="coerce").to_numpy(np.float64)
    pi = pd.to_numeric(df["inclusion_prob"], errors="coerce").to_numpy(np.float64)
    bad = ~np.isfinite(w) | (w <= 0)
    if bad.any():
        raise SchemaError(f"column 'design_weight': {int(bad.sum())} weight(s) not > 0 at "
                          f"{rows_where(bad)}", source=source)
    bad = ~np.isfinite(pi) | (pi <= 0) | (pi > 1)
    if bad.any():
        raise SchemaError(f"column 'inclusion_prob': {int(bad.sum())} value(s) outside (0, 1] "
                          f"at {rows_where(bad)}", source=source)
    bad = weights_off(w, pi)
    if bad.any():
        raise SchemaError(f"design_weight != 1/inclusion_prob at {rows_where(bad)}: "
                          f"weights must be the sampler's", source=source)
    if df["stratum"].isna().any():
        raise SchemaError(f"column 'stratum': null at {rows_where(df['stratum'].isna().values)}",
                          source=source)


def _sorted_codes(column: pd.Series) -> tuple[tuple[str, ...], np.ndarray]:
    """(sorted distinct values as text, each row's index into them): ``np.unique(...,
    return_inverse=True)`` of the text, by one hash pass and a sort of the distinct values."""
    first, uniques = pd.factorize(column.astype(str))
    uniques = np.asarray(uniques, dtype=object)
    order = np.argsort(uniques, kind="stable")
    rank = np.empty(order.size, np.int64)
    rank[order] = np.arange(order.size)
    return tuple(str(x) for x in uniques[order]), rank[first]


def recognise(df: pd.DataFrame, manifest: Manifest | dict[str, Any] | None = None,
              kind: str | None = None, source: str = "DATA") -> SurveyDesign:
    """The :class:`SurveyDesign` of a sample table, from its manifest (see module docstring).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"stratum": ["a", "a", "b", "b"], "inclusion_prob": [.5, .5, .1, .1],
    ...                    "design_weight": [2., 2., 10., 10.]})
    >>> d = recognise(df)
    >>> d.kind, d.labels, d.N_h.tolist()
    ('srswor', ('a', 'b'), [4.0, 20.0])
    """
    check_design_columns(df, source)
    labels, codes = _sorted_codes(df["stratum"])
    pi = df["inclusion_prob"].to_numpy(np.float64)
    w = df["design_weight"].to_numpy(np.float64)
    design = manifest.design if isinstance(manifest, Manifest) else (manifest or {}).get(
        "design") if isinstance(manifest, dict) else None
    allocation = manifest.allocation if isinstance(manifest, Manifest) else (
        (manifest or {}).get("allocation") or [])
    if design is not None and design.get("name") not in KIND_OF_DESIGN:
        if getattr(manifest, "kind", "sample") == "sample":
            raise DesignError(f"{source}: manifest design {design.get('name')!r} is not one "
                              f"of {sorted(KIND_OF_DESIGN)}")
        design = None  # a derived table's manifest without the sample design: infer it
    basis = "given"
    if kind is None and design is not None:
        kind = KIND_OF_DESIGN[design["name"]]
        basis = f"manifest design {design['name']!r}"
    if kind is None:
        lo = np.full(len(labels), np.inf)
        hi = np.zeros(len(labels))
        np.minimum.at(lo, codes, w)
        np.maximum.at(hi, codes, w)
        kind = "srswor" if np.all(hi - lo <= 1e-9 * hi) else "poisson"
        basis = ("no manifest; weights constant within strata" if kind == "srswor" else
                 "no manifest; weights vary within strata")
    if kind not in KINDS:
        raise DesignError(f"design kind must be one of {list(KINDS)}, got {kind!r}")
    N_map = {str(a["stratum"]): float(a["N_h"]) for a in allocation}
    N = float(sum(N_map.values())) if design is not None and N_map else float(w.sum())
    if kind == "poisson":
        return SurveyDesign("poisson", codes, labels, pi, w, basis=basis, population=N)
    if design is not None and N_map:
        absent = [s for s in labels if s not in N_map]
        if absent:
            raise DesignError(f"{source}: stratum {absent[0]!r} is not in the manifest's "
                              f"allocation (the table and manifest do not match)")
        N_h = np.array([N_map[s] for s in labels])
    else:
        N_h = np.round(np.bincount(codes, weights=w), 6)
    n_h = np.bincount(codes, minlength=len(labels))
    if np.any(n_h > N_h):
        h = int(np.argmax(n_h > N_h))
        raise DesignError(f"{source}: stratum {labels[h]!r} has {n_h[h]} sampled units but "
                          f"N_h = {N_h[h]:g}")
    return SurveyDesign("srswor", codes, labels, pi, w, N_h=N_h, basis=basis, population=N)
