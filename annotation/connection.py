"""Where the Label Studio server is and how to talk to it, with failures as AnnotationError.

The URL and API key come from ``LABEL_STUDIO_URL`` and ``LABEL_STUDIO_API_KEY`` when both are
set, else from the mode-600 connection file that ``curate studio up`` writes
(``<studio dir>/connection.json``; the studio dir is ``$AUDIT_CURATION_STUDIO_DIR`` or
``.studio``). The key is never part of a message, a log line or a repr.

A server is known by :func:`server_identity` (its organization, hashed), not by the spelling of
its URL: ``localhost`` and ``127.0.0.1`` are the same server, a fresh server on the same port
is another.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from schemas.errors import AnnotationError
from schemas.io import write_json

DEFAULT_STUDIO_DIR = ".studio"


@dataclass(frozen=True)
class Connection:
    """A server URL and its API key (hidden from repr)."""

    url: str
    api_key: str = field(repr=False)


def studio_dir(path: str | os.PathLike | None = None) -> Path:
    """The folder of the local server's data, connection file, ledgers and pseudonym key."""
    if path is not None:
        return Path(path)
    return Path(os.environ.get("AUDIT_CURATION_STUDIO_DIR") or DEFAULT_STUDIO_DIR)


def connection_file(directory: str | os.PathLike | None = None) -> Path:
    return studio_dir(directory) / "connection.json"


def write_connection(path: str | os.PathLike, details: dict) -> None:
    """Atomically write the connection details with mode 600 (they hold secrets)."""
    write_json(path, details, mode=0o600)


def read_connection_file(path: str | os.PathLike) -> dict:
    """The details in a connection file: a JSON object whose ``url`` and ``api_key`` are
    non-empty strings. Refuses files readable by others and names what is wrong (never the
    key itself)."""
    path = Path(path)
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError as exc:
        raise AnnotationError(f"{path}: cannot read the connection file ({exc.strerror}); run "
                              f"`curate studio up` again") from None
    if not path.is_file():
        raise AnnotationError(f"{path}: the connection file is not a regular file")
    if mode & 0o077:
        raise AnnotationError(f"{path}: connection file is readable by others (mode "
                              f"{mode:o}); run `chmod 600 {path}`")
    try:
        details = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise AnnotationError(f"{path}: unreadable connection file ({type(exc).__name__}); "
                              f"run `curate studio up` again") from None
    if not isinstance(details, dict):
        raise AnnotationError(f"{path}: a connection file is a JSON object with 'url' and "
                              f"'api_key', not a {type(details).__name__}; run `curate studio "
                              f"up` again")
    for name in ("url", "api_key"):
        value = details.get(name)
        if not isinstance(value, str) or not value.strip():
            got = "missing" if name not in details else \
                ("empty" if isinstance(value, str) else f"a {type(value).__name__}, not text")
            raise AnnotationError(f"{path}: the connection file's {name!r} is {got}; run "
                                  f"`curate studio up` again, or set LABEL_STUDIO_URL and "
                                  f"LABEL_STUDIO_API_KEY")
    return details


def resolve(directory: str | os.PathLike | None = None) -> Connection:
    """The connection from the environment, else from the connection file."""
    url, key = os.environ.get("LABEL_STUDIO_URL"), os.environ.get("LABEL_STUDIO_API_KEY")
    if url and key:
        return Connection(url.rstrip("/"), key)
    path = connection_file(directory)
    if not path.exists():
        raise AnnotationError("no Label Studio configured: set LABEL_STUDIO_URL and "
                              "LABEL_STUDIO_API_KEY, or start a local one with `curate studio "
                              f"up` (no {path})")
    details = read_connection_file(path)
    return Connection(details["url"].strip().rstrip("/"), details["api_key"].strip())


def client(conn: Connection, timeout: float = 120.0):
    """A label-studio-sdk client for ``conn`` (base_url and api_key always explicit)."""
    from label_studio_sdk import LabelStudio

    return LabelStudio(base_url=conn.url, api_key=conn.api_key, timeout=timeout)


def _detail(body) -> str:
    if isinstance(body, dict):
        body = body.get("detail") or body.get("validation_errors") or body
    text = " ".join(str(body).split())
    return text[:200]


@contextlib.contextmanager
def api_errors(conn: Connection, what: str) -> Iterator[None]:
    """Turn connection failures and HTTP errors of the block into a one-line AnnotationError."""
    import httpx
    from label_studio_sdk.core.api_error import ApiError

    try:
        yield
    except httpx.ConnectError as exc:
        reason = str(exc).split("] ")[-1] or "connection refused"
        raise AnnotationError(f"cannot reach Label Studio at {conn.url} ({reason}) while trying "
                              f"to {what}: start it with `curate studio up` or check "
                              f"LABEL_STUDIO_URL") from None
    except httpx.TransportError as exc:
        raise AnnotationError(f"lost Label Studio at {conn.url} while trying to {what} "
                              f"({type(exc).__name__}); run the command again") from None
    except ApiError as exc:
        code = exc.status_code
        if code in (401, 403):
            raise AnnotationError(f"Label Studio at {conn.url} refused the API key (HTTP {code}) "
                                  f"while trying to {what}: check LABEL_STUDIO_API_KEY or the "
                                  f"connection file") from None
        raise AnnotationError(f"Label Studio at {conn.url} answered HTTP {code} while trying to "
                              f"{what}: {_detail(exc.body)}") from None


def check(conn: Connection) -> dict:
    """Who the key belongs to (fails early and clearly on a wrong URL or key)."""
    ls = client(conn, timeout=30.0)
    with api_errors(conn, "check the API key"):
        me = ls.users.whoami(request_options={"max_retries": 0})
    return {"id": me.id, "email": me.email}


def server_identity(target, conn: Connection | None = None) -> str:
    """A stable identity of a Label Studio server: ``ls-`` and a hash of its organization's id
    and creation time. The same for every URL spelling of the server, another for a fresh one.

    ``target`` is a :class:`Connection` or a label-studio-sdk client (then pass ``conn`` for
    error messages).
    """
    if isinstance(target, Connection):
        conn, ls = target, client(target, timeout=30.0)
    else:
        ls = target
    guard = api_errors(conn, "identify the server (its organization)") if conn \
        else contextlib.nullcontext()
    with guard:
        org_id = ls.users.whoami(request_options={"max_retries": 1}).active_organization
        if org_id is None:
            org_id = ls.organizations.list()[0].id
        org = ls.organizations.get(id=org_id)
    created = org.created_at.isoformat() if hasattr(org.created_at, "isoformat") \
        else str(org.created_at)
    return "ls-" + hashlib.sha256(f"{org.id}|{created}".encode()).hexdigest()[:16]
