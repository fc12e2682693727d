"""``curate demo``: the main job end to end on the embedded default (see :mod:`curation.demo`)."""

from __future__ import annotations

import click

from curation.demo.run import run_demo
from schemas.io import check_folder


@click.command("demo")
@click.argument("workdir", default="audit-demo", type=click.Path(file_okay=False))
@click.option("--items", default=20_000, show_default=True, type=click.IntRange(min=100),
              help="Catalogue items of the demo data.")
@click.option("--impressions", default=100_000, show_default=True,
              type=click.IntRange(min=100), help="Impressions of the demo log.")
@click.option("--seed", default=2026, show_default=True, help="Seed of data and simulation.")
@click.option("--n-catalogue", type=click.IntRange(min=10),
              show_default="params.yaml's sample_catalogue.n",
              help="Catalogue sample size.")
@click.option("--n-impressions", type=click.IntRange(min=10),
              show_default="params.yaml's sample_impressions.n",
              help="Impression sample size.")
@click.option("--port", type=click.IntRange(1, 65535), show_default="8080",
              help="Label Studio port.")
@click.option("--keep-running", is_flag=True,
              help="Leave Label Studio up afterwards, for a person to look or annotate.")
def demo_cmd(workdir: str, items: int, impressions: int, seed: int, n_catalogue: int | None,
             n_impressions: int | None, port: int | None, keep_running: bool) -> None:
    """Run a whole audit in WORKDIR (audit-demo if not given): data, samples, Label Studio,
    SIMULATED annotators, pull, adjudication, estimates vs the hidden truth, report, DVC
    version."""
    check_folder(workdir, "curate demo")
    run_demo(workdir, items=items, impressions=impressions, seed=seed, n_catalogue=n_catalogue,
             n_impressions=n_impressions, port=port, keep_running=keep_running,
             echo=click.echo)


COMMANDS = [demo_cmd]
