"""The push ledger is keyed by the server's identity, not by the spelling of its URL."""

from __future__ import annotations

import json

import pytest

from annotation.ledger import Ledger
from schemas.errors import AnnotationError


def test_a_ledger_follows_its_server_whatever_the_url(tmp_path):
    path = tmp_path / "l.json"
    book = Ledger.load(path, "ls-abc", "audit", url="http://127.0.0.1:8080")
    book.commit(["u1"], [11])
    again = Ledger.load(path, "ls-abc", "audit", url="http://localhost:8080/")
    assert again.tasks == {"u1": 11}
    with pytest.raises(AnnotationError, match="another server"):
        Ledger.load(path, "ls-fresh", "audit", url="http://127.0.0.1:8080")
    with pytest.raises(AnnotationError, match="project 'audit' on this server"):
        Ledger.load(path, "ls-abc", "other", url="http://127.0.0.1:8080")


def test_a_version_1_ledger_is_read_for_the_same_address_and_migrated(tmp_path):
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"version": 1, "url": "http://localhost:8080", "project": "audit",
                                "project_id": 3, "stage": "review", "tasks": {"u1": 5},
                                "pending": []}))
    book = Ledger.load(path, "ls-abc", "audit", url="http://127.0.0.1:8080")
    assert book.tasks == {"u1": 5} and book.project_id == 3
    book.save()
    saved = json.loads(path.read_text())
    assert saved["version"] == 2 and saved["server"] == "ls-abc"
    with pytest.raises(AnnotationError, match="another server"):
        Ledger.load(tmp_path / "old.json", "ls-xyz", "audit", url="http://127.0.0.1:8080")
    path.write_text(json.dumps({"version": 1, "url": "http://10.0.0.9:8080", "project": "audit",
                                "tasks": {}, "pending": []}))
    with pytest.raises(AnnotationError, match="another server"):
        Ledger.load(path, "ls-abc", "audit", url="http://127.0.0.1:8080")
