"""``curate plan``: how many labels for a wanted interval half-width, per design."""

from __future__ import annotations

import click

from curation.estimation.intervals import METHODS

from .checks import LEVEL, OPEN_UNIT


@click.command("plan")
@click.option("--margin", type=OPEN_UNIT, required=True,
              help="CI half-width wanted (e.g. 0.002).")
@click.option("--p", "p", type=OPEN_UNIT, help="Anticipated prevalence (or give --pilot).")
@click.option("--pilot", type=click.Path(), help="Labeled pilot sample (Parquet or CSV) to "
              "estimate the prevalence from, instead of --p.")
@click.option("--y", "y", default="sensitive", show_default=True,
              help="0/1 label column of the pilot.")
@LEVEL
@click.option("--ci", type=click.Choice(list(METHODS)), default="auto", show_default=True,
              help="Interval to plan for (auto: the one `curate estimate` uses for each "
                   "design).")
@click.option("--population", type=click.Path(), help="Population Parquet (catalogue) file.")
@click.option("--score", help="Risk score column: relative prior (rescaled to mean p) and "
              "importance size.")
@click.option("--mixture", type=click.FloatRange(0, 1), default=0.1, show_default=True,
              help="Defensive mixture α of the importance design.")
@click.option("--strata", help="Comma-separated stratification columns.")
@click.option("--bins", help="Numeric column cut into quantile bins (e.g. the score).")
@click.option("--n-bins", type=click.IntRange(min=2), default=5, show_default=True)
@click.option("--allocation", type=click.Choice(["proportional", "equal", "neyman", "power"]),
              default="proportional", show_default=True)
@click.option("--min-per-stratum", type=click.IntRange(min=0), default=0, show_default=True,
              help="Floor of units per stratum.")
@click.option("--domain", help="Population column whose smallest group must also meet "
              "--domain-margin.")
@click.option("--domain-margin", type=OPEN_UNIT, help="CI half-width wanted for that group.")
@click.option("--pred-col", help="Model prediction column (0/1 label or probability) of the "
              "pilot (and of --population): plan with the model (GREG, strata on the model, "
              "two-phase).")
@click.option("--cost-human", type=click.FloatRange(0, min_open=True), default=1.0,
              show_default=True, help="Cost of one human label (with --pred-col).")
@click.option("--cost-model", type=click.FloatRange(0), default=0.01, show_default=True,
              help="Cost of one model label (with --pred-col).")
def plan_cmd(margin: float, p: float | None, pilot: str | None, y: str, level: float,
             ci: str, population: str | None, score: str | None, mixture: float,
             strata: str | None, bins: str | None, n_bins: int, allocation: str,
             min_per_stratum: int, domain: str | None, domain_margin: float | None,
             pred_col: str | None, cost_human: float, cost_model: float) -> None:
    """How many labels for a CI half-width MARGIN on a prevalence near P, per design."""
    if pred_col is not None:
        given = [o for o, v in (("--p", p), ("--score", score), ("--strata", strata),
                                ("--bins", bins), ("--domain", domain)) if v is not None]
        if pilot is None:
            raise click.UsageError("--pred-col needs a labeled --pilot (its label and the "
                                   "model's prediction say how informative the model is)")
        if given:
            raise click.UsageError(f"{', '.join(given)} cannot go with --pred-col (it plans "
                                   f"from the pilot and the model's prediction)")
        return _model_plan(margin, pilot, y, pred_col, level, ci, population, n_bins, mixture,
                           cost_human, cost_model)
    from curation.estimation.planning import check_request, load_pilot, plan_population
    from samplers.strata import Strata
    from schemas.io import read_parquet
    from schemas.lists import split_list

    check_request(margin, p, pilot is not None, domain, domain_margin, population is not None)
    found = load_pilot(pilot, y, domain) if pilot else None
    df = read_parquet(population).to_pandas() if population else None
    if df is not None:
        _check_columns(df, population, split_list(strata), bins, score)
    spec = Strata(columns=split_list(strata),
                  bins=bins, n_bins=n_bins)
    plans = plan_population(df, margin, p, level, score, mixture, spec, allocation,
                            min_per_stratum, method=ci, pilot=found, domain=domain,
                            domain_margin=domain_margin, source=population or "population")
    if found is not None:
        click.echo(f"pilot {pilot}: p = {found.p:.4g} (SE {found.estimate.se:.2g}, deff "
                   f"{found.deff:.3f}) from n = {found.n} labeled of {found.sampled} sampled "
                   f"units ({found.kind} design)")
    click.echo(f"labels for ±{margin:g} at {level:g} on p = {plans[0].p:.4g}:")
    dom = plans[0].domain
    if dom is not None:
        click.echo(f"  and ±{dom.margin:g} on the smallest {domain} group, {dom.name} (N = "
                   f"{dom.N}, p = {dom.p:.4g} from {dom.source})")
    click.echo(f"  {'design':<26}{'n':>8}  {'expected deff':>13}  {'planned interval':<24}"
               f"{'method':<8}{'half-width':>11}  vs SRS")
    srs = plans[0].n
    for plan in plans:
        ci_text = f"[{plan.lo:.4g}, {plan.hi:.4g}]"
        click.echo(f"  {plan.design:<26}{plan.n:>8}  {plan.deff:>13.3f}  {ci_text:<24}"
                   f"{plan.method:<8}{plan.half_width:>11.4g}  {srs / plan.n:.2f}x fewer")
        dom = plan.domain
        if dom is not None:
            click.echo(f"    n = max(overall {plan.n_margin}, {dom.name} {dom.n_needed}); "
                       f"{dom.name} gets {dom.units:.0f} units: [{dom.lo:.4g}, {dom.hi:.4g}], "
                       f"half-width {dom.half_width:.4g}, deff {dom.deff:.3f}")
        if plan.allocation is not None:
            click.echo(plan.allocation.to_string(index=False))


