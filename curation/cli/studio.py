"""``curate studio up|down|status``, ``curate push`` (and the expert queue), ``curate pull`` and
``curate agreement``: human review in Label Studio."""

from __future__ import annotations

import click

from annotation import server
from annotation.agreement import agreement, coverage, summary, why_none
from annotation.connection import studio_dir
from annotation.expert import push_expert_queue
from annotation.pull import pull
from annotation.push import DEFAULT_BATCH, push
from annotation.queues import Budget
from schemas.io import TABLE_SUFFIXES, check_output, write_table
from schemas.labels import DEFAULT_CATEGORIES, categories_of
from schemas.lists import split_list
from schemas.storage import exists, local_only
from schemas.validate import read_labels

from .checks import SECONDS, connect, require_projects

DIR_OPTION = click.option("--dir", "directory", type=click.Path(file_okay=False),
                          show_default="$AUDIT_CURATION_STUDIO_DIR or .studio",
                          help="Studio folder: server data, connection file, ledgers, pseudonym "
                               "key.")


@click.group("studio")
def studio() -> None:
    """Start, stop or check a local Label Studio server (SQLite, 127.0.0.1)."""


@studio.command("up")
@DIR_OPTION
@click.option("--port", type=click.IntRange(1, 65535), show_default="8080, or the last one used",
              help="Port of the server.")
@click.option("--timeout", default=240.0, show_default=True, type=SECONDS,
              help="Seconds to wait for health.")
def up(directory: str | None, port: int | None, timeout: float) -> None:
    """Start the local server (first start: ~40 s of migrations) and write the connection."""
    where = studio_dir(directory)
    conn = server.start(where, port=port, timeout=timeout)
    click.echo(f"Label Studio is up at {conn.url} (data in {where}; connection details in "
               f"{where / 'connection.json'}, mode 600)")


@studio.command("down")
@DIR_OPTION
def down(directory: str | None) -> None:
    """Stop the local server started by `curate studio up`."""
    stopped = server.stop(studio_dir(directory))
    click.echo("Label Studio stopped" if stopped else "Label Studio was not running")


@studio.command("status")
@DIR_OPTION
def status_cmd(directory: str | None) -> None:
    """Say whether the local server is up, and its URL."""
    s = server.status(studio_dir(directory))
    if s.up:
        click.echo(f"up at {s.url} (pid {s.pid})")
    elif s.pid:
        click.echo(f"starting or not answering at {s.url} (pid {s.pid})")
    else:
        click.echo("down")


@click.command("push")
@click.argument("sample", type=click.Path())
@click.option("--project", required=True, help="Label Studio project title (made if missing).")
@click.option("--config", "template", show_default="by the sample's kind",
              help="catalogue | impression | path to an XML config.")
@click.option("--catalogue", type=click.Path(), help="Catalogue to show an impression's item.")
@click.option("--categories", show_default="the six of schemas/labels.py",
              help="Comma-separated sensitive categories.")
@click.option("--annotators", type=click.IntRange(min=1), help="k annotators for overlap units.")
@click.option("--overlap", type=click.FloatRange(0, 1), help="Share of units labeled by k.")
@click.option("--predictions", is_flag=True, help="Pre-annotate from risk_score (anchors!).")
@click.option("--batch-size", default=DEFAULT_BATCH, show_default=True,
              type=click.IntRange(min=1), help="Tasks per import request.")
@click.option("--ledger", type=click.Path(dir_okay=False),
              show_default="<dir>/ledgers/<project>.json", help="Push ledger.")
@click.option("--expert-from", "expert_from", type=click.Path(dir_okay=False),
              help="Labels of the review project: push only its unresolved units, to an "
                   "expert-stage PROJECT whose decision wins (name it REVIEW-PROJECT-expert "
                   "and `curate pull` reads it with the review project).")
@click.option("--gold", "gold_path", type=click.Path(dir_okay=False),
              help="Known-answer units (Parquet: unit_id, sensitive and the task's fields) to "
                   "mix into the queue; their truth stays in <dir>/gold/<project>.parquet.")
@click.option("--gold-rate", type=float, default=0.05, show_default=True,
              help="Share of gold tasks in the queue, from 0 to 0.5.")
