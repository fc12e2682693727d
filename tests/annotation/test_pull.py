"""`curate pull`, `curate agreement` and the expert queue against a real Label Studio, with
annotations made through the HTTP API by several annotator accounts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from annotation.agreement import krippendorff_alpha
from annotation.connection import Connection, client, server_identity
from annotation.projects import find_project, tasks_by_unit
from annotation.templates import to_result
from schemas.validate import validate_labels
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


def export_files(studio) -> set[str]:
    """Files the server's export folder holds (the sync export API writes two per call)."""
    folder = studio.directory / "ls-data" / "export"
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


def test_pull_right_after_push_writes_an_empty_valid_labels_file(studio, demo, tmp_path):
    code, text = run("push", demo["s60"], "--project", "pull-empty", "--dir", tmp_path,
                     env=studio.env())
    assert code == 0, text
    out = tmp_path / "labels.parquet"
    code, text = pull(studio, tmp_path, out, "pull-empty")
    assert code == 0, text
    table = validate_labels(pq.read_table(out), source=str(out))
    assert table.num_rows == 0 and {"unit_id", "server", "sensitive"} <= set(table.column_names)
    code, text = run("build", demo["s60"], out, "-o", tmp_path / "curated.parquet")
    assert code == 0 and "unlabeled 60" in text, text


@pytest.fixture(scope="module")
def overlapping(studio, demo, tmp_path_factory):
    """60 units pushed for 2 annotators on half of them; ann1 labels 30 units once each, the
    last two submitted with "Show the content" ticked and no decision."""
    where = tmp_path_factory.mktemp("overlap")
    before = export_files(studio)
    code, text = run("push", demo["s60"], "--project", "pull-overlap", "--dir", where,
                     "--annotators", 2, "--overlap", 0.5, env=studio.env())
    assert code == 0, text
    units = pq.read_table(demo["s60"], columns=["unit_id"]).column(0).to_pylist()
    ls = client(studio.conn)
    project = find_project(ls, studio.conn, "pull-overlap")
    tasks = tasks_by_unit(ls, studio.conn, project.id, units[:30])
    own = client(studio.annotator("ann1"))
    for i, unit in enumerate(units[:30]):
        decision = None if i >= 28 else i % 4 == 0
        own.annotations.create(id=tasks[unit][0]["id"], result=to_result(decision),
                               lead_time=4.0)
    out = where / "labels.parquet"
    code, text = pull(studio, where, out, "pull-overlap")
    assert code == 0, text
    return where, units, out, text, before, project


def test_undecided_annotations_are_no_votes_and_missing_votes_make_units_incomplete(
        studio, demo, overlapping):
    where, units, out, text, _, _ = overlapping
    assert "2 annotation(s) without a decision (no vote)" in text
    labels = pd.read_parquet(out).set_index("unit_id")
    assert labels.loc[units[28:30], "sensitive"].isna().all()
    assert labels.loc[units[:28], "sensitive"].notna().all()
    planned = labels["planned_votes"]
    assert set(planned) == {1, 2}  # the server's overlap cohort: k=2 for about half
    code, text = run("build", demo["s60"], out, "-o", where / "curated.parquet")
    assert code == 0, text
    assert "2 without a decision" in text
    cur = pd.read_parquet(where / "curated.parquet").set_index("unit_id")
    decided = units[:28]
    expected = planned.loc[decided].map({1: "unanimous", 2: "incomplete"})
    assert (cur.loc[decided, "adjudication"] == expected).all()
    assert (cur.loc[decided, "n_annotations"] == 1).all()
    assert (cur.loc[units[28:30], "adjudication"] == "unresolved").all()
    assert cur.loc[units[28:30], "sensitive"].isna().all()
    code, text = run("agreement", out)
    assert code == 0 and "no unit has two or more counted votes" in text, text


def test_pulls_leave_no_export_on_the_server(studio, overlapping):
    where, _, out, _, before, project = overlapping
    assert pull(studio, where, out, "pull-overlap")[0] == 0
    assert export_files(studio) == before
    assert list(client(studio.conn).projects.exports.list(id=project.id)) == []


def test_push_knows_its_ledger_under_another_spelling_of_the_url(studio, demo, overlapping):
    where = overlapping[0]
    env = {**studio.env(), "LABEL_STUDIO_URL": studio.url.replace("127.0.0.1", "localhost")}
    code, text = run("push", demo["s60"], "--project", "pull-overlap", "--dir", where, env=env)
    assert code == 0, text
    assert "0 imported now, 60 already there" in text
    assert server_identity(studio.conn) == server_identity(
        Connection(env["LABEL_STUDIO_URL"], studio.conn.api_key))


def test_labels_of_another_server_are_not_taken_for_edits(studio, demo, overlapping):
    where, units, out, _, _, _ = overlapping
    mine = pd.read_parquet(out)
    # the same annotation ids, made on another server for other units, a day earlier
    shift = dict(zip(units[:30], units[30:60], strict=True))
    foreign = mine.assign(unit_id=mine["unit_id"].map(shift), server="ls-elsewhere",
                          updated_at=mine["updated_at"] - pd.Timedelta(days=1))
    other = where / "labels-other.parquet"
    foreign.to_parquet(other, index=False)
    code, text = pull(studio, where, other, "pull-overlap")
    assert code == 0, text
    assert f"({len(mine)} new, of which 0 edits" in text
    code, text = run("build", demo["s60"], other, "-o", where / "both.parquet")
    assert code == 0, text
    cur = pd.read_parquet(where / "both.parquet")
    assert (cur["adjudication"] != "unlabeled").all()  # no unit hidden by a shared id
