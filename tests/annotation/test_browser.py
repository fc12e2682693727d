"""What an annotator sees and can do in a real browser (headless Chromium) on the test Label
Studio: the required decision, a grid without content or answers, independent queues, the
exposure budget (the audio player: test_browser_audio.py)."""

from __future__ import annotations

import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

pytest.importorskip("playwright.sync_api")

from playwright.sync_api import expect  # noqa: E402

from annotation.grid import SHOWN  # noqa: E402
from annotation.queues import assign, queue_title  # noqa: E402
from annotation.templates import to_result  # noqa: E402
from tests.annotation import browser as ui  # noqa: E402

pytestmark = [pytest.mark.studio,
              pytest.mark.skipif(not Path(ui.CHROMIUM).exists(), reason="no Chromium")]

CONTENT_FIELDS = ("title", "creator", "description", "context")


def test_a_blank_submit_is_refused_or_pulled_as_no_vote(studio, demo, tmp_path, browser, shot):
    """With the content shown, Submit without a decision is refused in the page (the config's
    required message) and nothing reaches the server: the task keeps 0 annotations."""
    ui.push(studio, demo["s60"], "browser-blank", tmp_path)
    pid = ui.project_id(studio, "browser-blank")
    with ui.annotator_page(browser, studio, "bw-blank", shot) as page:
        posts = ui.annotation_posts(page)
        task = ui.open_stream(page, studio, pid)
        page.check(ui.REVEAL)
        expect(page.get_by_text(task["data"]["title"], exact=True)).to_be_visible()
        page.click(ui.SUBMIT)
        expect(page.get_by_text(ui.REQUIRED_MESSAGE)).to_be_visible()
        time.sleep(1.0)  # a refused submit sends nothing, however long one waits
        assert posts == []
        assert ui.annotations(studio, task["id"]) == []
        assert next(t for t in ui.tasks(studio, pid)
                    if t["id"] == task["id"])["total_annotations"] == 0
        page.get_by_role("button", name="OK").click()
        expect(page.get_by_text(task["data"]["title"], exact=True)).to_be_visible()
        assert not page.is_checked(ui.YES) and not page.is_checked(ui.NO)


def test_a_submit_without_revealing_is_refused_too(studio, demo, tmp_path, browser, shot):
    """Label Studio checks a required control only while it shows, so Submit on a task whose
    content was never revealed would save an empty annotation; the projects refuse empty
    annotations: Submit stays disabled until the content is shown, and nothing is sent."""
    ui.push(studio, demo["s60"], "browser-unrevealed", tmp_path)
    pid = ui.project_id(studio, "browser-unrevealed")
    with ui.annotator_page(browser, studio, "bw-unrevealed", shot) as page:
        posts = ui.annotation_posts(page)
        task = ui.open_stream(page, studio, pid)
        assert not page.is_checked(ui.REVEAL)
        expect(page.locator(ui.SUBMIT)).to_be_disabled()  # an empty annotation is refused
        page.check(ui.REVEAL)
        expect(page.locator(ui.SUBMIT)).to_be_enabled()  # ... and now the decision is required
        time.sleep(1.0)
        assert posts == [] and ui.annotations(studio, task["id"]) == []


