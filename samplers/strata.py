"""Strata: from columns, from quantile bins of a numeric column, from clusters of numeric columns.

Bins (scikit-learn's ``KBinsDiscretizer``) and clusters (``KMeans``) are fitted on a
fit-subsample of at most ``fit_rows`` units chosen by their permanent random numbers, so the
strata are the same whatever the batching or partitioning of the input. Clusters are fitted on
the columns standardized by their mean and standard deviation over the fit-subsample, so that
a column in large units does not decide the clusters alone.

The fit (bin edges, cluster centres and the scaling) is recorded in the sample's manifest
(``design['strata_fit']``); ``Strata(..., fit=that)`` reuses it instead of fitting again, so a
redraw from a manifest gives the same strata whatever scikit-learn release is installed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from schemas import DesignError, SchemaError
from schemas.validate import rows_where

from .kernels.memo import recall, store
from .prn import hash64

MISSING = "(missing)"
ALL = "all"


@dataclass(frozen=True)
class Strata:
    """How units are grouped into strata.

    Parameters
    ----------
    columns : categorical columns; each distinct combination is a stratum.
    bins : a numeric column cut into ``n_bins`` quantile bins (labels ``q1``..``qK``; the
        manifest's ``strata_fit`` gives each label its edges, e.g. ``popularity[1.2,3.4)``).
    clusters : numeric (e.g. embedding) columns, standardized, clustered by KMeans into
        ``n_clusters`` (labels ``c0``..).
    seed : seeds KMeans and the fit-subsample.
    fit_rows : at most this many units are used to fit bins and clusters.
    fit : a fit to reuse instead of fitting on the input: a manifest's ``design['strata_fit']``
        (its ``bin_edges``, ``cluster_centers`` and ``cluster_scale``). None (the default)
        fits; a redraw from a manifest passes the stored fit, unless asked to refit.
    """

    columns: tuple[str, ...] = ()
    bins: str | None = None
    n_bins: int = 4
    clusters: tuple[str, ...] = ()
    n_clusters: int = 8
    seed: int = 0
    fit_rows: int = 100_000
    fit: Mapping[str, Any] | None = field(default=None, hash=False, repr=False)

    @classmethod
    def coerce(cls, spec: Strata | str | Sequence[str] | None) -> Strata:
        if spec is None:
            return cls()
        if isinstance(spec, Strata):
            return spec
        if isinstance(spec, str):
            spec = [s.strip() for s in spec.split(",") if s.strip()]
        return cls(columns=tuple(spec))

    @property
    def needs_fit(self) -> bool:
        return self.bins is not None or bool(self.clusters)

    @property
    def input_columns(self) -> list[str]:
        cols = list(self.columns)
        if self.bins is not None:
            cols.append(self.bins)
        return cols + [c for c in self.clusters if c not in cols]

    def describe(self) -> dict:
        """The specification as a manifest records it (``strata_spec``; the fit goes to
        ``strata_fit``)."""
        return {"columns": list(self.columns), "bins": self.bins, "n_bins": self.n_bins,
                "clusters": list(self.clusters), "n_clusters": self.n_clusters,
                "seed": self.seed, "fit_rows": self.fit_rows}

    def with_fit(self, fit: Mapping[str, Any] | None) -> Strata:
        """A copy that reuses ``fit`` (a manifest's ``strata_fit``; None: fit again)."""
        return replace(self, fit=None if fit is None else dict(fit))


@dataclass
class FittedStrata:
    """Strata with fitted bin edges and cluster centres; assigns labels to batches."""

    spec: Strata
    bin_edges: np.ndarray | None = None
    centers: np.ndarray | None = None  # in standardized units when ``scale`` is set
    scale: tuple[np.ndarray, np.ndarray] | None = None  # (mean, sd) of each cluster column
    fit_summary: dict = field(default_factory=dict)

    def _bin_of(self, batch: pa.RecordBatch | pa.Table, row0: int) -> np.ndarray:
        x = _numeric(batch, self.spec.bins, row0)
        return np.searchsorted(self.bin_edges[1:-1], x, side="right") + 1

    def _cluster_of(self, batch: pa.RecordBatch | pa.Table, row0: int) -> np.ndarray:
        X = _matrix(batch, self.spec.clusters, row0)
        if self.scale is not None:
            X = (X - self.scale[0]) / self.scale[1]
        d = ((X[:, None, :] - self.centers[None, :, :]) ** 2).sum(axis=2)
        return d.argmin(axis=1)

    def labels(self, batch: pa.RecordBatch | pa.Table, row0: int = 0) -> np.ndarray:
        """Stratum label of every row (object array of str)."""
        parts: list[np.ndarray] = []
        for col in self.spec.columns:
            values = pc.cast(batch.column(col), pa.string())
            parts.append(np.asarray(pc.fill_null(values, MISSING).to_numpy(zero_copy_only=False),
                                    dtype=object))
        if self.spec.bins is not None:
            idx = self._bin_of(batch, row0)
            parts.append(np.char.add("q", idx.astype(str)).astype(object))
        if self.spec.clusters:
            parts.append(np.char.add("c", self._cluster_of(batch, row0).astype(str))
                         .astype(object))
        if not parts:
            return np.full(batch.num_rows, ALL, dtype=object)
        out = parts[0]
        for p in parts[1:]:
            out = out + "|" + p
        return out


    def encode(self, batch: pa.RecordBatch | pa.Table,
               row0: int = 0) -> tuple[np.ndarray, list[str]]:
        """Stratum of every row as ``(codes, labels)``: ``labels[codes]`` equals
        :meth:`labels`, computed on dictionary indices instead of strings. ``row0`` (the
        input's row of the batch's first row) numbers the rows of an error. The codes of
        the last batch are remembered (the profile and the selection ask for the same one)."""
        known = recall(self, batch)
        if known is not None:
            return known
        return store(self, batch, self._encode(batch, row0))

    def _encode(self, batch: pa.RecordBatch | pa.Table,
                row0: int) -> tuple[np.ndarray, list[str]]:
        parts = [_category_codes(batch.column(col)) for col in self.spec.columns]
        if self.spec.bins is not None:
            uniq, inv = np.unique(self._bin_of(batch, row0), return_inverse=True)
            parts.append((inv.astype(np.int64), [f"q{i}" for i in uniq]))
        if self.spec.clusters:
            uniq, inv = np.unique(self._cluster_of(batch, row0), return_inverse=True)
            parts.append((inv.astype(np.int64), [f"c{i}" for i in uniq]))
        if not parts:
            return np.zeros(batch.num_rows, np.int64), [ALL]
        if len(parts) == 1:
            return parts[0]
        key = np.zeros(batch.num_rows, np.int64)
        for idx, names in parts:
            key = np.unique(key * len(names) + idx, return_inverse=True)[1].astype(np.int64)
        _, first = np.unique(key, return_index=True)
        labels = ["|".join(names[idx[r]] for idx, names in parts) for r in first]
        return key, labels


def _category_codes(values: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, list[str]]:
    """(codes, labels) of a categorical column as strings, nulls as MISSING; only labels
    present, each once. A dictionary column is coded from its indices, without strings."""
    if isinstance(values, pa.DictionaryArray) and values.dictionary.null_count == 0:
        names = pc.cast(values.dictionary, pa.string()).to_pylist() + [MISSING]
        idx = pc.fill_null(values.indices, len(names) - 1).to_numpy(zero_copy_only=False)
        used = np.flatnonzero(np.bincount(idx, minlength=len(names)))
        uniq, inverse = np.unique(np.asarray(names, dtype=object)[used].astype(str),
                                  return_inverse=True)
        remap = np.zeros(len(names), np.int64)
        remap[used] = inverse
        return remap[idx], uniq.tolist()
    enc = pc.dictionary_encode(pc.fill_null(pc.cast(values, pa.string()), MISSING))
    if isinstance(enc, pa.ChunkedArray):
        enc = enc.combine_chunks()
    return (enc.indices.to_numpy(zero_copy_only=False).astype(np.int64),
            enc.dictionary.to_pylist())


def is_numeric(typ: pa.DataType) -> bool:
    """A numeric column (a dictionary's values count): integers, floats, decimals, booleans."""
    typ = getattr(typ, "value_type", typ)
    return pa.types.is_integer(typ) or pa.types.is_floating(typ) or \
        pa.types.is_decimal(typ) or pa.types.is_boolean(typ)


def _numeric(batch: pa.RecordBatch | pa.Table, col: str, row0: int = 0) -> np.ndarray:
    values = batch.column(col)
    if not is_numeric(values.type):
        typ = getattr(values.type, "value_type", values.type)
        raise DesignError(f"column {col!r} used for strata is not numeric ({typ})")
    x = np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64)
    bad = ~np.isfinite(x)
    if bad.any():
        rows = rows_where(np.concatenate([np.zeros(row0, bool), bad]))
        raise DesignError(f"column {col!r} used for strata has {int(bad.sum())} null or "
                          f"non-finite value(s) at {rows}")
    return x


def _matrix(batch: pa.RecordBatch | pa.Table, cols: Sequence[str], row0: int = 0) -> np.ndarray:
    return np.column_stack([_numeric(batch, c, row0) for c in cols])


class FitSample:
    """The fit-subsample as a mergeable state: the ``fit_rows`` units of smallest PRN."""

    def __init__(self, spec: Strata, id_column: str):
        self.spec = spec
        self.id_column = id_column
        self.cols = ([spec.bins] if spec.bins else []) + \
            [c for c in spec.clusters if c != spec.bins]
        self.h = np.zeros(0, np.uint64)
        self.ids = np.zeros(0, object)
        self.x = np.zeros((0, len(self.cols)))
        self.rows = 0

    def update(self, batch: pa.RecordBatch, row0: int | None = None, key0: int = 0) -> None:
        row0 = self.rows if row0 is None else row0
        self._add(hash64(batch.column(self.id_column), self.spec.seed),
                  np.asarray(batch.column(self.id_column).to_numpy(zero_copy_only=False),
                             dtype=object), _matrix(batch, self.cols, row0))
        self.rows += batch.num_rows

    def _add(self, h: np.ndarray, ids: np.ndarray, x: np.ndarray) -> None:
        self.h = np.concatenate([self.h, h])
        self.ids = np.concatenate([self.ids, ids])
        self.x = np.concatenate([self.x, x])
        if len(self.h) > 2 * self.spec.fit_rows:
            self.h, self.ids, self.x = _bottom(self.h, self.ids, self.x, self.spec.fit_rows)

    def merge(self, other: FitSample) -> FitSample:
        self._add(other.h, other.ids, other.x)
        self.rows += other.rows
        return self


def fit_strata(spec: Strata, batches, id_column: str, source: str = "input") -> FittedStrata:
    """Fit bins/clusters on the ``fit_rows`` units of smallest PRN (one pass over batches),
    or reuse ``spec.fit`` when it is given."""
    if not spec.needs_fit:
        return FittedStrata(spec)
    if spec.fit is not None:
        return reuse_fit(spec)
    state = FitSample(spec, id_column)
    for batch in batches:
        state.update(batch)
    return fit_on(state, source)


def fit_on(state: FitSample, source: str = "input") -> FittedStrata:
    """Strata fitted on a (merged) fit-subsample."""
    spec, cols = state.spec, state.cols
    fitted = FittedStrata(spec)
    if not spec.needs_fit:
        return fitted
    keep_h, keep_ids, keep_x = _bottom(state.h, state.ids, state.x, spec.fit_rows)
    if len(keep_h) == 0:
        raise SchemaError("the input has no rows", source=source)
    if spec.bins:
        from sklearn.preprocessing import KBinsDiscretizer

        kb = KBinsDiscretizer(n_bins=spec.n_bins, encode="ordinal", strategy="quantile",
                              subsample=None, quantile_method="averaged_inverted_cdf")
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # bins merged when quantiles coincide
            kb.fit(keep_x[:, [0]])
        fitted.bin_edges = np.asarray(kb.bin_edges_[0], dtype=np.float64)
        fitted.fit_summary["bin_edges"] = fitted.bin_edges.tolist()
        fitted.fit_summary["bin_labels"] = bin_labels(spec.bins, fitted.bin_edges)
    if spec.clusters:
        from sklearn.cluster import KMeans

        idx = [cols.index(c) for c in spec.clusters]
        X = keep_x[:, idx]
        mean, sd = standardization(X)
        Z = (X - mean) / sd
        k = min(spec.n_clusters, len(np.unique(Z, axis=0)))
        km = KMeans(n_clusters=k, n_init=4, random_state=spec.seed % (2**32)).fit(Z)
        fitted.centers = np.asarray(km.cluster_centers_, dtype=np.float64)
        fitted.scale = (mean, sd)
        fitted.fit_summary["cluster_centers"] = fitted.centers.tolist()
        fitted.fit_summary["cluster_scale"] = {"columns": list(spec.clusters),
                                               "mean": mean.tolist(), "sd": sd.tolist()}
    fitted.fit_summary["fit_rows"] = int(len(keep_h))
    return fitted


def standardization(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, standard deviation) of each column, from correctly rounded sums (the same on
    every machine); a constant column gets sd 1."""
    n = X.shape[0]
    mean = np.array([math.fsum(X[:, j]) / n for j in range(X.shape[1])])
    sd = np.array([math.sqrt(math.fsum((X[:, j] - mean[j]) ** 2) / n)
                   for j in range(X.shape[1])])
    return mean, np.where(sd > 0, sd, 1.0)


def bin_labels(column: str, edges: np.ndarray) -> dict[str, str]:
    """``{"q1": "col(-inf,e1)", "q2": "col[e1,e2)", ..., "qK": "col[e(K-1),inf)"}``: what
    each bin label holds (values below the lowest or above the highest fitted edge fall in
    the first or last bin)."""
    inner = [f"{e:.6g}" for e in np.asarray(edges, np.float64)[1:-1]]
    bounds = ["-inf", *inner, "inf"]
    return {f"q{i}": f"{column}{'(' if i == 1 else '['}{bounds[i - 1]},{bounds[i]})"
            for i in range(1, len(bounds))}


def reuse_fit(spec: Strata) -> FittedStrata:
    """Strata from the stored fit ``spec.fit`` (no pass over the input, no scikit-learn); the
    fit summary is the stored one, so the manifest records the same fit."""
    fit = dict(spec.fit or {})
    fitted = FittedStrata(spec, fit_summary=fit)

    def unusable(what: str) -> DesignError:
        return DesignError(f"the stored strata fit cannot be reused: {what}; redraw with a "
                           f"refit (Strata(fit=None))")

    if spec.bins is not None:
        edges = np.asarray(fit.get("bin_edges") or [], dtype=np.float64)
        if edges.ndim != 1 or len(edges) < 2 or not np.isfinite(edges).all() \
                or np.any(np.diff(edges) < 0):
            raise unusable(f"no increasing bin edges for column {spec.bins!r}")
        fitted.bin_edges = edges
    if spec.clusters:
        d = len(spec.clusters)
        centers = np.asarray(fit.get("cluster_centers") or [], dtype=np.float64)
        if centers.ndim != 2 or centers.shape[1] != d or not len(centers) \
                or not np.isfinite(centers).all():
            raise unusable(f"no cluster centres over the {d} column(s) {list(spec.clusters)}")
        fitted.centers = centers
        scale = fit.get("cluster_scale")
        if scale is not None:  # manifests before the scaling have centres in the columns' units
            mean = np.asarray(scale.get("mean") or [], np.float64)
            sd = np.asarray(scale.get("sd") or [], np.float64)
            if mean.shape != (d,) or sd.shape != (d,) or not (sd > 0).all() \
                    or list(scale.get("columns", spec.clusters)) != list(spec.clusters):
                raise unusable(f"its scaling does not fit the columns {list(spec.clusters)}")
            fitted.scale = (mean, sd)
    return fitted


def _bottom(h: np.ndarray, ids: np.ndarray, x: np.ndarray, k: int):
    """The ``k`` rows of smallest hash, in a canonical order (hash, then id)."""
    order = np.lexsort((ids.astype(str), h))[:k]
    return h[order], ids[order], x[order]
