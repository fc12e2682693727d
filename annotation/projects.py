"""Label Studio projects by title, and the tasks of a project by our key ``data.unit_id``.

A project's stage (``review`` for annotators, ``expert`` for the adjudication queue) is written
in its description, so a pull on any machine knows which it reads. Tasks are found by
``data.unit_id`` with a Data Manager filter, never by Label Studio's task ids, which SQLite
reuses after deletes.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict

from schemas.errors import AnnotationError
from schemas.labels import STAGES

from .connection import Connection, api_errors

_MARK = "[audit-curation stage={}]"
LOOKUP_CHUNK = 1000


def stage_of(project) -> str:
    """``expert`` when the project's description carries the expert mark, else ``review``."""
    return "expert" if _MARK.format("expert") in (project.description or "") else "review"


def find_project(ls, conn: Connection, title: str):
    """The project titled exactly ``title``, or None."""
    with api_errors(conn, f"look up project {title!r}"):
        for p in ls.projects.list(title=title, page_size=100):
            if p.title == title:
                return p
    return None


def queue_projects(ls, conn: Connection, title: str) -> list:
    """The annotator queues of ``title`` (:func:`annotation.queues.queue_title`), in order."""
    from .queues import queue_index

    with api_errors(conn, f"list the annotator queues of {title!r}"):
        found = [(queue_index(p.title, title), p) for p in ls.projects.list(page_size=100)]
    return [p for i, p in sorted((i, p) for i, p in found if i is not None)
            if stage_of(p) == "review"]


def require_project(ls, conn: Connection, title: str):
    """The project titled ``title``; AnnotationError naming the known ones when there is none."""
    project = find_project(ls, conn, title)
    if project is None:
        with api_errors(conn, "list projects"):
            known = sorted(p.title for p in ls.projects.list(page_size=100))
        raise AnnotationError(f"no project {title!r} on {conn.url} (known: {known[:10]}); "
                              f"push a sample to it first with `curate push`")
    return project


def ensure_project(ls, conn: Connection, title: str, label_config: str, stage: str,
                   annotators: int | None, overlap: float | None):
    """The project titled ``title``, created with ``label_config`` when missing.

    Returns ``(project, created)``. ``annotators`` (k) and ``overlap`` (share of tasks labeled
    by k annotators; the rest by one) set Label Studio's ``maximum_annotations`` and
    ``overlap_cohort_percentage``; on an existing project they are updated only when given.
    Empty annotations are refused (``enable_empty_annotation`` off, set on every push): with the
    content never revealed, the required decision is hidden and Label Studio would not check it.
    """
    if stage not in STAGES:
        raise AnnotationError(f"unknown stage {stage!r}; expected one of {list(STAGES)}")
    if len(title) < 3:
        raise AnnotationError(f"project title {title!r} is too short (3 characters or more)")
    settings: dict = {"enable_empty_annotation": False}  # an empty submit is refused
    if annotators is not None:
        settings["maximum_annotations"] = int(annotators)
    if overlap is not None:
        settings["overlap_cohort_percentage"] = int(round(100 * float(overlap)))
    project = find_project(ls, conn, title)
    if project is not None:
        if stage_of(project) != stage:
            raise AnnotationError(f"project {title!r} is a {stage_of(project)} project, not "
                                  f"{stage}; use another --project")
        if settings:
            with api_errors(conn, f"update project {title!r}"):
                project = ls.projects.update(id=project.id, **settings)
        return project, False
    description = (_MARK.format(stage) + (" Expert adjudication of units the annotators did "
                                          "not agree on." if stage == "expert" else
                                          " Sensitive-content review of an audit sample."))
    with api_errors(conn, f"create project {title!r}"):
        project = ls.projects.create(
            title=title, label_config=label_config, description=description,
            show_skip_button=True, enable_empty_annotation=False,
            maximum_annotations=settings.get("maximum_annotations", 1),
            overlap_cohort_percentage=settings.get("overlap_cohort_percentage", 100),
            expert_instruction="<p>Read the content warning first. Choose every category that "
                               "applies and a severity; mark <b>Unsure / needs expert</b> rather "
                               "than guess. Skip any item you do not want to see.</p>",
            show_instruction=True)
    return project, True


def tasks_by_unit(ls, conn: Connection, project_id: int, unit_ids: list[str] | None = None
                  ) -> dict[str, list[dict]]:
    """``unit_id → [{id, total_annotations}, ...]`` of the project's tasks (all tasks when
    ``unit_ids`` is None, else only those units, queried in chunks with an ``in_list`` filter).
    """
    from label_studio_sdk.data_manager import Column, Filters, Operator, Type

    out: dict[str, list[dict]] = defaultdict(list)
    chunks = [None] if unit_ids is None else [
        unit_ids[i:i + LOOKUP_CHUNK] for i in range(0, len(unit_ids), LOOKUP_CHUNK)]
    with api_errors(conn, "find the project's tasks by unit_id"):
        for chunk in chunks:
            if chunk is not None and not chunk:
                continue
            query = None if chunk is None else json.dumps({"filters": Filters.create(
                Filters.AND, [Filters.item(Column.data("unit_id"), Operator.IN_LIST,
                                           Type.String, list(chunk))])})
            pager = ls.tasks.list(project=project_id, query=query, fields="task_only",
                                  include="id,data,total_annotations", page_size=5000)
            for task in pager:
                unit = (task.data or {}).get("unit_id")
                if unit is not None:
                    out[str(unit)].append({"id": int(task.id), "total_annotations":
                                           int(getattr(task, "total_annotations", 0) or 0)})
    return dict(out)


def slug(title: str) -> str:
    """A file-name-safe form of a project title."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", title).strip("_") or "project"