def test_the_grid_shows_no_content_only_ids_and_status(studio, demo, tmp_path, browser, shot):
    """An annotator's first page of a project, the task grid, lists unit ids and completion
    counts only: no title, creator, description or context of any task, no answer columns,
    and no trace of what another annotator answered."""
    title = "browser-grid"
    ui.push(studio, demo["s60"], title, tmp_path, "--annotators", 2, "--overlap", 1)
    pid = ui.project_id(studio, title)
    all_tasks = ui.tasks(studio, pid)
    content = {str(t["data"][f]) for t in all_tasks for f in CONTENT_FIELDS}
    first_page = [t["data"]["unit_id"] for t in all_tasks[:20]]

    def check_grid(page, text):
        for unit in first_page:
            assert unit in text
        assert not [c for c in content if c in text]
        heads = page.eval_on_selector_all(".lsf-th[data-id]", "hs => hs.map(h => h.dataset.id)")
        assert {h for h in heads if h.startswith("tasks:")} == set(SHOWN)
        for header in ("Annotation results", "Annotated by", "title", "description"):
            assert not ui.visible(page, header)

    with ui.annotator_page(browser, studio, "bw-grid-other", shot) as page:
        check_grid(page, ui.open_grid(page, studio, pid, first_page[0]))
    answered = all_tasks[0]
    ui.annotate(studio.annotator("bw-grid-first"), answered["id"],
                to_result(True, ["violence"], 3, note="grid-first-was-here"))
    with ui.annotator_page(browser, studio, "bw-grid-other", shot) as page:
        text = ui.open_grid(page, studio, pid, first_page[0])
        check_grid(page, text)
        row = page.locator("[data-testid=table-row]", has_text=answered["data"]["unit_id"])
        cells = row.locator(".lsf-table__cell").all_inner_texts()
        assert "1" in cells  # the status: one annotation
        for trace in ("bw-grid-first", "grid-first-was-here", "Violence", "violence", "High"):
            assert trace not in text


def test_the_grid_source_button_of_a_queue_shows_no_other_answer(studio, demo, tmp_path,
                                                                  browser, shot):
    """Every grid row has a {} button that opens the task's JSON (its content, past the warning:
    Community cannot hide it, README). In an annotator's own queue that JSON holds no other
    annotator's answer, even on a unit both were given."""
    title = "browser-grid-source"
    ui.push(studio, demo["s60"], title, tmp_path, "--queues", 2, "--annotators", 2,
         "--overlap", 1)
    q1, q2 = (ui.project_id(studio, queue_title(title, i)) for i in (1, 2))
    task = ui.tasks(studio, q2)[0]
    theirs = {t["data"]["unit_id"]: t["id"] for t in ui.tasks(studio, q1)}
    ui.annotate(studio.annotator("bw-source-first"), theirs[task["data"]["unit_id"]],
                to_result(True, ["violence"], 3, note="source-first-was-here"))
    with ui.annotator_page(browser, studio, "bw-source-other", shot) as page:
        ui.open_grid(page, studio, q2, task["data"]["unit_id"])
        row = page.locator("[data-testid=table-row]", has_text=task["data"]["unit_id"])
        row.locator(".lsf-show-source button").click()
        expect(page.get_by_text(f"Source for task {task['id']}")).to_be_visible()
        time.sleep(1.5)  # the JSON viewer renders after the dialog
        text = page.inner_text("body")
        assert task["data"]["unit_id"] in text
        assert "source-first-was-here" not in text and '"violence"' not in text


def test_the_annotators_browser_talks_only_to_the_local_server(studio, browser, shot):
    """Logging in and opening the projects page sends nothing beyond 127.0.0.1 (the pages
    block such requests and record them)."""
    with ui.annotator_page(browser, studio, "bw-offsite", shot) as page:
        page.goto(f"{studio.url}/projects/")
        page.wait_for_load_state("networkidle")
        assert page.offsite == []


