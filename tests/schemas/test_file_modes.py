"""Every file the tool writes gets the mode the user's umask gives a new file (0o666 & ~umask:
group-readable under 022, private under 077), whatever the atomic writer's temporary file had;
secrets (the pseudonym key, the connection file with its API key) stay 600 under any umask."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

import pandas as pd
import pytest

from annotation.connection import write_connection
from annotation.pseudonym import ENV_KEY, load_key
from schemas.io import current_umask, file_mode, write_json, write_parquet, write_text
from tests.cli import run
from tests.curation.report.labels import simulated_labels

UMASKS = (0o022, 0o077, 0o027)


@contextlib.contextmanager
def umask(mask: int):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def modes(folder: Path) -> dict[str, int]:
    """Permission bits of every regular file under ``folder``, by relative path."""
    return {p.relative_to(folder).as_posix(): stat.S_IMODE(p.stat().st_mode)
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("mask", UMASKS)
def test_the_umask_is_read_without_changing_it(mask):
    with umask(mask):
        assert current_umask() == mask
        assert current_umask() == mask
        assert file_mode() == 0o666 & ~mask and file_mode(0o600) == 0o600


@pytest.mark.parametrize("mask", UMASKS)
def test_atomic_writes_respect_the_umask_and_secrets_stay_600(tmp_path, mask):
    import pyarrow as pa

    with umask(mask):
        write_text(tmp_path / "a.txt", "x")
        write_json(tmp_path / "b.json", {"k": 1})
        write_parquet(tmp_path / "c.parquet", pa.table({"x": [1]}))
        write_text(tmp_path / "secret.key", "k" * 32, mode=0o600)
        write_text(tmp_path / "a.txt", "overwritten")  # a replaced file gets the mode again
    got = modes(tmp_path)
    assert got == {"a.txt": 0o666 & ~mask, "b.json": 0o666 & ~mask,
                   "c.parquet": 0o666 & ~mask, "secret.key": 0o600}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file


@pytest.mark.parametrize("mask", [0o022, 0o077])
def test_the_pseudonym_key_and_the_connection_file_stay_600(tmp_path, monkeypatch, mask):
    monkeypatch.delenv(ENV_KEY, raising=False)
    with umask(mask):
        load_key(tmp_path / "pseudonym.key")
        write_connection(tmp_path / "connection.json", {"url": "http://127.0.0.1:1",
                                                        "api_key": "secret"})
    assert modes(tmp_path) == {"pseudonym.key": 0o600, "connection.json": 0o600}


@pytest.fixture(scope="module")
def population(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("modes_data")
    code, out = run("demo-data", d / "raw", "--items", 600, "--impressions", 800, "--seed", 4)
    assert code == 0, out
    return d / "raw"


@pytest.mark.parametrize("mask", [0o022, 0o077])
def test_sample_build_estimate_and_report_write_every_file_with_the_umask_mode(
        population, tmp_path, mask):
    want = 0o666 & ~mask
    truth = pd.read_parquet(population / "truth.parquet").set_index("item_id")["sensitive"]
    with umask(mask):
        code, out = run("sample", population / "catalogue.parquet", "-o",
                        tmp_path / "s" / "sample.parquet", "--design", "stratified", "--n", 80,
                        "--seed", 3, "--strata", "item_type")
        assert code == 0, out
        units = pd.read_parquet(tmp_path / "s" / "sample.parquet")["unit_id"].tolist()
        labels = simulated_labels(units, truth, per_unit=2, seed=1)
        labels["annotation_id"] = range(1, len(labels) + 1)
        labels.to_parquet(tmp_path / "labels.parquet", index=False)  # input, made by the test
        (tmp_path / "labels.parquet").chmod(0o644)
        code, out = run("build", tmp_path / "s" / "sample.parquet", tmp_path / "labels.parquet",
                        "-o", tmp_path / "c" / "curated.parquet")
        assert code == 0, out
        code, out = run("estimate", tmp_path / "c" / "curated.parquet", "-o",
                        tmp_path / "e" / "estimates.csv", "--y", "sensitive")
        assert code == 0, out
        code, out = run("report", "--sample", tmp_path / "s" / "sample.parquet",
                        "--curated", tmp_path / "c" / "curated.parquet",
                        "--estimates", tmp_path / "e" / "estimates.csv",
                        "--pred-col", "sensitive=model_sensitive_simulated",
                        "-o", tmp_path / "r")
        assert code == 0, out
    written = {f"{d}/{k}": v for d in ("s", "c", "e", "r") for k, v in
               modes(tmp_path / d).items()}
    assert {"s/sample.parquet", "s/sample.manifest.json", "c/curated.parquet",
            "e/estimates.csv", "r/report.html", "r/metrics.json"} <= set(written)
    assert any(k.startswith("r/figures/") for k in written)
    assert any(k.startswith("r/tables/") for k in written)
    wrong = {k: oct(v) for k, v in written.items() if v != want}
    assert not wrong, f"not {oct(want)} under umask {oct(mask)}: {wrong}"
