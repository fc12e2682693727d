"""The audit report being assembled: what it reports on, its page, figures, tables and numbers.

Inputs are the files the pipeline already writes: samples (with manifests) and their
populations, curated tables, tidy estimate tables (``metric, y, domain, estimate, se, ci_low,
ci_high, n, ...``), labels tables, the catalogue and impression samples (for representation).
Every section is optional; the report shows what it is given. ``metrics.json`` holds the
numbers as nested objects (``dvc metrics show`` flattens them; NaN is written as null) and
every table of a figure is also a CSV in ``tables/`` (for ``dvc plots``). The sections
(:mod:`.sections`) add to a :class:`Builder`; :func:`curation.report.compose.build_report`
runs them in order.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from schemas import SchemaError, read_manifest
from schemas.io import atomic_path, write_json, write_text
from schemas.storage import as_path, exists, is_file, parquet_schema, readable, suffix

from .groups import catalogue_columns, read_groups
from .html import Page

DEFAULT_GROUPS = ("creator_group",)


@dataclass(frozen=True)
class ReportInputs:
    """What to report on.

    ``populations`` maps a sample path to its population file (default: the source recorded
    in the sample's manifest). ``catalogue`` is the population of representation (default: a
    sample's population that is a catalogue) and ``impressions`` the impression samples or
    curated impression tables (default: the samples with ``item_id`` and ``position``).
    ``groups`` are the group columns of representation and prevalence (default
    ``creator_group`` where present); prevalence is also given per stratification variable.
    ``previous`` are the previous wave's curated tables (paired with ``curated`` in order: the
    change since then, flagged at false-discovery rate ``fdr``), ``trend`` the series of
    ``curate trend`` and ``pred_cols`` maps a label field to the curated column holding a
    model's prediction of it (model vs people).
    """

    samples: tuple[Path, ...] = ()
    populations: dict[str, Path] = field(default_factory=dict)
    curated: tuple[Path, ...] = ()
    estimates: tuple[Path, ...] = ()
    title: str = "Audit report"
    catalogue: Path | None = None
    impressions: tuple[Path, ...] = ()
    groups: tuple[str, ...] = ()
    labels: tuple[Path, ...] = ()
    level: float = 0.95
    previous: tuple[Path, ...] = ()
    trend: Path | None = None
    pred_cols: dict[str, str] = field(default_factory=dict)
    fdr: float = 0.05


@dataclass(frozen=True)
class Report:
    """Paths written by :func:`build_report` and the numbers it reported."""

    html: Path
    figures: tuple[Path, ...]
    metrics: Path
    numbers: dict


def table_columns(path: Path) -> list[str]:
    """Column names of a Parquet or CSV table (its schema or header only)."""
    if suffix(path) == ".csv":
        return list(pd.read_csv(readable(path), nrows=0).columns)
    return parquet_schema(path).names


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower() or "figure"


def _clean(obj):
    """``obj`` with NaN and infinite floats as None (strict JSON), numpy scalars as Python."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, str):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


NUMBERS = ("samples", "estimates", "annotation", "prevalence", "representation", "labels",
           "agreement", "exposure", "change", "trend", "model", "summary")


@dataclass
class Section:
    """What one section adds to the report: page parts (figures inline), the figures as PNG
    files, tables as CSV files, its numbers under the keys of :data:`NUMBERS`, and the
    caveats the summary must repeat."""

    page: Page = field(default_factory=lambda: Page(""))
    figures: list[tuple[str, bytes]] = field(default_factory=list)
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    numbers: dict = field(default_factory=lambda: {k: {} for k in NUMBERS})
    caveats: list[str] = field(default_factory=list)

    def add_figure(self, png: bytes, name: str, caption: str) -> None:
        self.figures.append((name, png))
        self.page.figure(png, caption)

    def add_table(self, table: pd.DataFrame, name: str) -> None:
        self.tables.append((name, table))


