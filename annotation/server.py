"""A local Label Studio server: start, stop and status, bound to 127.0.0.1.

``start`` runs ``label-studio start`` headless on one port of the loopback interface with its
SQLite database under ``data_dir``; the admin user, its password and its API token are made on
the first start and kept in the mode-600 ``connection.json`` beside the data (they are passed to
the server through its environment, never on the command line). Label Studio silently moves to
the next port when the asked one is busy, so the port is checked free first and the health check
polls that port only, then proves the server is ours by the token. A pid file lets ``stop`` end
exactly that process. The server's output reaches ``server.log`` (mode 600) only through
:mod:`annotation.logfilter`, which redacts the invite token, API tokens and the admin's
secrets; a log written before that is scrubbed at the next start.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from schemas.errors import AnnotationError
from schemas.io import write_json

from . import logfilter
from .connection import Connection, check, read_connection_file, write_connection

HOST = "127.0.0.1"
DEFAULT_PORT = 8080
ADMIN_EMAIL = "admin@audit-curation.local"


@dataclass(frozen=True)
class ServerStatus:
    """What ``status`` finds: whether the server answers, its URL and pid."""

    up: bool
    url: str | None
    pid: int | None
    data_dir: Path


def free_port() -> int:
    """A port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def port_busy(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((HOST, port)) == 0


def healthy(url: str, timeout: float = 2.0) -> bool:
    """True when ``GET url/health/`` answers ``{"status": "UP"}``."""
    try:
        with urllib.request.urlopen(f"{url}/health/", timeout=timeout) as r:  # noqa: S310
            return json.loads(r.read().decode()).get("status") == "UP"
    except (OSError, ValueError, urllib.error.URLError):
        return False


def _paths(data_dir: Path) -> dict[str, Path]:
    return {"pid": data_dir / "server.pid", "log": data_dir / "server.log",
            "conn": data_dir / "connection.json", "db": data_dir / "ls-data"}


def _alive(pid: int) -> bool:
    """True while ``pid`` runs and is a Label Studio server (a stale pid may be reused)."""
    proc = Path(f"/proc/{pid}/cmdline")
    if Path("/proc/self").exists():
        try:
            if b"label-studio" not in proc.read_bytes():
                return False
        except FileNotFoundError:
            return False
        except OSError:
            pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours counts as gone
        waited, _ = os.waitpid(pid, os.WNOHANG)
        return waited == 0
    except ChildProcessError:
        return True


def _read_pid(data_dir: Path) -> dict | None:
    try:
        return json.loads(_paths(data_dir)["pid"].read_text())
    except (OSError, ValueError):
        return None


def status(data_dir: str | os.PathLike) -> ServerStatus:
    """Whether the server of ``data_dir`` runs and answers its health check."""
    data_dir = Path(data_dir)
    info = _read_pid(data_dir)
    if not info or not _alive(int(info["pid"])):
        return ServerStatus(False, None, None, data_dir)
    url = f"http://{HOST}:{info['port']}"
    return ServerStatus(healthy(url), url, int(info["pid"]), data_dir)


def _executable() -> str:
    here = Path(sys.executable).parent / "label-studio"
    found = str(here) if here.exists() else shutil.which("label-studio")
    if not found:
        raise AnnotationError("the `label-studio` server is not installed: "
                              "pip install 'audit-curation[studio]'")
    return found


def _credentials(conn_path: Path) -> dict:
    if conn_path.exists():
        return read_connection_file(conn_path)
    return {"username": ADMIN_EMAIL, "password": secrets.token_urlsafe(18),
            "api_key": secrets.token_hex(20)}


def start(data_dir: str | os.PathLike, port: int | None = None, timeout: float = 240.0
          ) -> Connection:
    """Start (or find running) the server of ``data_dir`` on ``port`` and return its connection.

    The first start on an empty ``data_dir`` runs the database migrations (about 40 s on two
    cores); later starts take a few seconds. Raises AnnotationError when the port is taken, the
    server exits, or it is not healthy within ``timeout`` seconds.
    """
    data_dir = Path(data_dir).resolve()
    paths = _paths(data_dir)
    running = status(data_dir)
    if running.up:
        details = read_connection_file(paths["conn"])
        return Connection(running.url, details["api_key"])
    if running.pid is None and _read_pid(data_dir):
        paths["pid"].unlink()
    creds = _credentials(paths["conn"])
    port = int(port or creds.get("port") or DEFAULT_PORT)
    if port_busy(port):
        raise AnnotationError(f"port {port} of {HOST} is already in use: choose another with "
                              f"--port (Label Studio would silently move to the next one)")
    url = f"http://{HOST}:{port}"
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "COLLECT_ANALYTICS": "false", "LATEST_VERSION_CHECK": "false",
           "SENTRY_DSN": "", "FRONTEND_SENTRY_DSN": "",  # no error reports to sentry.io
           "LABEL_STUDIO_USERNAME": creds["username"], "LABEL_STUDIO_PASSWORD": creds["password"],
           "LABEL_STUDIO_USER_TOKEN": creds["api_key"], "LABEL_STUDIO_BASE_DATA_DIR":
           str(paths["db"]), "PYTHONUNBUFFERED": "1"}
    for var in ("LABEL_STUDIO_URL", "LABEL_STUDIO_API_KEY"):
        env.pop(var, None)
    cmd = [_executable(), "start", "--no-browser", "--internal-host", HOST, "--port", str(port),
           "--data-dir", str(paths["db"]), "--enable-legacy-api-token", "--log-level", "WARNING"]
    proc = _spawn(cmd, env, paths["log"], (creds["api_key"], creds["password"]))
    write_json(paths["pid"], {"pid": proc.pid, "port": port})
    write_connection(paths["conn"], {**creds, "url": url, "port": port})
    conn = Connection(url, creds["api_key"])
    deadline = time.monotonic() + timeout
    while not healthy(url):
        if proc.poll() is not None:
            paths["pid"].unlink(missing_ok=True)
            raise AnnotationError(f"Label Studio exited with code {proc.returncode} during "
                                  f"start-up; see {paths['log']}")
        if time.monotonic() > deadline:
            stop(data_dir)
            raise AnnotationError(f"Label Studio did not answer {url}/health/ within "
                                  f"{timeout:g} s; see {paths['log']}")
        time.sleep(0.5)
    check(conn)  # the server on this port accepts our token: it is ours
    return conn


