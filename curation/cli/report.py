"""``curate report``: the audit report of one version as self-contained HTML."""

from __future__ import annotations

import click

from curation.report import ReportInputs, build_report
from schemas.io import check_folder
from schemas.storage import as_path, check_objects  # a URI (s3://...) stays one

from .checks import LEVEL, OPEN_UNIT, check_inputs_manifests


def _pred_cols(values: tuple[str, ...]) -> dict[str, str]:
    """``{y: column}`` of ``--pred-col Y=COL`` options (each may hold several pairs,
    comma-separated); a malformed one is a usage error."""
    out: dict[str, str] = {}
    for value in (v.strip() for given in values for v in given.split(",") if v.strip()):
        y, sep, col = value.partition("=")
        if not sep or not y.strip() or not col.strip():
            raise click.BadParameter(f"{value!r} is not Y=COL (e.g. "
                                     f"sensitive=model_sensitive)", param_hint="--pred-col")
        if col.strip() == y.strip():
            raise click.BadParameter(f"{value!r}: the model column is the label column",
                                     param_hint="--pred-col")
        out[y.strip()] = col.strip()
    return out


@click.command("report")
@click.option("--sample", "samples", multiple=True, type=click.Path(),
              help="A sample Parquet file (repeatable).")
@click.option("--population", "populations", multiple=True, type=click.Path(),
              show_default="the source recorded in its manifest",
              help="Population of the --sample at the same position (further ones: of the "
                   "--curated tables in order, for the model-assisted estimate).")
@click.option("--curated", multiple=True, type=click.Path(),
              help="A curated table (repeatable): progress, units still unlabeled, "
                   "prevalence per group.")
@click.option("--previous", multiple=True, type=click.Path(),
              help="The previous wave's curated table of the --curated at the same position "
                   "(repeatable): the change since then, per label and group.")
@click.option("--trend", type=click.Path(),
              help="The tidy series written by `curate trend`: prevalence over versions.")
@click.option("--pred-col", "pred_cols", multiple=True, metavar="Y=COL",
              help="A model's prediction (probability or 0/1) of label Y in column COL of "
                   "the curated tables or the catalogue (repeatable, or Y=COL,Y2=COL2): "
                   "model vs people, labels saved.")
@click.option("--fdr", type=OPEN_UNIT, default=0.05, show_default=True,
              help="False-discovery rate at which changed groups are flagged "
                   "(Benjamini–Hochberg).")
@click.option("--estimates", multiple=True, type=click.Path(),
              help="A tidy estimates table written by `curate estimate`.")
@click.option("--catalogue", type=click.Path(),
              show_default="the population of a catalogue --sample",
              help="Catalogue (population) for representation.")
@click.option("--impressions", multiple=True, type=click.Path(),
              show_default="the --sample files with item_id and position",
              help="Impression sample or curated impression table (repeatable).")
@click.option("--group", "groups", multiple=True,
              show_default="creator_group where present",
              help="Group column for representation and prevalence (repeatable).")
@click.option("--labels", multiple=True, type=click.Path(),
              help="A labels table written by `curate pull` (repeatable): progress and "
                   "agreement.")
@LEVEL
@click.option("--title", default="Audit report", show_default=True)
@click.option("-o", "--output", "outdir", required=True, type=click.Path(file_okay=False),
              help="Folder for report.html, figures/*.png, tables/*.csv and metrics.json.")
def report_cmd(samples, populations, curated, previous, trend, pred_cols, fdr, estimates,
               catalogue, impressions, groups, labels, level, title, outdir) -> None:
    """Write an HTML report (plots embedded; PNG, CSV and JSON beside it)."""
    if len(populations) > len(samples) + len(curated):
        raise click.UsageError("more --population than --sample and --curated options")
    if len(previous) > len(curated):
        raise click.UsageError("more --previous than --curated options (each --previous is "
                               "the earlier wave of the --curated at its position)")
    pred_cols = _pred_cols(pred_cols)
    if pred_cols and not curated:
        raise click.UsageError("--pred-col needs a --curated table holding the predictions")
    if not (samples or curated or estimates or impressions or labels):
        raise click.UsageError("give at least one --sample, --curated, --estimates, "
                               "--impressions or --labels")
    check_folder(outdir, "curate report")
    check_objects([*samples, *populations, *curated, *previous, trend, *estimates, catalogue,
                   *impressions, *labels])
    check_inputs_manifests([*samples, *curated, *previous, *impressions])
    sources = [*samples, *curated]
    inputs = ReportInputs(
        samples=tuple(map(as_path, samples)),
        populations={str(as_path(s)): as_path(p) for s, p in zip(sources, populations,
                                                                 strict=False)},
        curated=tuple(map(as_path, curated)), estimates=tuple(map(as_path, estimates)),
        catalogue=as_path(catalogue) if catalogue else None,
        impressions=tuple(map(as_path, impressions)), groups=tuple(groups),
        labels=tuple(map(as_path, labels)), level=level, title=title,
        previous=tuple(map(as_path, previous)), trend=as_path(trend) if trend else None,
        pred_cols=pred_cols, fdr=fdr)
    report = build_report(inputs, outdir)
    click.echo(f"wrote {report.html} ({len(report.figures)} figures, numbers in "
               f"{report.metrics})")


COMMANDS = [report_cmd]
