"""The sections of the report: each reads one input and returns a
:class:`~curation.report.assembly.Section` (headings, figures, tables, CSVs and its numbers),
which :func:`~curation.report.compose.build_report` assembles in order.

A section is a function of the report's context (a
:class:`~curation.report.assembly.Builder`, read for its inputs: groups, catalogue,
populations, level) and one input path; it never writes to the builder.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from curation.curated import nonresponse_report
from curation.estimation import estimate_table, recognise
from curation.estimation.frame import unsampled_strata
from curation.estimation.inputs import load_sample
from curation.estimation.missingness import assumption as nonresponse_assumption
from curation.estimation.nonresponse import respondents
from schemas import DesignError, SchemaError, read_manifest
from schemas.io import read_parquet
from schemas.labels import NONRESPONSE
from schemas.storage import readable
from schemas.validate import read_labels

from .annotators import agreement_summary, exposure, progress, totals
from .assembly import Builder, Section
from .composition import (
    composition,
    max_weighted_gap,
    population_counts,
    stratification_variables,
)
from .figures import (
    agreement_figure,
    composition_figure,
    interval_figure,
    prevalence_figure,
    representation_figure,
    stacked_figure,
    status_figure,
)
from .groups import join_groups, representation_table
from .prevalence import label_fields, prevalence_table

ESTIMATE_COLUMNS = ("metric", "y", "domain", "estimate", "ci_low", "ci_high")
#: What a reader calls each metric of an estimates table.
METRIC_NAMES = {"proportion": "prevalence", "nonresponse_rate": "share of units without a "
                "final label", "mean": "mean", "total": "total", "count": "count",
                "adjusted_proportion": "prevalence adjusted for annotator error"}
LIST_UNITS = 50  # list the ids of units without a final label up to this many


def nested(frame: pd.DataFrame, keys: list[str], values: list[str]) -> dict:
    """``{k1: {k2: {value: x}}}`` of a tidy table (the shape ``dvc metrics`` flattens)."""
    out: dict = {}
    for row in frame.to_dict(orient="records"):
        node = out
        for k in keys:
            node = node.setdefault(str(row[k]), {})
        node.update({v: row[v] for v in values})
    return out


def read_estimates(path: Path) -> pd.DataFrame:
    """A tidy estimates table from CSV, Parquet or JSON."""
    suffix = path.suffix.lower()
    if not path.exists():
        raise SchemaError("no such file", source=str(path))
    if suffix == ".parquet":
        frame = read_parquet(path).to_pandas()
    elif suffix == ".csv":
        frame = pd.read_csv(readable(path))
    elif suffix == ".json":
        frame = pd.read_json(readable(path), orient="records")
    else:
        raise SchemaError("estimates must be .parquet, .csv or .json", source=str(path))
    missing = [c for c in ESTIMATE_COLUMNS if c not in frame.columns]
    if missing:
        raise SchemaError(f"estimates table lacks column(s) {missing}", source=str(path))
    return frame


def sample_section(ctx: Builder, path: Path) -> Section:
    """Design and manifest summary of a sample, its allocation, and its composition against
    its population per stratification variable."""
    out = Section()
    manifest = read_manifest(path)
    frame = pq.read_table(path).to_pandas()
    d = manifest.design
    name = path.stem
    out.page.heading(f"How the sample was drawn ({name})")
    spec = d.get("strata_spec") or {}
    out.page.keyvalues({
          "design": d.get("name"), "method": d.get("method", ""),
          "size measure": d.get("size") or "", "mixture α": d.get("mixture") or "",
          "n (requested)": d.get("n"), "n (drawn)": len(frame), "seed": manifest.seed,
          "strata": ", ".join(spec.get("columns") or []) or "none",
          "allocation": d.get("allocation"), "PRN": f"{manifest.prn.get('name')} "
                                                     f"v{manifest.prn.get('version')}",
          "population rows": manifest.population.get("rows"),
          "population fingerprint": manifest.population.get("fingerprint"),
          "content hash": manifest.content_hash,
          "package version": manifest.package_version,
      })
    alloc = pd.DataFrame(manifest.allocation)
    alloc = alloc[["stratum", *[c for c in alloc.columns if c != "stratum"]]]
    out.page.paragraph("Allocation (N_h population units, n_h sampled):", "note")
    out.page.table(alloc)
    numbers = {"n": len(frame), "content_hash": manifest.content_hash,
               "strata": len(alloc), "design": d.get("name"),
               "population_rows": manifest.population.get("rows"),
               "unsampled_strata": unsampled_strata(manifest)["stratum"].tolist()}
    variables = stratification_variables(manifest)
    pop_path = ctx.population_of(path)
    if variables and pop_path:
        table = composition(frame, population_counts(pop_path, variables))
        for var in variables:
            out.add_figure(composition_figure(table, var, name), f"{name}_{var}",
                           f"Composition of {name} by {var}: population share, "
                           f"unweighted and design-weighted sample share")
        gap = max_weighted_gap(table)
        numbers["max_weighted_share_gap"] = gap
        out.page.paragraph(f"Largest gap between a design-weighted sample share and "
                           f"the population share: {gap:.4f}.", "note")
        out.add_table(table, f"composition_{name}")
    out.numbers["samples"][name] = numbers
    return out


def estimates_section(ctx: Builder, path: Path) -> Section:
    """A tidy estimates table: one interval figure per (metric, y); every row in the JSON as
    ``estimates.<file>.<metric>.<y>.<domain>``."""
    out = Section()
    frame = read_estimates(path)
    out.page.heading(f"Overall and per group, with confidence intervals ({path.name})", 3)
    assumptions = sorted({a for a in frame.get("assumption", pd.Series(dtype=str)).dropna()
                          if str(a)})
    for text in assumptions:
        out.caveats.append(f"nonresponse ({path.stem}): {text}")
        out.page.paragraph(f"Nonresponse: {text}. Worst-case bounds (worst_low, worst_high: "
                           f"every missing label negative, then positive) show how much this "
                           f"assumption carries.", "note")
    frame["y"] = frame["y"].fillna("").astype(str)  # a rate of no y reads back as NaN
    for (metric, y), group in frame.groupby(["metric", "y"], sort=False):
        g = group.copy()
        g["label"] = g["domain"].astype(str)
        ref = 1.0 if "ratio" in str(metric) else (0.0 if "difference" in str(metric)
                                                  else None)
        what = METRIC_NAMES.get(str(metric), str(metric))
        title = f"{what} of {y}" if y else what
        out.add_figure(interval_figure(g, title, what, ref), f"{path.stem}_{metric}_{y}",
                       f"{title} per group with confidence intervals")
    out.page.table(frame.drop(columns=["assumption"], errors="ignore"))  # stated above, once
    values = [c for c in ("estimate", "se", "ci_low", "ci_high", "n", "ci_method", "worst_low",
                          "worst_high") if c in frame]
    out.numbers["estimates"][path.stem] = nested(frame, ["metric", "y", "domain"], values)
    return out


def curated_section(ctx: Builder, path: Path) -> Section:
    """Adjudication status and units still unlabeled of a curated table (its prevalence per
    group is :func:`prevalence_section`'s)."""
    out = Section()
    frame, manifest, _ = load_sample(path)
    missing = [c for c in ("unit_id", "stratum", "adjudication") if c not in frame]
    if missing:
        raise SchemaError(f"not a curated table (no column(s) {missing})", source=str(path))
    name = path.stem
    out.page.heading(f"How far is the review? ({name})")
    counts = frame["adjudication"].value_counts()
    out.add_figure(status_figure(counts, f"Adjudication status of {len(frame)} units"),
                   f"{name}_status", "Units by adjudication status")
    missing = frame["adjudication"].isin(NONRESPONSE).to_numpy()
    agreement = float(frame["agreement"].mean()) if "agreement" in frame else float("nan")
    agreed = (f"mean agreement of the votes with the final label {agreement:.3f}"
              if math.isfinite(agreement) else "no unit has a counted vote yet")
    out.page.paragraph(f"{int(missing.sum())} of {len(frame)} units have no final label "
                       f"yet (unresolved or unlabeled); {agreed}.", "note")
    out.numbers["annotation"][name] = {
        "units": len(frame), "without_label": int(missing.sum()),
        "share_without_label": float(missing.mean()) if len(frame) else 0.0,
        "status": {k: int(v) for k, v in counts.items()}, "mean_agreement": agreement,
        **_unlabeled(out, frame, missing, name)}
    return out


def prevalence_section(ctx: Builder, path: Path) -> Section:
    """Prevalence of every label field of a curated table per group and stratification
    variable (part of the report's one prevalence section)."""
    out = Section()
    frame, manifest, _ = load_sample(path)
    _overall(ctx, out, frame, manifest, path)
    _prevalence(ctx, out, frame, manifest, path)
    return out


def _overall(ctx: Builder, out: Section, frame: pd.DataFrame, manifest, path: Path) -> None:
    """Each label field's prevalence over all units of a curated table (the headlines of the
    labels no estimates table gives)."""
    fields = label_fields(frame)
    if not fields or not respondents(frame).any():
        return
    out.page.heading(f"Each label overall ({path.stem})", 3)
    try:
        table = estimate_table(frame, fields, level=ctx.inputs.level, manifest=manifest,
                               accept_unsampled=True, source=str(path))
    except DesignError as exc:
        out.page.paragraph(f"Not estimable yet: {exc}", "note")
        return
    table = table[(table["metric"] == "proportion") & (table["domain"] == "all")]
    out.page.table(table[["y", "estimate", "ci_low", "ci_high", "n", "ci_method"]])
    out.numbers["estimates"][path.stem] = nested(
        table, ["metric", "y", "domain"], ["estimate", "se", "ci_low", "ci_high", "n",
                                           "ci_method"])


def _unlabeled(out: Section, frame: pd.DataFrame, missing, name: str) -> dict:
    """Units still without a final label, per stratum, and their ids when few."""
    table = nonresponse_report(pa.Table.from_pandas(frame[["stratum", "adjudication"]],
                                                    preserve_index=False))
    out.page.heading("Units still unlabeled", 3)
    out.add_figure(stacked_figure(table, "stratum", ["final", "unresolved", "unlabeled"],
                                  f"{name}: units per stratum by final label"),
                   f"{name}_unlabeled", "Units per stratum: with a final label, "
                                        "unresolved (skipped, unsure or tied) and unlabeled")
    out.page.table(table.sort_values("missing_share", ascending=False, kind="stable"))
    out.add_table(table, f"unlabeled_{name}")
    ids = frame.loc[missing, "unit_id"].astype(str).tolist()
    found = {c: int(table[c].sum()) for c in NONRESPONSE}
    found["by_stratum"] = nested(table, ["stratum"], ["units", "final", "unresolved",
                                                      "unlabeled", "missing_share"])
    if 0 < len(ids) <= LIST_UNITS:
        out.page.paragraph("Without a final label: " + ", ".join(ids), "note")
        found["unit_ids_without_label"] = ids
    return found


def _prevalence(ctx: Builder, out: Section, frame: pd.DataFrame, manifest, path: Path
                ) -> None:
    """Prevalence of every label field per group column and stratification variable; group
    columns the table lacks are joined from the catalogue on ``item_id``."""
    name = path.stem
    wanted = [*ctx.groups, *(stratification_variables(manifest) if manifest else [])]
    cols = list(dict.fromkeys(wanted))
    joinable = [c for c in cols if c not in frame and c in ctx.catalogue_cols]
    if joinable and "item_id" in frame:
        frame = join_groups(frame, ctx.catalogue_groups()[["item_id", *joinable]],
                            joinable, str(path))
    cols = [c for c in cols if c in frame]
    if not cols or "sensitive" not in frame:
        return
    out.page.heading(f"Where is it more prevalent? Each label per group ({name})", 3)
    try:
        table = prevalence_table(frame, cols, manifest, ctx.inputs.level, str(path))
    except DesignError as exc:
        out.page.paragraph(f"Not estimable yet: {exc}", "note")
        out.numbers["prevalence"][name] = {"error": str(exc)}
        return
    out.page.paragraph(f"Design-based prevalence per group (nonresponse: "
                       f"{nonresponse_assumption('strata')}); 'difference' is the group's "
                       f"prevalence minus that of all other units, with its confidence "
                       f"interval.", "note")
    for col in cols:
        out.add_figure(prevalence_figure(table[table["group_column"] == col],
                                         f"{name}: prevalence by {col}"),
                       f"{name}_prevalence_{col}",
                       f"Prevalence of each label per {col} with confidence intervals")
    out.page.table(table[table["field"] == "sensitive"])
    out.add_table(table, f"prevalence_{name}")
    out.numbers["prevalence"][name] = nested(
        table, ["group_column", "group", "field"],
        ["estimate", "ci_low", "ci_high", "n", "difference", "difference_ci_low",
         "difference_ci_high"])


def representation_section(ctx: Builder, path: Path) -> Section:
    """Catalogue share, exposure share and their ratio per group, from an impression sample
    (or a curated impression table: every sampled impression counts, labeled or not)."""
    out = Section()
    cols = [g for g in ctx.groups if g in ctx.catalogue_cols]
    name = path.stem
    out.page.heading(f"Are groups represented in recommendations as in the catalogue? "
                     f"({name})")
    if not cols:
        out.page.paragraph(f"No group column of the catalogue to compare (groups: "
                           f"{ctx.groups or 'none'}); pass --group.", "note")
        return out
    catalogue = ctx.catalogue_groups()
    frame, manifest, _ = load_sample(path)
    missing = [c for c in ("item_id", "position") if c not in frame]
    if missing:
        raise SchemaError(f"not an impression sample (no column(s) {missing})",
                          source=str(path))
    units = join_groups(frame, catalogue, cols, str(path))
    design = recognise(units, manifest, source=str(path))
    table = representation_table(catalogue, units, design, cols, ctx.inputs.level)
    out.page.paragraph(
          f"Catalogue share: exact, from {ctx.catalogue}. Exposure share: impressions "
          f"weighted by 1/log2(position+1) and the design weight, estimated from "
          f"{len(units)} sampled impressions (groups joined from the catalogue on item_id). "
          f"Ratio > 1: the group gets more exposure than its share of the catalogue.", "note")
    for col in cols:
        out.add_figure(representation_figure(table[table["group_column"] == col],
                                             f"{name}: {col}, catalogue vs recommendations"),
                       f"representation_{name}_{col}",
                       f"Share of the catalogue and of exposure-weighted recommendations "
                       f"per {col}, and their ratio with a confidence interval")
    out.page.table(table.drop(columns=["exposure_se", "ratio_se"]))
    out.add_table(table, f"representation_{name}")
    out.numbers["representation"][name] = nested(
        table, ["group_column", "group"],
        ["catalogue_share", "exposure_share", "exposure_ci_low", "exposure_ci_high",
         "ratio", "ratio_ci_low", "ratio_ci_high", "items", "impressions"])
    return out


def labels_section(ctx: Builder, path: Path) -> Section:
    """Annotation progress per annotator and agreement per label field of a labels table."""
    out = Section()
    labels = read_labels(path)
    name = path.stem
    per = progress(labels)
    per.insert(0, "who", per["annotator"] + per["stage"].map(
        lambda s: "" if s == "review" else f" ({s})"))
    total = totals(labels, per)
    agree = agreement_summary(labels)
    out.page.heading(f"Who reviewed, and how well do they agree? ({name})")
    out.page.paragraph(
          f"{total['annotations']} annotations ({total['versions']} versions) by "
          f"{total['annotators']} annotators on {total['units']} units; "
          f"{total['units_with_overlap']} units counted twice or more; {total['skipped']} "
          f"skipped, {total['unsure']} unsure, {total['no_decision']} without a decision "
          f"(no vote).", "note")
    if len(per):
        out.add_figure(stacked_figure(per, "who", ["counted", "unsure", "skipped",
                                                   "no_decision"],
                                      f"{name}: annotations per annotator", "annotations"),
                       f"{name}_annotators", "Latest annotations per annotator: counted "
                                             "votes, unsure, skipped and without a "
                                             "decision")
        out.page.table(per.drop(columns="who"))
    if len(agree):
        out.add_figure(agreement_figure(agree, f"{name}: agreement per label field"),
                       f"{name}_agreement", "Krippendorff's alpha and pairwise Cohen's "
                                            "kappa (mean, min–max) per label field")
        out.page.table(agree)
    seen = exposure(labels)
    if len(seen):
        out.page.heading(f"What the reviewers were exposed to ({name})", 3)
        out.page.paragraph(
              "Per pseudonymized annotator: tasks answered (skips included), days worked, items "
              "they judged sensitive, of high severity and per category, and the most sensitive "
              "items judged on one day. Set `curate push --budget` (high-risk tasks per annotator "
              "per day) and `--rotate-by` from these.", "note")
        out.page.table(seen)
    out.add_table(per.drop(columns="who"), f"annotators_{name}")
    out.add_table(seen, f"exposure_{name}")
    out.add_table(agree, f"agreement_{name}")
    out.numbers["labels"][name] = {**total, "by_annotator": nested(
        per, ["who"], ["annotations", "units", "counted", "unsure", "skipped"])}
    out.numbers["exposure"][name] = nested(
        seen, ["annotator"], ["tasks", "days", "sensitive", "high_severity", "busiest_day"])
    out.numbers["agreement"][name] = nested(
        agree, ["field"], ["alpha", "units", "pairs", "kappa_mean", "kappa_min", "kappa_max"])
    return out
