"""A model's predictions as inputs of estimation: which column predicts which label, read from
the sample itself or from a predictions table keyed by ``unit_id``, checked once at the boundary.

A prediction is the model's probability that a unit is positive (or its 0/1 label) for one
category: a number in [0, 1] for every unit it must cover. ``--pred-col Y=COL`` pairs label
column ``Y`` with prediction column ``COL`` (``COL`` alone when there is one ``--y``). The
model's name and version (given, or read from the predictions file's Parquet metadata keys
``model_name`` / ``model_version``) travel with the estimates. Where the predictions come from
(the team's classifier, an LLM judge run elsewhere) is the user's business: nothing here needs
the network.

Population-known estimation needs the sampling stratum of every population unit:
:func:`population_strata` recomputes it from the manifest's ``strata_spec`` and ``strata_fit``
(the sampler's own :class:`samplers.strata.Strata`), so ``N_h`` and the prediction totals
``F_h`` are those of the strata the sample was drawn from (checked against the allocation).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from schemas import DesignError, Manifest, SchemaError
from schemas.io import read_parquet
from schemas.storage import ObjectPath, as_path, check_objects, readable

META_KEYS = ("model_name", "model_version")


@dataclass(frozen=True)
class Model:
    """Who made the predictions and where they were read (recorded with the estimates)."""

    name: str | None = None
    version: str | None = None
    source: str = "DATA"
    pred_cols: dict[str, str] = field(default_factory=dict)

    def describe(self) -> dict:
        return {"model_name": self.name, "model_version": self.version,
                "predictions": self.source, "pred_cols": dict(self.pred_cols)}


def parse_pred_cols(specs: list[str] | tuple[str, ...], ys: list[str]) -> dict[str, str]:
    """``{y: prediction column}`` from ``--pred-col`` values ``Y=COL`` (or ``COL`` alone with one
    ``--y``); a prediction column that is also a label column is refused (it would calibrate
    the estimate to itself)."""
    out: dict[str, str] = {}
    for spec in specs:
        y, sep, col = str(spec).partition("=")
        if not sep:
            if len(ys) != 1:
                raise DesignError(f"--pred-col {spec!r}: say which label it predicts "
                                  f"(Y=COL) when there are several --y ({ys})")
            y, col = ys[0], y
        y, col = y.strip(), col.strip()
        if y not in ys:
            raise DesignError(f"--pred-col {spec!r}: {y!r} is not a --y label column ({ys})")
        if not col:
            raise DesignError(f"--pred-col {spec!r}: no prediction column named")
        if y in out:
            raise DesignError(f"--pred-col: two prediction columns for {y!r}")
        out[y] = col
    clash = sorted(c for c in out.values() if c in ys)
    if clash:
        raise DesignError(f"--pred-col {clash[0]!r} is also a --y label column: the model's "
                          f"prediction must be another column than the people's label")
    return out


def read_predictions(path: str | Path | ObjectPath) -> tuple[pd.DataFrame, dict[str, str]]:
    """(table, ``{model_name, model_version}`` found in its Parquet metadata) of a predictions
    file or object (Parquet or CSV) keyed by ``unit_id``, one row per unit."""
    path = as_path(path)  # an s3://... URI stays one
    check_objects([path])  # a missing object or bucket says which
    if not path.is_file():
        raise SchemaError("no such predictions file", source=str(path))
    meta: dict[str, str] = {}
    if path.suffix.lower() == ".csv":
        try:
            df = pd.read_csv(readable(path), dtype={"unit_id": str})
        except (OSError, ValueError) as exc:
            raise SchemaError(f"cannot read CSV: {exc}", source=str(path)) from None
    else:
        table = read_parquet(path)
        raw = table.schema.metadata or {}
        meta = {k: raw[k.encode()].decode() for k in META_KEYS if k.encode() in raw}
        df = table.to_pandas()
    if "unit_id" not in df.columns:
        raise SchemaError("a predictions table needs a unit_id column", source=str(path))
    ids = df["unit_id"].astype(str)
    dup = ids.duplicated(keep=False).to_numpy()
    if dup.any():
        raise SchemaError(f"{int(dup.sum())} rows repeat a unit_id ({_ids(ids, dup)})",
                          source=str(path))
    return df.assign(unit_id=ids), meta


def model_of(pred_cols: dict[str, str], source: str, meta: dict[str, str] | None = None,
             name: str | None = None, version: str | None = None) -> Model:
    """The :class:`Model`: given name/version first, else the predictions file's metadata."""
    meta = meta or {}
    return Model(name or meta.get("model_name"), version or meta.get("model_version"), source,
                 dict(pred_cols))


