"""``curate demo-data`` and ``curate validate``."""

from __future__ import annotations

import click

from curation.demo.synthetic import generate
from schemas import CONTRACTS, SchemaError, table_problems
from schemas.io import check_folder, read_parquet


@click.command("demo-data")
@click.argument("outdir", type=click.Path(file_okay=False))
@click.option("--items", default=20_000, show_default=True, type=click.IntRange(min=10),
              help="Catalogue rows.")
@click.option("--impressions", default=100_000, show_default=True,
              type=click.IntRange(min=10), help="Recommendation log rows.")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0))
def demo_data(outdir: str, items: int, impressions: int, seed: int) -> None:
    """Generate a synthetic catalogue, recommendation log and hidden truth in OUTDIR."""
    check_folder(outdir, "curate demo-data")
    out = generate(outdir, items=items, impressions=impressions, seed=seed)
    for path in (out.catalogue, out.recommendations, out.truth):
        click.echo(f"wrote {path}")


@click.command("validate")
@click.argument("kind", type=click.Choice(sorted(CONTRACTS)))
@click.argument("path", type=click.Path())
def validate_cmd(kind: str, path: str) -> None:
    """Check the Parquet file or directory PATH against the KIND data contract and, for a
    sample or curated dataset, against its manifest's content hash; list every problem.

    Directories are read by the rules `curate sample` reads them by."""
    table = read_parquet(path)
    problems = table_problems(table, kind)
    if kind in ("sample", "curated"):
        from curation.estimation.inputs import check_manifest, find_manifest

        manifest, origin = find_manifest(path)
        try:
            if manifest is not None:
                check_manifest(table, manifest, path, origin,
                               exact=manifest.kind == kind or manifest.kind != "sample")
        except SchemaError as exc:
            problems += exc.problems
    if problems:
        raise SchemaError(problems, source=path)
    click.echo(f"{path}: valid {kind} table, {table.num_rows} rows, "
               f"{table.num_columns} columns")


COMMANDS = [demo_data, validate_cmd]
