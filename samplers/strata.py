"""Strata: from columns, from quantile bins of a numeric column, from clusters of numeric columns.

Bins (scikit-learn's ``KBinsDiscretizer``) and clusters (``KMeans``) are fitted on a
fit-subsample of at most ``fit_rows`` units chosen by their permanent random numbers, so the
strata are the same whatever the batching or partitioning of the input.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from schemas import DesignError

from .prn import hash64

MISSING = "(missing)"
ALL = "all"


@dataclass(frozen=True)
class Strata:
    """How units are grouped into strata.

    Parameters
    ----------
    columns : categorical columns; each distinct combination is a stratum.
    bins : a numeric column cut into ``n_bins`` quantile bins (labels ``q1``..``qK``).
    clusters : numeric (e.g. embedding) columns clustered by KMeans into ``n_clusters``
        (labels ``c0``..).
    seed : seeds KMeans and the fit-subsample.
    fit_rows : at most this many units are used to fit bins and clusters.
    """

    columns: tuple[str, ...] = ()
    bins: str | None = None
    n_bins: int = 4
    clusters: tuple[str, ...] = ()
    n_clusters: int = 8
    seed: int = 0
    fit_rows: int = 100_000

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
        return {"columns": list(self.columns), "bins": self.bins, "n_bins": self.n_bins,
                "clusters": list(self.clusters), "n_clusters": self.n_clusters,
                "seed": self.seed, "fit_rows": self.fit_rows}


@dataclass
class FittedStrata:
    """Strata with fitted bin edges and cluster centres; assigns labels to batches."""

    spec: Strata
    bin_edges: np.ndarray | None = None
    centers: np.ndarray | None = None
    fit_summary: dict = field(default_factory=dict)

    def labels(self, batch: pa.RecordBatch | pa.Table) -> np.ndarray:
        """Stratum label of every row (object array of str)."""
        parts: list[np.ndarray] = []
        for col in self.spec.columns:
            values = pc.cast(batch.column(col), pa.string())
            parts.append(np.asarray(pc.fill_null(values, MISSING).to_numpy(zero_copy_only=False),
                                    dtype=object))
        if self.spec.bins is not None:
            x = _numeric(batch, self.spec.bins)
            idx = np.searchsorted(self.bin_edges[1:-1], x, side="right") + 1
            parts.append(np.char.add("q", idx.astype(str)).astype(object))
        if self.spec.clusters:
            X = _matrix(batch, self.spec.clusters)
            d = ((X[:, None, :] - self.centers[None, :, :]) ** 2).sum(axis=2)
            parts.append(np.char.add("c", d.argmin(axis=1).astype(str)).astype(object))
        if not parts:
            return np.full(batch.num_rows, ALL, dtype=object)
        out = parts[0]
        for p in parts[1:]:
            out = out + "|" + p
        return out


    def encode(self, batch: pa.RecordBatch | pa.Table) -> tuple[np.ndarray, list[str]]:
        """Stratum of every row as ``(codes, labels)``: ``labels[codes]`` equals
        :meth:`labels`, computed on dictionary indices instead of strings."""
        parts = [_category_codes(batch.column(col)) for col in self.spec.columns]
        if self.spec.bins is not None:
            x = _numeric(batch, self.spec.bins)
            idx = np.searchsorted(self.bin_edges[1:-1], x, side="right") + 1
            uniq, inv = np.unique(idx, return_inverse=True)
            parts.append((inv.astype(np.int64), [f"q{i}" for i in uniq]))
        if self.spec.clusters:
            X = _matrix(batch, self.spec.clusters)
            d = ((X[:, None, :] - self.centers[None, :, :]) ** 2).sum(axis=2)
            uniq, inv = np.unique(d.argmin(axis=1), return_inverse=True)
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


def _numeric(batch: pa.RecordBatch | pa.Table, col: str) -> np.ndarray:
    values = batch.column(col)
    if values.null_count:
        raise DesignError(f"column {col!r} used for strata has {values.null_count} null value(s)")
    try:
        return np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64)
    except (TypeError, ValueError) as exc:
        typ = getattr(values.type, "value_type", values.type)
        raise DesignError(f"column {col!r} used for strata is not numeric ({typ})") \
            from exc


def _matrix(batch: pa.RecordBatch | pa.Table, cols: Sequence[str]) -> np.ndarray:
    return np.column_stack([_numeric(batch, c) for c in cols])


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

    def update(self, batch: pa.RecordBatch, row0: int | None = None, key0: int = 0) -> None:
        self._add(hash64(batch.column(self.id_column), self.spec.seed),
                  np.asarray(batch.column(self.id_column).to_numpy(zero_copy_only=False),
                             dtype=object), _matrix(batch, self.cols))

    def _add(self, h: np.ndarray, ids: np.ndarray, x: np.ndarray) -> None:
        self.h = np.concatenate([self.h, h])
        self.ids = np.concatenate([self.ids, ids])
        self.x = np.concatenate([self.x, x])
        if len(self.h) > 2 * self.spec.fit_rows:
            self.h, self.ids, self.x = _bottom(self.h, self.ids, self.x, self.spec.fit_rows)

    def merge(self, other: FitSample) -> FitSample:
        self._add(other.h, other.ids, other.x)
        return self


def fit_strata(spec: Strata, batches, id_column: str) -> FittedStrata:
    """Fit bins/clusters on the ``fit_rows`` units of smallest PRN (one pass over batches)."""
    if not spec.needs_fit:
        return FittedStrata(spec)
    state = FitSample(spec, id_column)
    for batch in batches:
        state.update(batch)
    return fit_on(state)


def fit_on(state: FitSample) -> FittedStrata:
    """Strata fitted on a (merged) fit-subsample."""
    spec, cols = state.spec, state.cols
    fitted = FittedStrata(spec)
    if not spec.needs_fit:
        return fitted
    keep_h, keep_ids, keep_x = _bottom(state.h, state.ids, state.x, spec.fit_rows)
    if len(keep_h) == 0:
        raise DesignError("cannot fit strata on an empty input")
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
    if spec.clusters:
        from sklearn.cluster import KMeans

        idx = [cols.index(c) for c in spec.clusters]
        X = keep_x[:, idx]
        k = min(spec.n_clusters, len(np.unique(X, axis=0)))
        km = KMeans(n_clusters=k, n_init=4, random_state=spec.seed % (2**32)).fit(X)
        fitted.centers = np.asarray(km.cluster_centers_, dtype=np.float64)
        fitted.fit_summary["cluster_centers"] = fitted.centers.round(12).tolist()
    fitted.fit_summary["fit_rows"] = int(len(keep_h))
    return fitted


def _bottom(h: np.ndarray, ids: np.ndarray, x: np.ndarray, k: int):
    """The ``k`` rows of smallest hash, in a canonical order (hash, then id)."""
    order = np.lexsort((ids.astype(str), h))[:k]
    return h[order], ids[order], x[order]