def _ids(ids: pd.Series, mask: np.ndarray) -> str:
    shown = ids.to_numpy()[mask][:5].tolist()
    more = f" +{int(mask.sum()) - 5} more" if mask.sum() > 5 else ""
    return "unit_id " + ", ".join(map(str, shown)) + more


def values(frame: pd.DataFrame, col: str, ids: pd.Series, source: str,
           what: str = "sampled") -> np.ndarray:
    """The predictions of column ``col`` as floats in [0, 1]; a missing column, non-numeric,
    null or out-of-range values are one-line errors naming how many units and which."""
    if col not in frame.columns:
        raise SchemaError(f"no prediction column {col!r} (columns: {list(frame.columns)[:20]})",
                          source=source)
    s = frame[col]
    if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
        raise SchemaError(f"prediction column {col!r} is not numeric ({s.dtype})",
                          source=source)
    f = s.astype(np.float64).to_numpy()
    missing = np.isnan(f)
    if missing.any():
        raise SchemaError(f"prediction column {col!r} is missing for {int(missing.sum())} "
                          f"{what} unit(s) ({_ids(ids, missing)})", source=source)
    bad = ~np.isfinite(f) | (f < 0) | (f > 1)
    if bad.any():
        raise SchemaError(f"prediction column {col!r} has {int(bad.sum())} value(s) outside "
                          f"[0, 1] ({_ids(ids, bad)}): give a probability or a 0/1 label",
                          source=source)
    return f


def for_units(df: pd.DataFrame, pred_cols: dict[str, str], predictions: pd.DataFrame | None,
              source: str, pred_source: str, id_col: str = "unit_id",
              what: str = "sampled") -> dict[str, np.ndarray]:
    """``{y: predictions of the rows of df}``: from ``predictions`` joined on ``id_col`` when
    given (units it lacks are an error naming them), else from the columns of ``df``."""
    if id_col not in df.columns:
        raise SchemaError(f"no {id_col} column to join the predictions on", source=source)
    ids = df[id_col].astype(str).reset_index(drop=True)
    if predictions is None:
        frame, where = df.reset_index(drop=True), source
    else:
        absent = ~ids.isin(predictions["unit_id"]).to_numpy()
        if absent.any():
            raise SchemaError(f"no prediction for {int(absent.sum())} {what} unit(s) "
                              f"({_ids(ids, absent)})", source=pred_source)
        frame = predictions.set_index("unit_id").loc[ids].reset_index()
        where = pred_source
    return {y: values(frame, col, ids, where, what) for y, col in pred_cols.items()}


def population_strata(population: pa.Table, manifest: Manifest | None,
                      source: str) -> np.ndarray:
    """The sampling stratum label of every population unit, as the sampler assigned it (the
    manifest's ``strata_spec`` with its stored ``strata_fit``); a population without a
    manifest's spec must carry a ``stratum`` column."""
    from samplers.strata import Strata, fit_strata

    design = (manifest.design if manifest is not None else None) or {}
    spec = design.get("strata_spec")
    if spec is None:
        if "stratum" not in population.column_names:
            raise SchemaError("no sample manifest says how units were stratified, and the "
                              "population has no stratum column", source=source)
        return np.asarray(population.column("stratum").to_pylist(), dtype=str)
    strata = Strata(**{k: tuple(v) if isinstance(v, list) else v for k, v in spec.items()})
    if strata.needs_fit:
        strata = strata.with_fit(design.get("strata_fit") or None)
    missing = [c for c in strata.input_columns if c not in population.column_names]
    if missing:
        raise SchemaError(f"no stratification column(s) {missing} in the population",
                          source=source)
    fitted = fit_strata(strata, [population], id_column=str(design.get("unit_col")), source=source)
    return np.asarray(fitted.labels(population), dtype=str)


