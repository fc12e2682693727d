"""``curate estimate``: population estimates with honest intervals."""

from __future__ import annotations

import json

import click
import pyarrow as pa

from curation.estimation import estimate_table
from curation.estimation.inputs import load_population, load_sample, load_totals
from curation.estimation.intervals import METHODS
from curation.estimation.misclassification import gold_rates
from curation.estimation.predictions import MODEL_METADATA_KEY, load_assist, model_sidecar
from schemas.io import TABLE_SUFFIXES, check_output, read_parquet, write_json, write_table

from .checks import LEVEL


def _fmt(df) -> str:
    shown = df.copy()
    for col in ("estimate", "se", "ci_low", "ci_high", "n_eff", "deff", "worst_low",
                "worst_high"):
        shown[col] = shown[col].map(lambda v: "" if v != v else f"{v:.6g}")
    if not df["worst_low"].notna().any():
        shown = shown.drop(columns=["worst_low", "worst_high"])
    return shown.drop(columns=["assumption"]).to_string(index=False)


@click.command("estimate")
@click.argument("data", type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Result table (.csv, .parquet or .json).")
@click.option("--y", "ys", multiple=True, required=True, help="Label column(s) to estimate.")
@click.option("--domain", help="Domain column (COL or COL=VALUE) cutting across strata.")
@LEVEL
@click.option("--ci", type=click.Choice(list(METHODS)), default="auto", show_default=True,
              help="Interval for proportions: auto = Korn–Graubard under stratified SRS, mid-p "
                   "gamma for rare ones under Poisson/importance designs; beta = Korn–Graubard "
                   "as R's svyciprop.")
@click.option("--design", "kind", type=click.Choice(["srswor", "poisson"]),
              show_default="from the manifest, else inferred",
              help="Override the design.")
@click.option("--manifest", "manifest_path", type=click.Path(),
              show_default="DATA's Parquet metadata or sidecar",
              help="Manifest JSON; it must be DATA's own (its content hash is checked).")
@click.option("--calibrate", "totals_path", type=click.Path(),
              help="CSV of known counts (column, level, total) to rake the weights to.")
@click.option("--population", "population_path", type=click.Path(),
              help="Population Parquet (catalogue or impressions): the domains' sizes N_d; "
                   "with --pred-col, every unit's prediction (GREG per sampling stratum).")
@click.option("--accept-unsampled", is_flag=True,
              help="Estimate although strata were allocated no unit ('all' then covers the "
                   "sampled strata only; recorded in the output).")
@click.option("--nonresponse-by", metavar="SPEC",
              help="Weighting cells for nonresponse: columns, numeric ones cut into quantile "
                   "bins with :K (e.g. risk_score:5,market). Default: the sampling strata.")
@click.option("--nonresponse-model", metavar="COLS",
              help="Response-propensity model (logistic regression) on these columns; weights "
                   "adjusted within its 5 propensity classes.")
@click.option("--nonresponse-warn", type=click.FloatRange(0, 1, max_open=True), default=0.05,
              show_default=True, help="Warn for domains with a larger nonresponse rate.")
@click.option("--gold-labels", "gold_path", type=click.Path(),
              help="Gold truth Parquet (unit_id, sensitive): adds proportion_adjusted rows "
                   "corrected for the final label's error rates on these units.")
@click.option("--labels", "labels_path", type=click.Path(),
              help="Labels Parquet holding the gold units' annotations (with --gold-labels).")
@click.option("--gold-by", metavar="COL",
              help="Error rates per group: a column of both DATA and the gold truth.")
@click.option("--pred-col", "pred_cols", multiple=True, metavar="Y=COL",
              help="A model's prediction (a probability from 0 to 1, or a 0/1 label) of label Y in "
                   "column COL (COL alone with one --y): adds model-assisted rows.")
@click.option("--predictions", "predictions_path", type=click.Path(),
              help="Predictions table (Parquet or CSV) keyed by unit_id, instead of columns "
                   "of DATA / --population / --phase1.")
@click.option("--phase1", "phase1_path", type=click.Path(),
              help="The phase-1 sample DATA (phase 2, labeled by people) was drawn from: "
                   "two-phase estimation.")
@click.option("--model-name", help="The model's name, recorded with the estimates.")
@click.option("--model-version", help="The model's version, recorded with the estimates.")
def estimate_cmd(data: str, output: str, ys: tuple[str, ...], domain: str | None, level: float,
                 ci: str, kind: str | None, manifest_path: str | None,
                 totals_path: str | None, population_path: str | None,
                 accept_unsampled: bool, nonresponse_by: str | None,
                 nonresponse_model: str | None, nonresponse_warn: float,
                 gold_path: str | None, labels_path: str | None, gold_by: str | None,
                 pred_cols: tuple[str, ...], predictions_path: str | None,
                 phase1_path: str | None, model_name: str | None,
                 model_version: str | None) -> None:
    """Estimate totals, means and proportions of labeled sample DATA with honest intervals."""
    if (gold_path is None) != (labels_path is None) or (gold_by and not gold_path):
        raise click.UsageError("--gold-labels and --labels go together (and --gold-by needs "
                               "them)")
    inputs = [data, manifest_path, totals_path, population_path, gold_path, labels_path,
              predictions_path, phase1_path]
    check_output(output, inputs, suffixes=TABLE_SUFFIXES)
    assisted = bool(pred_cols or predictions_path or phase1_path or model_name or model_version)
    if assisted and not output.lower().endswith(".parquet"):
        check_output(model_sidecar(output), inputs + [output])
    df, manifest, origin = load_sample(data, manifest_path)
    gold = None
    if gold_path:
        gold = gold_rates(read_parquet(gold_path).to_pandas(),
                          read_parquet(labels_path).to_pandas(), list(ys), gold_by,
                          sample_ids=df["unit_id"] if "unit_id" in df.columns else None,
                          sources=(gold_path, labels_path))
    totals = load_totals(totals_path) if totals_path else None
    population = load_population(population_path, domain) \
        if population_path and (domain or not assisted) else None
    assist = design = None
    if assisted:
        assist, design, manifest = load_assist(
            df, manifest, list(ys), pred_cols, predictions_path, population_path, phase1_path,
            model_name, model_version, data)
    table = estimate_table(df, list(ys), domain=domain, level=level, ci=ci, manifest=manifest,
                           kind=kind, totals=totals, population=population,
                           accept_unsampled=accept_unsampled, nonresponse_by=nonresponse_by,
                           nonresponse_model=nonresponse_model,
                           nonresponse_warn=nonresponse_warn, gold=gold, gold_by=gold_by,
                           source=data, assist=assist, design=design)
    arrow = pa.Table.from_pandas(table, preserve_index=False)
    model = table.attrs.get("model")
    if model is not None and output.lower().endswith(".parquet"):
        arrow = arrow.replace_schema_metadata({**(arrow.schema.metadata or {}),
                                               MODEL_METADATA_KEY: json.dumps(model).encode()})
    write_table(output, arrow)
    if model is not None and not output.lower().endswith(".parquet"):
        write_json(model_sidecar(output), model)
    a = table.attrs
    click.echo(f"design: {a['design']} ({a['basis']}; manifest: {origin}); "
               f"{a['respondents']} of {a['sampled']} units responded; intervals: "
               f"{a['interval']}"
               + (f"; raked to {', '.join(a['calibrated'])}" if a["calibrated"] else ""))
    if a["unsampled_strata"]:
        click.echo(f"warning: 'all' covers the sampled strata only: "
                   f"{a['unsampled_units']:,.0f} units in {len(a['unsampled_strata'])} "
                   f"strata were allocated no unit ({', '.join(a['unsampled_strata'][:8])})",
                   err=True)
    if a["domain_sizes"]:
        click.echo(f"domain sizes N_d: {a['domain_sizes']}")
    if a["assumption"]:
        click.echo(f"nonresponse ({a['nonresponse']}): {a['assumption']}; worst-case bounds "
                   f"in worst_low/worst_high")
    for name, r in a["misclassification"].items():
        click.echo(f"annotator error of {name} (final label vs {r['positives']} positive and "
                   f"{r['negatives']} negative gold units): sensitivity {r['sensitivity']:.3f}, "
                   f"specificity {r['specificity']:.4f}; see proportion_adjusted rows")
    if model is not None:
        _echo_model(model)
    for line in a["warnings"]:
        click.echo(f"warning: {line}", err=True)
    click.echo(_fmt(table))
    click.echo(f"wrote {output} ({len(table)} rows)")


def _echo_model(model: dict) -> None:
    """The model, and per label its correlation with people's labels and λ per stratum."""
    who = " ".join(str(v) for v in (model["model_name"], model["model_version"]) if v)
    click.echo(f"model: {who or '(unnamed)'}; predictions from {model['predictions']}; rows "
               f"with estimator = model_assisted are calibrated on them")
    for y, r in model["labels"].items():
        lam = ", ".join(f"{h} {v:.3g}" for h, v in list(r["lambda"].items())[:12])
        click.echo(f"  {y} ~ {model['pred_cols'][y]}: correlation {r['correlation']:.3f}; "
                   f"power tuning λ per stratum: {lam}")


COMMANDS = [estimate_cmd]