def _spawn(cmd: list[str], env: dict, log: Path, secrets: tuple[str, ...]) -> subprocess.Popen:
    """Start the server with its output piped through the redacting log filter into ``log``.

    Both run in sessions of their own (they outlive ``curate studio up``); the filter ends when
    the server and its children have closed the pipe.
    """
    logfilter.scrub(log, secrets)
    read, write = os.pipe()
    try:
        proc = subprocess.Popen(cmd, env=env, stdout=write, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        subprocess.Popen([sys.executable, "-I", logfilter.__file__, str(log)], stdin=read,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True,
                         env={"PATH": os.environ.get("PATH", ""),
                              logfilter.SECRETS_VAR: "\n".join(secrets)})
    finally:
        os.close(read)
        os.close(write)
    return proc


def stop(data_dir: str | os.PathLike, timeout: float = 30.0) -> bool:
    """Stop the server started from ``data_dir`` (its process group); False if none ran."""
    data_dir = Path(data_dir).resolve()
    info = _read_pid(data_dir)
    pid_file = _paths(data_dir)["pid"]
    if not info:
        return False
    pid = int(info["pid"])
    if not _alive(pid):
        pid_file.unlink(missing_ok=True)
        return False
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if _alive(pid):
        _signal_group(pid, signal.SIGKILL)
        while _alive(pid):
            time.sleep(0.1)
    pid_file.unlink(missing_ok=True)
    return True


def kill(data_dir: str | os.PathLike) -> None:
    """SIGKILL the server at once, as a crash would (keeps the pid file, like a crash)."""
    info = _read_pid(Path(data_dir).resolve())
    if info and _alive(int(info["pid"])):
        _signal_group(int(info["pid"]), signal.SIGKILL)
        while _alive(int(info["pid"])):
            time.sleep(0.05)


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)  # started with start_new_session: its group id is its pid
