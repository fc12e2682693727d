"""Model vs people, for the report: how a model's labels (a classifier's probability, an LLM
judge's label; columns of the curated table given with ``--pred-col Y=COL``) agree with the
people's final labels on the units both labeled, and how many human labels the model saves.

* Agreement: the confusion matrix of the model (a probability counts as yes at 0.5) against
  the final label, with sensitivity and specificity, on the units with both.
* Bias: the design-weighted mean of ``model label − people`` over those units with its t
  interval (what trusting the model's labels outright would add to the prevalence).
* Labels saved (when the population's predictions are known, ``--population``): the
  model-assisted GREG estimate (:func:`curation.estimation.model_assisted.greg`, calibrated to
  each stratum's population count and prediction total) beside the design-only one, and the
  effective number of labels ``n × V_design / V_model``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from curation.estimation import greg, hajek_mean, prediction_totals, recognise, t_interval
from curation.estimation.inputs import load_sample
from curation.estimation.intervals import proportion_interval, resolve_method
from curation.estimation.nonresponse import adjust, respondents
from curation.estimation.predictions import population_totals
from schemas import Manifest, SchemaError
from schemas.io import read_parquet
from schemas.storage import as_path

from .assembly import Builder, Section
from .figures import interval_figure
from .prevalence import label_fields

THRESHOLD = 0.5
CONFUSION = ["field", "model", "units", "people_yes_model_yes", "people_yes_model_no",
             "people_no_model_yes", "people_no_model_no", "sensitivity", "specificity",
             "bias", "bias_ci_low", "bias_ci_high"]
SIDE = ["field", "people_only", "people_only_ci_low", "people_only_ci_high",
        "with_model", "with_model_ci_low", "with_model_ci_high", "labels", "positives",
        "effective_labels", "labels_saved"]
FEW_POSITIVES = 10  # below this, the variance ratio (labels saved) is itself unstable


def model_name(column: str, *paths: Path | None) -> str:
    """The model's name recorded in the Parquet field metadata of ``column`` (``model_name``
    and ``model_version``) of the first of ``paths`` that has it, else the column's name."""
    for path in paths:
        if path is None or not as_path(path).is_file():
            continue
        try:
            schema = pq.read_schema(path)
        except (OSError, ValueError, pa.ArrowInvalid):
            continue  # not Parquet (a CSV table): no field metadata to read
        if column in schema.names:
            meta = schema.field(column).metadata or {}
            name = meta.get(b"model_name", b"").decode()
            if name:
                version = meta.get(b"model_version", b"").decode()
                return f"{name} {version}".strip()
    return column


def confusion_row(people: np.ndarray, model: np.ndarray) -> dict:
    """Counts of the four cells, sensitivity and specificity (None when undefined)."""
    p, m = np.asarray(people, bool), np.asarray(model, bool)
    tp, fn = int((p & m).sum()), int((p & ~m).sum())
    fp, tn = int((~p & m).sum()), int((~p & ~m).sum())
    return {"units": int(p.size), "people_yes_model_yes": tp, "people_yes_model_no": fn,
            "people_no_model_yes": fp, "people_no_model_no": tn,
            "sensitivity": tp / (tp + fn) if tp + fn else None,
            "specificity": tn / (tn + fp) if tn + fp else None}


def _population(ctx: Builder, path: Path, manifest: Manifest | None, column: str
                 ) -> tuple[pa.Table, str] | None:
    """The population's units (its unit column, stratification inputs and the prediction,
    joined from the catalogue on ``item_id`` when the population lacks it), or None when the
    population or its predictions are unknown."""
    source = ctx.population_of(path) if manifest is not None else None
    if source is None or not as_path(source).exists() or manifest is None:
        return None
    design = manifest.design or {}
    spec = design.get("strata_spec") or {}
    need = [str(design.get("unit_col") or "unit_id"), *(spec.get("columns") or []),
            *([spec["bins"]] if spec.get("bins") else []), *(spec.get("clusters") or [])]
    names = read_parquet(source).schema.names if as_path(source).is_dir() \
        else pq.read_schema(source).names
    need = [c for c in dict.fromkeys(need) if c in names]  # the shared reader names the rest
    if column in names:
        return read_parquet(source, columns=[*need, column]), str(source)
    if "item_id" not in names or ctx.catalogue is None or column not in ctx.catalogue_cols:
        return None
    pop = read_parquet(source, columns=[*dict.fromkeys([*need, "item_id"])]).to_pandas()
    cat = read_parquet(ctx.catalogue, columns=["item_id", column]).to_pandas()
    pop[column] = pop["item_id"].map(cat.drop_duplicates("item_id").set_index("item_id")[column])
    return (pa.Table.from_pandas(pop, preserve_index=False),
            f"{source} (predictions joined from {ctx.catalogue} on item_id)")


