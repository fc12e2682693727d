"""``pull``: every annotation of one or more Label Studio projects into the local labels table.

The annotated tasks of each project are listed with their annotations through the tasks API
(filtered to tasks with an annotation). The export API is not used: every export leaves files on
the server that no API deletes. Each annotation becomes one row of the labels table (DESIGN §3):
the server's identity, the task's ``data.unit_id``, the annotation id, a keyed pseudonym of the
annotator, timestamps, lead time, ``planned_votes`` (the task's overlap on the server, or for
annotator queues the number of queues holding the unit),
``skipped`` (cancelled in Label Studio) and the flattened label fields; ``sensitive`` is null
when the annotation has no decision (no vote). The table is append-only: a version already held
(same server, project, annotation id and ``updated_at``) is not added again, an edited
annotation adds its new version, and rows whose annotation or task was deleted on the server are
kept. Rows of a file pulled before the server was recorded are given the server's identity when
the same annotation (project, id, unit) comes back from it. The file is replaced atomically, only
after every project was read; a pull before any annotation writes an empty, valid labels file. A
review project's expert queue (``<title>-expert``, see ``curate push --expert-from``) is read
with it, and a title pushed with ``--queues`` reads all its annotator queues.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa

from schemas import storage
from schemas.errors import AnnotationError, SchemaError
from schemas.io import write_table
from schemas.labels import category_columns, no_decision
from schemas.validate import read_labels, validate

from .adjudication import latest_versions
from .connection import Connection, api_errors, check, client, resolve, server_identity, studio_dir
from .projects import find_project, queue_projects, require_project, stage_of, tasks_by_unit
from .pseudonym import load_key, pseudonymize
from .templates import parse_result

KEY = ["server", "project", "annotation_id", "updated_at"]
EXPERT_SUFFIX = "-expert"
PAGE = 1000
_TYPES = {"unit_id": pa.string(), "annotation_id": pa.int64(), "annotator": pa.string(),
          "created_at": pa.timestamp("us", tz="UTC"), "updated_at": pa.timestamp("us", tz="UTC"),
          "lead_time_s": pa.float64(), "server": pa.string(), "project": pa.string(),
          "stage": pa.string(), "task_id": pa.int64(), "planned_votes": pa.int64(),
          "skipped": pa.bool_(), "sensitive": pa.bool_(), "severity": pa.int64(),
          "unsure": pa.bool_(), "note": pa.string()}


@dataclass(frozen=True)
class PullResult:
    """What a pull did: rows before, rows added (new annotations and new versions), tasks
    without a unit, projects read, rows given the server's identity, and latest annotations
    in the file without a decision (no vote)."""

    path: Path
    before: int
    added: int
    edits: int
    tasks_without_unit: int
    projects: tuple[str, ...] = ()
    migrated: int = 0
    no_decision: int = 0

    @property
    def total(self) -> int:
        return self.before + self.added


def project_categories(label_config: str) -> list[str]:
    """The category names (``Choice`` aliases of the ``categories`` control) of a config.

    Examples
    --------
    >>> from annotation.templates import render
    >>> project_categories(render("catalogue", ["violence", "self_harm"]))
    ['violence', 'self_harm']
    """
    try:
        root = ET.fromstring(label_config)
    except ET.ParseError as exc:
        raise AnnotationError(f"the project's labeling config is not valid XML ({exc})") from None
    for node in root.iter("Choices"):
        if node.get("name") == "categories":
            return [c.get("alias") or c.get("value") for c in node.iter("Choice")]
    raise AnnotationError("the project's labeling config has no 'categories' control; "
                          "create it with `curate push`")


def _time(value) -> pd.Timestamp:
    return pd.Timestamp(value).tz_convert("UTC") if value else pd.NaT


def _annotator(completed_by, key: bytes) -> str:
    if isinstance(completed_by, dict):  # an expanded user: its id, as the unexpanded form
        completed_by = completed_by.get("id") or completed_by.get("email")
    return pseudonymize(f"user:{completed_by}", key, "a_")


def export_rows(export: list[dict], project: str, stage: str, categories: list[str],
                key: bytes, server: str | None = None,
                planned: dict[str, int] | None = None) -> tuple[list[dict], int]:
    """Label rows of annotated tasks (Label Studio's task JSON with ``annotations``); also the
    number of annotated tasks without a ``data.unit_id`` (not ours, left out). ``planned``
    (unit → votes) replaces the task's overlap, as for annotator queues, where a unit's votes
    are the queues that hold it."""
    rows, stray = [], 0
    for task in export:
        annotations = task.get("annotations") or []
        unit = (task.get("data") or {}).get("unit_id")
        if unit is None:
            stray += bool(annotations)
            continue
        overlap = task.get("overlap") if planned is None else planned.get(str(unit))
        for a in annotations:
            lead = a.get("lead_time")
            rows.append({
                "unit_id": str(unit), "annotation_id": int(a["id"]),
                "annotator": _annotator(a.get("completed_by"), key),
                "created_at": _time(a.get("created_at")),
                "updated_at": _time(a.get("updated_at") or a.get("created_at")),
                "lead_time_s": float(lead) if lead is not None else None,
                "server": server, "project": project, "stage": stage,
                "task_id": int(task["id"]),
                "planned_votes": int(overlap) if overlap is not None else None,
                "skipped": bool(a.get("was_cancelled")),
                **parse_result(a.get("result"), categories),
            })
    return rows, stray


def _frame(rows: list[dict], categories: list[str]) -> pd.DataFrame:
    cols = ["unit_id", "annotation_id", "annotator", "created_at", "updated_at", "lead_time_s",
            "server", "project", "stage", "task_id", "planned_votes", "skipped", "sensitive",
            *category_columns(categories), "severity", "unsure", "note"]
    frame = pd.DataFrame(rows, columns=cols)
    for c in ("annotation_id", "task_id", "planned_votes", "severity"):
        frame[c] = frame[c].astype("Int64")
    frame["lead_time_s"] = frame["lead_time_s"].astype("float64")
    for c in ("created_at", "updated_at"):
        frame[c] = pd.to_datetime(frame[c], utc=True)
    for c in ("skipped", "unsure", *category_columns(categories)):
        frame[c] = frame[c].astype(bool)
    frame["sensitive"] = frame["sensitive"].astype("boolean")  # null: no decision
    for c in ("unit_id", "annotator", "server", "project", "stage", "note"):
        frame[c] = frame[c].astype("string")
    return frame


def _keys(frame: pd.DataFrame, cols: list[str]) -> pd.MultiIndex:
    """``cols`` of ``frame`` as a MultiIndex, nulls as '' so they compare equal."""
    parts = {c: frame[c].astype(object).where(frame[c].notna(), "") if c != "updated_at"
             else frame[c] for c in cols}
    return pd.MultiIndex.from_frame(pd.DataFrame(parts))


def _adopt(existing: pd.DataFrame, new: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Give rows pulled before ``server`` was recorded the identity of the server that sends
    the same annotation (project, annotation id and unit) back; returns (table, rows given)."""
    existing = existing.copy()
    for c in ("server", "project"):
        if c not in existing:
            existing[c] = pd.Series(pd.NA, index=existing.index, dtype="string")
    missing = existing["server"].isna().to_numpy()
    if not missing.any() or new.empty:
        return existing, 0
    same = ["project", "annotation_id", "unit_id"]
    lookup = new[~_keys(new, same).duplicated()]
    pos = _keys(lookup, same).get_indexer(_keys(existing, same))
    give = missing & (pos >= 0)
    existing["server"] = existing["server"].astype("string")
    existing.loc[give, "server"] = lookup["server"].to_numpy()[pos[give]]
    return existing, int(give.sum())


def merge(existing: pd.DataFrame | None, new: pd.DataFrame) -> tuple[pd.DataFrame, int, int]:
    """Existing rows, then the new versions not held yet; returns (table, added, edits).

    Versions are keyed by :data:`KEY` (server, project, annotation id, ``updated_at``): the
    same annotation id from another server or project is another annotation, never an edit.
    """
    if existing is None or existing.empty:
        fresh = new[~_keys(new, KEY).duplicated()]
        return fresh.reset_index(drop=True), len(fresh), 0
    for c in ("server", "project"):  # files pulled before these were recorded
        if c not in existing:
            existing = existing.assign(**{c: pd.Series(pd.NA, index=existing.index,
                                                       dtype="string")})
    fresh = new[~_keys(new, KEY).isin(_keys(existing, KEY))]
    fresh = fresh[~_keys(fresh, KEY).duplicated()]
    same = ["server", "project", "annotation_id", "unit_id"]
    edits = int(_keys(fresh, same).isin(_keys(existing, same)).sum())
    for c in set(fresh.columns) - set(existing.columns):  # a category added later
        existing = existing.assign(**{c: False if c.startswith("cat_") else None})
    out = pd.concat([existing, fresh.reindex(columns=existing.columns.union(
        fresh.columns, sort=False))], ignore_index=True)
    return out, len(fresh), edits


def _read_existing(path: Path | str) -> pd.DataFrame | None:
    if not storage.exists(path):
        return None
    return read_labels(path)


def _arrow(frame: pd.DataFrame) -> pa.Table:
    """The labels table as Arrow, all-null columns given their contract type."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    for i, f in enumerate(table.schema):
        target = _TYPES.get(f.name, pa.bool_() if f.name.startswith("cat_") else None)
        if target is not None and pa.types.is_null(f.type):
            table = table.set_column(i, f.name, table.column(i).cast(target))
    return table


def _annotated_filter() -> str:
    from label_studio_sdk.data_manager import Column, Filters, Operator, Type

    return json.dumps({"filters": Filters.create(Filters.OR, [
        Filters.item(Column.total_annotations, Operator.GREATER, Type.Number, Filters.value(0)),
        Filters.item(Column.cancelled_annotations, Operator.GREATER, Type.Number,
                     Filters.value(0))])})


def export_tasks(ls, conn: Connection, project, timeout: float = 600.0) -> list[dict]:
    """Every annotated task of ``project`` (``id``, ``data``, ``overlap``) with all its
    annotations, listed through the tasks API: unlike an export, it leaves no file on the
    server."""
    out = []
    with api_errors(conn, f"read the annotations of {project.title!r}"):
        pager = ls.tasks.list(project=project.id, fields="all", query=_annotated_filter(),
                              page_size=PAGE,
                              request_options={"timeout": timeout, "max_retries": 1})
        for task in pager:
            out.append({"id": int(task.id), "data": task.data or {},
                        "overlap": getattr(task, "overlap", None),
                        "annotations": [a if isinstance(a, dict) else a.model_dump()
                                        for a in (task.annotations or [])]})
    return out


def expert_title(review_project: str) -> str:
    """The title of a review project's expert queue, which pull reads with it."""
    return f"{review_project}{EXPERT_SUFFIX}"


def _queue_votes(ls, conn: Connection, group: list) -> list[tuple]:
    """``(queue project, unit → votes planned)`` for the queues of one group: a unit's votes
    are the number of queues holding a task of it."""
    holders: Counter = Counter()
    for project in group:
        holders.update(tasks_by_unit(ls, conn, int(project.id)).keys())
    return [(p, dict(holders)) for p in group]


def pull(projects: list[str] | str, output: str | os.PathLike, *,
         conn: Connection | None = None, directory: str | os.PathLike | None = None,
         timeout: float = 600.0, with_expert: bool = True) -> PullResult:
    """Append the annotations of ``projects`` not yet in ``output`` (a labels Parquet file).

    A title whose annotator queues exist (``curate push --queues``) reads every queue. With
    ``with_expert``, the expert queue of each project (titled :func:`expert_title`) is read
    too when it exists.
    """
    projects = [projects] if isinstance(projects, str) else list(projects)
    output = storage.as_path(output)  # an s3://... output stays a URI
    if storage.suffix(output) != ".parquet":
        raise SchemaError("labels are written as Parquet: give an output ending in .parquet",
                          source=str(output))
    existing = _read_existing(output)
    conn = conn or resolve(directory)
    check(conn)
    ls = client(conn, timeout=timeout)
    found, planned = [], {}
    for title in projects:
        group = queue_projects(ls, conn, title)
        one = find_project(ls, conn, title) if not group else None
        found += group or [one or require_project(ls, conn, title)]
        planned.update({p.title: votes for p, votes in _queue_votes(ls, conn, group)})
    if with_expert:
        for title in projects:
            expert = find_project(ls, conn, expert_title(title))
            if expert is not None and expert.title not in projects \
                    and stage_of(expert) == "expert":
                found.append(expert)
    server = server_identity(ls, conn)
    key = load_key(studio_dir(directory) / "pseudonym.key")  # made only once the server answered
    frames, stray = [], 0
    for project in found:
        title = project.title
        categories = project_categories(project.label_config)
        export = export_tasks(ls, conn, project, timeout)
        rows, n = export_rows(export, title, stage_of(project), categories, key, server,
                              planned.get(title))
        stray += n
        frames.append(_frame(rows, categories))
    new = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    migrated = 0
    if existing is not None:
        existing, migrated = _adopt(existing, new)
    table, added, edits = merge(existing, new)
    table = table.sort_values(["project", "unit_id", "annotation_id", "updated_at"],
                              kind="stable", ignore_index=True) if added else table
    arrow = _arrow(table)
    validate(arrow, "labels", source=str(output))
    if added or migrated or existing is None:
        write_table(output, arrow)
    latest = latest_versions(table)
    return PullResult(output, 0 if existing is None else len(existing), added, edits, stray,
                      tuple(p.title for p in found), migrated,
                      int(no_decision(latest).sum()) if len(latest) else 0)
