"""Bad requests of `curate trend` and `curate compare --rev/--did`: one line, nothing written.

The working folder is the three-wave repository of ``tests/curation/waves.py``: every file
there (outside git's and DVC's own state) must be byte-identical afterwards and nothing new.
"""

from __future__ import annotations

import pytest

from tests.curation.waves import DATASET, TAGS, waves_fixture

from .refusal import refused

pytestmark = pytest.mark.dvc
STATE = (".git", ".dvc/tmp", ".dvc/cache")


@pytest.fixture(scope="module")
def waves(tmp_path_factory):
    yield from waves_fixture(tmp_path_factory)


@pytest.fixture
def repo(waves, monkeypatch):
    monkeypatch.chdir(waves.repo)
    return waves.repo


COMPARE = ("compare", "-o", "change.csv", "--y", "sensitive", "--dataset", DATASET)


@pytest.mark.parametrize("args, names", [
    (COMPARE + ("--rev", "audit-v0", "--rev", TAGS[1]), ["audit-v0", DATASET]),
    (COMPARE + ("--rev", TAGS[0], "--rev", "audit-v99"), ["audit-v99"]),
    (COMPARE + ("--rev", TAGS[0], "--rev", TAGS[1], "--domain", "item_type", "--did",
                "nosuch", "--control", "episode"), ["item_type", "nosuch"]),
    (COMPARE + ("--rev", TAGS[0], "--rev", TAGS[1], "--domain", "item_type", "--did",
                "track", "--control", "track"), ["track"]),
    (COMPARE + ("--rev", TAGS[0], "--domain", "item_type"), ["--rev"]),
    (COMPARE + ("--rev", TAGS[0], "--rev", TAGS[1], "--did", "track", "--control", "episode"),
     ["--domain"]),
    (("trend", "--dataset", DATASET, "-o", "trend.csv", "--y", "sensitive", "--tags",
      TAGS[0]), ["two tagged versions", TAGS[0]]),
    (("trend", "--dataset", DATASET, "-o", "trend.csv", "--y", "sensitive", "--tags",
      "release-*"), ["two tagged versions", "release-*"]),
    (("trend", "--dataset", "data/nosuch.parquet", "-o", "trend.csv", "--y", "sensitive"),
     ["two tagged versions", "data/nosuch.parquet"]),
    (("trend", "--dataset", DATASET, "-o", "trend.csv", "--y", "nosuch"), ["nosuch"]),
    (("trend", "--dataset", DATASET, "-o", "trend.csv", "--y", "sensitive", "--changes",
      "trend.csv"), ["different files"]),
], ids=["revision-without-dataset", "unknown-revision", "unknown-did-domain",
        "did-equals-control", "one-rev", "did-without-domain", "one-wave", "no-matching-tag",
        "dataset-never-tracked", "unknown-y", "changes-is-output"])
def test_refusals(repo, args, names):
    refused(*args, names=names, folder=repo, ignore=STATE)