@click.option("--gold-seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Which gold units go where (a repeated push mixes the same ones).")
@click.option("--queues", type=int,
              help="N annotators, each with their own project 'PROJECT / annotator i' where "
                   "no one sees another's answer; --annotators k of them label the --overlap "
                   "share of units, one labels the rest.")
@click.option("--queue-seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Which units go to which queue (a repeated push assigns them alike).")
@click.option("--budget", type=int,
              help="Exposure budget: at most this many high-risk tasks per queue per day; the "
                   "rest are held back until a push on a later day.")
@click.option("--high-risk-strata", help="Comma-separated strata whose units are high-risk.")
@click.option("--high-risk-score", type=float,
              help="Units with risk_score at or above this are high-risk.")
@click.option("--rotate-by", help="Sample column to rotate the queue's order across (e.g. "
                                  "stratum), so a day's tasks are not all of one kind.")
@DIR_OPTION
def push_cmd(sample: str, project: str, template: str | None, catalogue: str | None,
             categories: str | None, annotators: int | None, overlap: float | None,
             predictions: bool, batch_size: int, ledger: str | None, expert_from: str | None,
             gold_path: str | None, gold_rate: float, gold_seed: int, queues: int | None,
             queue_seed: int, budget: int | None, high_risk_strata: str | None,
             high_risk_score: float | None, rotate_by: str | None,
             directory: str | None) -> None:
    """Push SAMPLE as blinded tasks; each unit exactly once, however often it is run."""
    if gold_path and expert_from:
        raise click.UsageError("--gold mixes into the review queue: not with --expert-from")
    if expert_from and (queues or budget is not None):
        raise click.UsageError("the expert queue is one project for the expert: --queues and "
                               "--budget are for the review queues")
    limit = None
    if budget is not None or high_risk_strata or high_risk_score is not None:
        if budget is None:
            raise click.UsageError("--high-risk-strata/--high-risk-score define what --budget "
                                   "counts: give --budget too")
        limit = Budget(budget, frozenset(split_list(high_risk_strata)), high_risk_score)
    if ledger:
        local_only(ledger, "the ledger is this machine's record of what was pushed, rewritten "
                           "as tasks are imported: give a local path")
        check_output(ledger, [sample, catalogue, expert_from, gold_path], suffixes=(".json",))
    _local_checks(sample, queues, annotators, overlap, gold_rate)
    conn = connect(directory)
    common = dict(conn=conn, template=template, catalogue_path=catalogue,
                  categories=split_list(categories) or DEFAULT_CATEGORIES,
                  predictions=predictions, batch_size=batch_size, ledger=ledger,
                  directory=directory)
    if expert_from:
        queue, r = push_expert_queue(sample, read_labels(expert_from), project, **common)
        click.echo(f"{len(queue)} unresolved unit(s) in {expert_from} for expert review")
        if r is None:
            return
    else:
        r = push(sample, project, annotators=annotators, overlap=overlap, gold_path=gold_path,
                 gold_rate=gold_rate, gold_seed=gold_seed, queues=queues,
                 queue_seed=queue_seed, budget=limit, rotate_by=rotate_by, **common)
    where = (f"project {r.project!r} (id {r.project_id}{', new' if r.created else ''})"
             if queues is None else f"{len(r.projects)} annotator queues of {r.project!r}")
    tasks = "," if queues is None else f" in {r.imported + r.already + r.held} tasks:"
    click.echo(f"{where}: {r.units} units{tasks} {r.imported} imported now, {r.already} "
               f"already there"
               + (f", {r.recovered} recovered after an interrupted push" if r.recovered else "")
               + (f", {r.duplicates_deleted} duplicate tasks deleted"
                  if r.duplicates_deleted else "")
               + (f"; ledger {r.ledger}" if queues is None else f"; ledgers in {r.ledger}"))
    if r.held:
        click.echo(f"{r.held} high-risk task(s) held back: the exposure budget of {budget} a "
                   f"day per {'queue' if queues else 'project'} is used; push again on a later "
                   f"day to give them")
    if r.gold:
        click.echo(f"{r.gold} gold unit(s) mixed in; their truth (local only): {r.gold_truth}; "
                   f"pass it to `curate build --gold` and `curate estimate --gold-labels`")