def _check_columns(df, source: str, strata, bins, score) -> None:
    """The population columns the design needs: present, and numeric where they are cut or
    weighted (one SchemaError naming every missing or wrong column; the domain column is the
    planner's to check)."""
    import pandas as pd

    from schemas import SchemaError

    needed = {**{c: "--strata" for c in strata}, **({bins: "--bins"} if bins else {}),
              **({score: "--score"} if score else {})}
    problems = [f"no column {c!r} (for {opt})" for c, opt in needed.items() if c not in df]
    problems += [f"column {c!r} (for {opt}) is not numeric ({df[c].dtype})"
                 for c, opt in needed.items() if opt in ("--bins", "--score") and c in df
                 and not pd.api.types.is_numeric_dtype(df[c])]
    if problems:
        raise SchemaError(problems + [f"the population has {list(df.columns)[:12]}"],
                          source=source)


def _model_plan(margin: float, pilot: str, y: str, pred_col: str, level: float, ci: str,
                population: str | None, n_bins: int, mixture: float, cost_human: float,
                cost_model: float) -> None:
    """``curate plan --pred-col``: how informative the model is, and the plans with it."""
    from curation.estimation.planning.assisted import plan_table, plan_with_model, summary_lines
    from curation.estimation.planning.informative import load_model_pilot, population_predictions
    from schemas.io import read_parquet

    mp = load_model_pilot(pilot, y, pred_col)
    f = None
    if population is not None:
        pop = read_parquet(population, columns=None).to_pandas()
        f = population_predictions(pop, pred_col, population)
    plans = plan_with_model(mp, margin, level, ci, f, cost_human, cost_model, n_bins, mixture)
    click.echo(f"pilot {pilot}: p = {mp.p:.4g} (SE {mp.pilot.estimate.se:.2g}) from n = "
               f"{mp.pilot.n} labeled units ({mp.pilot.kind} design)")
    for line in summary_lines(mp):
        click.echo(line)
    N = f.size if f is not None else round(mp.N)
    click.echo(f"labels for ±{margin:g} at {level:g} on p = {mp.p:.4g}, N = {N} "
               f"({'population' if f is not None else 'the pilot weights'}); cost per label: "
               f"human {cost_human:g}, model {cost_model:g}")
    table = plan_table(plans, cost_human, cost_model)
    for group, rows in table.groupby("group", sort=False):
        click.echo(f"  {group}:")
        for r in rows.itertuples():
            click.echo(f"    {r.design:<36}{r.human:>8} human{r.model:>9} model  cost "
                       f"{r.cost:>10.6g}  [{r.lo:.4g}, {r.hi:.4g}] ±{r.half_width:.4g}  "
                       f"saves {r.labels_saved} labels, cost {r.cost_saved:.6g}"
                       f"{'  (' + r.note + ')' if r.note else ''}")


COMMANDS = [plan_cmd]
