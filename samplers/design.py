"""The shared flow of every design: check, fit strata, profile, allocate, select, describe."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from schemas import DesignError, Manifest, SchemaError, content_hash

from . import passes
from .allocation import METHODS, allocate
from .base import DESIGN_COLUMNS, BaseSampler, Sample, package_version, package_versions
from .context import DrawContext
from .coordination import Coordination
from .engine import make_engine
from .kernels import readplan
from .passes import Factory, FirstPass, SelectionPass
from .prn import ALGORITHM, hash64, shifted, to_unit_interval
from .profile import Profile, report_duplicates
from .rotation import WaveLink
from .sizes import SizeMeasure
from .source import DEFAULT_BATCH_ROWS, Source
from .strata import FitSample, FittedStrata, Strata, fit_on, reuse_fit

ID_CANDIDATES = ("unit_id", "impression_id", "item_id")
NEYMAN_S = ("sd", "rms")  # S_h: the column's standard deviation, or its root mean square


class DesignSampler(BaseSampler, ABC):
    """Common parameters and the two-pass flow; subclasses say what to keep and with which π."""

    design_name = "design"
    rotate_from: str | None = None  # a rotating panel (samplers/rotation.py): the wave ...
    rotation: float | None = None  # ... and the share of its units to replace

    # -- hooks -------------------------------------------------------------------------------
    def _size_measure(self) -> SizeMeasure | None:
        return None

    def _prepare(self, ctx: DrawContext) -> None:
        """Design quantities (λ, mean score) from the profile, before the selection pass."""

    def _first_pass_k(self) -> int | None:
        """Rows per stratum that contain the selection whatever the allocation, when the
        design ranks units without the profile (then it selects during the first pass);
        None when the ranking needs the profile (λ, a mean score)."""
        return None

    @abstractmethod
    def _keeper(self, ctx: DrawContext) -> Any:
        """The mergeable state of the selection pass (``merge(other)``)."""

    @abstractmethod
    def _offer(self, keeper: Any, batch: pa.RecordBatch, row0: int, keys: np.ndarray,
               ctx: DrawContext) -> None:
        """Offer a batch (design columns only; ``keys`` fetch its rows later) to the keeper."""

    @abstractmethod
    def _selected(self, keeper: Any, ctx: DrawContext) -> tuple[pa.Table | None, np.ndarray,
                                                         np.ndarray]:
        """Selected rows as ``__key`` and ``__stratum`` columns, their π and PRN."""

    # -- the flow ----------------------------------------------------------------------------
    def _check_params(self) -> None:
        n = getattr(self, "n", None)
        if n is None or isinstance(n, bool) or int(n) != n or n < 0:
            raise DesignError(f"n must be a non-negative integer, got {n!r}")
        if not isinstance(self.seed, int | np.integer) or not 0 <= self.seed < 2**64:
            raise DesignError(f"seed must be an integer in [0, 2**64), got {self.seed!r}")
        if self.allocation not in METHODS:
            raise DesignError(f"unknown allocation {self.allocation!r}; expected one of "
                              f"{list(METHODS)}")
        if self.allocation == "neyman" and not self.neyman_col:
            raise DesignError("neyman allocation needs neyman_col (a numeric column: the "
                              "variable to be estimated, or a proxy of it)")
        if self.neyman_s not in NEYMAN_S:
            raise DesignError(f"neyman_s must be one of {list(NEYMAN_S)}, got "
                              f"{self.neyman_s!r}")

    def _unit_column(self, source: Source) -> str:
        if self.unit_col:
            source.require([self.unit_col], "as the unit id")
            return self.unit_col
        for name in ID_CANDIDATES:
            if name in source.column_names:
                return name
        raise SchemaError(f"no unit id column: pass unit_col (none of {list(ID_CANDIDATES)} "
                          f"is present)", source=source.name)

    def sample(self, data: Any, *, batch_rows: int = DEFAULT_BATCH_ROWS,
               engine: str = "stream", scheduler: Any = None,
               columns: list[str] | str | None = None) -> Sample:
        """Draw the sample from ``data`` (DataFrame, Table, record batches or Parquet path).

        Parameters
        ----------
        data : the population: a pandas DataFrame, a pyarrow Table, record batches, or the
            path of a Parquet file or of a directory of (hive-partitioned) Parquet files.
        batch_rows : rows per record batch read at a time (memory, not the result).
        engine : 'stream' (default) reads the input batch by batch in this process, with
            memory bounded by the sample size and the number of strata; 'dask' runs the same
            passes on a ``dask.distributed`` cluster. Both give the identical sample.
        scheduler : for ``engine='dask'``: a scheduler address or a ``distributed.Client``;
            None starts a LocalCluster of two workers for this draw.
        columns : the input columns carried into the sample (a list or a comma-separated
            string), besides the design's own (unit id, strata, size, Neyman column), which
            are always kept; None (the default) carries every column. Recorded in the
            manifest's design as ``columns``; an unknown column is a SchemaError.

        Like scikit-learn's execution settings (``n_jobs``), the engine is an argument of the
        call, not a parameter of the design: it never changes the sample or its manifest.
        """
        self._check_params()
        with make_engine(engine, batch_rows, scheduler) as runner:
            return self._draw(data, batch_rows, runner, columns)

    def _inputs(self, source: Source) -> tuple[str, Strata, SizeMeasure | None, list[str]]:
        """The unit column, strata spec, size measure and every column the design reads."""
        unit_col = self._unit_column(source)
        clash = [c for c in DESIGN_COLUMNS if c in source.column_names and c != unit_col]
        if clash:
            raise SchemaError(f"input already has design column(s) {clash}: rename them or "
                              f"sample from the population, not from a sample", source=source.name)
        spec = Strata.coerce(self.strata)
        size = self._size_measure()
        if size is not None:
            size.check()
        needed = [*spec.input_columns]
        if size is not None:
            needed.append(size.input_column)
        if self.neyman_col:
            needed.append(self.neyman_col)
        source.require(needed, f"by the {self.design_name} design")
        return unit_col, spec, size, needed

    def _coordination(self) -> tuple[int, pa.Array | None, dict | None, dict[str, float]]:
        """The PRN key, the previous wave's ids to shift past (``overlap='min'``), the
        coordination's description and the previous wave's PRN shifts per stratum (a rotated
        wave's: coordinating with it starts from its PRNs), from ``coordinate_with``."""
        seed, previous_ids, coord_desc, shifts = int(self.seed), None, None, {}
        if self.coordinate_with:
            coord = Coordination(self.coordinate_with, self.overlap)
            prev_manifest, previous_ids = coord.load()
            seed = int(prev_manifest.seed)
            coord_desc = coord.describe(prev_manifest)
            shifts = {str(a.get("stratum")): float(a["prn_shift"])
                      for a in prev_manifest.allocation if a.get("prn_shift")}
            if previous_ids is not None and self.overlap == "max":
                previous_ids = None
        return seed, previous_ids, coord_desc, shifts

    @staticmethod
    def _fitted(spec: Strata, source: Source, unit_col: str, runner: Any) -> FittedStrata:
        """The strata, fitted (bins, clusters) on the input unless the spec holds a fit."""
        fitted = FittedStrata(spec)
        if spec.needs_fit and spec.fit is not None:  # a stored fit (a redraw): not refitted
            fitted = reuse_fit(spec)
        elif spec.needs_fit:
            fitted = fit_on(runner.reduce(source, [unit_col, *spec.input_columns],
                                          Factory(FitSample, spec, unit_col), "fit strata"),
                            source.name)
        return fitted

    def _draw(self, data: Any, batch_rows: int, runner: Any,
              columns: list[str] | str | None = None) -> Sample:
        source = data if isinstance(data, Source) else Source(data, batch_rows=batch_rows)
        unit_col, spec, size, needed = self._inputs(source)
        carried = carried_columns(source, columns, [unit_col, *needed])
        seed, previous_ids, coord_desc, prev_shifts = self._coordination()
        link = WaveLink.of(self)  # a previous wave: its seed, rotation and population
        rotating = link is not None and link.rotation is not None
        seed = link.seed if link is not None else seed
        fitted = self._fitted(spec, source, unit_col, runner)
        profile = Profile(fitted, unit_col, source.name, size=size, neyman=self.neyman_col,
                          neyman_s=self.neyman_s,
                          # the largest sizes set Poisson PPS's λ; a design that ranks
                          # without the profile (priority) never reads them
                          top_k=int(self.n) if size is not None and
                          self._first_pass_k() is None else 0,
                          size_totals=self._first_pass_k() is None,
                          previous_ids=previous_ids, previous_shifts=prev_shifts,
                          seed=seed,
                          fingerprint_columns=list(dict.fromkeys(needed)))
        columns = list(dict.fromkeys([unit_col, *spec.input_columns,
                                      *([size.input_column] if size is not None else [])]))
        k = self._first_pass_k() if previous_ids is None and not rotating and \
            not prev_shifts else None  # selected in the first pass only without a shift
        early = DrawContext(unit_col, seed, fitted, source.name, size=size)
        # the single-pass mode: the first pass also reads the carried columns and keeps the
        # candidates' rows, so the selected rows are not fetched again (Source.reads_once)
        carry = None
        if k is not None and runner.name == "stream" and \
                source.reads_once(carried, int(self.n), 2 * passes.FIRST_PASS_ROWS + (1 << 16),
                                  profile.columns() + columns):
            carry = carried if carried is not None else source.column_names
        elif runner.name == "stream":
            source.prepare_fetch()  # DuckDB's import overlaps the passes
            if k is not None and readplan.single_pass_mode() == "auto":
                # the carried columns the pass decodes anyway are kept with the candidates;
                # the fetch reads only the others (DuckDB decompresses fewer pages)
                decoded = set(profile.columns() + columns)
                carry = [c for c in carried or source.column_names if c in decoded] or None
        first = runner.reduce(source, list(dict.fromkeys(profile.columns() + columns +
                                                         (carry or []))),
                              Factory(FirstPass, profile, self, early, k, carry),
                              "profile" if k is None else "profile and select")
        profile = first.profile
        if profile.rows == 0:
            raise SchemaError("the input has no rows", source=source.name)
        dups = runner.repeated_hashes(profile)
        if dups.size:
            report_duplicates(source, unit_col, dups, source.name)

        labels = profile.ordered_labels()
        order = np.array([profile.codes[label] for label in labels], dtype=np.int64)
        N_h = np.array(profile.counts, dtype=np.int64)[order]
        S_h = profile.neyman_s_h(order) if self.neyman_col else None
        try:
            n_h = allocate(N_h, int(self.n), self.allocation, S_h=S_h, power=self.power,
                           min_per_stratum=self.min_per_stratum, labels=labels)
        except DesignError as exc:
            raise DesignError(f"{source.name}: {exc}") from None
        # a previous wave's PRNs (overlap max: the same; min: just past its units' largest)
        shift = np.array([prev_shifts.get(label, 0.0) for label in labels])
        if previous_ids is not None:
            prev_max = np.array(profile.prev_max)[order]
            shift = np.where(prev_max > 0, np.mod(shift + 1.0 - prev_max, 1.0), shift)
        if rotating:
            shift, step = link.shifts(labels, N_h, n_h, self, runner, source, columns, early,
                                      Factory)
        # position in canonical order for every profile code
        canon = np.empty(len(order), np.int64)
        canon[order] = np.arange(len(order))
        ctx = DrawContext(unit_col, seed, fitted, source.name, size=size, shift=shift,
                          labels=labels, N_h=N_h, n_h=n_h, profile=profile, canon=canon,
                          index={lab: h for h, lab in enumerate(labels)})
        self._prepare(ctx)
        if first.kept is not None:  # selected on the first pass: keep each stratum's best k_h
            keeper = self._keeper(ctx)
            kept, codes, keys, ties = first.kept.result()
            if kept is not None:
                keeper.offer(kept, canon[codes], keys, ties)
        else:
            keeper = runner.reduce(source, columns, Factory(SelectionPass, self, ctx),
                                   "select").keeper
        rows, pi, u = self._selected(keeper, ctx)
        if rows is not None and rows.num_rows:
            full = self._content(rows, source, runner, carried,
                                 carry if first.kept is not None else None)
            rows = full.append_column("__stratum", rows.column("__stratum"))
        table = self._finish(rows, pi, u, unit_col)
        design = {"name": self.design_name, **_jsonable(self.get_params()),
                  "strata_spec": spec.describe(), "strata_fit": fitted.fit_summary,
                  "unit_col": unit_col}
        if carried is not None:
            design["columns"] = carried
        if coord_desc:
            design["coordination"] = coord_desc
        design["seed"] = seed  # the key actually used (a linked wave's is the previous one's)
        population = {"rows": int(profile.rows), "fingerprint": profile.fingerprint,
                      "columns": [unit_col, *dict.fromkeys(needed)], "source": source.name,
                      **source.identity()}
        if rotating:
            design["rotation"] = link.describe(labels, step)
        if link is not None:
            population["change"] = link.population_change(runner, source, unit_col,
                                                           int(profile.rows), Factory)
        manifest = Manifest(
            kind="sample", design=design, seed=seed, prn=dict(ALGORITHM),
            population=population,
            allocation=_allocation_table(ctx, S_h), content_hash=content_hash(table),
            package_version=package_version(), packages=package_versions())
        return Sample(table, manifest)

    # -- shared pieces -----------------------------------------------------------------------
    @staticmethod
    def _content(rows: pa.Table, source: Source, runner: Any, carried: list[str] | None,
                 carry: list[str] | None) -> pa.Table:
        """The ``carried`` columns (all when None) of the selected ``rows``: those in
        ``carry`` from the kept candidates, the others fetched from the input; the same
        table either way."""
        names = source.column_names if carried is None else carried
        kept = source.payload(rows, carry) if carry else None
        rest = [c for c in names if c not in (carry or ())]
        if not rest:
            return kept
        fetched = runner.fetch(source, rows.column("__key").to_numpy(),
                               carried if kept is None else rest)
        if kept is None:
            return fetched
        parts = [kept if c in carry else fetched for c in names]
        return pa.Table.from_arrays([t.column(c) for t, c in zip(parts, names, strict=True)],
                                    schema=pa.schema([t.schema.field(c) for t, c in
                                                      zip(parts, names, strict=True)]))

    def _prns(self, batch: pa.RecordBatch, ctx: DrawContext) -> tuple[np.ndarray, np.ndarray,
                                                               np.ndarray]:
        """(canonical stratum index, PRN u, 64-bit hash) of every row of a batch."""
        h = hash64(batch.column(ctx.unit_col), ctx.seed)
        local, names = ctx.strata.encode(batch)
        codes = np.array([ctx.index[name] for name in names], dtype=np.int64)[local]
        u = to_unit_interval(h)
        if ctx.shift.any():
            u = shifted(u, ctx.shift[codes])
        return codes, u, h

    def _finish(self, rows: pa.Table | None, pi: np.ndarray, u: np.ndarray,
                unit_col: str) -> pa.Table:
        if rows is None or rows.num_rows == 0:
            raise DesignError("the design selected no unit (n = 0?)")
        unit_ids = pc.cast(rows.column(unit_col), pa.string())
        labels = rows.column("__stratum")
        rows = rows.drop_columns(["__stratum"])
        if unit_col == "unit_id":
            rows = rows.drop_columns(["unit_id"])
        out = rows.append_column("unit_id", unit_ids)
        out = out.append_column("stratum", labels)
        out = out.append_column("inclusion_prob", pa.array(pi, pa.float64()))
        out = out.append_column("design_weight", pa.array(1.0 / pi, pa.float64()))
        out = out.append_column("prn", pa.array(u, pa.float64()))
        order = pc.sort_indices(out, sort_keys=[("stratum", "ascending"), ("prn", "ascending"),
                                                ("unit_id", "ascending")])
        return out.take(order).combine_chunks().replace_schema_metadata(None)


def _allocation_table(ctx: DrawContext, S_h: np.ndarray | None) -> list[dict]:
    """The manifest's allocation: per stratum N_h, n_h and what the design derived (S_h, the
    PRN shift, λ or τ)."""
    out = []
    for h, label in enumerate(ctx.labels):
        entry = {"stratum": label, "N_h": int(ctx.N_h[h]), "n_h": int(ctx.n_h[h])}
        if S_h is not None:
            entry["S_h"] = float(S_h[h])
        if ctx.shift[h]:
            entry["prn_shift"] = float(ctx.shift[h])
        for key, values in ctx.alloc_extra.items():
            entry[key] = float(values[h])
        out.append(entry)
    return out


def carried_columns(source: Source, columns: list[str] | str | None,
                    design: list[str]) -> list[str] | None:
    """The input columns a sample carries: ``columns`` and the design's own, in the input's
    order (None: all); an unknown name is a SchemaError naming it."""
    if columns is None:
        return None
    names = [c.strip() for c in columns.split(",")] if isinstance(columns, str) else \
        [str(c) for c in columns]
    names = [c for c in names if c]
    source.require(names, "by columns (--columns)")
    wanted = set(names) | set(design)
    return [c for c in source.column_names if c in wanted]


def stratum_column(labels: list[str], codes: np.ndarray) -> pa.Array:
    """The canonical stratum labels of ``codes``."""
    return pa.array(np.asarray(labels, object)[codes], pa.string())


def _jsonable(params: dict) -> dict:
    out = {}
    for key, value in params.items():
        if isinstance(value, Strata):
            value = value.describe()
        elif isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, np.integer):
            value = int(value)
        out[key] = value
    return out
