"""Assemble the audit report of one version: HTML (figures embedded), PNG files and JSON numbers.

Inputs are the files the pipeline already writes: samples (with manifests) and their
populations, curated tables, tidy estimate tables (``metric, y, domain, estimate, se, ci_low,
ci_high, n, ...``). Every section is optional; the report shows what it is given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from schemas import SchemaError, read_manifest
from schemas.io import atomic_path, read_parquet, write_json, write_text
from schemas.labels import NONRESPONSE

from .composition import (
    composition,
    max_weighted_gap,
    population_counts,
    stratification_variables,
)
from .figures import composition_figure, interval_figure, status_figure
from .html import Page

ESTIMATE_COLUMNS = ("metric", "y", "domain", "estimate", "ci_low", "ci_high")


@dataclass(frozen=True)
class ReportInputs:
    """What to report on. ``populations`` maps a sample path to its population file (default:
    the source recorded in the sample's manifest)."""

    samples: tuple[Path, ...] = ()
    populations: dict[str, Path] = field(default_factory=dict)
    curated: tuple[Path, ...] = ()
    estimates: tuple[Path, ...] = ()
    title: str = "Audit report"
    extra_sections: tuple = ()


@dataclass(frozen=True)
class Report:
    """Paths written by :func:`build_report` and the numbers it reported."""

    html: Path
    figures: tuple[Path, ...]
    metrics: Path
    numbers: dict


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower() or "figure"


def read_estimates(path: Path) -> pd.DataFrame:
    """A tidy estimates table from CSV, Parquet or JSON."""
    suffix = path.suffix.lower()
    if not path.exists():
        raise SchemaError("no such file", source=str(path))
    if suffix == ".parquet":
        frame = read_parquet(path).to_pandas()
    elif suffix == ".csv":
        frame = pd.read_csv(path)
    elif suffix == ".json":
        frame = pd.read_json(path, orient="records")
    else:
        raise SchemaError("estimates must be .parquet, .csv or .json", source=str(path))
    missing = [c for c in ESTIMATE_COLUMNS if c not in frame.columns]
    if missing:
        raise SchemaError(f"estimates table lacks column(s) {missing}", source=str(path))
    return frame


class _Builder:
    def __init__(self, inputs: ReportInputs, outdir: Path):
        self.inputs = inputs
        self.outdir = outdir
        self.page = Page(inputs.title)
        self.figures: list[tuple[Path, bytes]] = []
        self.tables: list[tuple[Path, pd.DataFrame]] = []
        self.numbers: dict = {"samples": {}, "estimates": [], "annotation": {}}

    def write(self) -> Report:
        """Write every file (each atomically), the HTML page last."""
        for path, png in self.figures:
            with atomic_path(path) as tmp:
                tmp.write_bytes(png)
        for path, table in self.tables:
            with atomic_path(path) as tmp:
                table.to_csv(tmp, index=False)
        metrics = self.outdir / "metrics.json"
        write_json(metrics, self.numbers)
        html_path = self.outdir / "report.html"
        write_text(html_path, self.page.render())
        return Report(html_path, tuple(p for p, _ in self.figures), metrics, self.numbers)

    def add_figure(self, png: bytes, name: str, caption: str) -> None:
        self.figures.append((self.outdir / "figures" / f"{_slug(name)}.png", png))
        self.page.figure(png, caption)

    def sample_section(self, path: Path) -> None:
        manifest = read_manifest(path)
        frame = pq.read_table(path).to_pandas()
        d = manifest.design
        name = path.stem
        self.page.heading(f"Sample {name}")
        spec = d.get("strata_spec") or {}
        self.page.keyvalues({
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
        self.page.paragraph("Allocation (N_h population units, n_h sampled):", "note")
        self.page.table(alloc)
        numbers = {"n": len(frame), "content_hash": manifest.content_hash,
                   "strata": len(alloc)}
        variables = stratification_variables(manifest)
        pop_path = self.inputs.populations.get(str(path)) or \
            Path(manifest.population.get("source", ""))
        if variables and pop_path:
            table = composition(frame, population_counts(pop_path, variables))
            for var in variables:
                self.add_figure(composition_figure(table, var, name), f"{name}_{var}",
                                f"Composition of {name} by {var}: population share, "
                                f"unweighted and design-weighted sample share")
            gap = max_weighted_gap(table)
            numbers["max_weighted_share_gap"] = gap
            self.page.paragraph(f"Largest gap between a design-weighted sample share and "
                                f"the population share: {gap:.4f}.", "note")
            self.tables.append((self.outdir / f"composition_{_slug(name)}.csv", table))
        self.numbers["samples"][name] = numbers

    def estimates_section(self, path: Path) -> None:
        frame = read_estimates(path)
        self.page.heading(f"Estimates ({path.name})")
        for (metric, y), group in frame.groupby(["metric", "y"], sort=False):
            g = group.copy()
            g["label"] = g["domain"].astype(str)
            ref = 1.0 if "ratio" in str(metric) else (0.0 if "difference" in str(metric)
                                                      else None)
            self.add_figure(interval_figure(g, f"{metric} of {y}", str(metric), ref),
                            f"{path.stem}_{metric}_{y}",
                            f"{metric} of {y} per group with confidence intervals")
        self.page.table(frame)
        self.numbers["estimates"] += frame.to_dict(orient="records")

    def curated_section(self, path: Path) -> None:
        frame = read_parquet(path).to_pandas()
        if "adjudication" not in frame:
            raise SchemaError("not a curated table (no 'adjudication' column)", source=str(path))
        self.page.heading(f"Annotation progress ({path.stem})")
        counts = frame["adjudication"].value_counts()
        self.add_figure(status_figure(counts, f"Adjudication status of {len(frame)} units"),
                        f"{path.stem}_status", "Units by adjudication status")
        missing = frame["adjudication"].isin(NONRESPONSE)
        by_stratum = frame.groupby("stratum").agg(units=("unit_id", "size"),
                                                  without_label=("adjudication",
                                                                 lambda s: int(s.isin(
                                                                     NONRESPONSE).sum())))
        by_stratum["share_without_label"] = by_stratum["without_label"] / by_stratum["units"]
        agreement = float(frame["agreement"].mean()) if "agreement" in frame else float("nan")
        self.page.paragraph(f"{int(missing.sum())} of {len(frame)} units have no final label "
                            f"yet (unresolved or unlabeled); mean agreement with the final "
                            f"label {agreement:.3f}.", "note")
        self.page.table(by_stratum.reset_index().sort_values("share_without_label",
                                                             ascending=False))
        self.numbers["annotation"][path.stem] = {
            "units": len(frame), "without_label": int(missing.sum()),
            "status": {k: int(v) for k, v in counts.items()}, "mean_agreement": agreement}


def build_report(inputs: ReportInputs, outdir: str | Path) -> Report:
    """Write ``report.html``, ``figures/*.png``, ``metrics.json`` and composition CSVs.

    Every input is read and every figure drawn before the first file is written, so a bad
    input leaves no partial report.
    """
    b = _Builder(inputs, Path(outdir))
    for path in inputs.samples:
        b.sample_section(Path(path))
    for path in inputs.curated:
        b.curated_section(Path(path))
    for path in inputs.estimates:
        b.estimates_section(Path(path))
    for section in inputs.extra_sections:
        section(b)
    return b.write()
