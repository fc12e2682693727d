"""``curate build``: the curated dataset of a sample and its pulled labels."""

from __future__ import annotations

from pathlib import Path

import click

from curation.build import build_curated


@click.command("build")
@click.argument("sample", type=click.Path())
@click.argument("labels", type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Curated Parquet file (its manifest goes beside it).")
def build_cmd(sample: str, labels: str, output: str) -> None:
    """Join SAMPLE with its pulled LABELS through adjudication: one row per sampled unit."""
    if Path(output).resolve() in (Path(sample).resolve(), Path(labels).resolve()):
        raise click.UsageError("OUTPUT would overwrite an input")
    curated = build_curated(sample, labels)
    curated.write(output)
    report = curated.nonresponse
    click.echo(report.to_string(index=False))
    missing = int(report["unresolved"].sum() + report["unlabeled"].sum())
    click.echo(f"without a final label: {missing} of {len(curated)} units "
               f"({missing / max(len(curated), 1):.1%}; unresolved "
               f"{int(report['unresolved'].sum())}, unlabeled {int(report['unlabeled'].sum())})"
               f", kept with that status")
    click.echo(f"wrote {output} ({len(curated)} units, content hash "
               f"{curated.manifest.content_hash[:12]})")


COMMANDS = [build_cmd]