def _with_catalogue_predictions(ctx: Builder, frame: pd.DataFrame, columns: list[str]
                                ) -> pd.DataFrame:
    """``frame`` with the prediction ``columns`` it lacks joined from the catalogue on
    ``item_id`` (an item's prediction is its impressions' too)."""
    joinable = [c for c in dict.fromkeys(columns) if c not in frame
                and c in ctx.catalogue_cols]
    if not joinable or "item_id" not in frame:
        return frame
    cat = read_parquet(ctx.catalogue, columns=["item_id", *joinable]).to_pandas()
    return frame.join(cat.drop_duplicates("item_id").set_index("item_id"), on="item_id")


def _interval(e, level: float, kind: str) -> tuple[float, float]:
    lo, hi, _ = proportion_interval(e, level, resolve_method("auto", kind))
    return lo, hi


def model_tables(ctx: Builder, path: Path, pred_cols: dict[str, str]
                 ) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """(confusion and bias per field, people-only vs model-assisted per field, notes) of one
    curated table."""
    frame, manifest, _ = load_sample(path)
    frame = _with_catalogue_predictions(ctx, frame, list(pred_cols.values()))
    level = ctx.inputs.level
    responded = respondents(frame)
    design = recognise(frame, manifest, source=str(path))
    resp_design = adjust(design, responded)[0] if not responded.all() else design
    resp = frame.loc[responded].reset_index(drop=True)
    confusion, side, notes = [], [], []
    fields = label_fields(frame)
    for y, col in pred_cols.items():
        if y not in frame or col not in frame:
            notes.append(f"{path.name}: no column {y if y not in frame else col!r}; the model "
                         f"vs people comparison of {y} is left out")
            continue
        if y not in fields or col in {*fields, "severity"}:
            raise SchemaError(f"--pred-col {y}={col}: " + (
                f"{y!r} is not a 0/1 label field ({', '.join(fields)})" if y not in fields
                else f"{col!r} is a label column, not a model's prediction"), source=str(path))
        f = pd.to_numeric(resp[col], errors="coerce").to_numpy(float)
        people = resp[y].astype(float).to_numpy()
        for bad, what in ((~np.isfinite(f), "have no prediction"),
                          (np.isfinite(f) & ((f < 0) | (f > 1)), "have a prediction outside "
                                                                  "[0, 1]")):
            if bad.any():
                ids = resp.loc[bad, "unit_id"].astype(str).head(5).tolist()
                raise SchemaError(f"column {col!r}: {int(bad.sum())} labeled unit(s) {what} "
                                  f"(e.g. {ids})", source=str(path))
        name = model_name(col, path, ctx.population_of(path) if manifest else None,
                          ctx.catalogue)
        said = (f >= THRESHOLD).astype(float)
        d = hajek_mean(resp_design, said - people)
        lo, hi = t_interval(d.estimate, d.se, d.df, level)
        confusion.append({"field": y, "model": name, **confusion_row(people > 0.5, said > 0),
                          "bias": d.estimate, "bias_ci_low": lo, "bias_ci_high": hi})
        pop = _population(ctx, path, manifest, col)
        if pop is None:
            notes.append(f"{path.name}: the population's {col} is unknown (pass the population "
                         f"with --population): no model-assisted estimate of {y}")
            continue
        side.append(_side_by_side(resp_design, people, f, y, col, pop, manifest, level))
    return (pd.DataFrame(confusion, columns=CONFUSION), pd.DataFrame(side, columns=SIDE),
            notes)


