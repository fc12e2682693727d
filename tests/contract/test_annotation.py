"""`push`, `pull`, `agreement` and `studio`: a bad connection file, option or server is one
line, and nothing is created (not even the pseudonym key) before the server has answered."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.cli import run

from .refusal import refused

PULL = ("pull", "--project", "audit", "-o", "new.parquet")
PUSH = ("push", "s.parquet", "--project", "audit")
DOWN = {"LABEL_STUDIO_URL": "http://127.0.0.1:9", "LABEL_STUDIO_API_KEY": "k" * 40}


def connection(content, mode=0o600):
    where = Path(".studio")
    where.mkdir(exist_ok=True)
    path = where / "connection.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    os.chmod(path, mode)


CONNECTIONS = {
    "without-api_key": ({"url": "http://127.0.0.1:9"}, ["connection.json", "api_key"]),
    "without-url": ({"api_key": "k"}, ["connection.json", "url"]),
    "a-json-list": ([1, 2], ["connection.json"]),
    "a-json-string": ("\"http://127.0.0.1:9\"", ["connection.json"]),
    "api_key-not-text": ({"url": "http://127.0.0.1:9", "api_key": 5},
                         ["connection.json", "api_key"]),
    "url-empty": ({"url": "", "api_key": "k"}, ["connection.json", "url"]),
    "not-json": ("{url: x", ["connection.json"]),
}


@pytest.mark.parametrize("verb", [PULL, PUSH], ids=["pull", "push"])
@pytest.mark.parametrize("content, names", CONNECTIONS.values(), ids=CONNECTIONS.keys())
def test_a_bad_connection_file_is_named_in_one_line(work, verb, content, names):
    connection(content)
    refused(*verb, names=names)


def test_a_connection_file_readable_by_others_is_refused(work):
    connection({"url": "http://127.0.0.1:9", "api_key": "k"}, mode=0o644)
    refused(*PULL, names=["connection.json", "chmod 600"])


@pytest.mark.parametrize("verb", [PULL, PUSH], ids=["pull", "push"])
def test_no_server_configured_creates_nothing(work, verb):
    refused(*verb, names=["curate studio up"])


@pytest.mark.parametrize("verb", [PULL, PUSH], ids=["pull", "push"])
def test_an_unreachable_server_creates_nothing(work, verb):
    refused(*verb, names=["127.0.0.1:9"], env=DOWN)


@pytest.mark.parametrize("value", ["-1", "0", "nan", "soon"])
def test_pull_timeout_must_be_a_positive_number_of_seconds(work, value):
    refused(*PULL, "--timeout", value, names=["--timeout"])


@pytest.mark.parametrize("args, names", [
    (("--batch-size", "0"), ["--batch-size"]),
    (("--queues", "1"), ["--queues"]),
    (("--gold-rate", "0.9"), ["--gold-rate"]),
    (("--budget", "5"), ["--high-risk-score"]),
    (("--high-risk-score", "0.5"), ["--budget"]),
    (("--overlap", "1.5"), ["--overlap"]),
], ids=["batch-size-0", "one-queue", "gold-rate-0.9", "budget-without-risk",
        "risk-without-budget", "overlap-1.5"])
def test_push_refuses_bad_options_before_contacting_anything(work, args, names):
    refused(*PUSH, *args, names=names, env=DOWN)


def test_push_refuses_a_file_that_is_no_sample(work):
    refused("push", "cat.parquet", "--project", "audit", names=["cat.parquet"], env=DOWN)


@pytest.mark.parametrize("labels, names", [
    ("cat.parquet", ["cat.parquet"]),
    ("nosuch.parquet", ["nosuch.parquet"]),
    ("notes.txt", ["notes.txt"]),
], ids=["not-labels", "missing", "not-parquet"])
def test_agreement_refuses_what_is_no_labels_file(work, labels, names):
    refused("agreement", labels, names=names)


def test_agreement_writes_beside_its_labels_when_asked_to(work):
    code, text = run("agreement", "labels.parquet", "-o", "agreement.csv")
    assert code == 0, text


@pytest.mark.studio
def test_push_to_a_real_server_refuses_an_edited_sample_and_creates_nothing(work, studio):
    from . import tables

    tables.halve_first_pi("s.parquet")
    os.environ.pop("AUDIT_CURATION_PSEUDONYM_KEY", None)
    refused(*PUSH, "--dir", ".studio", names=["s.parquet"], env=studio.env())


@pytest.mark.studio
def test_pull_from_a_real_server_names_a_missing_project_and_creates_nothing(work, studio):
    refused("pull", "--project", "no such project", "-o", "new.parquet", "--dir", ".studio",
            names=["no such project"], env=studio.env())
