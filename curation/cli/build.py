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
@click.option("--votes", default=1, show_default=True, type=click.IntRange(min=1),
              help="Votes planned for every unit at least (beside the planned_votes `curate "
                   "pull` records); a unit with fewer counted votes is 'incomplete'.")
def build_cmd(sample: str, labels: str, output: str, votes: int) -> None:
    """Join SAMPLE with its pulled LABELS through adjudication: one row per sampled unit."""
    if Path(output).resolve() in (Path(sample).resolve(), Path(labels).resolve()):
        raise click.UsageError("OUTPUT would overwrite an input")
    curated = build_curated(sample, labels, votes=votes)
    curated.write(output)
    report = curated.nonresponse
    click.echo(report.to_string(index=False))
    missing = int(report["unresolved"].sum() + report["unlabeled"].sum())
    click.echo(f"without a final label: {missing} of {len(curated)} units "
               f"({missing / max(len(curated), 1):.1%}; unresolved "
               f"{int(report['unresolved'].sum())}, unlabeled {int(report['unlabeled'].sum())})"
               f", kept with that status")
    v = curated.votes
    click.echo(f"votes: {v.get('counted', 0)} counted of {v.get('annotations', 0)} annotations; "
               f"{v.get('no_decision', 0)} without a decision (no vote, never a negative); "
               f"{v.get('incomplete', 0)} unit(s) incomplete (fewer votes than planned, "
               f"labeled by the votes they have)")
    click.echo(f"wrote {output} ({len(curated)} units, content hash "
               f"{curated.manifest.content_hash[:12]})")


COMMANDS = [build_cmd]
