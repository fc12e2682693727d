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
from pathlib import Path

import pyarrow as pa
from tqdm import tqdm

from schemas.errors import AnnotationError
from schemas.io import read_parquet, write_parquet
from schemas.labels import DEFAULT_CATEGORIES
from schemas.validate import validate

from .connection import Connection, api_errors, check, client, resolve, server_identity, studio_dir
from .gold import mix_gold
from .ledger import Ledger
from .projects import ensure_project, slug, tasks_by_unit
from .pseudonym import load_key
from .tasks import build_tasks, sample_kind
from .templates import render

DEFAULT_BATCH = 1000


@dataclass(frozen=True)
class PushResult:
    """What a push did: the project, units in the sample, tasks imported now, units found."""

    project: str
    project_id: int
    created: bool
    units: int
    imported: int
    already: int
    recovered: int
    duplicates_deleted: int
    ledger: Path
    gold: int = 0
    gold_truth: Path | None = None


def ledger_path(project: str, directory: str | os.PathLike | None = None) -> Path:
    """Default ledger file of a project: ``<studio dir>/ledgers/<project>.json``."""
    return studio_dir(directory) / "ledgers" / f"{slug(project)}.json"


def gold_truth_path(project: str, directory: str | os.PathLike | None = None) -> Path:
    """Where a push keeps the truth of the gold units it mixed in: ``<studio dir>/gold/``."""
    return studio_dir(directory) / "gold" / f"{slug(project)}.parquet"


def progress_disabled() -> bool | None:
    """tqdm's ``disable``: quiet without a TTY (None) and whenever ``CI`` is set."""
    return True if os.environ.get("CI") else None


def push(sample_path: str | os.PathLike, project: str, *, conn: Connection | None = None,
         template: str | None = None, catalogue_path: str | os.PathLike | None = None,
         categories: tuple[str, ...] | list[str] = DEFAULT_CATEGORIES,
         annotators: int | None = None, overlap: float | None = None, predictions: bool = False,
         batch_size: int = DEFAULT_BATCH, ledger: str | os.PathLike | None = None,
         stage: str = "review", units: list[str] | None = None,
         review: dict[str, str] | None = None,
         directory: str | os.PathLike | None = None,
         gold_path: str | os.PathLike | None = None, gold_rate: float = 0.05,
         gold_seed: int = 0) -> PushResult:
    """Push the sample at ``sample_path`` to project ``project`` (created when missing).

    Everything that can fail on the local side (sample contract, catalogue join, config) is
    checked before the server is contacted; the server, key and project are checked before the
    ledger is written. ``units`` restricts the push to those unit ids (the expert queue) and
    ``review`` adds to their tasks what the annotators answered (see :func:`expert_queue`).
    ``gold_path`` (known-answer units, :func:`~annotation.gold.mix_gold`) mixes gold tasks into
    the queue at ``gold_rate``; their truth is written to :func:`gold_truth_path` before any
    task leaves the machine, and never sent.
    """
    sample = validate(read_parquet(sample_path), "sample", source=str(sample_path))
    if units is not None:
        import pyarrow.compute as pc

        sample = sample.filter(pc.is_in(sample.column("unit_id"), value_set=_array(units)))
    catalogue = None
    if catalogue_path is not None:
        catalogue = validate(read_parquet(catalogue_path), "catalogue",
                             source=str(catalogue_path))
    key = load_key(studio_dir(directory) / "pseudonym.key")
    tasks = build_tasks(sample, key, catalogue=catalogue, predictions=predictions,
                        source=str(sample_path))
    for task in tasks if review else ():
        task["data"]["review"] = review.get(task["data"]["unit_id"], "")
    truth = None
    if gold_path is not None:
        if units is not None or review:
            raise AnnotationError("gold units go to the review queue, not the expert queue")
        tasks, truth = mix_gold(tasks, read_parquet(gold_path).to_pandas(), gold_rate,
                                gold_seed, source=str(gold_path))
    config = render(template or sample_kind(sample.column_names), categories,
                    audio=any("audio_url" in t["data"] for t in tasks), expert=bool(review))
    conn = conn or resolve(directory)
    check(conn)
    ls = client(conn, timeout=300.0)
    book = Ledger.load(ledger or ledger_path(project, directory), server_identity(ls, conn),
                       project, url=conn.url)
    truth_path = None
    if truth is not None:
        truth_path = gold_truth_path(project, directory)
        truth_path.parent.mkdir(parents=True, exist_ok=True)
        write_parquet(truth_path, pa.Table.from_pandas(truth, preserve_index=False))
    proj, created = ensure_project(ls, conn, project, config, stage, annotators, overlap)
    book.rebind(int(proj.id))
    book.stage = stage
    recovered, dup_deleted = _reconcile(ls, conn, book, int(proj.id))
    todo = [t for t in tasks if t["data"]["unit_id"] not in book.tasks]
    imported = 0
    with tqdm(total=len(todo), unit="task", desc=f"push {project}",
              disable=progress_disabled()) as bar:
        for i in range(0, len(todo), batch_size):
            batch = todo[i:i + batch_size]
            ids = [t["data"]["unit_id"] for t in batch]
            book.begin(ids)
            with api_errors(conn, f"import {len(batch)} tasks into {project!r}"):
                r = ls.projects.import_tasks(id=proj.id, request=batch, return_task_ids=True,
                                             request_options={"max_retries": 0,
                                                              "timeout": 600})
            book.commit(ids, list(r.task_ids or []))
            imported += len(batch)
            bar.update(len(batch))
    return PushResult(project, int(proj.id), created, len(tasks), imported,
                      len(tasks) - len(todo), recovered, dup_deleted, book.path,
                      0 if truth is None else len(truth), truth_path)


def _array(values: list[str]):
    import pyarrow as pa

    return pa.array([str(v) for v in values], pa.string())


def _reconcile(ls, conn: Connection, book: Ledger, project_id: int) -> tuple[int, int]:
    """Bring the ledger in line with the server; returns (units recovered, duplicates deleted)."""
    recovered = 0
    if book.pending:
        found = tasks_by_unit(ls, conn, project_id, book.pending)
        recovered = len(found)
        book.settle({u: min(t["id"] for t in ts) for u, ts in found.items()})
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
