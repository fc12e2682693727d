"""Independent annotator queues and the exposure budget: the plan (pure) and what a push to a
real Label Studio makes of it."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd
import pyarrow.parquet as pq
import pytest
import requests

from annotation.adjudication import adjudicate
from annotation.connection import client
from annotation.grid import SHOWN
from annotation.projects import find_project, queue_projects, tasks_by_unit
from annotation.push import push
from annotation.queues import Budget, assign, queue_title, rotate, within_budget
from annotation.templates import to_result
from schemas.errors import AnnotationError
from tests.cli import run

UNITS = [f"u{i:04d}" for i in range(3000)]


def test_overlap_units_go_to_k_distinct_queues_and_the_rest_to_one():
    plan = assign(UNITS, queues=4, votes=3, overlap=0.2, seed=7)
    sizes = pd.Series({u: len(q) for u, q in plan.items()})
    assert set(sizes) == {1, 3}
    share = (sizes == 3).mean()
    assert abs(share - 0.2) < 3 * (0.2 * 0.8 / len(UNITS)) ** 0.5 + 1e-9
    assert all(len(set(q)) == len(q) and set(q) <= {1, 2, 3, 4} for q in plan.values())
    load = pd.Series([q for qs in plan.values() for q in qs]).value_counts()
    expected = sizes.sum() / 4
    assert (abs(load - expected) < 4 * expected ** 0.5).all(), load


def test_a_units_queues_depend_on_it_and_the_seed_only():
    plan = assign(UNITS, queues=3, votes=2, overlap=0.5, seed=1)
    grown = assign(UNITS + [f"new{i}" for i in range(500)], queues=3, votes=2, overlap=0.5,
                   seed=1)
    assert all(grown[u] == plan[u] for u in UNITS)
    other = assign(UNITS, queues=3, votes=2, overlap=0.5, seed=2)
    assert sum(other[u] != plan[u] for u in UNITS) > len(UNITS) / 3


@pytest.mark.parametrize("queues, votes, overlap, message", [
    (1, 1, 0.0, "--queues is the number of annotators"),
    (3, 4, 0.5, "between 1 and --queues (3)"),
    (2, 2, 1.5, "--overlap is a share"),
])
def test_impossible_queue_plans_are_one_line_errors(queues, votes, overlap, message):
    with pytest.raises(AnnotationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        assign(UNITS[:5], queues, votes, overlap)


def test_rotation_interleaves_keys_and_keeps_order_within_a_key():
    keys = {f"s{i}": "self_harm" for i in range(4)} | {"v0": "violence", "v1": "violence",
                                                     "h0": "hate"}
    order = rotate(list(keys), keys)
    assert order == ["s0", "v0", "h0", "s1", "v1", "s2", "s3"]


def test_the_budget_gives_low_risk_freely_and_high_risk_up_to_the_days_cap():
    order = ["a", "h1", "h2", "b", "h3", "c"]
    give, hold = within_budget(order, {"h1", "h2", "h3"}, used_today=0, per_day=2)
    assert give == ["a", "h1", "h2", "b", "c"] and hold == ["h3"]
    give, hold = within_budget(order, {"h1", "h2", "h3"}, used_today=2, per_day=2)
    assert give == ["a", "b", "c"] and hold == ["h1", "h2", "h3"]


@pytest.mark.parametrize("per_day, strata, score, message", [
    (0, {"BR"}, None, "whole number of 1 or more, got 0"),
    (-3, {"BR"}, None, "got -3"),
    (True, {"BR"}, None, "got True"),
    (2, set(), None, "needs to know what is high-risk"),
    (2, set(), 1.5, "risk score in \\[0, 1\\]"),
])
def test_bad_budgets_are_one_line_errors(per_day, strata, score, message):
    with pytest.raises(AnnotationError, match=message):
        Budget(per_day, frozenset(strata), score)


def test_high_risk_is_a_listed_stratum_or_a_high_score():
    b = Budget(3, frozenset({"BR"}), 0.4)
    assert b.high_risk("BR", 0.0) and b.high_risk("SE", 0.4) and not b.high_risk("SE", 0.39)
    assert not b.high_risk(None, None)


def test_one_annotator_answering_a_unit_twice_is_one_vote():
    rows = [dict(unit_id="u1", annotation_id=i, annotator=who, updated_at=t, stage="review",
                 sensitive=s, skipped=False, unsure=False, severity=None, planned_votes=2)
            for i, (who, t, s) in enumerate([("a", 1, True), ("a", 2, True), ("b", 3, False)])]
    out = adjudicate(pd.DataFrame(rows), categories=[], votes=2).iloc[0]
    assert out["n_annotations"] == 2 and out["adjudication"] == "unresolved"
    solo = adjudicate(pd.DataFrame(rows[:2]), categories=[], votes=2).iloc[0]
    assert solo["n_annotations"] == 1 and solo["adjudication"] == "incomplete"


# -- against a real Label Studio -------------------------------------------------------------


def _queue_units(studio, project):
    ls = client(studio.conn)
    return {p.title: set(tasks_by_unit(ls, studio.conn, p.id))
            for p in queue_projects(ls, studio.conn, project)}


@pytest.mark.studio
def test_queues_hold_each_unit_as_planned_and_pull_reads_votes_per_unit(studio, demo, tmp_path):
    args = ("push", demo["s60"], "--project", "queued", "--queues", 3, "--annotators", 2,
            "--overlap", 0.5, "--queue-seed", 4, "--dir", tmp_path)
    code, text = run(*args, env=studio.env())
    assert code == 0, text
    assert "3 annotator queues of 'queued': 60 units in" in text
    held = _queue_units(studio, "queued")
    assert list(held) == [queue_title("queued", q) for q in (1, 2, 3)]
    units = pq.read_table(demo["s60"], columns=["unit_id"]).column(0).to_pylist()
    plan = assign(units, 3, 2, 0.5, seed=4)
    for q in (1, 2, 3):
        assert held[queue_title("queued", q)] == {u for u in units if q in plan[u]}
    code, text = run(*args, env=studio.env())
    assert code == 0 and " 0 imported now" in text, text
    assert _queue_units(studio, "queued") == held

    shared = next(u for u in units if len(plan[u]) == 2)
    alone = next(u for u in units if len(plan[u]) == 1)
    for unit in (shared, alone):
        q = plan[unit][0]
        project = find_project(client(studio.conn), studio.conn, queue_title("queued", q))
        task = tasks_by_unit(client(studio.conn), studio.conn, project.id, [unit])[unit][0]
        who = studio.annotator(f"queue{q}")
        r = requests.post(f"{studio.url}/api/tasks/{task['id']}/annotations/",
                          headers={"Authorization": f"Token {who.api_key}"},
                          json={"result": to_result(True, ["violence"], 2)}, timeout=60)
        assert r.status_code == 201, r.text
    labels = tmp_path / "labels.parquet"
    code, text = run("pull", "--project", "queued", "-o", labels, "--dir", tmp_path,
                     env=studio.env())
    assert code == 0, text
    got = pd.read_parquet(labels).set_index("unit_id")
    assert got.loc[shared, "planned_votes"] == 2 and got.loc[alone, "planned_votes"] == 1
    final = adjudicate(pd.read_parquet(labels)).set_index("unit_id")
    assert final.loc[shared, "adjudication"] == "incomplete"
    assert final.loc[alone, "adjudication"] == "unanimous"


@pytest.mark.studio
def test_every_push_leaves_a_grid_of_ids_and_status_only(studio, demo, tmp_path):
    code, text = run("push", demo["s60"], "--project", "blind-grid", "--dir", tmp_path,
                     env=studio.env())
    assert code == 0, text
    project = find_project(client(studio.conn), studio.conn, "blind-grid")
    auth = {"Authorization": f"Token {studio.conn.api_key}"}
    views = requests.get(f"{studio.url}/api/dm/views", params={"project": project.id},
                         headers=auth, timeout=60).json()
    columns = requests.get(f"{studio.url}/api/dm/columns", params={"project": project.id},
                           headers=auth, timeout=60).json()["columns"]
    every = {f"tasks:{c['parent'] + '.' if c.get('parent') else ''}{c['id']}" for c in columns}
    assert {"tasks:data.title", "tasks:data.description", "tasks:annotations_results",
            "tasks:annotators"} <= every
    assert views
    for view in views:
        hidden = view["data"]["hiddenColumns"]
        for mode in ("explore", "labeling"):
            assert set(hidden[mode]) == every - set(SHOWN)
    # a tab an annotator adds shows the defaults again; the next push hides them again
    requests.post(f"{studio.url}/api/dm/views", headers=auth, timeout=60,
                  json={"project": project.id, "data": {"title": "mine"}}).raise_for_status()
    code, text = run("push", demo["s60"], "--project", "blind-grid", "--dir", tmp_path,
                     env=studio.env())
    assert code == 0, text
    views = requests.get(f"{studio.url}/api/dm/views", params={"project": project.id},
                         headers=auth, timeout=60).json()
    assert len(views) == 2
    assert all("tasks:data.title" in v["data"]["hiddenColumns"]["explore"] for v in views)


@pytest.mark.studio
def test_the_budget_holds_high_risk_tasks_until_another_day(studio, demo, tmp_path):
    sample = pq.read_table(demo["s60"]).to_pandas()
    threshold = float(sample["risk_score"].sort_values().iloc[-8])  # 8 high-risk units
    risky = set(sample.loc[sample["risk_score"] >= threshold, "unit_id"])
    budget = Budget(3, score=threshold)
    day1, day2 = date(2026, 12, 1), date(2026, 12, 2)
    kw = dict(conn=studio.conn, directory=tmp_path, queues=2, annotators=1, overlap=0.0,
              budget=budget, rotate_by="stratum")
    first = push(demo["s60"], "budgeted", today=day1, **kw)
    again = push(demo["s60"], "budgeted", today=day1, **kw)
    second = push(demo["s60"], "budgeted", today=day2, **kw)
    held = _queue_units(studio, "budgeted")
    plan = assign(list(sample["unit_id"]), 2, 1, 0.0)
    later = 0
    for q in (1, 2):
        mine = {u for u, qs in plan.items() if q in qs}
        book = json.loads((tmp_path / "ledgers" / f"budgeted_annotator_{q}.json").read_text())
        days = pd.Series(book["assigned"])
        on = {d: set(days[days == d.isoformat()].index) for d in (day1, day2)}
        assert len(on[day1] & risky) == min(3, len(mine & risky))
        assert len(on[day2] & risky) == min(3, len(mine & risky) - len(on[day1] & risky))
        assert on[day2] <= risky, "low-risk tasks are never held back"
        assert held[queue_title("budgeted", q)] == mine - risky | on[day1] | on[day2]
        later += max(len(mine & risky) - 3, 0)
    assert first.held == later and first.imported == 60 - later
    assert again.imported == 0 and again.held == first.held
    assert second.imported == sum(min(3, max(len(
        {u for u, qs in plan.items() if q in qs} & risky) - 3, 0)) for q in (1, 2))
    assert second.held == first.held - second.imported


@pytest.mark.studio
@pytest.mark.parametrize("extra, message", [
    (("--budget", 0, "--high-risk-score", 0.3), "whole number of 1 or more, got 0"),
    (("--budget", 2), "needs to know what is high-risk"),
    (("--high-risk-score", 0.3), "give --budget too"),
    (("--budget", 2, "--high-risk-strata", "XX"), "strata the sample does not have: ['XX']"),
    (("--queues", 1), "--queues is the number of annotators"),
    (("--queues", 2, "--annotators", 3), "between 1 and --queues (2)"),
    (("--rotate-by", "nosuch"), "--rotate-by 'nosuch' is not a column"),
])
def test_bad_queue_or_budget_options_push_nothing(studio, demo, tmp_path, extra, message):
    title = "never-made"
    code, text = run("push", demo["s60"], "--project", title, *extra, "--dir", tmp_path,
                     env=studio.env())
    assert code != 0 and message in text, text
    errors = [line for line in text.splitlines() if line.startswith("Error")]
    assert "Traceback" not in text and len(errors) == 1 and message in errors[0]
    assert find_project(client(studio.conn), studio.conn, title) is None
    assert not queue_projects(client(studio.conn), studio.conn, title)
    assert not (tmp_path / "ledgers").exists()
