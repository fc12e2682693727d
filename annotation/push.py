"""``push``: a sample into a Label Studio project as blinded tasks, each unit exactly once.

Idempotent and resumable through the :mod:`ledger <annotation.ledger>`: units already in the
ledger are not imported again; units left *pending* by a crash are looked up on the server by
``data.unit_id`` first; when the server's task count disagrees with the ledger (tasks deleted,
another machine's push, a lost ledger) every task of the project is listed and the ledger
rebuilt from the server, and duplicate tasks of a unit without annotations are deleted. Imports
go in batches with retries off (a retried POST would duplicate tasks). The ledger is keyed by the
server's identity (:func:`~annotation.connection.server_identity`), not its URL spelling.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa

from schemas.errors import AnnotationError, SchemaError
from schemas.io import read_parquet, write_parquet
from schemas.labels import DEFAULT_CATEGORIES
from schemas.progress import progress
from schemas.validate import validate

from .connection import Connection, api_errors, check, client, resolve, server_identity, studio_dir
from .gold import mix_gold
from .grid import blind_grid
from .ledger import Ledger
from .projects import ensure_project, slug, tasks_by_unit
from .queues import Budget, assign, check_queues, queue_title, rotate, within_budget
from .tasks import build_tasks, sample_kind
from .templates import render

DEFAULT_BATCH = 1000


@dataclass(frozen=True)
class PushResult:
    """What a push did: the project (or queue group), units in the sample, tasks imported now,
    units already there, recovered after a crash, duplicates deleted, the ledger(s), gold units
    mixed in, high-risk tasks held back by the exposure budget, and the projects written."""

    project: str
    project_id: int | None
    created: bool
    units: int
    imported: int
    already: int
    recovered: int
    duplicates_deleted: int
    ledger: Path
    gold: int = 0
    gold_truth: Path | None = None
    held: int = 0
    projects: tuple[str, ...] = ()


def ledger_path(project: str, directory: str | os.PathLike | None = None) -> Path:
    """Default ledger file of a project: ``<studio dir>/ledgers/<project>.json``."""
    return studio_dir(directory) / "ledgers" / f"{slug(project)}.json"


def gold_truth_path(project: str, directory: str | os.PathLike | None = None) -> Path:
    """Where a push keeps the truth of the gold units it mixed in: ``<studio dir>/gold/``."""
    return studio_dir(directory) / "gold" / f"{slug(project)}.parquet"


def push(sample_path: str | os.PathLike, project: str, *, conn: Connection | None = None,
         template: str | None = None, catalogue_path: str | os.PathLike | None = None,
         categories: tuple[str, ...] | list[str] = DEFAULT_CATEGORIES,
         annotators: int | None = None, overlap: float | None = None, predictions: bool = False,
         batch_size: int = DEFAULT_BATCH, ledger: str | os.PathLike | None = None,
         stage: str = "review", units: list[str] | None = None,
         review: dict[str, str] | None = None,
         directory: str | os.PathLike | None = None,
         gold_path: str | os.PathLike | None = None, gold_rate: float = 0.05,
         gold_seed: int = 0, queues: int | None = None, queue_seed: int = 0,
         budget: Budget | None = None, rotate_by: str | None = None,
         today: date | None = None) -> PushResult:
    """Push the sample at ``sample_path`` to project ``project`` (created when missing).

    Everything that can fail on the local side (sample contract, catalogue join, config, queue
    plan, budget) is checked before the server is contacted; the server, key and project are
    checked before the ledger is written. ``units`` restricts the push to those unit ids (the
    expert queue) and ``review`` adds to their tasks what the annotators answered (see
    :func:`expert_queue`). ``gold_path`` (known-answer units, :func:`~annotation.gold.mix_gold`)
    mixes gold tasks into the queue at ``gold_rate``; their truth is written to
    :func:`gold_truth_path` before any task leaves the machine, and never sent.

    ``queues`` (N ≥ 2) makes one project per annotator (:mod:`annotation.queues`): a share
    ``overlap`` of units goes to ``annotators`` of them, the rest to one, so that no annotator
    sees another's answer. ``budget`` caps the high-risk tasks given to each queue (or to the
    one project) per day (``today``, by default the local date); the order of the tasks rotates
    across ``rotate_by`` (a sample column, e.g. ``stratum``) when given.
    """
    if queues is not None:
        check_queues(queues, annotators or 1, 0.0 if overlap is None else overlap)
        if ledger is not None:
            raise AnnotationError("--ledger names one project's ledger; queues keep one each "
                                  "in <dir>/ledgers/")
        if units is not None or review:
            raise AnnotationError("the expert queue is one project: not with --queues")
    sample = validate(read_parquet(sample_path), "sample", source=str(sample_path))
    if units is not None:
        import pyarrow.compute as pc

        sample = sample.filter(pc.is_in(sample.column("unit_id"), value_set=_array(units)))
    if rotate_by is not None and rotate_by not in sample.column_names:
        raise SchemaError(f"--rotate-by {rotate_by!r} is not a column of the sample "
                          f"(it has {sample.column_names[:12]})", source=str(sample_path))
    catalogue = None
    if catalogue_path is not None:
        catalogue = validate(read_parquet(catalogue_path), "catalogue",
                             source=str(catalogue_path))
    tasks = build_tasks(sample, catalogue=catalogue, predictions=predictions,
                        source=str(sample_path))
    for task in tasks if review else ():
        task["data"]["review"] = review.get(task["data"]["unit_id"], "")
    order = _order(sample, rotate_by)
    tasks.sort(key=lambda t: order[t["data"]["unit_id"]])
    risky = _high_risk(sample, budget)
    truth = None
    if gold_path is not None:
        if units is not None or review:
            raise AnnotationError("gold units go to the review queue, not the expert queue")
        tasks, truth = mix_gold(tasks, read_parquet(gold_path).to_pandas(), gold_rate,
                                gold_seed, source=str(gold_path))
        if budget is not None:  # a known positive is as hard to look at as any
            risky |= set(truth.loc[truth["sensitive"].fillna(False).astype(bool), "unit_id"])
    config = render(template or sample_kind(sample.column_names), categories,
                    audio=any("audio" in t["data"] for t in tasks), expert=bool(review))
    if queues is None:
        targets = [(project, tasks, annotators, overlap,
                    Path(ledger) if ledger else ledger_path(project, directory))]
    else:
        plan = assign([t["data"]["unit_id"] for t in tasks], queues, annotators or 1,
                      overlap or 0.0, queue_seed)
        targets = [(queue_title(project, q), [t for t in tasks if q in plan[t["data"]["unit_id"]]],
                    1, None, ledger_path(queue_title(project, q), directory))
                   for q in range(1, queues + 1)]
    conn = conn or resolve(directory)
    check(conn)
    ls = client(conn, timeout=300.0)
    server = server_identity(ls, conn)
    books = [Ledger.load(path, server, title, url=conn.url) for title, _, _, _, path in targets]
    truth_path = None
    if truth is not None:
        truth_path = gold_truth_path(project, directory)
        truth_path.parent.mkdir(parents=True, exist_ok=True)
        # the answer key: annotators must not read it, whatever the umask
        write_parquet(truth_path, pa.Table.from_pandas(truth, preserve_index=False), mode=0o600)
    day = (today or date.today()).isoformat()
    done = [_push_project(ls, conn, book, title, queue, config, stage, k, f, batch_size, day,
                          budget, risky)
            for book, (title, queue, k, f, _) in zip(books, targets, strict=True)]
    return PushResult(project, done[0].project_id if queues is None else None,
                      any(r.created for r in done), len(tasks),
                      sum(r.imported for r in done), sum(r.already for r in done),
                      sum(r.recovered for r in done), sum(r.duplicates_deleted for r in done),
                      books[0].path if queues is None else books[0].path.parent,
                      0 if truth is None else len(truth), truth_path,
                      sum(r.held for r in done), tuple(t[0] for t in targets))


def _order(sample: pa.Table, rotate_by: str | None) -> dict[str, int]:
    """Position of each unit in the queue: sample order, rotated across ``rotate_by``."""
    ids = [str(u) for u in sample.column("unit_id").to_pylist()]
    if rotate_by is not None:
        keys = [str(v) for v in sample.column(rotate_by).to_pylist()]
        ids = rotate(ids, dict(zip(ids, keys, strict=True)))
    return {u: i for i, u in enumerate(ids)}


def _high_risk(sample: pa.Table, budget: Budget | None) -> set[str]:
    """The units the budget counts as high-risk."""
    if budget is None:
        return set()
    cols = sample.column_names
    if budget.score is not None and "risk_score" not in cols:
        raise AnnotationError("--high-risk-score needs a 'risk_score' column in the sample; "
                              "use --high-risk-strata")
    strata = sample.column("stratum").to_pylist() if "stratum" in cols else [None] * len(sample)
    unknown = budget.strata - {str(s) for s in strata}
    if unknown:
        raise AnnotationError(f"--high-risk-strata names strata the sample does not have: "
                              f"{sorted(unknown)[:5]} (it has {sorted(set(map(str, strata)))[:8]})")
    scores = sample.column("risk_score").to_pylist() if "risk_score" in cols \
        else [None] * len(sample)
    ids = sample.column("unit_id").to_pylist()
    return {str(u) for u, st, sc in zip(ids, strata, scores, strict=True)
            if budget.high_risk(st, sc)}


def _push_project(ls, conn: Connection, book: Ledger, title: str, tasks: list[dict],
                  config: str, stage: str, annotators: int | None, overlap: float | None,
                  batch_size: int, day: str, budget: Budget | None, risky: set[str]
                  ) -> PushResult:
    """Import into project ``title`` the tasks its ledger does not hold (within the budget)."""
    proj, created = ensure_project(ls, conn, title, config, stage, annotators, overlap)
    book.rebind(int(proj.id))
    book.stage = stage
    recovered, dup_deleted = _reconcile(ls, conn, book, int(proj.id), day)
    todo = [t for t in tasks if t["data"]["unit_id"] not in book.tasks]
    held: list[str] = []
    if budget is not None:
        used = sum(1 for u, d in book.assigned.items() if d == day and u in risky)
        give, held = within_budget([t["data"]["unit_id"] for t in todo], risky, used,
                                   budget.per_day)
        keep = set(give)
        todo = [t for t in todo if t["data"]["unit_id"] in keep]
    imported = 0
    with progress(len(todo), f"push {title}", "task") as bar:
        for i in range(0, len(todo), batch_size):
            batch = todo[i:i + batch_size]
            ids = [t["data"]["unit_id"] for t in batch]
            book.begin(ids)
            with api_errors(conn, f"import {len(batch)} tasks into {title!r}"):
                r = ls.projects.import_tasks(id=proj.id, request=batch, return_task_ids=True,
                                             request_options={"max_retries": 0,
                                                              "timeout": 600})
            book.commit(ids, list(r.task_ids or []), day)
            imported += len(batch)
            bar.update(len(batch))
    if book.tasks:  # every push: a tab an annotator added since shows content again
        blind_grid(conn, int(proj.id))
    return PushResult(title, int(proj.id), created, len(tasks), imported,
                      len(tasks) - len(todo) - len(held), recovered, dup_deleted, book.path,
                      held=len(held))


def _array(values: list[str]):
    import pyarrow as pa

    return pa.array([str(v) for v in values], pa.string())


def _reconcile(ls, conn: Connection, book: Ledger, project_id: int, day: str = ""
               ) -> tuple[int, int]:
    """Bring the ledger in line with the server; returns (units recovered, duplicates deleted)."""
    recovered = 0
    if book.pending:
        found = tasks_by_unit(ls, conn, project_id, book.pending)
        recovered = len(found)
        book.settle({u: min(t["id"] for t in ts) for u, ts in found.items()}, day)
    with api_errors(conn, "read the project's task count"):
        count = ls.projects.get(id=project_id).task_number
    if count == len(book.tasks) and not recovered:
        return 0, 0
    server = tasks_by_unit(ls, conn, project_id)
    deleted = 0
    for tasks in server.values():
        keep = min(tasks, key=lambda t: (-t["total_annotations"], t["id"]))
        for t in tasks:
            if t is not keep and t["total_annotations"] == 0:
                with api_errors(conn, f"delete duplicate task {t['id']}"):
                    ls.tasks.delete(id=t["id"])
                deleted += 1
    book.tasks = {u: min(ts, key=lambda t: (-t["total_annotations"], t["id"]))["id"]
                  for u, ts in server.items()}
    book.pending = []
    book.save()
    return recovered, deleted
