"""Real-browser helpers for the annotation tests: an annotator logged in to the test Label Studio
in Debian's headless Chromium (driven by Playwright), the project and task look-ups the tests
check the page against, and the few Label Studio selectors they need.

Every page blocks requests that leave the loopback interface (Label Studio's frontend reports to
Sentry by default) and records them in ``page.offsite``; a page whose block raises is saved as
``/tmp/browser-shots/<test>--<annotator>.png``.
"""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path
from urllib.parse import urlparse

import requests

from tests.curation.report.browser import CHROMIUM_ARGS

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path("/tmp/browser-shots")
TIMEOUT_MS = 30_000

REVEAL = "input[name='Show the content']"
LISTEN_TEXT = "Listen to the audio (nothing plays until you press play)"
LISTEN = f"input[name='{LISTEN_TEXT}']"
YES = "input[name='Contains sensitive content']"
NO = "input[name='Nothing sensitive']"
SUBMIT = "button[name=submit]"
ANSWER_TABS = ".lsf-annotation-button"  # one tab per annotation shown beside the task
PLAY = "[data-testid='playback-button:play']"
REQUIRED_MESSAGE = "Decide: sensitive or not (or skip the item)"
NO_MORE_TASKS = "No More Tasks Left in Queue"
_INSTRUCTIONS = ".lsf-modal-ls_visible"
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def launch(playwright):
    """Headless Debian Chromium with the report tests' arguments."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def _headers(conn) -> dict[str, str]:
    return {"Authorization": f"Token {conn.api_key}"}


def project_id(studio, title: str) -> int:
    """The id of the project titled exactly ``title``."""
    got = requests.get(f"{studio.url}/api/projects?page_size=100", headers=_headers(studio.conn),
                       timeout=60)
    got.raise_for_status()
    (pid,) = [p["id"] for p in got.json()["results"] if p["title"] == title]
    return pid


def tasks(studio, pid: int) -> list[dict]:
    """Every task of project ``pid`` (with ``data`` and ``total_annotations``), by id."""
    got = requests.get(f"{studio.url}/api/tasks?project={pid}&page_size=1000",
                       headers=_headers(studio.conn), timeout=60)
    got.raise_for_status()
    return sorted(got.json()["tasks"], key=lambda t: t["id"])


def annotations(studio, task_id: int) -> list[dict]:
    """The annotations of one task, as the admin reads them."""
    got = requests.get(f"{studio.url}/api/tasks/{task_id}/annotations/",
                       headers=_headers(studio.conn), timeout=60)
    got.raise_for_status()
    return got.json()


def annotate(conn, task_id: int, result: list[dict]) -> dict:
    """Answer a task through the API as the user of ``conn``."""
    made = requests.post(f"{conn.url}/api/tasks/{task_id}/annotations/", headers=_headers(conn),
                         json={"result": result, "lead_time": 4.0}, timeout=60)
    made.raise_for_status()
    return made.json()


def is_next_task(response) -> bool:
    """The label stream's request for the next task (its answer is the task, or 404 at the end)."""
    return "/api/dm/actions" in response.url and "id=next_task" in response.url


def _next(response) -> dict | None:
    return response.json() if response.status == 200 else None


@contextlib.contextmanager
def annotator_page(browser, studio, name: str, shot: str):
    """A page logged in as annotator ``name`` (signed up on first use), in its own context."""
    studio.annotator(name)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    offsite: list[str] = []

    def block(route):
        offsite.append(route.request.url)
        route.abort()

    context.route(lambda url: urlparse(url).hostname not in _LOOPBACK, block)
    page = context.new_page()
    page.offsite = offsite
    # the project's labeling instructions open over the first task of a page: close them
    page.add_locator_handler(
        page.locator(_INSTRUCTIONS, has_text="Labeling Instructions"),
        lambda: page.click(f"{_INSTRUCTIONS} button[aria-label='Close modal']"))
    try:
        page.goto(f"{studio.url}/user/login/")
        page.fill("input[name=email]", f"{name}@annotators.test")
        page.fill("input[name=password]", f"pw-{name}-2026!x")
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/user/login" not in url)
        yield page
    except BaseException:
        SHOTS.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(Exception):
            page.screenshot(path=str(SHOTS / f"{shot}--{name}.png"), full_page=True)
        raise
    finally:
        context.close()


def open_grid(page, studio, pid: int, first_unit: str) -> str:
    """The project's first page (its task grid), once ``first_unit`` shows; returns its text."""
    page.goto(f"{studio.url}/projects/{pid}/data")
    page.get_by_text(first_unit, exact=True).wait_for()
    return page.inner_text("body")


def open_task(page, studio, pid: int, task_id: int) -> None:
    """One task in the grid's quick view, once its content warning shows."""
    page.goto(f"{studio.url}/projects/{pid}/data?task={task_id}")
    page.locator(REVEAL).wait_for()


def open_stream(page, studio, pid: int) -> dict | None:
    """The label stream ("Label All Tasks"): the task it gives first (None when it has none)."""
    with page.expect_response(is_next_task) as got:
        page.goto(f"{studio.url}/projects/{pid}/data?labeling=1")
    task = _next(got.value)
    if task is not None:
        page.locator(REVEAL).wait_for()
    return task


def submit(page) -> dict | None:
    """Press Submit on an answer Label Studio accepts: the next task (None when none is left)."""
    from playwright.sync_api import expect

    with page.expect_response(is_next_task) as got:
        page.click(SUBMIT)
    task = _next(got.value)
    if task is not None:  # the next task's warning, not the last one's
        expect(page.locator(REVEAL)).not_to_be_checked()
    return task


def choice(page, selector: str):
    """The label of a choice (its text carries a hotkey hint, so it is found by its input)."""
    return page.locator("label", has=page.locator(selector))


def visible(page, text: str) -> bool:
    """Whether any element showing exactly ``text`` is visible."""
    found = page.get_by_text(text, exact=True)
    return any(found.nth(i).is_visible() for i in range(found.count()))


def push(studio, sample, title: str, where, *extra) -> str:
    """`curate push SAMPLE --project TITLE` against the test server; its output."""
    from tests.cli import run

    code, text = run("push", sample, "--project", title, "--dir", where, *extra,
                     env=studio.env())
    assert code == 0, text
    return text


def small_sample(demo, path):
    """A 12-unit catalogue sample made by `curate sample` (the contract's own way)."""
    from tests.cli import run

    code, text = run("sample", demo["catalogue"], "-o", path, "--n", 12, "--seed", 3,
                     "--strata", "market")
    assert code == 0, text
    return path


def annotation_posts(page) -> list[str]:
    """The URLs of every annotation the page sends from now on (a list that fills itself)."""
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url)
            if r.method == "POST" and "/annotations" in r.url else None)
    return posts
