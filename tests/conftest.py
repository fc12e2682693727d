"""Fixtures of the whole suite: one real Label Studio per test session, started on first use."""

from __future__ import annotations

import pytest

from tests.annotation.studio_fixture import Studio


@pytest.fixture(scope="session")
def studio(tmp_path_factory):
    """A real Label Studio on a free loopback port, started once, stopped at the end."""
    s = Studio.start(tmp_path_factory.mktemp("studio"))
    yield s
    s.stop()
