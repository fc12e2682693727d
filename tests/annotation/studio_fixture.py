"""A real Label Studio for tests: started on a free loopback port with its data in a temporary
folder, and annotator accounts that sign up through the web form and label through the HTTP API,
as people would. Importable by any test package (e.g. an end-to-end demo test)::

    from tests.annotation.studio_fixture import Studio
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from annotation import server
from annotation.accounts import signup
from annotation.connection import Connection

START_TIMEOUT = 420.0  # first start runs migrations: ~40 s on 2 idle cores, more when busy


@dataclass
class Studio:
    """A running test server: its folder, port, admin connection and annotators."""

    directory: Path
    port: int
    conn: Connection | None = None
    annotators: dict[str, Connection] = field(default_factory=dict)

    @classmethod
    def start(cls, directory: str | os.PathLike) -> Studio:
        studio = cls(Path(directory), server.free_port())
        studio.restart()
        return studio

    @property
    def url(self) -> str:
        return f"http://{server.HOST}:{self.port}"

    def restart(self) -> None:
        """Start (again) on the same port and data: restarts keep users, tokens and tasks."""
        self.conn = server.start(self.directory, port=self.port, timeout=START_TIMEOUT)

    def kill(self) -> None:
        """SIGKILL the server, as a crash would."""
        server.kill(self.directory)

    def stop(self) -> None:
        server.stop(self.directory)

    def env(self) -> dict[str, str]:
        """Environment that points the CLI at this server."""
        return {"LABEL_STUDIO_URL": self.conn.url, "LABEL_STUDIO_API_KEY": self.conn.api_key}

    def annotator(self, name: str) -> Connection:
        """The connection of annotator ``name`` (signed up on first use)."""
        if name not in self.annotators:
            self.annotators[name] = signup(self.conn, f"{name}@annotators.test",
                                           f"pw-{name}-2026!x")
        return self.annotators[name]
