"""``curate report``: the audit report of one version as self-contained HTML."""

from __future__ import annotations

from pathlib import Path

import click

from curation.report import ReportInputs, build_report
from schemas.io import check_folder

from .checks import LEVEL, check_inputs_manifests


@click.command("report")
@click.option("--sample", "samples", multiple=True, type=click.Path(),
              help="A sample Parquet file (repeatable).")
@click.option("--population", "populations", multiple=True, type=click.Path(),
              show_default="the source recorded in its manifest",
              help="Population of the --sample at the same position.")
@click.option("--curated", multiple=True, type=click.Path(),
              help="A curated table (repeatable): progress, units still unlabeled, "
                   "prevalence per group.")
@click.option("--estimates", multiple=True, type=click.Path(),
              help="A tidy estimates table written by `curate estimate`.")
@click.option("--catalogue", type=click.Path(),
              show_default="the population of a catalogue --sample",
              help="Catalogue (population) for representation.")
@click.option("--impressions", multiple=True, type=click.Path(),
              show_default="the --sample files with item_id and position",
              help="Impression sample or curated impression table (repeatable).")
@click.option("--group", "groups", multiple=True,
              show_default="creator_group where present",
              help="Group column for representation and prevalence (repeatable).")
@click.option("--labels", multiple=True, type=click.Path(),
              help="A labels table written by `curate pull` (repeatable): progress and "
                   "agreement.")
@LEVEL
@click.option("--title", default="Audit report", show_default=True)
@click.option("-o", "--output", "outdir", required=True, type=click.Path(file_okay=False),
              help="Folder for report.html, figures/*.png, tables/*.csv and metrics.json.")
def report_cmd(samples, populations, curated, estimates, catalogue, impressions, groups, labels,
               level, title, outdir) -> None:
    """Write an HTML report (plots embedded; PNG, CSV and JSON beside it)."""
    if len(populations) > len(samples):
        raise click.UsageError("more --population than --sample options")
    if not (samples or curated or estimates or impressions or labels):
        raise click.UsageError("give at least one --sample, --curated, --estimates, "
                               "--impressions or --labels")
    check_folder(outdir)
    check_inputs_manifests([*samples, *curated, *impressions])
    inputs = ReportInputs(
        samples=tuple(Path(s) for s in samples),
        populations={str(Path(s)): Path(p) for s, p in zip(samples, populations, strict=False)},
        curated=tuple(Path(c) for c in curated), estimates=tuple(Path(e) for e in estimates),
        catalogue=Path(catalogue) if catalogue else None,
        impressions=tuple(Path(i) for i in impressions), groups=tuple(groups),
        labels=tuple(Path(lb) for lb in labels), level=level, title=title)
    report = build_report(inputs, outdir)
    click.echo(f"wrote {report.html} ({len(report.figures)} figures, numbers in "
               f"{report.metrics})")


COMMANDS = [report_cmd]
