"""``build_report``: the summary on top, then sections named for the questions they answer (the
answers first, the design last), then every file at once."""

from __future__ import annotations

from pathlib import Path

from schemas.storage import as_path  # a URI (s3://...) stays one

from .assembly import Builder, Report, ReportInputs, Section
from .model import model_section
from .sections import (
    curated_section,
    estimates_section,
    labels_section,
    prevalence_section,
    representation_section,
    sample_section,
)
from .summary import summary_section
from .waves import change_section, trend_section


def _heading(text: str) -> Section:
    out = Section()
    out.page.heading(text)
    return out


def _flagged(b: Builder) -> list[str]:
    return list(dict.fromkeys(d for waves in b.numbers.get("change", {}).values()
                              for domains in waves.values() for d, v in domains.items()
                              if v.get("flagged") and d != "all"))


def build_report(inputs: ReportInputs, outdir: str | Path) -> Report:
    """Write ``report.html``, ``figures/*.png``, ``metrics.json`` and ``tables/*.csv``.

    Every input is read and every figure drawn before the first file is written, so a bad
    input leaves no partial report.
    """
    b = Builder(inputs, Path(outdir))
    if inputs.estimates or inputs.curated:
        b.add(_heading("How prevalent is sensitive content, and where?"))
        for path in inputs.estimates:
            b.add(estimates_section(b, as_path(path)))
        for path in inputs.curated:
            b.add(prevalence_section(b, as_path(path)))
    if inputs.previous or inputs.trend:
        b.add(_heading("Has it changed since the previous wave?"))
        for previous, current in zip(inputs.previous, inputs.curated, strict=False):
            b.add(change_section(b, as_path(previous), as_path(current), inputs.fdr))
        if inputs.trend:
            b.add(trend_section(b, as_path(inputs.trend), _flagged(b)))
    if inputs.pred_cols:
        for path in inputs.curated:
            b.add(model_section(b, as_path(path), inputs.pred_cols))
    for section, paths in ((representation_section, b.impressions),
                           (curated_section, inputs.curated),
                           (labels_section, inputs.labels), (sample_section, inputs.samples)):
        for path in paths:
            b.add(section(b, as_path(path)))
    b.add(summary_section(b, b.caveats), first=True)
    return b.write()
