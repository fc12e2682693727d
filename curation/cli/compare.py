"""``curate compare``: the change between two audit waves, with honest intervals."""

from __future__ import annotations

import click
import pyarrow as pa

from curation.estimation.change import COORDINATIONS, change_table
from curation.estimation.inputs import load_sample
from curation.estimation.intervals import check_level
from schemas.io import TABLE_SUFFIXES, check_output, write_table

from .checks import LEVEL


@click.command("compare")
@click.argument("wave_a", type=click.Path())
@click.argument("wave_b", type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Change table (.csv, .parquet or .json).")
@click.option("--y", "ys", multiple=True, required=True, help="0/1 label column(s).")
@click.option("--domain", help="Domain column: the change per value, besides 'all'.")
@LEVEL
@click.option("--coordination", type=click.Choice(COORDINATIONS),
              show_default="from the manifests: --coordinate-with, or the same PRN key",
              help="How the waves' PRNs relate.")
def compare_cmd(wave_a: str, wave_b: str, output: str, ys: tuple[str, ...], domain: str | None,
                level: float, coordination: str | None) -> None:
    """Estimate each label in WAVE_A and WAVE_B (curated datasets) and the change B − A, its
    variance including the covariance of the units both waves share."""
    check_output(output, [wave_a, wave_b], suffixes=TABLE_SUFFIXES)
    df_a, man_a, _ = load_sample(wave_a)
    df_b, man_b, _ = load_sample(wave_b)
    table = change_table(df_a, man_a, df_b, man_b, list(ys), domain, check_level(level),
                         coordination, sources=(wave_a, wave_b))
    write_table(output, pa.Table.from_pandas(table, preserve_index=False))
    shown = table.drop(columns=["ci_method"]).copy()
    for col in ("estimate_a", "estimate_b", "difference", "ratio", "se_difference", "ci_low",
                "ci_high", "correlation"):
        shown[col] = shown[col].map(lambda v: "" if v != v else f"{v:.5g}")
    click.echo(shown.to_string(index=False))
    click.echo(f"wrote {output} (B − A; {table['coordination'].iloc[0] if len(table) else '-'} "
               f"coordination; intervals: {table['ci_method'].iloc[0] if len(table) else '-'})")


COMMANDS = [compare_cmd]
