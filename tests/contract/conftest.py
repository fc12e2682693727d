"""Fixtures of the contract suite: a small working folder per case, in which it runs."""

from __future__ import annotations

import shutil

import pytest

from .workspace import build_template


@pytest.fixture(scope="session")
def template(tmp_path_factory):
    return build_template(tmp_path_factory.mktemp("contract") / "template")


@pytest.fixture
def work(template, tmp_path, monkeypatch):
    """A private copy of the template folder, made the current directory."""
    folder = tmp_path / "work"
    shutil.copytree(template, folder)
    monkeypatch.chdir(folder)
    monkeypatch.delenv("LABEL_STUDIO_URL", raising=False)
    monkeypatch.delenv("LABEL_STUDIO_API_KEY", raising=False)
    monkeypatch.setenv("AUDIT_CURATION_STUDIO_DIR", str(folder / ".studio"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return folder
