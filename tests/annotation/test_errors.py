"""Failures a user can cause: one-line error, exit 1, ledger (and labels) untouched."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from annotation import server
from tests.cli import run

pytestmark = pytest.mark.studio


@pytest.fixture
def pushed(studio, demo, tmp_path):
    """A project with a ledger; returns (ledger path, its bytes)."""
    code, text = run("push", demo["s60"], "--project", "errors", "--dir", tmp_path,
                     env=studio.env())
    assert code == 0, text
    ledger = tmp_path / "ledgers" / "errors.json"
    return ledger, ledger.read_bytes()


def assert_one_line_error(code, text, *needles):
    assert code == 1, text
    lines = text.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), text
    for n in needles:
        assert n in lines[0], lines[0]
    assert "Traceback" not in text


def test_unreachable_server(studio, demo, tmp_path, pushed):
    ledger, before = pushed
    port = server.free_port()  # nothing listens there: the connection is refused for real
    env = {**studio.env(), "LABEL_STUDIO_URL": f"http://127.0.0.1:{port}"}
    code, text = run("push", demo["s60"], "--project", "errors", "--dir", tmp_path,
                     "--ledger", ledger, env=env)
    assert_one_line_error(code, text, "cannot reach Label Studio", str(port))
    assert ledger.read_bytes() == before


def test_wrong_token(studio, demo, tmp_path, pushed):
    ledger, before = pushed
    env = {**studio.env(), "LABEL_STUDIO_API_KEY": "0" * 40}
    code, text = run("push", demo["s60"], "--project", "errors", "--dir", tmp_path, env=env)
    assert_one_line_error(code, text, "refused the API key", "401")
    assert ledger.read_bytes() == before
    assert "0" * 40 not in text


def test_sample_failing_validation(studio, demo, tmp_path, pushed):
    ledger, before = pushed
    table = pq.read_table(demo["s60"])
    bad = tmp_path / "bad.parquet"
    pq.write_table(table.drop(["design_weight"]), bad)
    code, text = run("push", bad, "--project", "errors", "--dir", tmp_path, env=studio.env())
    assert_one_line_error(code, text, "bad.parquet", "design_weight")
    assert ledger.read_bytes() == before


def test_no_server_configured(tmp_path, demo, monkeypatch):
    monkeypatch.delenv("LABEL_STUDIO_URL", raising=False)
    monkeypatch.delenv("LABEL_STUDIO_API_KEY", raising=False)
    code, text = run("push", demo["s60"], "--project", "errors", "--dir", tmp_path / "none")
    assert_one_line_error(code, text, "curate studio up")
    assert not (tmp_path / "none" / "ledgers").exists()