def _side_by_side(design, people: np.ndarray, f: np.ndarray, y: str, col: str,
                  pop: tuple[pa.Table, str], manifest: Manifest, level: float) -> dict:
    """People-only and GREG estimates of ``y`` with intervals, and the labels saved; the
    population's strata and predictions read (and checked against the allocation) by
    :func:`curation.estimation.predictions.population_totals`."""
    population, source = pop
    strata, preds = population_totals(population, manifest, {y: col}, None, source, source)
    N_h, F_h = prediction_totals(strata, preds[y], design.labels, source)
    plain = hajek_mean(design, people)
    assisted = hajek_mean(greg(design, f, N_h, F_h, source), people)
    effective = plain.n * plain.var / assisted.var if assisted.var > 0 else math.nan
    p_lo, p_hi = _interval(plain, level, design.kind)
    m_lo, m_hi = _interval(assisted, level, design.kind)
    return {"field": y, "people_only": plain.estimate, "people_only_ci_low": p_lo,
            "people_only_ci_high": p_hi, "with_model": assisted.estimate,
            "with_model_ci_low": m_lo, "with_model_ci_high": m_hi, "labels": plain.n,
            "positives": int((people > 0.5).sum()), "effective_labels": effective,
            "labels_saved": effective - plain.n if math.isfinite(effective) else math.nan}


def model_section(ctx: Builder, path: Path, pred_cols: dict[str, str]) -> Section:
    """How does the model compare with people? Confusion matrix and bias per label field, the
    labels the model saves and the estimate with and without it."""
    out = Section()
    confusion, side, notes = model_tables(ctx, path, pred_cols)
    name = path.stem
    out.page.heading(f"How does the model compare with people? ({name})")
    for note in notes:
        out.page.paragraph(note, "note")
    if confusion.empty:
        return out
    models = ", ".join(dict.fromkeys(confusion["model"]))
    out.page.paragraph(
        f"Model: {models}. On the {int(confusion['units'].max())} units with both a final "
        f"label and the model's output: the model says yes when its probability is at least "
        f"{THRESHOLD}; bias is the design-weighted mean of the model's label − the people's "
        f"(what trusting the model's labels alone would add to the prevalence), with its "
        f"confidence interval.", "note")
    out.page.table(confusion)
    out.add_table(confusion, f"model_vs_people_{name}")
    numbers = {"confusion": {r["field"]: {k: r[k] for k in CONFUSION[1:]}
                             for r in confusion.to_dict(orient="records")}}
    if len(side):
        out.page.paragraph(
            "With the model: the design weights calibrated to each stratum's population count "
            "and total of the model's predictions (GREG), so the people's labels still decide "
            "the estimate and a poor model costs little. Effective labels = labels × design "
            "variance / model-assisted variance: the human labels the design alone would need "
            f"for the same precision. With fewer than {FEW_POSITIVES} positive labels the "
            f"model-assisted variance (hence its interval and that ratio) rests on too few "
            f"positives to trust: prefer the people-only estimate.", "note")
        out.page.table(side)
        long = pd.concat([
            pd.DataFrame({"label": side["field"] + ": people only",
                          "estimate": side["people_only"], "ci_low": side["people_only_ci_low"],
                          "ci_high": side["people_only_ci_high"]}),
            pd.DataFrame({"label": side["field"] + ": with the model",
                          "estimate": side["with_model"], "ci_low": side["with_model_ci_low"],
                          "ci_high": side["with_model_ci_high"]})]).sort_values(
            "label", kind="stable")
        out.add_figure(interval_figure(long, f"{name}: prevalence with and without the model",
                                       "prevalence"), f"model_assisted_{name}",
                       "Prevalence from the people's labels alone and with the model's "
                       "predictions (GREG), with confidence intervals")
        out.add_table(side, f"model_assisted_{name}")
        numbers["estimates"] = {r["field"]: {k: r[k] for k in SIDE[1:]}
                                for r in side.to_dict(orient="records")}
    out.numbers["model"][name] = numbers
    return out
