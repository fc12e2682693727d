"""`curate compare --rev A --rev B --dataset PATH`: two waves read from DVC, as if checked out."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.cli import run
from tests.curation.waves import DATASET, TAGS, waves_fixture

pytestmark = pytest.mark.dvc


@pytest.fixture(scope="module")
def waves(tmp_path_factory):
    yield from waves_fixture(tmp_path_factory)


@pytest.mark.parametrize("extra", [
    ("--domain", "market", "--fdr", 0.1),
    ("--domain", "item_type", "--did", "track", "--control", "episode"),
])
def test_revisions_give_the_numbers_of_the_checked_out_files(waves, tmp_path, monkeypatch,
                                                             extra):
    monkeypatch.chdir(waves.repo)  # the repository of the current directory
    code, text = run("compare", "--rev", TAGS[0], "--rev", TAGS[1], "--dataset", DATASET,
                     "-o", tmp_path / "rev.csv", "--y", "sensitive", *extra)
    assert code == 0, text
    code, text = run("compare", waves.checked / f"{TAGS[0]}.parquet",
                     waves.checked / f"{TAGS[1]}.parquet", "-o", tmp_path / "files.csv",
                     "--y", "sensitive", *extra)
    assert code == 0, text
    assert (tmp_path / "rev.csv").read_bytes() == (tmp_path / "files.csv").read_bytes()
    table = pd.read_csv(tmp_path / "rev.csv")
    assert len(table) > 1 if "--fdr" in extra else len(table) == 1
    if "--fdr" in extra:
        assert {"p_value", "flagged"} <= set(table.columns)
        assert (table["coordination"] == "positive").all()


def test_a_commit_id_and_repo_option_work_from_elsewhere(waves, tmp_path):
    import subprocess

    sha = subprocess.run(["git", "rev-parse", TAGS[2]], cwd=waves.repo, capture_output=True,
                         text=True).stdout.strip()
    code, text = run("compare", "--repo", waves.repo, "--rev", TAGS[1], "--rev", sha[:12],
                     "--dataset", DATASET, "-o", tmp_path / "c.csv", "--y", "sensitive")
    assert code == 0, text
    row = pd.read_csv(tmp_path / "c.csv").iloc[0]
    assert row["estimate_b"] < row["estimate_a"] and row["overlap_units"] > 300


def test_reversed_revisions_are_computed_as_given_with_a_note(waves, tmp_path):
    code, text = run("compare", "--repo", waves.repo, "--rev", TAGS[2], "--rev", TAGS[0],
                     "--dataset", DATASET, "-o", tmp_path / "c.csv", "--y", "sensitive")
    assert code == 0, text
    assert f"note: {TAGS[0]} is older than {TAGS[2]}" in text
    assert pd.read_csv(tmp_path / "c.csv").iloc[0]["difference"] > 0
