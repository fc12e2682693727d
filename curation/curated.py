"""The curated dataset: a sample joined with its pulled labels through adjudication.

One row per sampled unit (DESIGN §3): the sample's columns, the final label fields
(``sensitive``, ``cat_*``, ``severity``), ``n_annotations``, ``agreement`` and
``adjudication``. Labels are checked against the label contract first
(:func:`schemas.validate.validate_labels`). An annotation without a decision is no vote
(counted and reported, never a negative). A unit with fewer counted votes than planned is
``incomplete``: a respondent with the label of the votes it has, never ``unanimous``. A unit
nobody labeled is kept with ``adjudication = 'unlabeled'``; a unit whose annotations do not
decide is kept as ``unresolved``. Both are annotation nonresponse: they are counted per
stratum and never dropped, so estimation can treat them explicitly. The curated manifest keeps
the sample's design (estimation needs it), the manifests of both inputs and its own content hash.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from annotation.adjudication import adjudicate, latest_versions
from samplers.base import package_version, package_versions
from schemas import (
    Manifest,
    SchemaError,
    content_hash,
    read_manifest,
    validate,
    write_with_manifest,
)
from schemas.io import read_parquet
from schemas.labels import NONRESPONSE, categories_of, counted, no_decision
from schemas.validate import validate_labels

ADDED = ("n_annotations", "agreement", "adjudication")


@dataclass(frozen=True)
class Curated:
    """A curated table, its manifest, the nonresponse report by stratum and the vote counts
    (:func:`vote_counts`)."""

    table: pa.Table
    manifest: Manifest
    nonresponse: pd.DataFrame
    votes: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return self.table.num_rows

    def write(self, path: str | Path) -> None:
        """Atomically write the Parquet file (manifest in its metadata) and its sidecar."""
        write_with_manifest(path, self.table, self.manifest)


def nonresponse_report(curated: pa.Table) -> pd.DataFrame:
    """Per stratum: units, units with a final label (of which ``incomplete``: fewer votes than
    planned), unresolved, unlabeled and missing share."""
    frame = pd.DataFrame({"stratum": curated.column("stratum").to_pylist(),
                          "adjudication": curated.column("adjudication").to_pylist()})
    table = pd.crosstab(frame["stratum"], frame["adjudication"])
    out = pd.DataFrame({"units": table.sum(axis=1)})
    for status in (*NONRESPONSE, "incomplete"):
        out[status] = table.get(status, 0)
    out["final"] = out["units"] - out["unresolved"] - out["unlabeled"]
    out["missing_share"] = ((out["unresolved"] + out["unlabeled"]) / out["units"]).round(6)
    counts = ["units", "final", "incomplete", "unresolved", "unlabeled"]
    out = out.reset_index()[["stratum", *counts, "missing_share"]]
    return out.astype({c: "int64" for c in counts})


def vote_counts(labels: pd.DataFrame, curated: pa.Table) -> dict:
    """Latest annotations, counted votes, annotations without a decision (no vote) and
    incomplete units."""
    latest = latest_versions(labels)
    status = curated.column("adjudication").to_pylist()
    return {"annotations": len(latest), "counted": int(counted(latest).sum()) if len(latest)
            else 0, "no_decision": int(no_decision(latest).sum()) if len(latest) else 0,
            "incomplete": status.count("incomplete")}


def curate_tables(sample: pa.Table, sample_manifest: Manifest, labels: pa.Table,
                  inputs: dict, sample_source: str = "sample",
                  labels_source: str = "labels", votes: int = 1,
                  gold_units: list[str] | tuple[str, ...] = ()) -> Curated:
    """The curated table of a sample table and a labels table (both already read).

    Parameters
    ----------
    sample, sample_manifest : the sample and its manifest (its design is carried over).
    labels : one row per annotation version (the ``labels`` contract plus the label fields of
        :mod:`schemas.labels`).
    inputs : provenance of both inputs, stored as ``Manifest.inputs``.
    sample_source, labels_source : file names for error messages.
    votes : the least number of votes planned for every unit (beside the ``planned_votes``
        the labels carry); a unit with fewer counted votes is ``incomplete``.
    gold_units : ids of known-answer units mixed into the review (``curate push --gold``):
        their labels are set aside (they measure the annotators, not the population) and
        recorded in the manifest, so a rebuild sets aside the same ones.
    """
    validate(sample, "sample", source=sample_source)
    if content_hash(sample) != sample_manifest.content_hash:
        raise SchemaError("the sample's content does not match its manifest's content hash "
                          "(it was modified after it was drawn); redraw it, or check it with "
                          "`curate reproduce`", source=sample_source)
    validate_labels(labels, source=labels_source)
    categories = categories_of(labels)
    frame = labels.to_pandas()
    sample_ids = sample.column("unit_id").to_pylist()
    gold = set(map(str, gold_units))
    clash = sorted(gold & set(map(str, sample_ids)))
    if clash:
        raise SchemaError(f"{len(clash)} gold unit id(s) are sampled units (e.g. {clash[:5]}): "
                          f"gold units must be apart from the sample", source=labels_source)
    is_gold = frame["unit_id"].astype(str).isin(gold).to_numpy()
    gold_seen = sorted(set(frame.loc[is_gold, "unit_id"].astype(str)))
    frame = frame.loc[~is_gold].reset_index(drop=True)
    stray = sorted(set(frame["unit_id"]) - set(sample_ids))
    if stray:
        raise SchemaError(f"{len(stray)} labeled unit_id(s) are not in the sample "
                          f"{sample_source} (e.g. {stray[:5]}): pull the labels of the project "
                          f"this sample was pushed to (gold units: pass their truth file with "
                          f"--gold)", source=labels_source)
    final = adjudicate(frame, categories, votes=votes) if len(frame) else None
    fields = ["sensitive", *[f"cat_{c}" for c in categories], "severity", *ADDED]
    clash = [c for c in fields if c in sample.column_names]
    if clash:
        raise SchemaError(f"the sample already has column(s) {clash} that the curated table "
                          f"adds; rename them before sampling", source=sample_source)
    joined = pd.DataFrame({"unit_id": sample_ids})
    if final is not None:
        joined = joined.merge(final, on="unit_id", how="left", validate="one_to_one")
    table = sample
    for name in fields:
        table = table.append_column(name, _column(joined, name, len(sample_ids)))
    table = validate(table, "curated", source=sample_source)
    manifest = Manifest(
        kind="curated", design=dict(sample_manifest.design), seed=sample_manifest.seed,
        prn=dict(sample_manifest.prn), population=dict(sample_manifest.population),
        allocation=list(sample_manifest.allocation), content_hash=content_hash(table),
        package_version=package_version(), packages=package_versions(),
        inputs={**inputs, "categories": categories, **({"votes": votes} if votes != 1 else {}),
                **({"gold_units": gold_seen} if gold_seen else {})})
    counts = {**vote_counts(frame, table), "gold_annotations": int(is_gold.sum()),
              "gold_units": len(gold_seen)}
    return Curated(table, manifest, nonresponse_report(table), counts)


def _column(joined: pd.DataFrame, name: str, n: int) -> pa.Array:
    """One added column as Arrow, with explicit values for units without labels."""
    values = joined[name] if name in joined else pd.Series([None] * n, dtype=object)
    if name == "adjudication":
        return pa.array(values.fillna("unlabeled").astype(str).tolist(), pa.string())
    if name == "n_annotations":
        return pa.array(values.fillna(0).astype("int64").to_numpy(), pa.int64())
    if name == "agreement":
        x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        return pa.array(x, pa.float64(), mask=np.isnan(x))
    if name == "severity":
        return pa.array([None if pd.isna(v) else int(v) for v in values], pa.int64())
    return pa.array([None if pd.isna(v) else bool(v) for v in values], pa.bool_())


def describe_input(path: str | Path, table: pa.Table, manifest: Manifest | None) -> dict:
    """Provenance of one input file: path, content hash, rows, and its manifest if it has one."""
    return {"path": str(path), "content_hash": content_hash(_hashable(table)),
            "rows": table.num_rows,
            "manifest": manifest.to_dict(with_created=False) if manifest else None}


def _hashable(table: pa.Table) -> pa.Table:
    """``table`` with all-null (type ``null``) columns as strings, which the hash encodes."""
    for i, f in enumerate(table.schema):
        if pa.types.is_null(f.type):
            table = table.set_column(i, f.name, table.column(i).cast(pa.string()))
    return table


def _labels_and_manifest(path: str | Path) -> tuple[pa.Table, Manifest | None]:
    """A labels table and its manifest (None when the file has none)."""
    table = read_parquet(path)
    try:
        manifest = read_manifest(path)
    except SchemaError:
        manifest = None
    return table, manifest


def build_curated(sample_path: str | Path, labels_path: str | Path, votes: int = 1,
                  gold_path: str | Path | None = None) -> Curated:
    """Join the sample at ``sample_path`` with the labels at ``labels_path`` (see module doc);
    ``votes``, and the gold units of the truth file at ``gold_path``: see
    :func:`curate_tables`."""
    gold_units: list[str] = []
    if gold_path is not None:
        truth = read_parquet(gold_path)
        if "unit_id" not in truth.column_names:
            raise SchemaError("a gold truth file needs a unit_id column", source=str(gold_path))
        gold_units = [str(u) for u in truth.column("unit_id").to_pylist()]
    sample = read_parquet(sample_path)
    sample_manifest = read_manifest(sample_path)
    if sample_manifest.kind != "sample":
        raise SchemaError(f"expected a sample, found a {sample_manifest.kind!r} dataset",
                          source=str(sample_path))
    labels, labels_manifest = _labels_and_manifest(labels_path)
    inputs = {"sample": describe_input(sample_path, sample, sample_manifest),
              "labels": describe_input(labels_path, labels, labels_manifest)}
    return curate_tables(sample.replace_schema_metadata(None), sample_manifest,
                         labels.replace_schema_metadata(None), inputs,
                         sample_source=str(sample_path), labels_source=str(labels_path),
                         votes=votes, gold_units=gold_units)
