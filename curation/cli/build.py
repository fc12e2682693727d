"""``curate build``: the curated dataset of a sample and its pulled labels."""

from __future__ import annotations

import click

from curation.curated import build_curated
from schemas.io import check_output


@click.command("build")
@click.argument("sample", type=click.Path())
@click.argument("labels", type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Curated Parquet file (its manifest goes beside it).")
@click.option("--votes", default=1, show_default=True, type=click.IntRange(min=1),
              help="Votes planned for every unit at least (beside the planned_votes `curate "
                   "pull` records); a unit with fewer counted votes is 'incomplete'.")
@click.option("--gold", "gold_path", type=click.Path(dir_okay=False),
              help="Truth of the gold units `curate push --gold` mixed in: their labels are "
                   "set aside (they measure the annotators, for `curate estimate`).")
def build_cmd(sample: str, labels: str, output: str, votes: int, gold_path: str | None) -> None:
    """Join SAMPLE with its pulled LABELS through adjudication: one row per sampled unit."""
    check_output(output, [sample, labels, gold_path], suffixes=(".parquet",), sidecar=True)
    curated = build_curated(sample, labels, votes=votes, gold_path=gold_path)
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
    if v.get("gold_units"):
        click.echo(f"gold: {v['gold_annotations']} annotation(s) of {v['gold_units']} gold "
                   f"unit(s) set aside (for `curate estimate --gold-labels`)")
    click.echo(f"wrote {output} ({len(curated)} units, content hash "
               f"{curated.manifest.content_hash[:12]})")


COMMANDS = [build_cmd]
