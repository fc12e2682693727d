"""Demo data and samples for the annotation tests (the server fixture is in tests/conftest.py)."""

from __future__ import annotations

import pytest

from tests.cli import run


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    """Demo data and samples of 2,000 and 5,000 catalogue items and 300 impressions."""
    out = tmp_path_factory.mktemp("demo")
    code, text = run("demo-data", out, "--items", 6000, "--impressions", 6000, "--seed", 11)
    assert code == 0, text
    samples = {}
    for name, source, n in (("s2000", "catalogue", 2000), ("s5000", "catalogue", 5000),
                            ("imp", "recommendations", 300), ("s60", "catalogue", 60)):
        samples[name] = out / f"{name}.parquet"
        code, text = run("sample", out / f"{source}.parquet", "-o", samples[name], "--n", n,
                         "--seed", 5, "--strata", "market")
        assert code == 0, text
    samples["catalogue"] = out / "catalogue.parquet"
    samples["recommendations"] = out / "recommendations.parquet"
    return samples


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for a browser test module (each annotator gets a context)."""
    from playwright.sync_api import sync_playwright

    from tests.annotation.browser import launch

    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


@pytest.fixture
def shot(request):
    """The name a failing page's screenshot gets in /tmp/browser-shots/."""
    return request.node.name