def population_totals(population: pa.Table, manifest: Manifest | None,
                      pred_cols: dict[str, str], predictions: pd.DataFrame | None,
                      source: str, pred_source: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(stratum of every population unit, ``{y: prediction of every population unit}``),
    the population checked to be the frame the sample was drawn from (each stratum's size
    equals the allocation's ``N_h``)."""
    strata = population_strata(population, manifest, source)
    unit_col = ((manifest.design or {}).get("unit_col") if manifest is not None else None) \
        or "unit_id"
    if unit_col not in population.column_names:
        raise SchemaError(f"no unit column {unit_col!r} in the population", source=source)
    cols = sorted({unit_col, *[c for c in pred_cols.values() if c in population.column_names]})
    frame = population.select(cols).to_pandas()
    frame = frame.assign(unit_id=frame[unit_col].astype(str))
    preds = for_units(frame, pred_cols, predictions, source, pred_source, "unit_id",
                      what="population")
    allocation = (manifest.allocation or []) if manifest is not None else []
    if allocation:
        labels, counts = np.unique(strata, return_counts=True)
        have = dict(zip(labels.tolist(), counts.tolist(), strict=True))
        off = [f"{a['stratum']} has {have.get(str(a['stratum']), 0)} units, the allocation "
               f"{a['N_h']:g}" for a in allocation
               if have.get(str(a["stratum"]), 0) != float(a["N_h"])]
        if off:
            raise DesignError(f"{source}: the population is not the frame the sample was drawn "
                              f"from (stratum {off[0]}); pass the sampled population")
    return strata, preds


def weighted_correlation(w: np.ndarray, y: np.ndarray, f: np.ndarray) -> float:
    """The design-weighted correlation of labels and predictions (NaN when either is
    constant): how informative the model is on this sample."""
    yb, fb = np.average(y, weights=w), np.average(f, weights=w)
    num = np.sum(w * (y - yb) * (f - fb))
    den = np.sqrt(np.sum(w * (y - yb) ** 2) * np.sum(w * (f - fb) ** 2))
    return float(num / den) if den > 0 else float("nan")


@dataclass(frozen=True)
class Assist:
    """What model-assisted estimation needs beside the sample: the model, the predictions of
    every row of DATA (``sample``) and either every population unit's with its stratum
    (population-known: GREG) or every phase-1 unit's (two-phase)."""

    model: Model
    sample: dict[str, np.ndarray]
    population_strata: np.ndarray | None = field(default=None, repr=False)
    population: dict[str, np.ndarray] | None = field(default=None, repr=False)
    phase1: dict[str, np.ndarray] | None = field(default=None, repr=False)

    def calibrated(self, design, y: str, rows: np.ndarray, source: str = "DATA"):
        """The model-assisted design of label ``y``: ``design`` (over the rows ``rows`` of
        DATA, after any nonresponse adjustment) calibrated on the predictions."""
        from .model_assisted import greg, prediction_totals
        from .two_phase import TwoPhaseDesign, calibrate_phase2

        f = self.sample[y][rows]
        if isinstance(design, TwoPhaseDesign):
            if self.phase1 is None:
                raise DesignError("a two-phase design needs the phase-1 predictions")
            return calibrate_phase2(design, self.phase1[y], f, source)
        if self.population is None or self.population_strata is None:
            raise DesignError("model-assisted estimation needs a prediction for every "
                              "population unit (--population) or a phase-1 sample (--phase1)")
        N, F = prediction_totals(self.population_strata, self.population[y], design.labels,
                                 source)
        return greg(design, f, N, F, source)

    def summary(self, design, y: str, values: np.ndarray, rows: np.ndarray) -> dict:
        """λ_h (PPI++ power tuning per stratum) and the weighted label–prediction correlation
        of ``y`` on the design's units, to print beside the estimates."""
        from .model_assisted import power_tuning

        f = self.sample[y][rows]
        lam = power_tuning(design, values, f)
        return {"lambda": dict(zip(design.labels, map(float, lam), strict=True)),
                "correlation": weighted_correlation(design.weight, values, f)}


MODEL_METADATA_KEY = b"audit_curation.model"


def model_sidecar(output: str | Path) -> Path:
    """Where the model's metadata goes beside a CSV/JSON estimate table (``<stem>.model.json``;
    a Parquet table holds it in its metadata under :data:`MODEL_METADATA_KEY`)."""
    output = Path(output)
    return output.with_name(output.stem + ".model.json")


def load_assist(df: pd.DataFrame, manifest: Manifest | None, ys: list[str],
                specs: list[str] | tuple[str, ...], predictions_path: str | None = None,
                population_path: str | None = None, phase1_path: str | None = None,
                name: str | None = None, version: str | None = None, source: str = "DATA",
                ) -> tuple[Assist | None, object | None, Manifest | None]:
    """(:class:`Assist`, the two-phase design or None, the manifest that describes the strata)
    of ``curate estimate DATA --pred-col ...`` with ``--population`` (population-known) or
    ``--phase1`` (two-phase; DATA the phase-2 sample, its predictions phase 1's). With
    ``--phase1`` and no ``--pred-col`` the Assist is None: the two-phase design alone."""
    from schemas import content_hash

    from .inputs import load_sample
    from .two_phase import check_phase1_hash, two_phase_design

    pred_cols = parse_pred_cols(specs, ys)
    if not pred_cols and (predictions_path or name or version or not phase1_path):
        raise DesignError("--predictions, --model-name and --model-version need --pred-col")
    if bool(population_path) == bool(phase1_path):
        raise DesignError("model-assisted estimation needs either --population (a prediction "
                          "for every population unit) or --phase1 (the phase-1 sample DATA "
                          "was drawn from), not " + ("both" if phase1_path else "neither"))
    table, meta = (read_predictions(predictions_path) if predictions_path else (None, {}))
    pred_source = str(predictions_path) if predictions_path else ""
    if phase1_path:
        p1, m1, _ = load_sample(phase1_path)
        design = two_phase_design(p1, m1, df, source, str(phase1_path))  # nested first
        actual = None
        if str(phase1_path).lower().endswith(".parquet"):
            actual = content_hash(read_parquet(phase1_path).replace_schema_metadata(None))
        check_phase1_hash(manifest, actual, source, str(phase1_path))
        if not pred_cols:  # the double expansion alone
            return None, design, m1
        phase1 = for_units(p1, pred_cols, table, str(phase1_path), pred_source,
                           what="phase-1")
        rows = p1["unit_id"].astype(str).reset_index(drop=True)
        at = pd.Index(rows).get_indexer(df["unit_id"].astype(str))
        model = model_of(pred_cols, pred_source or str(phase1_path), meta, name, version)
        return Assist(model, {y: f[at] for y, f in phase1.items()}, phase1=phase1), design, m1
    sample = for_units(df, pred_cols, table, source, pred_source)
    population = read_parquet(population_path,
                              columns=_population_columns(population_path, manifest, pred_cols))
    strata, preds = population_totals(population, manifest, pred_cols, table,
                                      str(population_path), pred_source)
    model = model_of(pred_cols, pred_source or f"{source} and {population_path}", meta, name,
                     version)
    return Assist(model, sample, strata, preds), None, manifest


def _population_columns(path: str | Path, manifest: Manifest | None,
                        pred_cols: dict[str, str]) -> list[str]:
    """The population columns estimation reads: the unit, the stratification inputs (or
    ``stratum``) and the prediction columns it holds (a catalogue may be wide)."""
    from schemas.io import parquet_dataset

    names = parquet_dataset(path).schema.names
    design = (manifest.design if manifest is not None else None) or {}
    spec = design.get("strata_spec") or {}
    wanted = [design.get("unit_col") or "unit_id", "stratum", *(spec.get("columns") or []),
              spec.get("bins"), *(spec.get("clusters") or []), *pred_cols.values()]
    return [c for c in dict.fromkeys(w for w in wanted if w) if c in names]