class Builder:
    """The report being assembled: what it reports on (its inputs, resolved once: catalogue,
    impressions, groups), and the page, figures, tables and numbers of the sections added."""

    def __init__(self, inputs: ReportInputs, outdir: Path):
        self.inputs = inputs
        self.outdir = outdir
        self.page = Page(inputs.title)
        self.figures: list[tuple[Path, bytes]] = []
        self.tables: list[tuple[Path, pd.DataFrame]] = []
        self.numbers: dict = {k: {} for k in NUMBERS}
        self.caveats: list[str] = []
        self.catalogue = inputs.catalogue or self._default_catalogue()
        self.impressions = inputs.impressions or (
            self._default_impressions() if self.catalogue else ())
        self.catalogue_cols = self._catalogue_columns()
        self.groups = self._groups()
        self._catalogue_groups: pd.DataFrame | None = None

    def write(self) -> Report:
        """Write every file (each atomically), the HTML page last."""
        for path, png in self.figures:
            with atomic_path(path) as tmp:
                tmp.write_bytes(png)
        for path, table in self.tables:
            with atomic_path(path) as tmp:
                table.to_csv(tmp, index=False)
        metrics = self.outdir / "metrics.json"
        self.numbers = _clean(self.numbers)
        write_json(metrics, self.numbers)
        html_path = self.outdir / "report.html"
        write_text(html_path, self.page.render())
        return Report(html_path, tuple(p for p, _ in self.figures), metrics, self.numbers)

    def add(self, section: Section, first: bool = False) -> None:
        """Append a section (or put it ``first``): its page parts, files, numbers, caveats."""
        if first:
            self.page.parts[:0] = section.page.parts
        else:
            self.page.parts += section.page.parts
        self.caveats += section.caveats
        self.figures += [(self.outdir / "figures" / f"{_slug(n)}.png", png)
                         for n, png in section.figures]
        self.tables += [(self.outdir / "tables" / f"{_slug(n)}.csv", t)
                        for n, t in section.tables]
        for key, values in section.numbers.items():
            self.numbers.setdefault(key, {}).update(values)

    # -- inputs ------------------------------------------------------------------------------

    def population_of(self, path: Path) -> Path | None:
        """The population of a sample: given with --population, else its manifest's source."""
        given = self.inputs.populations.get(str(path))
        if given:
            return as_path(given)
        source = read_manifest(path).population.get("source")
        return as_path(source) if source else None

    def _existing_samples(self) -> list[tuple[Path, list[str]]]:
        return [(as_path(p), parquet_schema(p).names) for p in self.inputs.samples
                if is_file(p)]

    def _default_catalogue(self) -> Path | None:
        """The population of a catalogue sample (one with ``item_type`` and no ``position``)."""
        for path, names in self._existing_samples():
            if "position" in names or "item_type" not in names:
                continue
            population = self.population_of(path)
            if population is not None and exists(population):
                return population
        return None

    def _default_impressions(self) -> tuple[Path, ...]:
        return tuple(p for p, names in self._existing_samples()
                     if {"item_id", "position"} <= set(names))

    def _catalogue_columns(self) -> list[str]:
        if self.catalogue is None:
            if self.inputs.impressions:
                raise SchemaError("representation needs the catalogue the impressions were "
                                  "served from: pass --catalogue",
                                  source=str(self.inputs.impressions[0]))
            return []
        if not exists(self.catalogue):
            raise SchemaError("catalogue file not found", source=str(self.catalogue))
        return catalogue_columns(self.catalogue)

    def _groups(self) -> list[str]:
        """Group columns: the given ones (each must exist in the catalogue or a curated
        table), else the defaults that exist."""
        curated_cols = {c for p in self.inputs.curated if is_file(p)
                        for c in table_columns(as_path(p))}
        known = set(self.catalogue_cols) | curated_cols
        if not self.inputs.groups:
            return [g for g in DEFAULT_GROUPS if g in known]
        absent = [g for g in self.inputs.groups if g not in known]
        if absent:
            where = ", ".join(str(p) for p in (self.catalogue, *self.inputs.curated) if p)
            raise SchemaError(f"group column(s) {absent} in neither the catalogue nor a curated "
                              f"table ({where or 'none given'})", source="--group")
        return list(dict.fromkeys(self.inputs.groups))

    def catalogue_groups(self) -> pd.DataFrame:
        """``item_id`` and the group columns the catalogue has (read once)."""
        if self._catalogue_groups is None:
            cols = [g for g in self.groups if g in self.catalogue_cols]
            self._catalogue_groups = read_groups(self.catalogue, cols)
        return self._catalogue_groups
