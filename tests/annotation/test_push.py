"""`curate push` against a real Label Studio: idempotent, resumable after a crash, blinded."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from annotation.connection import client
from annotation.projects import find_project, tasks_by_unit
from annotation.tasks import NEVER
from tests.cli import run

pytestmark = pytest.mark.studio


def server_units(studio, title):
    """unit_id → task ids on the server, and the project's task count."""
    ls = client(studio.conn)
    project = find_project(ls, studio.conn, title)
    units = tasks_by_unit(ls, studio.conn, project.id)
    return units, ls.projects.get(id=project.id).task_number


def assert_exactly_once(studio, title, sample_path):
    units, count = server_units(studio, title)
    expected = set(pq.read_table(sample_path, columns=["unit_id"]).column(0).to_pylist())
    assert set(units) == expected
    assert all(len(t) == 1 for t in units.values()), "a unit has several tasks"
    assert count == len(expected)


def test_push_twice_still_2000_tasks(studio, demo, tmp_path):
    args = ("push", demo["s2000"], "--project", "twice", "--dir", tmp_path)
    code, text = run(*args, env=studio.env())
    assert code == 0, text
    assert "2000 units, 2000 imported now" in text
    ledger = json.loads((tmp_path / "ledgers" / "twice.json").read_text())
    assert len(ledger["tasks"]) == 2000 and ledger["pending"] == []
    code, text = run(*args, env=studio.env())
    assert code == 0, text
    assert "0 imported now, 2000 already there" in text
    assert_exactly_once(studio, "twice", demo["s2000"])


def _push_process(studio, demo, tmp_path, title):
    env = {**os.environ, **studio.env(), "CI": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "curation", "push", str(demo["s5000"]), "--project", title,
         "--dir", str(tmp_path), "--batch-size", "200"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_ledger(path: Path, at_least: int, proc, timeout=240.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            n = len(json.loads(path.read_text())["tasks"])
        except (OSError, ValueError, KeyError):
            n = 0
        if n >= at_least:
            return n
        assert proc.poll() is None, "the push ended before it could be interrupted"
        time.sleep(0.02)
    raise AssertionError("the push made no progress")


def test_server_killed_during_push_of_5000_then_resumed(studio, demo, tmp_path):
    proc = _push_process(studio, demo, tmp_path, "killed-server")
    done = _wait_for_ledger(tmp_path / "ledgers" / "killed-server.json", 1000, proc)
    studio.kill()
    try:
        out, err = proc.communicate(timeout=300)
    finally:
        studio.restart()
    assert proc.returncode != 0, out
    lines = [x for x in err.strip().splitlines() if x.startswith("Error:")]
    assert len(lines) == 1 and "Label Studio" in lines[0], err
    assert done < 5000
    code, text = run("push", demo["s5000"], "--project", "killed-server", "--dir", tmp_path,
                     env=studio.env())
    assert code == 0, text
    assert "5000 units" in text
    assert_exactly_once(studio, "killed-server", demo["s5000"])


def test_push_process_killed_mid_import_then_resumed(studio, demo, tmp_path):
    proc = _push_process(studio, demo, tmp_path, "killed-client")
    ledger = tmp_path / "ledgers" / "killed-client.json"
    _wait_for_ledger(ledger, 600, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    code, text = run("push", demo["s5000"], "--project", "killed-client", "--dir", tmp_path,
                     env=studio.env())
    assert code == 0, text
    assert_exactly_once(studio, "killed-client", demo["s5000"])
    assert json.loads(ledger.read_text())["pending"] == []


def test_tasks_are_blinded(studio, demo, tmp_path):
    code, text = run("push", demo["imp"], "--project", "blind-impressions", "--catalogue",
                     demo["catalogue"], "--predictions", "--dir", tmp_path, env=studio.env())
    assert code == 0, text
    ls = client(studio.conn)
    project = find_project(ls, studio.conn, "blind-impressions")
    tasks = list(ls.tasks.list(project=project.id, fields="all", page_size=1000))
    assert len(tasks) == 300
    sample = pq.read_table(demo["imp"]).to_pandas()
    dump = json.dumps([t.data for t in tasks])
    for t in tasks:
        assert not set(t.data) & set(NEVER)
        assert "user_ref" not in t.data and t.data["title"]
    for user in sample["user_id"].unique():
        assert user not in dump
    for col in ("design_weight", "inclusion_prob", "prn"):
        assert not any(repr(float(v)) in dump for v in sample[col])


def test_catalogue_tasks_carry_no_risk_score_even_with_predictions(studio, demo, tmp_path):
    code, text = run("push", demo["s60"], "--project", "blind-items", "--predictions",
                     "--dir", tmp_path, env=studio.env())
    assert code == 0, text
    ls = client(studio.conn)
    project = find_project(ls, studio.conn, "blind-items")
    tasks = list(ls.tasks.list(project=project.id, fields="all", page_size=1000))
    sample = pq.read_table(demo["s60"]).to_pandas().set_index("unit_id")
    assert len(tasks) == 60
    for t in tasks:
        assert not set(t.data) & set(NEVER)
        row = sample.loc[t.data["unit_id"]]
        text = json.dumps([t.data, [p.result for p in t.predictions or []]])
        for col in ("risk_score", "design_weight", "inclusion_prob", "prn"):
            assert repr(float(row[col])) not in text
        assert t.predictions and t.predictions[0].result[0]["value"]["choices"] == [
            "yes" if row["risk_score"] >= 0.5 else "no"]


def test_push_without_catalogue_for_impressions_fails_cleanly(studio, demo, tmp_path):
    code, text = run("push", demo["imp"], "--project", "no-catalogue", "--dir", tmp_path,
                     env=studio.env())
    assert code == 1 and "--catalogue" in text
    assert len(text.strip().splitlines()) == 1
    assert not (tmp_path / "ledgers").exists()
