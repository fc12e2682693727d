"""The local server: loopback only, the expected port, status, secrets kept to a mode-600 file."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path

import pytest

from annotation import server
from annotation.connection import client
from schemas.errors import AnnotationError
from tests.cli import run

pytestmark = pytest.mark.studio


def listening_addresses(port: int) -> set[str]:
    """Local addresses in LISTEN state on ``port`` (from /proc/net/tcp{,6})."""
    found = set()
    for name in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/net/{name}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            addr, p = local.split(":")
            if int(p, 16) == port and state == "0A":
                found.add(addr)
    return found


def test_server_listens_on_loopback_only_and_status_says_up(studio):
    assert listening_addresses(studio.port) == {"0100007F"}  # 127.0.0.1, nothing else
    code, text = run("studio", "status", "--dir", studio.directory)
    assert code == 0 and f"up at {studio.url}" in text


def test_connection_file_is_private_and_key_stays_out_of_logs(studio):
    conn_file = studio.directory / "connection.json"
    assert stat.S_IMODE(conn_file.stat().st_mode) == 0o600
    assert json.loads(conn_file.read_text())["api_key"] == studio.conn.api_key
    for name in ("server.log", "server.pid"):
        assert studio.conn.api_key not in (studio.directory / name).read_text()
    assert studio.conn.api_key not in repr(studio.conn)


def test_busy_port_is_refused_not_silently_moved(studio, tmp_path):
    with pytest.raises(AnnotationError, match=f"port {studio.port} .* already in use"):
        server.start(tmp_path / "other", port=studio.port, timeout=10)
    assert not (tmp_path / "other" / "server.pid").exists()


def test_status_and_down_without_a_server(tmp_path):
    assert run("studio", "status", "--dir", tmp_path) == (0, "down\n")
    assert run("studio", "down", "--dir", tmp_path) == (0, "Label Studio was not running\n")


def test_server_log_is_private_and_keeps_no_token(studio):
    who = studio.annotator("logcheck")  # signs up through the invite link, logged by the server
    invite = client(studio.conn).organizations.get(
        id=client(studio.conn).users.whoami().active_organization).token
    log = studio.directory / "server.log"
    deadline = time.monotonic() + 20
    while "/user/signup/" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    text = log.read_text()
    assert "/user/signup/" in text  # the request was logged, its token was not
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    for secret in (invite, studio.conn.api_key, who.api_key):
        assert secret and secret not in text
