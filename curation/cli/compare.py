"""``curate compare``: the change between two audit waves, with honest intervals."""

from __future__ import annotations

from pathlib import Path

import click
import pyarrow as pa

from curation.estimation.alerts import flag_changes
from curation.estimation.change import COORDINATIONS, change_table
from curation.estimation.effects import did_table
from curation.estimation.inputs import load_sample
from curation.estimation.intervals import check_level
from curation.versions.revisions import read_waves
from schemas.io import TABLE_SUFFIXES, check_output, write_table

from .checks import LEVEL, OPEN_UNIT


@click.command("compare")
@click.argument("wave_a", required=False, type=click.Path())
@click.argument("wave_b", required=False, type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Change table (.csv, .parquet or .json).")
@click.option("--y", "ys", multiple=True, required=True, help="0/1 label column(s).")
@click.option("--domain", help="Domain column: the change per value, besides 'all'.")
@LEVEL
@click.option("--coordination", type=click.Choice(COORDINATIONS),
              show_default="from the manifests",
              help="How the waves' PRNs relate: positive (the same PRN key, as --overlap "
                   "max), negative (--overlap min), independent (other keys) or rotation "
                   "(--rotate-from: B's PRNs are A's shifted).")
@click.option("--rev", "revs", multiple=True, metavar="REV",
              help="Twice, instead of WAVE_A WAVE_B: git revisions (tags, commits) whose "
                   "--dataset is read through DVC, without checkout.")
@click.option("--dataset", help="With --rev: the dataset's path in the repository.")
@click.option("--repo", default=".", show_default=True, type=click.Path(file_okay=False),
              help="With --rev: the git + DVC repository.")
@click.option("--did", "treated", metavar="VALUE",
              help="Intervention effect: the difference-in-differences of --domain=VALUE "
                   "(treated) against --domain=--control, with its interval.")
@click.option("--control", metavar="VALUE", help="With --did: the control domain's value.")
@click.option("--did-interval", type=click.Choice(["mover", "normal"]), default="mover",
              help="With --did: MOVER from the two changes' intervals, or normal.")
@click.option("--fdr", type=OPEN_UNIT,
              help="Add p_value and flagged (Benjamini–Hochberg at this false-discovery rate "
                   "over every row).")
def compare_cmd(wave_a: str | None, wave_b: str | None, output: str, ys: tuple[str, ...],
                domain: str | None, level: float, coordination: str | None,
                revs: tuple[str, ...], dataset: str | None, repo: str, treated: str | None,
                control: str | None, did_interval: str, fdr: float | None) -> None:
    """Estimate each label in WAVE_A and WAVE_B (curated datasets, or --rev A --rev B of
    --dataset) and the change B − A, its variance including the covariance of the units both
    waves share; or, with --did, the intervention effect."""
    if revs or dataset:
        if len(revs) != 2 or not dataset or wave_a or wave_b:
            raise click.UsageError("give WAVE_A WAVE_B, or --rev A --rev B with --dataset PATH")
    elif not (wave_a and wave_b):
        raise click.UsageError("give WAVE_A WAVE_B, or --rev A --rev B with --dataset PATH")
    if (treated is None) != (control is None) or (treated is not None and not domain):
        raise click.UsageError("--did VALUE goes with --control VALUE and --domain COL")
    inputs = [wave_a, wave_b] if wave_a else [str(Path(repo) / str(dataset))]
    check_output(output, inputs, suffixes=TABLE_SUFFIXES)
    if revs:
        ((df_a, man_a, src_a), (df_b, man_b, src_b)), note = read_waves(repo, revs, dataset)
        if note:
            click.echo(f"note: {note}", err=True)
    else:
        (df_a, man_a, _), (df_b, man_b, _) = load_sample(wave_a), load_sample(wave_b)
        src_a, src_b = wave_a, wave_b
    if treated is not None:
        effects = did_table(df_a, man_a, df_b, man_b, list(ys), domain, treated, control,
                            check_level(level), coordination, (src_a, src_b), did_interval)
        write_table(output, pa.Table.from_pandas(effects, preserve_index=False))
        click.echo(effects.drop(columns=["ci_method"]).to_string(index=False))
        click.echo(f"wrote {output} (DiD = change in {domain}={treated} − change in "
                   f"{domain}={control}; intervals: {effects['ci_method'].iloc[0]})")
        return
    table = change_table(df_a, man_a, df_b, man_b, list(ys), domain, check_level(level),
                         coordination, sources=(src_a, src_b))
    if fdr is not None:
        table = flag_changes(table, fdr, check_level(level))
    write_table(output, pa.Table.from_pandas(table, preserve_index=False))
    shown = table.drop(columns=["ci_method"]).copy()
    for col in ("estimate_a", "estimate_b", "difference", "ratio", "se_difference", "ci_low",
                "ci_high", "correlation"):
        shown[col] = shown[col].map(lambda v: "" if v != v else f"{v:.5g}")
    click.echo(shown.to_string(index=False))
    click.echo(f"wrote {output} (B − A; {table['coordination'].iloc[0] if len(table) else '-'} "
               f"coordination; intervals: {table['ci_method'].iloc[0] if len(table) else '-'})")


COMMANDS = [compare_cmd]
