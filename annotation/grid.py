"""A task grid that shows no content: what an annotator sees first is the content warning.

Label Studio's Data Manager (the first page of a project) lists every task with a column for
each data field (title, description, context) and for who answered what. The columns a view
shows are stored on the server, per project and shared by everyone, so after each push every
view of the project (and a first one when there is none) hides all columns but the task id, the
opaque ``unit_id`` and the completion counts. Content then appears only inside a task, behind
its warning and the "Show the content" choice. An annotator can still un-hide a column from the
Columns menu: the Community edition has no permission to stop that (README).
"""

from __future__ import annotations

import requests

from schemas.errors import AnnotationError

from .connection import Connection

SHOWN = ("tasks:id", "tasks:data.unit_id", "tasks:completed_at", "tasks:total_annotations",
         "tasks:cancelled_annotations")
VIEW_TITLE = "Queue"


def _column_ids(columns: list[dict]) -> list[str]:
    """Data Manager column ids (``tasks:data.title``) of the ``/api/dm/columns`` answer."""
    out = []
    for c in columns:
        if c.get("target", "tasks") != "tasks":
            continue
        parent = c.get("parent")
        out.append(f"tasks:{parent + '.' if parent else ''}{c['id']}")
    return out


def hidden_columns(columns: list[dict]) -> list[str]:
    """Every column but :data:`SHOWN`.

    Examples
    --------
    >>> hidden_columns([{"id": "title", "parent": "data", "target": "tasks"},
    ...                 {"id": "unit_id", "parent": "data", "target": "tasks"},
    ...                 {"id": "annotators", "parent": None, "target": "tasks"}])
    ['tasks:data.title', 'tasks:annotators']
    """
    return [c for c in _column_ids(columns) if c not in SHOWN]


def blind_grid(conn: Connection, project_id: int, timeout: float = 60.0) -> int:
    """Hide every content and answer column in every Data Manager view of the project (one is
    made when there is none); returns the number of views set."""
    base = conn.url.rstrip("/")
    headers = {"Authorization": f"Token {conn.api_key}"}
    try:
        with requests.Session() as http:
            http.headers.update(headers)
            got = http.get(f"{base}/api/dm/columns", params={"project": project_id},
                           timeout=timeout)
            got.raise_for_status()
            hide = hidden_columns(got.json().get("columns", []))
            views = http.get(f"{base}/api/dm/views", params={"project": project_id},
                             timeout=timeout)
            views.raise_for_status()
            existing = views.json()
            if not existing:
                made = http.post(f"{base}/api/dm/views", timeout=timeout, json={
                    "project": project_id, "data": {"title": VIEW_TITLE, "type": "list",
                                                    "target": "tasks"}})
                made.raise_for_status()
                existing = [made.json()]
            for view in existing:
                data = dict(view.get("data") or {})
                data["hiddenColumns"] = {"explore": hide, "labeling": hide}
                put = http.patch(f"{base}/api/dm/views/{view['id']}", timeout=timeout,
                               json={"project": project_id, "data": data})
                put.raise_for_status()
    except (requests.RequestException, ValueError, KeyError) as exc:
        raise AnnotationError(f"could not hide the task grid's content columns of project "
                              f"{project_id} at {conn.url} ({type(exc).__name__}); push again"
                              ) from None
    return len(existing)
