"""``curate plan``: how many labels for a wanted interval half-width, per design."""

from __future__ import annotations

import click


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


COMMANDS = [plan_cmd]
