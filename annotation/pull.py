"""``pull``: every annotation of one or more Label Studio projects into the local labels table.

One export request per project (the export API, not task paging, which is slow) brings every
annotation of every task. Each becomes one row of the labels table (DESIGN §3): the task's
``data.unit_id``, the annotation id, a keyed pseudonym of the annotator, timestamps, lead time,
``skipped`` (cancelled in Label Studio) and the flattened label fields. The table is
append-only: a version already held (same annotation id and ``updated_at``) is not added again,
an edited annotation adds its new version, and rows whose annotation or task was deleted on the
server are kept. The file is replaced atomically, only after every project was read. A review
project's expert queue (``<title>-expert``, see ``curate push --expert-from``) is read with it.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa

from schemas.errors import AnnotationError, SchemaError
from schemas.io import read_parquet, write_table
from schemas.labels import category_columns
from schemas.validate import validate

from .connection import Connection, api_errors, check, client, resolve, studio_dir
from .projects import find_project, require_project, stage_of
from .pseudonym import load_key, pseudonymize
from .templates import parse_result

KEY = ["annotation_id", "updated_at"]
EXPERT_SUFFIX = "-expert"


@dataclass(frozen=True)
class PullResult:
    """What a pull did: rows before, rows added (new annotations and new versions), skipped."""

    path: Path
    before: int
    added: int
    edits: int
    tasks_without_unit: int
    projects: tuple[str, ...] = ()

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
    if isinstance(completed_by, dict):
        completed_by = completed_by.get("email") or completed_by.get("id")
    return pseudonymize(f"user:{completed_by}", key, "a_")


def export_rows(export: list[dict], project: str, stage: str, categories: list[str],
                key: bytes) -> tuple[list[dict], int]:
    """Label rows of a Label Studio JSON export; also the number of annotated tasks without a
    ``data.unit_id`` (not ours, left out)."""
    rows, stray = [], 0
    for task in export:
        annotations = task.get("annotations") or []
        unit = (task.get("data") or {}).get("unit_id")
        if unit is None:
            stray += bool(annotations)
            continue
        for a in annotations:
            lead = a.get("lead_time")
            rows.append({
                "unit_id": str(unit), "annotation_id": int(a["id"]),
                "annotator": _annotator(a.get("completed_by"), key),
                "created_at": _time(a.get("created_at")),
                "updated_at": _time(a.get("updated_at") or a.get("created_at")),
                "lead_time_s": float(lead) if lead is not None else None,
                "project": project, "stage": stage, "task_id": int(task["id"]),
                "skipped": bool(a.get("was_cancelled")),
                **parse_result(a.get("result"), categories),
            })
    return rows, stray


def _frame(rows: list[dict], categories: list[str]) -> pd.DataFrame:
    cols = ["unit_id", "annotation_id", "annotator", "created_at", "updated_at", "lead_time_s",
            "project", "stage", "task_id", "skipped", "sensitive", *category_columns(categories),
            "severity", "unsure", "note"]
    frame = pd.DataFrame(rows, columns=cols)
    frame["severity"] = frame["severity"].astype("Int64")
    frame["lead_time_s"] = frame["lead_time_s"].astype("float64")
    for c in ("created_at", "updated_at"):
        frame[c] = pd.to_datetime(frame[c], utc=True)
    for c in ("skipped", "sensitive", "unsure", *category_columns(categories)):
        frame[c] = frame[c].astype(bool)
    frame["note"] = frame["note"].astype("string")
    return frame


def merge(existing: pd.DataFrame | None, new: pd.DataFrame) -> tuple[pd.DataFrame, int, int]:
    """Existing rows, then the new versions not held yet; returns (table, added, edits)."""
    if existing is None or existing.empty:
        fresh = new.drop_duplicates(KEY)
        return fresh.reset_index(drop=True), len(fresh), 0
    held = pd.MultiIndex.from_frame(existing[KEY])
    fresh = new[~pd.MultiIndex.from_frame(new[KEY]).isin(held)].drop_duplicates(KEY)
    edits = int(fresh["annotation_id"].isin(existing["annotation_id"]).sum())
    for c in set(fresh.columns) - set(existing.columns):  # a category added later
        existing = existing.assign(**{c: False if c.startswith("cat_") else None})
    out = pd.concat([existing, fresh.reindex(columns=existing.columns.union(
        fresh.columns, sort=False))], ignore_index=True)
    return out, len(fresh), edits


def _read_existing(path: Path) -> pd.DataFrame | None:
    if not path.exists():
        return None
    table = validate(read_parquet(path), "labels", source=str(path))
    return table.to_pandas()


def export_tasks(ls, conn: Connection, project, timeout: float = 600.0) -> list[dict]:
    """Every annotated task of ``project`` with all its annotations (one JSON export)."""
    with api_errors(conn, f"export the annotations of {project.title!r}"):
        raw = b"".join(ls.projects.exports.download_sync(
            project.id, export_type="JSON", download_all_tasks=False,
            download_resources=False, request_options={"timeout": timeout, "max_retries": 1}))
    try:
        return json.loads(raw)
    except ValueError:
        raise AnnotationError(f"Label Studio at {conn.url} sent an unreadable export of "
                              f"{project.title!r}") from None


def expert_title(review_project: str) -> str:
    """The title of a review project's expert queue, which pull reads with it."""
    return f"{review_project}{EXPERT_SUFFIX}"


def pull(projects: list[str] | str, output: str | os.PathLike, *,
         conn: Connection | None = None, directory: str | os.PathLike | None = None,
         timeout: float = 600.0, with_expert: bool = True) -> PullResult:
    """Append the annotations of ``projects`` not yet in ``output`` (a labels Parquet file).

    With ``with_expert``, the expert queue of each project (titled :func:`expert_title`) is
    read too when it exists.
    """
    projects = [projects] if isinstance(projects, str) else list(projects)
    output = Path(output)
    if output.suffix != ".parquet":
        raise SchemaError("labels are written as Parquet: give an output ending in .parquet",
                          source=str(output))
    existing = _read_existing(output)
    key = load_key(studio_dir(directory) / "pseudonym.key")
    conn = conn or resolve(directory)
    check(conn)
    ls = client(conn, timeout=timeout)
    found = [require_project(ls, conn, title) for title in projects]
    if with_expert:
        for title in projects:
            expert = find_project(ls, conn, expert_title(title))
            if expert is not None and expert.title not in projects \
                    and stage_of(expert) == "expert":
                found.append(expert)
    frames, stray = [], 0
    for project in found:
        title = project.title
        categories = project_categories(project.label_config)
        export = export_tasks(ls, conn, project, timeout)
        rows, n = export_rows(export, title, stage_of(project), categories, key)
        stray += n
        frames.append(_frame(rows, categories))
    new = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    table, added, edits = merge(existing, new)
    table = table.sort_values(["project", "unit_id", "annotation_id", "updated_at"],
                              kind="stable", ignore_index=True) if added else table
    arrow = pa.Table.from_pandas(table, preserve_index=False)
    validate(arrow, "labels", source=str(output))
    if added or existing is None:
        write_table(output, arrow)
    return PullResult(output, 0 if existing is None else len(existing), added, edits, stray,
                      tuple(p.title for p in found))
