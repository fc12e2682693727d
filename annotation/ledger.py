"""The push ledger: which unit went to which Label Studio task, kept on the local disk.

Label Studio has no upsert and no unique key of ours, reuses task ids after deletes, and a
retried import POST creates the tasks twice, so the ledger is what makes a push idempotent and
resumable. Before each import batch its unit ids are recorded as *pending*; after the server
answers, their task ids replace them. A pending entry left by a crash means "maybe imported":
the next push asks the server which of those units exist (by ``data.unit_id``) before importing
anything. Every save is an atomic rename, so a kill leaves the previous or the next version.

A ledger belongs to one project on one server, known by its identity
(:func:`annotation.connection.server_identity`), not by the spelling of its URL. A version-1
ledger (keyed by URL) is read when its URL names the same address (``localhost`` and
``127.0.0.1`` alike) and is rewritten as version 2 at the next save.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from schemas.errors import AnnotationError
from schemas.io import write_json

VERSION = 2
_LOOPBACK = {"localhost", "127.0.0.1", "::1", "[::1]", "0.0.0.0"}


def same_address(a: str, b: str) -> bool:
    """True when two URLs name the same server address (loopback spellings alike).

    Examples
    --------
    >>> same_address("http://localhost:8080/", "http://127.0.0.1:8080")
    True
    >>> same_address("http://127.0.0.1:8080", "http://127.0.0.1:8081")
    False
    """
    def norm(url: str) -> tuple:
        u = urlsplit(url.strip().rstrip("/"))
        host = (u.hostname or "").lower()
        port = u.port or {"http": 80, "https": 443}.get(u.scheme)
        return ("loopback" if host in _LOOPBACK else host, port, u.path.rstrip("/"))

    return norm(a) == norm(b)


@dataclass
class Ledger:
    """``unit_id → task_id`` of one project on one server, the units in flight, and the day
    (ISO date) each unit was assigned, which the exposure budget counts."""

    path: Path
    server: str
    project: str
    url: str = ""
    project_id: int | None = None
    stage: str = "review"
    tasks: dict[str, int] = field(default_factory=dict)
    pending: list[str] = field(default_factory=list)
    assigned: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | os.PathLike, server: str, project: str, url: str = "") -> Ledger:
        """The ledger at ``path`` of ``project`` on the server of identity ``server`` (now at
        ``url``), or an empty one when there is none yet."""
        path = Path(path)
        if not path.exists():
            return cls(path, server, project, url)
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
            if d.get("version") not in (1, VERSION):
                raise ValueError(f"version {d.get('version')}")
            old_url = str(d.get("url") or "")
            # version 1 was keyed by URL: the same address is the same server
            mine = same_address(old_url, url) if d["version"] == 1 else d["server"] == server
            out = cls(path, server if mine else str(d.get("server") or "?"), d["project"], url,
                      d.get("project_id"), d.get("stage", "review"),
                      {str(k): int(v) for k, v in d["tasks"].items()},
                      [str(u) for u in d.get("pending", [])],
                      {str(k): str(v) for k, v in (d.get("assigned") or {}).items()})
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise AnnotationError(f"{path}: unreadable push ledger ({exc}); move it away and "
                                  f"push again (the server is asked which units it holds)"
                                  ) from None
        if not mine or out.project != project:
            where = "this server" if mine else f"another server (last seen at {old_url})"
            raise AnnotationError(f"{path}: this ledger belongs to project {out.project!r} on "
                                  f"{where}, not {project!r} on {url}; pass --ledger")
        return out

    def rebind(self, project_id: int) -> None:
        """Point the ledger at ``project_id``; entries of another project id are stale."""
        if self.project_id is not None and self.project_id != project_id:
            self.tasks, self.pending = {}, []
        self.project_id = project_id

    def save(self) -> None:
        write_json(self.path, {"version": VERSION, "server": self.server, "url": self.url,
                               "project": self.project,
                               "project_id": self.project_id, "stage": self.stage,
                               "tasks": self.tasks, "pending": self.pending,
                               "assigned": self.assigned})

    def begin(self, unit_ids: list[str]) -> None:
        """Record ``unit_ids`` as in flight (call before their import POST)."""
        self.pending = list(unit_ids)
        self.save()

    def commit(self, unit_ids: list[str], task_ids: list[int], day: str = "") -> None:
        """Record the task ids the server gave ``unit_ids`` (assigned on ``day``, an ISO date)
        and clear the in-flight list."""
        if len(unit_ids) != len(task_ids):
            raise AnnotationError(f"Label Studio returned {len(task_ids)} task ids for "
                                  f"{len(unit_ids)} imported tasks; push again to reconcile")
        self.tasks.update(zip(unit_ids, (int(t) for t in task_ids), strict=True))
        if day:
            self.assigned.update(dict.fromkeys(unit_ids, day))
        self.pending = []
        self.save()

    def settle(self, found: dict[str, int], day: str = "") -> None:
        """Resolve the in-flight units with what the server holds (others were not imported);
        the found ones count as assigned on ``day``."""
        self.tasks.update(found)
        if day:
            self.assigned.update(dict.fromkeys(found, day))
        self.pending = []
        self.save()
