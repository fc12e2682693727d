"""``curate sample``: draw a sample and write it with its manifest."""

from __future__ import annotations

from pathlib import Path

import click

from samplers import SAMPLERS
from samplers.engine import ENGINES
from samplers.options import ALLOCATIONS, load_section, sampler_from_options
from samplers.rotation import wave_lines
from samplers.source import DEFAULT_BATCH_ROWS
from schemas.io import check_output, parquet_dataset
from schemas.storage import is_file, is_remote

from .render import allocation_table, thin_strata_warnings


@click.command("sample")
@click.argument("input_path", metavar="[INPUT]", required=False, type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Sample Parquet file (its manifest goes beside it).")
@click.option("--design", type=click.Choice(sorted(SAMPLERS)), show_default="stratified",
              help="Sampling design.")
@click.option("--n", "n", type=click.IntRange(min=0), help="Sample size (expected for poisson).")
@click.option("--seed", type=click.IntRange(min=0), show_default="0", help="PRN key.")
@click.option("--strata", help="Comma-separated stratification columns.")
@click.option("--allocation", type=click.Choice(ALLOCATIONS), show_default="proportional",
              help="Allocation of n over the strata.")
@click.option("--size", help="Size measure column, or 'exposure' (1/log2(position+1)).")
@click.option("--min-per-stratum", type=click.IntRange(min=0), show_default="0",
              help="Floor per stratum.")
@click.option("--unit-col", show_default="the first of unit_id, impression_id, item_id",
              help="Unit id column.")
@click.option("--power", type=float, show_default="0.5", help="Exponent q of power allocation.")
@click.option("--neyman-col", help="Numeric column for neyman: the variable to estimate "
                                   "(or a proxy); S_h is its standard deviation per stratum.")
@click.option("--neyman-s", type=click.Choice(["sd", "rms"]), show_default="sd",
              help="How S_h comes from --neyman-col: sd = its standard deviation; rms = the "
                   "column holds each unit's anticipated standard deviation (e.g. "
                   "sqrt(p(1-p)) of a model's calibrated probability), S_h their root mean "
                   "square.")
@click.option("--bins", help="Numeric column to cut into quantile bins (a stratum variable).")
@click.option("--n-bins", type=click.IntRange(min=2), show_default="4", help="Quantile bins.")
@click.option("--clusters", help="Comma-separated numeric columns to cluster (KMeans).")
@click.option("--n-clusters", type=click.IntRange(min=2), show_default="8",
              help="KMeans clusters.")
@click.option("--mixture", type=float, help="Defensive mixture α for score sizes (e.g. 0.1).")
@click.option("--method", type=click.Choice(["priority", "poisson"]), show_default="priority",
              help="Importance method.")
@click.option("--coordinate-with", type=click.Path(), help="A previous sample to coordinate with.")
@click.option("--overlap", type=click.Choice(["max", "min"]), show_default="max",
              help="Coordination with --coordinate-with.")
@click.option("--rotate-from", type=click.Path(), help="A previous wave to rotate from (a "
              "rotating panel: same PRN key, start shifted so --rotation of its units leave).")
@click.option("--rotation", type=click.FloatRange(0, 1), help="With --rotate-from: the share "
              "of the previous wave's units replaced (0 = full panel, 1 = none kept).")
@click.option("--phase2-of", type=click.Path(), help="Draw phase 2 of a two-phase design from "
              "this phase-1 sample (then INPUT may be left out): PRN Poisson, expected size --n.")
@click.option("--uncertainty", help="With --phase2-of: column of the model's probability p̂; "
              "π2|1 ∝ max(√(p̂(1−p̂)), floor·½). Without it π2|1 is uniform.")
@click.option("--floor", type=click.FloatRange(0, 1, min_open=True), show_default="0.05",
              help="With --uncertainty: the smallest size, a fraction of the largest (½).")
@click.option("--predictions", type=click.Path(), help="With --uncertainty: a table keyed by "
              "unit_id holding that column for every phase-1 unit (a model run after phase 1).")
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
@click.option("--columns", metavar="A,B,...",
              help="Carry only these input columns into the sample (the design's own: unit "
                   "id, strata, size, Neyman column, are always kept). Default: all.")
def sample_cmd(input_path: str, output: str, params_file: str | None, section: str | None,
               batch_rows: int, engine: str, scheduler: str | None, columns: str | None,
               **options) -> None:
    """Draw a sample of INPUT (Parquet file or directory) and write it to OUTPUT; with
    --phase2-of, a phase-2 subsample of that phase-1 sample."""
    if section and not params_file:
        raise click.UsageError("--section needs --params")
    if scheduler and engine != "dask":
        raise click.UsageError("--scheduler needs --engine dask")
    params = params_file if params_file and is_file(params_file) else None
    check_output(output, [input_path, params, options.get("coordinate_with")],
                 suffixes=(".parquet",), sidecar=True)
    merged = load_section(params_file, section) if params_file else {}
    merged.update({k: v for k, v in {**options, "columns": columns}.items() if v is not None})
    input_path = _input(input_path, merged.get("phase2_of"))
    check_output(output, [input_path, merged.get("predictions")], suffixes=(".parquet",),
                 sidecar=True)
    if merged.get("coordinate_with"):
        check_output(output, [merged["coordinate_with"]], sidecar=True)
    if merged.get("rotate_from"):
        check_output(output, [merged["rotate_from"]], sidecar=True)
    parquet_dataset(input_path)  # the rules `curate validate` reads by, before any pass
    carried = merged.pop("columns", None)  # --columns, or `columns:` in the params section
    sample = sampler_from_options(merged).sample(input_path, batch_rows=batch_rows, engine=engine,
                                                 scheduler=scheduler, columns=carried)
    sample.write(output)
    click.echo(allocation_table(sample))
    for line in thin_strata_warnings(sample):
        click.echo(line, err=True)
    for line in wave_lines(sample.manifest):
        click.echo(line)
    click.echo(f"wrote {output} ({len(sample)} units, content hash "
               f"{sample.manifest.content_hash[:12]})")


def _input(input_path: str | None, phase1: str | None) -> str:
    """The file to draw from: INPUT, or the phase-1 sample of --phase2-of (named once)."""
    if phase1 is None:
        if input_path is None:
            raise click.UsageError("give INPUT (the population), or --phase2-of PHASE1")
        return input_path
    if input_path is not None and not _same(input_path, phase1):
        raise click.UsageError(f"INPUT {input_path} and --phase2-of {phase1} differ: phase 2 "
                               f"is drawn from its phase-1 sample; give only --phase2-of")
    return phase1


def _same(a: str, b: str) -> bool:
    """Whether two given paths name one file (URIs: the same string; an object has one name)."""
    if is_remote(a) or is_remote(b):
        return a.rstrip("/") == b.rstrip("/")
    return Path(a).resolve() == Path(b).resolve()


COMMANDS = [sample_cmd]
