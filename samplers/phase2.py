"""Two-phase sampling: a phase-2 subsample of a phase-1 sample, by PRN Poisson sampling.

A large phase-1 sample is labeled by a model; phase 2, drawn from it, is labeled by people.
Phase 2 keeps unit ``i`` of the phase-1 sample ``s1`` iff ``v_i < π2|1,i`` where ``v_i`` is the
unit's permanent random number under a second key ``k2`` (:func:`phase2_key`). Conditional
probabilities are uniform (``π2|1 = n/n1``) or, with an uncertainty column ``p̂``, proportional
to ``max(√(p̂(1−p̂)), floor·½)`` (½ is the largest value of ``√(p̂(1−p̂))``), scaled so that
``Σ π2|1 = n`` and capped at 1 (the cap redistributed exactly as Poisson PPS does:
:func:`samplers.poisson.pps_lambda`). Units the model is unsure about get labeled most often
(active inference), and the floor keeps every unit's probability away from 0.

Why phase 2 is nested and π2|1 is exact
---------------------------------------
* **Nesting.** Phase 2 only ever looks at the rows of the phase-1 file, so ``s2 ⊆ s1`` by
  construction, whatever the seeds.
* **Exactness.** Phase 1's selection is a function of the population and of the PRNs
  ``u_i = H(k1, i)`` under its key ``k1``; ``π2|1`` is a function of the rows of ``s1`` only (their
  ``p̂`` and ``n``). Phase 2 uses ``v_i = H(k2, i)`` with ``k2 ≠ k1``: under the PRN model (the
  keyed hash behaves as independent uniforms for distinct keys), the ``v_i`` are i.i.d. U(0,1)
  and independent of ``s1``, so ``P(i ∈ s2 | s1) = P(v_i < π2|1,i) = π2|1,i`` exactly, and
  ``π_i = π1_i · π2|1,i`` is the unit's probability of reaching phase 2 given ``π1``. Reusing
  ``u_i`` would not work: given selection, ``u_i`` is no longer uniform (bottom-k keeps the
  smallest ``u`` of a stratum; a coordinated wave shifts them).

The key ``k2 = hash64("phase2:<seed>", k1)`` is recorded in the manifest (``prn.key``): the same
phase-1 sample and seed redraw the same phase 2, byte for byte; another seed gives an
independent one.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from schemas import DesignError, Manifest, SchemaError, content_hash, read_manifest
from schemas.io import read_parquet
from schemas.storage import ObjectPath, as_path, check_objects, readable
from schemas.validate import rows_where

from .base import BaseSampler, Sample, package_version, package_versions
from .poisson import pps_lambda
from .prn import ALGORITHM, hash64, selected, to_unit_interval

DESIGN_NAME = "two_phase"
DEFAULT_FLOOR = 0.05
#: The largest value of the uncertainty ``√(p̂(1−p̂))`` (at p̂ = ½): the floor's unit.
MAX_UNCERTAINTY = 0.5
PHASE_COLUMNS = ("phase1_prob", "phase2_prob", "phase2_prn")
#: Sampling options that a phase-2 draw accepts (the rest belong to a phase-1 design).
PHASE2_OPTIONS = ("phase2_of", "n", "seed", "uncertainty", "floor", "predictions")


def phase2_key(phase1_key: int, seed: int) -> int:
    """The PRN key of phase 2: ``hash64("phase2:<seed>", phase1_key)`` (module docstring)."""
    key = int(hash64(pa.array([f"phase2:{int(seed)}"]), int(phase1_key))[0])
    if key == int(phase1_key):  # 2**-64: never seen, but independence needs distinct keys
        raise DesignError(f"phase-2 seed {seed} gives the phase-1 key; pick another --seed")
    return key


def phase2_probabilities(n: float, size: int, p_hat: np.ndarray | None = None,
                         floor: float = DEFAULT_FLOOR) -> np.ndarray:
    """Conditional inclusion probabilities π2|1 of the ``size`` phase-1 units, ``Σ = n``.

    Without ``p_hat``: ``n/size`` each. With it: ``π ∝ max(√(p̂(1−p̂)), floor·½)``, capped
    at 1 with the excess redistributed (:func:`~samplers.poisson.pps_lambda`).

    >>> phase2_probabilities(2, 4).tolist()
    [0.5, 0.5, 0.5, 0.5]
    >>> phase2_probabilities(1.5, 3, np.array([0.5, 0.5, 0.0]), 0.2).round(3).tolist()
    [0.682, 0.682, 0.136]
    """
    w = np.ones(size) if p_hat is None else np.maximum(
        np.sqrt(p_hat * (1.0 - p_hat)), floor * MAX_UNCERTAINTY)
    k = int(min(np.ceil(n), size))
    lam = pps_lambda(float(w.sum()), np.sort(w)[::-1][:k], float(n))
    return np.minimum(1.0, lam * w)


class Phase2Sampler(BaseSampler):
    """Draw phase 2 of a two-phase design from a phase-1 sample file (module docstring).

    Parameters
    ----------
    n : expected phase-2 size (``Σ π2|1``), at most the phase-1 size.
    seed : phase-2 seed; the PRN key is :func:`phase2_key` of it and the phase-1 key.
    uncertainty : a column of the phase-1 sample holding the model's probability ``p̂`` in
        [0, 1]; None for uniform π2|1.
    floor : the smallest size, as a fraction of the largest uncertainty ½ (default 0.05:
        no unit below 1/20 of the probability of the most uncertain one).
    predictions : a table (Parquet or CSV) keyed by ``unit_id`` holding the ``uncertainty``
        column for every phase-1 unit, when the model ran after phase 1 was drawn (an LLM
        judge on the phase-1 units); its column joins the output and its content hash the
        manifest. None: the column is one of the phase-1 sample's.

    ``sample(path)`` returns every phase-1 column plus ``phase1_prob`` (π1), ``phase2_prob``
    (π2|1) and ``phase2_prn``, with ``inclusion_prob = π1·π2|1``, ``design_weight`` its inverse
    and ``stratum`` the phase-1 stratum.
    """

    design_name = DESIGN_NAME
    coordinate_with = None  # what a redraw asks every sampler: phase 2 coordinates with none

    def __init__(self, n: int, seed: int = 0, uncertainty: str | None = None,
                 floor: float = DEFAULT_FLOOR, predictions: str | None = None):
        self.n = n
        self.seed = seed
        self.uncertainty = uncertainty
        self.floor = floor
        self.predictions = predictions

    def _check_params(self) -> None:
        n = self.n
        if n is None or isinstance(n, bool) or int(n) != n or n < 1:
            raise DesignError(f"phase 2 needs an expected size --n of 1 or more, got {n!r}")
        if not isinstance(self.seed, int | np.integer) or not 0 <= self.seed < 2**64:
            raise DesignError(f"seed must be an integer in [0, 2**64), got {self.seed!r}")
        if isinstance(self.floor, bool) or not isinstance(self.floor, int | float) \
                or not 0 < self.floor <= 1:
            raise DesignError(f"--floor must be in (0, 1] (a fraction of the largest "
                              f"uncertainty ½), got {self.floor!r}")
        if self.predictions and not self.uncertainty:
            raise DesignError("--predictions needs --uncertainty COL (its column of the "
                              "model's probability)")

    def sample(self, data: str | os.PathLike, *, batch_rows: int | None = None,
               engine: str = "stream", scheduler=None, columns=None) -> Sample:
        """Draw phase 2 from the phase-1 sample ``data`` (a Parquet file or object, its
        manifest in the metadata).

        The phase-1 sample is read in this process (``batch_rows`` does not change it);
        ``engine='dask'`` is refused (nothing to distribute), and so are ``columns`` (phase 2
        carries every phase-1 column).
        """
        self._check_params()
        if engine != "stream" or scheduler is not None:
            raise DesignError("a phase-2 draw reads its phase-1 sample in this process: "
                              "--engine dask and --scheduler do not apply")
        if columns:
            raise DesignError("--columns does not apply to a phase-2 draw: it carries every "
                              "phase-1 column")
        if not isinstance(data, str | os.PathLike):
            raise DesignError("phase 2 is drawn from a phase-1 sample file (its manifest "
                              "proves what it is)")
        path = as_path(data)  # an s3://... URI stays one
        table, first = _phase1(path)
        n1 = table.num_rows
        if self.n > n1:
            raise DesignError(f"{path}: --n {self.n} is larger than the phase-1 sample "
                              f"({n1} units); phase 2 is a subsample of it")
        pred_hash = None
        if self.predictions:  # the model's column joins phase 1 (its hash is checked above)
            predictions = as_path(self.predictions)
            values, pred_hash = joined_predictions(predictions, self.uncertainty, table, path)
            table = table.append_column(self.uncertainty, values)
            p_hat = _uncertainty(table, self.uncertainty, predictions, " (phase-1 rows)")
        else:
            p_hat = _uncertainty(table, self.uncertainty, path) if self.uncertainty else None
        pi2 = phase2_probabilities(float(self.n), n1, p_hat, float(self.floor))
        key = phase2_key(int(first.seed), int(self.seed))
        v = to_unit_interval(hash64(table.column("unit_id"), key))
        keep = selected(v, pi2)
        if keep.size == 0:
            raise DesignError(f"{path}: phase 2 selected no unit (expected {self.n}); raise "
                              f"--n or pick another --seed")
        pi1 = table.column("inclusion_prob").to_numpy()
        out = _phase2_table(table.take(pa.array(keep)), pi1[keep], pi2[keep], v[keep])
        manifest = self._manifest(path, first, table, pi2, keep, out, key)
        if pred_hash is not None:
            manifest.design["predictions"] = {"path": str(self.predictions),
                                              "content_hash": pred_hash,
                                              "column": self.uncertainty}
        return Sample(out, manifest)

    def _manifest(self, path: Path | ObjectPath, first: Manifest, table: pa.Table,
                  pi2: np.ndarray, keep: np.ndarray, out: pa.Table, key: int) -> Manifest:
        strata = table.column("stratum").to_numpy(zero_copy_only=False).astype(str)
        labels, codes = np.unique(strata, return_inverse=True)
        N_h = np.bincount(codes, minlength=len(labels))
        n_h = np.bincount(codes[keep], minlength=len(labels))
        e_h = np.bincount(codes, weights=pi2, minlength=len(labels))
        allocation = [{"stratum": str(h), "N_h": int(a), "n_h": int(b), "expected_n_h": float(e)}
                      for h, a, b, e in zip(labels, N_h, n_h, e_h, strict=True)]
        design = {"name": DESIGN_NAME, **self.get_params(), "unit_col": "unit_id",
                  "phase1": {"path": str(path), "content_hash": first.content_hash,
                             "design": first.design, "seed": first.seed, "rows": table.num_rows}}
        columns = ["unit_id", "stratum", "inclusion_prob",
                   *([self.uncertainty] if self.uncertainty else [])]
        return Manifest(
            kind="sample", design=design, seed=int(self.seed),
            prn={**ALGORITHM, "key": key, "key_from": "hash64('phase2:<seed>', phase-1 key)"},
            population={"rows": table.num_rows, "fingerprint": first.content_hash,
                        "columns": columns, "source": str(path)},
            allocation=allocation, content_hash=content_hash(out),
            package_version=package_version(), packages=package_versions())


def phase2_sampler(options: dict, source: str = "options") -> Phase2Sampler:
    """The phase-2 sampler that checked sampling ``options`` describe (``phase2_of`` set)."""
    if not options.get("phase2_of"):
        raise DesignError(f"{source}: --uncertainty, --floor and --predictions apply to a "
                          f"phase-2 draw only (--phase2-of PHASE1)")
    other = sorted(k for k in options if k not in PHASE2_OPTIONS)
    if other:
        raise DesignError(f"{source}: {other} do not apply to a phase-2 draw: phase 2 keeps "
                          f"the phase-1 strata and draws by PRN Poisson sampling (--n, --seed, "
                          f"--uncertainty, --floor)")
    if options.get("n") is None:
        raise DesignError(f"{source}: phase 2 needs its expected size --n")
    return Phase2Sampler(n=options["n"], seed=options.get("seed", 0),
                         uncertainty=options.get("uncertainty"),
                         floor=options.get("floor", DEFAULT_FLOOR),
                         predictions=options.get("predictions"))


def phase2_from_manifest(manifest: Manifest) -> tuple[Phase2Sampler, str]:
    """The sampler and phase-1 path a phase-2 manifest records (to redraw it)."""
    design = manifest.design
    if design.get("name") != DESIGN_NAME:
        raise DesignError(f"not a phase-2 manifest (design {design.get('name')!r})")
    params = {k: design[k] for k in Phase2Sampler(1).get_params() if k in design}
    if isinstance(params.get("predictions"), dict):  # recorded with its content hash
        params["predictions"] = params["predictions"]["path"]
    return Phase2Sampler(**params), str(design["phase1"]["path"])


def _phase1(path: Path | ObjectPath) -> tuple[pa.Table, Manifest]:
    """The phase-1 table (metadata dropped) and manifest, checked to be an intact sample."""
    check_objects([path])  # a missing object or bucket says so, in one line
    try:
        first = read_manifest(path)
    except SchemaError as exc:
        raise SchemaError(f"not a phase-1 sample: {exc}") from None
    if first.kind != "sample" or first.seed is None:
        raise SchemaError(f"not a phase-1 sample: its manifest is a {first.kind!r} dataset"
                          f"{'' if first.seed is not None else ' with no seed'} (draw phase 2 "
                          f"from the file `curate sample` wrote)", source=str(path))
    if first.design.get("name") == DESIGN_NAME:
        raise SchemaError("is already a phase-2 sample; draw phase 2 from its phase-1 sample",
                          source=str(path))
    table = read_parquet(path).replace_schema_metadata(None)
    missing = [c for c in ("unit_id", "stratum", "inclusion_prob") if c not in table.column_names]
    if missing:
        raise SchemaError(f"not a phase-1 sample: no column(s) {missing}", source=str(path))
    clash = [c for c in PHASE_COLUMNS if c in table.column_names]
    if clash:
        raise SchemaError(f"already has phase column(s) {clash}", source=str(path))
    if content_hash(table) != first.content_hash:
        raise SchemaError("its rows do not match its manifest's content hash (modified after it "
                          "was drawn); phase 2 needs the phase-1 sample as drawn",
                          source=str(path))
    return table, first


def joined_predictions(path: Path | ObjectPath, column: str, phase1: pa.Table,
                       phase1_path: Path | ObjectPath) -> tuple[pa.ChunkedArray, str]:
    """Column ``column`` of the predictions table at ``path`` (Parquet, or CSV; a file or an
    object), in the order of the phase-1 rows, and the table's content hash; every phase-1
    unit needs exactly one row."""
    if column in phase1.column_names:
        raise SchemaError(f"--uncertainty column {column!r} is already a phase-1 column: drop "
                          f"--predictions {path} to use it, or name the predictions' own column",
                          source=str(phase1_path))
    check_objects([path])  # a missing object or bucket says which
    if not path.is_file():
        raise SchemaError("no such predictions file", source=str(path))
    if path.suffix.lower() == ".csv":
        import pyarrow.csv as pv

        try:
            table = pv.read_csv(readable(path), convert_options=pv.ConvertOptions(
                column_types={"unit_id": pa.string()}))
        except (pa.ArrowInvalid, OSError) as exc:
            raise SchemaError(f"cannot read CSV: {str(exc).splitlines()[0]}",
                              source=str(path)) from None
    else:
        table = read_parquet(path)
    missing = [c for c in ("unit_id", column) if c not in table.column_names]
    if missing:
        raise SchemaError(f"a predictions table needs column(s) {missing} (has "
                          f"{table.column_names[:12]})", source=str(path))
    ids = pc.cast(table.column("unit_id"), pa.string())
    if pc.count_distinct(ids).as_py() != len(ids):
        raise SchemaError("its unit_id values repeat: one prediction per unit",
                          source=str(path))
    at = pc.index_in(pc.cast(phase1.column("unit_id"), pa.string()), value_set=ids)
    absent = np.asarray(pc.is_null(at).to_numpy(zero_copy_only=False))
    if absent.any():
        shown = phase1.column("unit_id").take(pa.array(np.flatnonzero(absent)[:5])).to_pylist()
        raise SchemaError(f"no prediction for {int(absent.sum())} phase-1 unit(s) "
                          f"({', '.join(map(str, shown))}{', …' if absent.sum() > 5 else ''})",
                          source=str(path))
    return table.column(column).take(at), content_hash(table.replace_schema_metadata(None))


def _uncertainty(table: pa.Table, column: str, path: Path | ObjectPath,
                 rows_of: str = "") -> np.ndarray:
    """The model probabilities ``p̂`` of column ``column``: numeric, in [0, 1], no null."""
    if column not in table.column_names:
        raise SchemaError(f"no --uncertainty column {column!r} (columns: "
                          f"{table.column_names[:20]})", source=str(path))
    values = table.column(column)
    if not (pa.types.is_integer(values.type) or pa.types.is_floating(values.type)):
        raise SchemaError(f"--uncertainty column {column!r} is not numeric ({values.type})",
                          source=str(path))
    x = np.asarray(values.to_numpy(zero_copy_only=False), np.float64)
    bad = ~np.isfinite(x) | (x < 0) | (x > 1)
    if bad.any():
        raise SchemaError(f"--uncertainty column {column!r}: {int(bad.sum())} value(s) null or "
                          f"outside [0, 1] at {rows_where(bad)}{rows_of}", source=str(path))
    return x


def _phase2_table(rows: pa.Table, pi1: np.ndarray, pi2: np.ndarray, v: np.ndarray) -> pa.Table:
    """Phase-1 columns with ``inclusion_prob``/``design_weight`` of both phases, plus π1, π2|1
    and the phase-2 PRN (rows in phase-1 order)."""
    pi = pi1 * pi2
    out = rows
    for name, values in (("inclusion_prob", pi), ("design_weight", 1.0 / pi)):
        if name in out.column_names:
            out = out.set_column(out.column_names.index(name), name, pa.array(values, pa.float64()))
        else:
            out = out.append_column(name, pa.array(values, pa.float64()))
    for name, values in zip(PHASE_COLUMNS, (pi1, pi2, v), strict=True):
        out = out.append_column(name, pa.array(values, pa.float64()))
    return out.combine_chunks()
