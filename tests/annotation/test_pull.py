"""`curate pull`, `curate agreement` and the expert queue against a real Label Studio, with
annotations made through the HTTP API by several annotator accounts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from annotation.agreement import krippendorff_alpha
from annotation.connection import client
from annotation.projects import find_project, tasks_by_unit
from annotation.templates import to_result
from tests.cli import run

pytestmark = pytest.mark.studio
ANNOTATORS = ("ann1", "ann2", "ann3")


def vote(i: int, j: int) -> bool:
    """Annotator j's answer on unit i: sensitive on every third unit, ann3 dissenting on every
    fifth unit (so some units split 2-1 and the alpha is below 1)."""
    truth = i % 3 == 0
    return (not truth) if (j == 2 and i % 5 == 0) else truth


def annotate(studio, title, units, chooser=vote):
    """Each annotator labels ``units`` of project ``title`` through the API; returns
    {(unit, annotator): annotation id}."""
    ls = client(studio.conn)
    project = find_project(ls, studio.conn, title)
    tasks = tasks_by_unit(ls, studio.conn, project.id, list(units))
    made = {}
    for j, name in enumerate(ANNOTATORS):
        own = client(studio.annotator(name))
        for i, unit in enumerate(units):
            answer = chooser(i, j)
            if answer is None:
                continue
            result = to_result(answer, ["violence"] if answer else [], 2 if answer else None)
            a = own.annotations.create(id=tasks[unit][0]["id"], result=result,
                                       lead_time=5.0 + i)
            made[(unit, name)] = a.id
    return made


@pytest.fixture(scope="module")
def pushed(studio, demo, tmp_path_factory):
    """A review project holding the 60-unit sample; the first 30 units labeled by 3 people."""
    where = tmp_path_factory.mktemp("pull")
    code, text = run("push", demo["s60"], "--project", "pull-review", "--dir", where,
                     "--annotators", 3, "--overlap", 1, env=studio.env())
    assert code == 0, text
    units = pq.read_table(demo["s60"], columns=["unit_id"]).column(0).to_pylist()[:30]
    made = annotate(studio, "pull-review", units)
    return where, units, made


def pull(studio, where, out, *projects):
    args = [a for p in projects for a in ("--project", p)]
    return run("pull", *args, "-o", out, "--dir", where, env=studio.env())


def test_pull_brings_every_annotation_once_and_pseudonymized(studio, pushed):
    where, units, made = pushed
    out = where / "labels.parquet"
    code, text = pull(studio, where, out, "pull-review")
    assert code == 0, text
    labels = pd.read_parquet(out)
    assert len(labels) == len(made) == 90
    assert set(labels["annotation_id"]) == set(made.values())
    assert labels.groupby("unit_id").size().eq(3).all() and set(labels["unit_id"]) == set(units)
    assert labels["annotator"].nunique() == 3 and labels["annotator"].str.startswith("a_").all()
    assert (labels["stage"] == "review").all() and (labels["project"] == "pull-review").all()
    expected = {(u, n): vote(i, j) for i, u in enumerate(units) for j, n in enumerate(ANNOTATORS)}
    by_id = {v: expected[k] for k, v in made.items()}
    assert (labels["sensitive"] == labels["annotation_id"].map(by_id)).all()
    assert (labels["cat_violence"] == labels["sensitive"]).all()
    assert labels["lead_time_s"].between(5, 35).all()
    raw = out.read_bytes()
    assert b"annotators.test" not in raw and studio.conn.api_key.encode() not in raw
    before = raw
    code, text = pull(studio, where, out, "pull-review")
    assert code == 0 and "(0 new" in text
    assert out.read_bytes() == before  # nothing new: the file is not rewritten


def test_edit_and_remote_delete_lose_nothing(studio, demo, tmp_path):
    code, text = run("push", demo["s60"], "--project", "pull-edits", "--dir", tmp_path,
                     env=studio.env())
    assert code == 0, text
    units = pq.read_table(demo["s60"], columns=["unit_id"]).column(0).to_pylist()[:6]
    made = annotate(studio, "pull-edits", units)
    out = tmp_path / "labels.parquet"
    assert pull(studio, tmp_path, out, "pull-edits")[0] == 0
    first = pd.read_parquet(out)
    # ann1 changes its mind on unit 1; the admin deletes the task of unit 2
    edited = made[(units[1], "ann1")]
    client(studio.annotator("ann1")).annotations.update(
        id=edited, result=to_result(True, ["self_harm"], 3))
    ls = client(studio.conn)
    project = find_project(ls, studio.conn, "pull-edits")
    ls.tasks.delete(id=tasks_by_unit(ls, studio.conn, project.id, [units[2]])[units[2]][0]["id"])
    code, text = pull(studio, tmp_path, out, "pull-edits")
    assert code == 0, text
    assert "(1 new, of which 1 edits" in text
    second = pd.read_parquet(out)
    kept = second.merge(first[["annotation_id", "updated_at"]], how="inner")
    assert len(kept) == len(first)  # every earlier row is still there, unchanged
    pd.testing.assert_frame_equal(
        kept.sort_values(["annotation_id", "updated_at"]).reset_index(drop=True),
        first.sort_values(["annotation_id", "updated_at"]).reset_index(drop=True))
    versions = second[second["annotation_id"] == edited].sort_values("updated_at")
    assert len(versions) == 2
    assert versions["cat_self_harm"].tolist() == [False, True]
    assert versions["severity"].iloc[-1] == 3
    assert (second["unit_id"] == units[2]).sum() == 3  # the deleted task's labels stay


def test_agreement_of_pulled_labels(studio, pushed):
    where, units, _ = pushed
    out = where / "labels-agreement.parquet"
    assert pull(studio, where, out, "pull-review")[0] == 0
    code, text = run("agreement", out, "-o", where / "agreement.csv")
    assert code == 0, text
    table = pd.read_csv(where / "agreement.csv")
    grid = np.array([[float(vote(i, j)) for i in range(len(units))] for j in range(3)])
    alpha = table.query("field == 'sensitive' and measure == 'alpha'")["value"].iloc[0]
    assert alpha == pytest.approx(krippendorff_alpha(grid))
    assert 0 < alpha < 1
    kappa = table.query("field == 'sensitive' and measure == 'kappa'")
    assert len(kappa) == 3
    assert "sensitive" in text and f"{alpha:.3f}" in text


def split(i: int, j: int) -> bool | None:
    """Two annotators per unit; they disagree on units 0 and 1 (ties), agree elsewhere."""
    if j == 2:
        return None
    return (j == 0) if i < 2 else (i % 2 == 0)


def test_expert_queue_gets_the_ties_and_the_expert_wins(studio, demo, tmp_path):
    code, text = run("push", demo["s60"], "--project", "tie-review", "--dir", tmp_path,
                     env=studio.env())
    assert code == 0, text
    units = pq.read_table(demo["s60"], columns=["unit_id"]).column(0).to_pylist()[:8]
    annotate(studio, "tie-review", units, split)
    labels = tmp_path / "labels.parquet"
    assert pull(studio, tmp_path, labels, "tie-review")[0] == 0
    code, text = run("push", demo["s60"], "--project", "tie-review-expert", "--expert-from",
                     labels, "--dir", tmp_path, env=studio.env())
    assert code == 0, text
    assert "2 unresolved unit(s)" in text and "2 units, 2 imported now" in text
    ls = client(studio.conn)
    project = find_project(ls, studio.conn, "tie-review-expert")
    tasks = tasks_by_unit(ls, studio.conn, project.id)
    assert set(tasks) == set(units[:2])
    shown = ls.tasks.get(id=tasks[units[0]][0]["id"]).data["review"]
    assert shown == "2 annotations: 1 sensitive, 1 not sensitive, 0 unsure, 0 skipped"
    expert = client(studio.annotator("expert1"))
    for unit, decision in zip(units[:2], (True, False), strict=True):
        expert.annotations.create(id=tasks[unit][0]["id"],
                                  result=to_result(decision, ["violence"] if decision else []))
    code, text = pull(studio, tmp_path, labels, "tie-review")  # the expert queue comes along
    assert code == 0, text
    assert "from tie-review, tie-review-expert (2 new" in text
    curated = tmp_path / "curated.parquet"
    code, text = run("build", demo["s60"], labels, "-o", curated)
    assert code == 0, text
    table = pd.read_parquet(curated).set_index("unit_id")
    assert table.loc[units[0], "adjudication"] == "expert" and table.loc[units[0], "sensitive"]
    assert table.loc[units[1], "adjudication"] == "expert" and not table.loc[units[1],
                                                                             "sensitive"]
    assert (table.loc[units[2:], "adjudication"] == "unanimous").all()
    code, text = run("push", demo["s60"], "--project", "tie-review-expert", "--expert-from",
                     labels, "--dir", tmp_path, env=studio.env())
    assert code == 0 and "0 unresolved unit(s)" in text


def test_pull_errors_leave_the_labels_untouched(studio, pushed):
    where, _, _ = pushed
    out = where / "labels-errors.parquet"
    assert pull(studio, where, out, "pull-review")[0] == 0
    before = out.read_bytes()
    for env, project, needle in (
            (studio.env(), "no-such-project", "no project 'no-such-project'"),
            ({**studio.env(), "LABEL_STUDIO_API_KEY": "f" * 40}, "pull-review",
             "refused the API key"),
            ({**studio.env(), "LABEL_STUDIO_URL": "http://127.0.0.1:9"}, "pull-review",
             "cannot reach Label Studio")):
        code, text = run("pull", "--project", project, "-o", out, "--dir", where, env=env)
        assert code == 1, text
        assert len(text.strip().splitlines()) == 1 and needle in text, text
        assert out.read_bytes() == before
