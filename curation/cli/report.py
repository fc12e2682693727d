"""``curate report``: the audit report of one version as self-contained HTML."""

from __future__ import annotations

from pathlib import Path

import click

from curation.report import ReportInputs, build_report


@click.command("report")
@click.option("--sample", "samples", multiple=True, type=click.Path(),
              help="A sample Parquet file (repeatable).")
@click.option("--population", "populations", multiple=True, type=click.Path(),
              help="Population of the --sample at the same position (default: the source "
                   "recorded in its manifest).")
@click.option("--curated", multiple=True, type=click.Path(), help="A curated table.")
@click.option("--estimates", multiple=True, type=click.Path(),
              help="A tidy estimates table written by `curate estimate`.")
@click.option("--title", default="Audit report", show_default=True)
@click.option("-o", "--output", "outdir", required=True, type=click.Path(file_okay=False),
              help="Folder for report.html, figures/*.png and metrics.json.")
def report_cmd(samples, populations, curated, estimates, title, outdir) -> None:
    """Write an HTML report (plots embedded; PNG and JSON beside it)."""
    if len(populations) > len(samples):
        raise click.UsageError("more --population than --sample options")
    if not (samples or curated or estimates):
        raise click.UsageError("give at least one --sample, --curated or --estimates")
    inputs = ReportInputs(
        samples=tuple(Path(s) for s in samples),
        populations={str(Path(s)): Path(p) for s, p in zip(samples, populations, strict=False)},
        curated=tuple(Path(c) for c in curated), estimates=tuple(Path(e) for e in estimates),
        title=title)
    report = build_report(inputs, outdir)
    click.echo(f"wrote {report.html} ({len(report.figures)} figures, numbers in "
               f"{report.metrics})")


COMMANDS = [report_cmd]