def test_an_annotator_cannot_see_another_annotators_answer_on_a_shared_unit(
        studio, demo, tmp_path, browser, shot):
    """With --queues 2 --annotators 2 --overlap 1 every unit is in both queues; what alice
    answered on a unit in queue 1 is nowhere on bob's page for that unit in queue 2, neither in
    the grid's quick view nor in the label stream. In one shared project (no --queues) the
    quick view shows bob alice's answer as a tab, content revealed: that is why queues exist."""
    title = "browser-queues"
    ui.push(studio, demo["s60"], title, tmp_path, "--queues", 2, "--annotators", 2,
         "--overlap", 1)
    q1, q2 = (ui.project_id(studio, queue_title(title, i)) for i in (1, 2))
    mine = ui.tasks(studio, q2)
    unit = mine[0]["data"]["unit_id"]  # bob's first task in the label stream
    theirs = {t["data"]["unit_id"]: t["id"] for t in ui.tasks(studio, q1)}
    assert set(theirs) == {t["data"]["unit_id"] for t in mine}
    ui.annotate(studio.annotator("alice"), theirs[unit], to_result(True, ["violence"], 3))

    def shows_no_other_answer(page):
        assert "alice" not in page.content().lower()
        tabs = page.locator(ui.ANSWER_TABS)
        assert tabs.count() <= 1 and "alice" not in " ".join(tabs.all_inner_texts()).lower()
        assert not page.is_checked(ui.REVEAL)
        page.check(ui.REVEAL)
        assert not page.is_checked(ui.YES) and not page.is_checked(ui.NO)
        assert not ui.visible(page, "Violence")

    with ui.annotator_page(browser, studio, "bob", shot) as page:
        ui.open_task(page, studio, q2, mine[0]["id"])
        shows_no_other_answer(page)
        task = ui.open_stream(page, studio, q2)
        assert task["data"]["unit_id"] == unit and not task.get("annotations")
        shows_no_other_answer(page)

    shared = "browser-queues-shared"
    ui.push(studio, demo["s60"], shared, tmp_path, "--annotators", 2, "--overlap", 1)
    pid = ui.project_id(studio, shared)
    task_id = {t["data"]["unit_id"]: t["id"] for t in ui.tasks(studio, pid)}[unit]
    ui.annotate(studio.annotator("alice"), task_id, to_result(True, ["violence"], 3))
    with ui.annotator_page(browser, studio, "bob", shot) as page:
        ui.open_task(page, studio, pid, task_id)
        tab = page.locator(ui.ANSWER_TABS, has_text="alice")
        expect(tab).to_have_count(1)
        assert page.is_checked(ui.REVEAL) and page.is_checked(ui.YES)
        assert page.is_checked("input[name='Violence']")


def test_the_exposure_budget_stops_assignment(studio, demo, tmp_path, browser, shot):
    """With --budget 1 an annotator's queue holds one high-risk task today: answering the
    whole label stream, they see every low-risk unit of their queue and exactly one high-risk
    unit, until Label Studio says no task is left; the held-back units never appear."""
    sample = ui.small_sample(demo, tmp_path / "s12.parquet")
    frame = pq.read_table(sample).to_pandas()
    threshold = float(frame["risk_score"].sort_values(ascending=False).iloc[5])
    risky = set(frame.loc[frame["risk_score"] >= threshold, "unit_id"])
    assert len(risky) >= 4
    plan = assign(list(frame["unit_id"]), queues=2, votes=1, overlap=0.0)
    planned = {q: {u for u, qs in plan.items() if q in qs} for q in (1, 2)}
    q = max((1, 2), key=lambda i: len(planned[i] & risky))
    assert len(planned[q] & risky) >= 2  # something is held back in this queue
    held = len(risky) - sum(1 for i in (1, 2) if planned[i] & risky)
    title = "browser-budget"
    text = ui.push(studio, sample, title, tmp_path, "--queues", 2, "--annotators", 1,
                "--overlap", 0, "--budget", 1, "--high-risk-score", threshold)
    assert f"{held} high-risk task(s) held back" in text
    pid = ui.project_id(studio, queue_title(title, q))
    seen = []
    with ui.annotator_page(browser, studio, "bw-budget", shot) as page:
        task = ui.open_stream(page, studio, pid)
        while task is not None:
            assert len(seen) < len(planned[q]), "the stream does not end"
            seen.append(task["data"]["unit_id"])
            page.check(ui.REVEAL)
            page.check(ui.NO)
            task = ui.submit(page)
        expect(page.get_by_text(ui.NO_MORE_TASKS)).to_be_visible()
    answered = [t["data"]["unit_id"] for t in ui.tasks(studio, pid) if t["total_annotations"]]
    assert sorted(answered) == sorted(seen) and len(set(seen)) == len(seen)
    assert set(seen) - risky == planned[q] - risky
    assert len(set(seen) & risky) == 1
    assert not set(seen) - planned[q]
    assert len(seen) == len(planned[q] - risky) + 1
