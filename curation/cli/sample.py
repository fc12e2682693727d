"""``curate sample``: draw a sample and write it with its manifest."""

from __future__ import annotations

from pathlib import Path

import click

from curation.params import load_section
from samplers import SAMPLERS
from samplers.engine import ENGINES
from samplers.source import DEFAULT_BATCH_ROWS
from samplers.strata import Strata
from schemas import DesignError

from .options import split_list
from .render import allocation_table, thin_strata_warnings


def build_sampler(options: dict):
    """A sampler from CLI/params options (names as in params.yaml)."""
    design = options.get("design") or "stratified"
    if design not in SAMPLERS:
        raise DesignError(f"unknown design {design!r}; expected one of {sorted(SAMPLERS)}")
    strata = Strata(columns=split_list(options.get("strata")), bins=options.get("bins"),
                    n_bins=int(options.get("n_bins") or 4),
                    clusters=split_list(options.get("clusters")),
                    n_clusters=int(options.get("n_clusters") or 8),
                    seed=int(options.get("seed") or 0))
    if options.get("n") is None:
        raise DesignError("the sample size n is required (--n or `n:` in the params section)")
    common = dict(n=int(options["n"]), seed=int(options.get("seed") or 0), strata=strata,
                  allocation=options.get("allocation") or "proportional",
                  min_per_stratum=int(options.get("min_per_stratum") or 0),
                  power=float(options.get("power") if options.get("power") is not None else 0.5),
                  neyman_col=options.get("neyman_col"), unit_col=options.get("unit_col"),
                  coordinate_with=options.get("coordinate_with"),
                  overlap=options.get("overlap") or "max")
    if design == "stratified":
        for key in ("size", "mixture"):
            if options.get(key) is not None:
                raise DesignError(f"--{key} applies to importance or poisson designs only")
        return SAMPLERS[design](**common)
    extra = dict(size=options.get("size"), mixture=options.get("mixture"))
    if design == "importance":
        extra["method"] = options.get("method") or "priority"
    return SAMPLERS[design](**common, **extra)


OPTION_NAMES = ("design", "n", "seed", "strata", "allocation", "size", "min_per_stratum",
                "unit_col", "power", "neyman_col", "bins", "n_bins", "clusters", "n_clusters",
                "mixture", "method", "coordinate_with", "overlap")


@click.command("sample")
@click.argument("input_path", metavar="INPUT", type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Sample Parquet file (its manifest goes beside it).")
@click.option("--design", type=click.Choice(sorted(SAMPLERS)), help="[stratified]")
@click.option("--n", "n", type=click.IntRange(min=0), help="Sample size (expected for poisson).")
@click.option("--seed", type=click.IntRange(min=0), help="PRN key [0].")
@click.option("--strata", help="Comma-separated stratification columns.")
@click.option("--allocation", type=click.Choice(["proportional", "equal", "neyman", "power"]),
              help="[proportional]")
@click.option("--size", help="Size measure column, or 'exposure' (1/log2(position+1)).")
@click.option("--min-per-stratum", type=click.IntRange(min=0), help="Floor per stratum [0].")
@click.option("--unit-col", help="Unit id column [unit_id|impression_id|item_id].")
@click.option("--power", type=float, help="Exponent q of power allocation [0.5].")
@click.option("--neyman-col", help="Column of anticipated std devs for neyman allocation.")
@click.option("--bins", help="Numeric column to cut into quantile bins (a stratum variable).")
@click.option("--n-bins", type=click.IntRange(min=2), help="Quantile bins [4].")
@click.option("--clusters", help="Comma-separated numeric columns to cluster (KMeans).")
@click.option("--n-clusters", type=click.IntRange(min=2), help="KMeans clusters [8].")
@click.option("--mixture", type=float, help="Defensive mixture α for score sizes (e.g. 0.1).")
@click.option("--method", type=click.Choice(["priority", "poisson"]),
              help="Importance method [priority].")
@click.option("--coordinate-with", type=click.Path(), help="A previous sample to coordinate with.")
@click.option("--overlap", type=click.Choice(["max", "min"]), help="Coordination [max].")
@click.option("--params", "params_file", type=click.Path(),
              help="Read parameters from this YAML file (e.g. params.yaml) ...")
@click.option("--section", help="... from this section (e.g. sample_catalogue).")
@click.option("--batch-rows", type=click.IntRange(min=1), default=DEFAULT_BATCH_ROWS,
              show_default=True, help="Rows per record batch when streaming.")
@click.option("--engine", type=click.Choice(ENGINES), default="stream", show_default=True,
              help="stream: batch by batch in this process (bounded memory); dask: on a "
                   "dask.distributed cluster (same sample).")
@click.option("--scheduler", metavar="ADDRESS",
              help="Dask scheduler address (tcp://host:8786) for --engine dask; without it a "
                   "local cluster of 2 workers is started.")
def sample_cmd(input_path: str, output: str, params_file: str | None, section: str | None,
               batch_rows: int, engine: str, scheduler: str | None, **options) -> None:
    """Draw a sample of INPUT (Parquet file or directory) and write it to OUTPUT."""
    if Path(output).resolve() == Path(input_path).resolve():
        raise click.UsageError("OUTPUT would overwrite INPUT")
    merged = load_section(params_file, section, OPTION_NAMES) if params_file else {}
    if section and not params_file:
        raise click.UsageError("--section needs --params")
    merged.update({k: v for k, v in options.items() if v is not None})
    if scheduler and engine != "dask":
        raise click.UsageError("--scheduler needs --engine dask")
    sample = build_sampler(merged).sample(input_path, batch_rows=batch_rows, engine=engine,
                                          scheduler=scheduler)
    sample.write(output)
    click.echo(allocation_table(sample))
    for line in thin_strata_warnings(sample):
        click.echo(line, err=True)
    click.echo(f"wrote {output} ({len(sample)} units, content hash "
               f"{sample.manifest.content_hash[:12]})")


COMMANDS = [sample_cmd]
