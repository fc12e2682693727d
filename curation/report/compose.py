"""``build_report``: the sections of the report in their order (the answers first, the design
last), then the summary on top, then every file at once."""

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
from .summary import summary_section


def build_report(inputs: ReportInputs, outdir: str | Path) -> Report:
    """Write ``report.html``, ``figures/*.png``, ``metrics.json`` and ``tables/*.csv``.

    Every input is read and every figure drawn before the first file is written, so a bad
    input leaves no partial report.
    """
    b = Builder(inputs, Path(outdir))
    for section, paths in ((estimates_section, inputs.estimates),
                           (curated_section, inputs.curated),
                           (representation_section, b.impressions),
                           (labels_section, inputs.labels), (sample_section, inputs.samples)):
        for path in paths:
            b.add(section(b, Path(path)))
    b.add(summary_section(b, b.caveats), first=True)
    return b.write()
