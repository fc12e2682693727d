"""Render a page in Debian's headless Chromium (driven by Playwright) and report what broke."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


@dataclass
class Rendered:
    images: list[dict]
    console_errors: list[str]
    page_errors: list[str]
    failed_requests: list[str]
    text: str
    requests: list[str]  # every URL the page asked for (the page itself included)


def render(path: Path, screenshot: Path | None = None) -> Rendered:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    console, errors, failed, requests = [], [], [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("requestfailed", lambda r: failed.append(r.url[:80]))
            page.on("request", lambda r: requests.append(r.url[:200]))
            page.goto(path.resolve().as_uri(), wait_until="load")
            images = page.evaluate(
                "Array.from(document.images).map(i => ({complete: i.complete, "
                "width: i.naturalWidth, alt: i.alt}))")
            text = page.inner_text("body")
            if screenshot is not None:
                page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    return Rendered(images, console, errors, failed, text, requests)
