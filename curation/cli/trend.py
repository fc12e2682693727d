"""``curate trend``: a curated dataset's estimates over every tagged version, read from DVC."""

from __future__ import annotations

from pathlib import Path

import click

from .checks import LEVEL, OPEN_UNIT


def _beside(output: str, suffix: str) -> str:
    from schemas.storage import beside

    return beside(output, suffix)


@click.command("trend")
@click.option("--dataset", required=True,
              help="The curated dataset's path in the repository (e.g. data/curated.parquet).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Tidy series (.csv, .parquet or .json): version, commit, date, then the "
                   "columns of `curate estimate`.")
@click.option("--y", "ys", multiple=True, required=True, help="Label column(s) to estimate.")
@click.option("--domain", help="Domain column (COL or COL=VALUE) cutting across strata.")
@LEVEL
@click.option("--tags", "pattern", default="*", show_default=True, metavar="PATTERN",
              help="Only tags matching this glob (e.g. 'audit-v*').")
@click.option("--repo", default=".", show_default=True, type=click.Path(file_okay=False),
              help="The git + DVC repository.")
@click.option("--figure", type=click.Path(dir_okay=False), show_default="OUTPUT's stem + .png",
              help="PNG of estimate and interval over versions per y.")
@click.option("--plots", "plots_path", type=click.Path(dir_okay=False),
              show_default="OUTPUT's stem + .plot.csv",
              help="Wide CSV for `dvc plots` (x: wave; y: one column per y and domain).")
@click.option("--changes", "changes_path", type=click.Path(dir_okay=False),
              help="Also write the change from the previous wave to the latest, with p_value "
                   "and flagged (Benjamini–Hochberg at --fdr).")
@click.option("--fdr", type=OPEN_UNIT, default=0.05, show_default=True,
              help="False-discovery rate of the alerts on the latest change.")
def trend_cmd(dataset: str, output: str, ys: tuple[str, ...], domain: str | None,
              level: float, pattern: str, repo: str, figure: str | None,
              plots_path: str | None, changes_path: str | None, fdr: float) -> None:
    """Estimate each label at every tagged version holding DATASET (tags by commit date, read
    through DVC without checkout); the series, a figure, a `dvc plots` file, and the groups
    whose change since the previous wave is flagged at the false-discovery rate --fdr."""
    import pyarrow as pa

    from curation.versions.trend import plots_snippet, plots_table, trend_figure, trend_series
    from schemas import DesignError
    from schemas.io import TABLE_SUFFIXES, check_output, write_table

    figure = figure or _beside(output, ".png")
    plots_path = plots_path or _beside(output, ".plot.csv")
    inputs = [str(Path(repo) / dataset)]
    check_output(output, inputs, suffixes=TABLE_SUFFIXES)
    check_output(figure, inputs, suffixes=(".png",))
    check_output(plots_path, inputs, suffixes=(".csv",))
    if changes_path:
        check_output(changes_path, inputs, suffixes=TABLE_SUFFIXES)
    named = [output, figure, plots_path, changes_path]
    if len({str(Path(p).resolve()) for p in named if p}) < len([p for p in named if p]):
        raise click.UsageError("-o, --figure, --plots and --changes must be different files")
    trend = trend_series(repo, dataset, list(ys), domain, level, pattern, fdr)
    if changes_path and trend.change is None:
        raise DesignError(f"--changes: none of {list(ys)} is a 0/1 label in both of the "
                          f"last two waves, so there is no change of a proportion to write")
    wide = plots_table(trend.series)
    write_table(output, pa.Table.from_pandas(trend.series, preserve_index=False))
    trend_figure(trend.series, figure)
    write_table(plots_path, pa.Table.from_pandas(wide, preserve_index=False))
    if changes_path and trend.change is not None:
        write_table(changes_path, pa.Table.from_pandas(trend.change, preserve_index=False))
    click.echo(f"{len(trend.waves)} versions: {', '.join(w.version for w in trend.waves)}"
               + (f" (tags without {dataset}: {', '.join(trend.skipped)})" if trend.skipped
                  else ""))
    if trend.change is not None:
        flagged = trend.change[trend.change["flagged"]]
        a, b = trend.waves[-2].version, trend.waves[-1].version
        click.echo(f"change {a} → {b}: {len(flagged)} of {len(trend.change)} flagged at "
                   f"FDR {fdr:g}" + (":" if len(flagged) else ""))
        for _, r in flagged.iterrows():
            click.echo(f"  {r['y']} {r['domain']}: {r['difference']:+.4g} "
                       f"[{r['ci_low']:.4g}, {r['ci_high']:.4g}] p={r['p_value']:.2g}")
    click.echo(f"wrote {output} ({len(trend.series)} rows), {figure}, {plots_path}"
               + (f", {changes_path}" if changes_path and trend.change is not None else ""))
    click.echo("for `dvc plots show`, add to dvc.yaml:\n"
               + plots_snippet(plots_path, [c for c in wide.columns
                                            if c not in ("wave", "version")],
                               f"{', '.join(ys)} over versions").rstrip())


COMMANDS = [trend_cmd]
