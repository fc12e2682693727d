"""``build_report``: the sections of the report in their order, then every file at once."""

from __future__ import annotations

from pathlib import Path

from .assembly import Builder, Report, ReportInputs
from .sections import (
    curated_section,
    estimates_section,
    labels_section,
    representation_section,
    sample_section,
)


def build_report(inputs: ReportInputs, outdir: str | Path) -> Report:
    """Write ``report.html``, ``figures/*.png``, ``metrics.json`` and ``tables/*.csv``.

    Every input is read and every figure drawn before the first file is written, so a bad
    input leaves no partial report.
    """
    b = Builder(inputs, Path(outdir))
    for section, paths in ((sample_section, inputs.samples),
                           (representation_section, b.impressions),
                           (curated_section, inputs.curated), (labels_section, inputs.labels),
                           (estimates_section, inputs.estimates)):
        for path in paths:
            b.add(section(b, Path(path)))
    return b.write()
