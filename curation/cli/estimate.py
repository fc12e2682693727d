"""``curate estimate`` and ``curate plan``: population estimates and sample-size plans."""

from __future__ import annotations

import click
import pyarrow as pa

from curation.estimation import estimate_table
from curation.estimation.inputs import load_sample, load_totals
from schemas.io import write_table


def _fmt(df) -> str:
    shown = df.copy()
    for col in ("estimate", "se", "ci_low", "ci_high", "n_eff", "deff"):
        shown[col] = shown[col].map(lambda v: "" if v != v else f"{v:.6g}")
    return shown.to_string(index=False)


@click.command("estimate")
@click.argument("data", type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Result table (.csv, .parquet or .json).")
@click.option("--y", "ys", multiple=True, required=True, help="Label column(s) to estimate.")
@click.option("--domain", help="Domain column (COL or COL=VALUE) cutting across strata.")
@click.option("--level", default="0.95", show_default=True, help="Confidence level in (0, 1).")
@click.option("--ci", type=click.Choice(["beta", "wilson", "normal"]), default="beta",
              show_default=True, help="Interval for proportions (beta = Korn–Graubard).")
@click.option("--design", "kind", type=click.Choice(["srswor", "poisson"]),
              help="Override the design (default: from the manifest, else inferred).")
@click.option("--manifest", "manifest_path", type=click.Path(),
              help="Manifest JSON (default: DATA's Parquet metadata or sidecar).")
@click.option("--calibrate", "totals_path", type=click.Path(),
              help="CSV of known counts (column, level, total) to rake the weights to.")
def estimate_cmd(data: str, output: str, ys: tuple[str, ...], domain: str | None, level: str,
                 ci: str, kind: str | None, manifest_path: str | None,
                 totals_path: str | None) -> None:
    """Estimate totals, means and proportions of labeled sample DATA with honest intervals."""
    df, manifest, origin = load_sample(data, manifest_path)
    totals = load_totals(totals_path) if totals_path else None
    table = estimate_table(df, list(ys), domain=domain, level=level, ci=ci, manifest=manifest,
                           kind=kind, totals=totals, source=data)
    write_table(output, pa.Table.from_pandas(table, preserve_index=False))
    a = table.attrs
    click.echo(f"design: {a['design']} ({a['basis']}; manifest: {origin}); "
               f"{a['respondents']} of {a['sampled']} units responded"
               + (f"; raked to {', '.join(a['calibrated'])}" if a["calibrated"] else ""))
    click.echo(_fmt(table))
    click.echo(f"wrote {output} ({len(table)} rows)")



@click.command("plan")
@click.option("--margin", type=float, required=True, help="CI half-width wanted (e.g. 0.002).")
@click.option("--p", "p", type=float, help="Anticipated prevalence (default: mean of --score).")
@click.option("--level", type=float, default=0.95, show_default=True)
@click.option("--population", type=click.Path(), help="Population Parquet (catalogue) file.")
@click.option("--score", help="Risk score column: prior for p and importance size.")
@click.option("--mixture", type=float, default=0.1, show_default=True,
              help="Defensive mixture α of the importance design.")
@click.option("--strata", help="Comma-separated stratification columns.")
@click.option("--bins", help="Numeric column cut into quantile bins (e.g. the score).")
@click.option("--n-bins", type=click.IntRange(min=2), default=5, show_default=True)
@click.option("--allocation", type=click.Choice(["proportional", "equal", "neyman", "power"]),
              default="proportional", show_default=True)
@click.option("--min-per-stratum", type=click.IntRange(min=0), default=0)
def plan_cmd(margin: float, p: float | None, level: float, population: str | None,
             score: str | None, mixture: float, strata: str | None, bins: str | None,
             n_bins: int, allocation: str, min_per_stratum: int) -> None:
    """How many labels for a CI half-width MARGIN on a prevalence near P, per design."""
    from curation.estimation.planner import plan_population
    from samplers.strata import Strata
    from schemas.io import read_parquet

    df = read_parquet(population).to_pandas() if population else None
    spec = Strata(columns=tuple(c.strip() for c in (strata or "").split(",") if c.strip()),
                  bins=bins, n_bins=n_bins)
    plans = plan_population(df, margin, p, level, score, mixture, spec, allocation,
                            min_per_stratum)
    click.echo(f"labels for ±{margin:g} at {level:g} on p = {plans[0].p:.4g}:")
    srs = plans[0].n
    for plan in plans:
        click.echo(f"  {plan.design:<28} n = {plan.n:>8}  expected deff = {plan.deff:6.3f}  "
                   f"SE = {plan.se:.4g}  ({srs / plan.n:.2f}x fewer than SRS)")
        if plan.allocation is not None:
            click.echo(plan.allocation.to_string(index=False))


COMMANDS = [estimate_cmd, plan_cmd]