def _local_checks(sample: str, queues: int | None, annotators: int | None,
                  overlap: float | None, gold_rate: float) -> None:
    """What push checks without a server, checked before the server is asked anything: the
    sample (its contract and its manifest's content hash), the queue plan, the gold rate."""
    from annotation.gold import MAX_RATE
    from annotation.queues import check_queues
    from schemas import AnnotationError, validate
    from schemas.io import read_parquet

    from .checks import check_inputs_manifests

    if not 0.0 <= gold_rate <= MAX_RATE:
        raise AnnotationError(f"--gold-rate is the share of gold tasks in the queue and must "
                              f"be in [0, {MAX_RATE}], got {gold_rate!r}")
    if queues is not None:
        check_queues(queues, annotators or 1, 0.0 if overlap is None else overlap)
    validate(read_parquet(sample), "sample", source=sample)
    check_inputs_manifests([sample], kinds=("sample",))


@click.command("pull")
@click.option("--project", "projects", required=True, multiple=True,
              help="Project title (repeatable: e.g. the review and the expert project).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Labels Parquet file: created, or appended to (never rewritten).")
@click.option("--timeout", default=600.0, show_default=True, type=SECONDS,
              help="Seconds for each export.")
@click.option("--no-expert", is_flag=True,
              help="Do not read the expert queue PROJECT-expert with each PROJECT.")
@DIR_OPTION
def pull_cmd(projects: tuple[str, ...], output: str, timeout: float, no_expert: bool,
             directory: str | None) -> None:
    """Append every annotation not yet in OUTPUT (edits as new versions; nothing deleted).

    The expert queue of a project (titled PROJECT-expert, filled by `curate push
    --expert-from`) is read with it when it exists."""
    check_output(output, suffixes=(".parquet",))
    if exists(output):
        read_labels(output)  # appended to: it must be a labels file
    conn = connect(directory)
    require_projects(conn, projects)
    r = pull(list(projects), output, conn=conn, directory=directory, timeout=timeout,
             with_expert=not no_expert)
    click.echo(f"{output}: {r.total} annotation versions from {', '.join(r.projects)} "
               f"({r.added} new, of which {r.edits} "
               f"edits of earlier ones)" + (f"; {r.tasks_without_unit} annotated task(s) "
                                            f"without a unit_id left out"
                                            if r.tasks_without_unit else "")
               + f"; {r.no_decision} annotation(s) without a decision (no vote)"
               + (f"; {r.migrated} earlier row(s) given the server's identity"
                  if r.migrated else ""))


@click.command("agreement")
@click.argument("labels", type=click.Path(dir_okay=False))
@click.option("--min-common", default=5, show_default=True, type=click.IntRange(min=1),
              help="Units two annotators must share for their kappa.")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Write the full table (every pair) as CSV, Parquet or JSON.")
def agreement_cmd(labels: str, min_common: int, output: str | None) -> None:
    """Krippendorff's alpha and pairwise Cohen's kappa per label field of LABELS, over the
    units with two or more counted votes."""
    if output:
        check_output(output, [labels], suffixes=TABLE_SUFFIXES)
    frame = read_labels(labels)
    table = agreement(frame, categories_of(frame), min_common=min_common)
    if output:
        import pyarrow as pa

        write_table(output, pa.Table.from_pandas(table, preserve_index=False))
    cov = coverage(frame)
    if table.empty:
        click.echo(f"agreement: n/a: {why_none(cov)}")
        return
    click.echo(f"over {cov['units']} unit(s) with two or more counted votes ({cov['ratings']} "
               f"ratings; {cov['units_with_votes'] - cov['units']} unit(s) with one vote and "
               f"{cov['no_decision']} annotation(s) without a decision left out)")
    table_text = summary(table)
    click.echo(table_text.to_string(float_format=lambda v: f"{v:.3f}", na_rep="n/a"))
    na = table_text["alpha"].isna()
    same = table_text.index[na & (table_text["units"] > 0)].tolist()
    unpaired = table_text.index[na & (table_text["units"] == 0)].tolist()
    if same:
        click.echo(f"n/a for {', '.join(same)}: every rating is the same value, so alpha and "
                   f"kappa are undefined (no variation to tell agreement from chance)")
    if unpaired:
        click.echo(f"n/a for {', '.join(unpaired)}: no unit has two ratings of it (severity "
                   f"is rated only where both called the item sensitive)")


COMMANDS = [studio, push_cmd, pull_cmd, agreement_cmd]
