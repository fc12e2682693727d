"""Audio in a real browser, as an annotator: the transcript and metadata come first, the player
only when asked for, it fetches nothing before it is played and never plays by itself."""

from __future__ import annotations

import http.server
import io
import math
import struct
import threading
import time
import wave
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

pytest.importorskip("playwright.sync_api")

from playwright.sync_api import expect  # noqa: E402

from tests.annotation import browser as ui  # noqa: E402
from tests.cli import run  # noqa: E402

pytestmark = [pytest.mark.studio,
              pytest.mark.skipif(not Path(ui.CHROMIUM).exists(), reason="no Chromium")]

PLAYER = "audio[controls]"
PLAY_EVENTS = """window.__played = [];
for (const kind of ["play", "playing"]) {
  document.addEventListener(kind, e => window.__played.push(kind), true);
}"""
MEDIA = """Array.from(document.querySelectorAll("audio, video")).map(
  m => ({paused: m.paused, time: m.currentTime, autoplay: m.autoplay, preload: m.preload}))"""


def _wav(seconds: float = 2.0, rate: int = 8000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(struct.pack("<h", int(6000 * math.sin(2 * math.pi * 440 * i
                                                                       / rate)))
                               for i in range(int(seconds * rate))))
    return out.getvalue()


@pytest.fixture(scope="module")
def wav_server():
    """A short WAV on a loopback HTTP server; yields its base URL and the paths it served."""
    body, hits = _wav(), []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "audio/wav")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Access-Control-Allow-Origin", "*")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def audio_project(studio, demo, wav_server, tmp_path_factory):
    """A small sample of a catalogue whose items have an ``audio_url``, pushed."""
    where = tmp_path_factory.mktemp("browser-audio")
    base, _ = wav_server
    catalogue = pq.read_table(demo["catalogue"])
    urls = [f"{base}/clip.wav?unit={i}" for i in catalogue.column("item_id").to_pylist()]
    with_audio = where / "catalogue.parquet"
    pq.write_table(catalogue.append_column("audio_url", pa.array(urls, pa.string())),
                   with_audio)
    sample = where / "audio.parquet"
    code, text = run("sample", with_audio, "-o", sample, "--n", 12, "--seed", 3, "--strata",
                     "market")
    assert code == 0, text
    ui.push(studio, sample, "browser-audio", where)
    pid = ui.project_id(studio, "browser-audio")
    return pid, ui.tasks(studio, pid)


def _before(page, first: str, second: str) -> bool:
    """Whether the element of ``first`` comes before that of ``second`` in the page."""
    a, b = page.locator(first).first, page.locator(second).first
    return b.evaluate("(b, a) => !!(a.compareDocumentPosition(b) & 4)", a.element_handle())


def test_audio_comes_after_the_transcript_and_never_plays_by_itself(studio, audio_project,
                                                                    browser, shot):
    """Before "Show the content" no title, transcript or player shows; after it the title and
    description do, and below them only the choice to listen; the player appears once the
    annotator chooses to listen, and nothing plays: paused at 0 s a second later."""
    pid, tasks = audio_project
    data = tasks[0]["data"]
    with ui.annotator_page(browser, studio, "bw-audio", shot) as page:
        page.add_init_script(PLAY_EVENTS)
        ui.open_task(page, studio, pid, tasks[0]["id"])
        for text in (data["title"], data["description"], data["context"]):
            assert not ui.visible(page, text)
        assert not ui.choice(page, ui.LISTEN).is_visible()
        assert not page.locator(PLAYER).first.is_visible()
        page.check(ui.REVEAL)
        for text in (data["title"], data["description"]):
            expect(page.get_by_text(text, exact=True).first).to_be_visible()
        expect(ui.choice(page, ui.LISTEN)).to_be_visible()
        assert not page.locator(PLAYER).first.is_visible()
        assert _before(page, f"text={data['description']}", ui.LISTEN)
        assert _before(page, ui.LISTEN, ui.YES)
        page.check(ui.LISTEN)
        expect(page.locator(PLAYER)).to_be_visible()
        time.sleep(1.0)
        media = page.evaluate(MEDIA)
        assert media and all(m["paused"] and m["time"] == 0 and not m["autoplay"]
                             for m in media)
        assert page.evaluate("window.__played") == []


def test_the_audio_is_not_fetched_before_it_is_played(studio, audio_project, wav_server,
                                                      browser, shot):
    """No request for the task's audio before the annotator presses play: neither when the
    task opens, nor after "Show the content", nor when the player appears; pressing play
    fetches it."""
    pid, tasks = audio_project
    _, hits = wav_server
    task = tasks[1]
    clip = f"unit={task['data']['unit_id']}"
    with ui.annotator_page(browser, studio, "bw-audio-fetch", shot) as page:
        ui.open_task(page, studio, pid, task["id"])
        for step in ("open", "reveal", "listen"):
            if step == "reveal":
                page.check(ui.REVEAL)
            elif step == "listen":
                page.check(ui.LISTEN)
                expect(page.locator(PLAYER)).to_be_visible()
            time.sleep(1.0)
            assert [h for h in hits if clip in h] == [], f"fetched at {step}"
        assert all(m["preload"] == "none" for m in page.evaluate(MEDIA))
        page.locator(PLAYER).evaluate("a => a.play()")
        deadline = time.time() + 10
        while not [h for h in hits if clip in h] and time.time() < deadline:
            time.sleep(0.2)
        assert [h for h in hits if clip in h], "pressing play fetches the audio"
