"""The files a draw or an estimate is linked to may be objects too (issue 17, item 5): a wave
rotated from or coordinated with an ``s3://`` sample, phase 2 of a phase-1 object, a parameters
file and a predictions table in object storage give what the local files give (same content
hash, same estimate), the manifest names the URI, and a missing object or bucket is one line
naming it with nothing written."""

from __future__ import annotations

import uuid
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from schemas import read_manifest
from tests.cli import run
from tests.contract.workspace import build_template

from .conftest import bucket_of, keys

#: the workspace files put in the bucket: a catalogue, a sample of it (seed 7, by market), the
#: curated dataset of its labels, a params file and a model's predictions for every item
FILES = ("cat.parquet", "s.parquet", "s.manifest.json", "cur.parquet", "cur.manifest.json",
         "params.yaml", "preds.parquet", "preds.csv")


@pytest.fixture(scope="session")
def workspace(tmp_path_factory) -> Path:
    """The contract workspace (tests/contract/workspace.py) with ``preds`` (``unit_id``, an
    LLM judge's ``llm_p`` and a classifier's ``p`` for every catalogue item) as Parquet and
    CSV."""
    folder = build_template(tmp_path_factory.mktemp("links") / "ws")
    ids = pq.read_table(folder / "cat.parquet", columns=["item_id"]).column(0).to_pylist()
    preds = pa.table({"unit_id": ids, "llm_p": [(k % 9 + 0.5) / 10 for k in range(len(ids))],
                      "p": [(k % 7 + 0.5) / 8 for k in range(len(ids))]})
    pq.write_table(preds, folder / "preds.parquet")
    preds.to_pandas().to_csv(folder / "preds.csv", index=False)
    return folder


@pytest.fixture
def ws(s3, workspace) -> tuple[Path, str]:
    """(the local workspace, ``s3://<new bucket>/``) holding the same :data:`FILES`."""
    return workspace, bucket_of(s3, workspace, FILES, "links")


def _ok(*args) -> str:
    code, text = run(*args)
    assert code == 0, text
    return text


def _rows(path: Path) -> pa.Table:
    return pq.read_table(path).replace_schema_metadata(None)


def _same_sample(local: Path, remote: Path) -> dict:
    """Assert the two samples hold the same rows and content hash; the remote one's design."""
    want, got = read_manifest(local), read_manifest(remote)
    assert got.content_hash == want.content_hash
    assert _rows(remote).equals(_rows(local))
    return got.design


@pytest.mark.parametrize("link, extra, key", [
    ("--rotate-from", ("--rotation", 0.5), "rotation"),
    ("--coordinate-with", ("--overlap", "min"), "coordination"),
    ("--coordinate-with", ("--overlap", "max"), "coordination"),
], ids=["rotate", "coordinate-min", "coordinate-max"])
def test_a_wave_linked_to_an_object_is_the_wave_linked_to_the_local_file(ws, tmp_path, link,
                                                                          extra, key):
    local, uri = ws
    draw = ("sample", local / "cat.parquet", "--n", 12, "--strata", "market", *extra)
    out = _ok(*draw, link, local / "s.parquet", "-o", tmp_path / "local.parquet")
    got = _ok(*draw, link, f"{uri}s.parquet", "-o", tmp_path / "remote.parquet")
    design = _same_sample(tmp_path / "local.parquet", tmp_path / "remote.parquet")
    assert design["seed"] == 7  # the previous wave's key, read from the object's manifest
    assert design[key]["previous"] == f"{uri}s.parquet"  # provenance names the object
    assert got.replace(f"{uri}s.parquet", str(local / "s.parquet")).replace(
        "remote.parquet", "local.parquet") == out


def test_phase2_of_a_phase1_object_is_phase2_of_the_local_file(ws, s3, tmp_path):
    local, uri = ws
    draw = ("sample", "--n", 5, "--seed", 3, "--uncertainty", "risk_score")
    _ok(*draw, "--phase2-of", local / "s.parquet", "-o", tmp_path / "local.parquet")
    _ok(*draw, "--phase2-of", f"{uri}s.parquet", "-o", f"{uri}out/p2.parquet")
    s3.download_file(uri[5:-1], "out/p2.parquet", str(tmp_path / "remote.parquet"))
    design = _same_sample(tmp_path / "local.parquet", tmp_path / "remote.parquet")
    assert design["phase1"]["path"] == f"{uri}s.parquet"
    assert design["phase1"]["content_hash"] == read_manifest(local / "s.parquet").content_hash
    _ok("sample", f"{uri}s.parquet", *draw[1:], "--phase2-of", f"{uri}s.parquet", "-o",
        tmp_path / "same.parquet")  # INPUT naming the same object is no conflict
    _same_sample(tmp_path / "local.parquet", tmp_path / "same.parquet")


@pytest.mark.parametrize("preds", ["preds.parquet", "preds.csv"])
def test_phase2_predictions_from_an_object_are_those_of_the_local_file(ws, tmp_path, preds):
    local, uri = ws
    draw = ("sample", "--n", 5, "--seed", 3, "--uncertainty", "llm_p", "--phase2-of")
    _ok(*draw, local / "s.parquet", "--predictions", local / preds, "-o",
        tmp_path / "local.parquet")
    _ok(*draw, f"{uri}s.parquet", "--predictions", f"{uri}{preds}", "-o",
        tmp_path / "remote.parquet")
    design = _same_sample(tmp_path / "local.parquet", tmp_path / "remote.parquet")
    want = read_manifest(tmp_path / "local.parquet").design["predictions"]
    assert design["predictions"] == {**want, "path": f"{uri}{preds}"}


def test_params_from_an_object_draw_the_sample_of_the_local_params(ws, tmp_path):
    local, uri = ws
    draw = ("sample", local / "cat.parquet", "--section", "sample_catalogue")
    _ok(*draw, "--params", local / "params.yaml", "-o", tmp_path / "local.parquet")
    _ok(*draw, "--params", f"{uri}params.yaml", "-o", tmp_path / "remote.parquet")
    _same_sample(tmp_path / "local.parquet", tmp_path / "remote.parquet")
    assert read_manifest(tmp_path / "remote.parquet").content_hash == \
        read_manifest(local / "s.parquet").content_hash  # params.yaml describes s.parquet


@pytest.mark.parametrize("preds", ["preds.parquet", "preds.csv"])
def test_an_estimate_with_predictions_from_an_object_is_the_local_estimate(ws, tmp_path,
                                                                           preds):
    local, uri = ws
    est = ("estimate", local / "cur.parquet", "--y", "sensitive", "--pred-col", "p",
           "--population", local / "cat.parquet")
    want = _ok(*est, "--predictions", local / preds, "-o", tmp_path / "local.csv")
    got = _ok(*est, "--predictions", f"{uri}{preds}", "-o", tmp_path / "remote.csv")
    assert (tmp_path / "remote.csv").read_bytes() == (tmp_path / "local.csv").read_bytes()
    assert got.replace(f"{uri}{preds}", str(local / preds)).replace(
        "remote.", "local.") == want
    model = pd.read_json(tmp_path / "remote.model.json", typ="series")
    assert model["predictions"] == f"{uri}{preds}"


#: a missing object (or bucket) given to each link, and what the one line says
MISSING = {
    "rotate-from": (("sample", "{local}cat.parquet", "--n", 12, "--rotate-from",
                     "{uri}nosuch.parquet", "--rotation", 0.5), "no such object"),
    "coordinate-with": (("sample", "{local}cat.parquet", "--n", 12, "--coordinate-with",
                         "{uri}nosuch.parquet"), "no such object"),
    "phase2-of": (("sample", "--phase2-of", "{uri}nosuch.parquet", "--n", 4),
                  "no such object"),
    "phase2-of-bucket": (("sample", "--phase2-of", "s3://nosuch-{tag}/s.parquet", "--n", 4),
                         "no such bucket"),
    "phase2-predictions": (("sample", "--phase2-of", "{uri}s.parquet", "--n", 4,
                            "--uncertainty", "llm_p", "--predictions", "{uri}nosuch.parquet"),
                           "no such object"),
    "params": (("sample", "{local}cat.parquet", "--params", "{uri}nosuch.yaml"),
               "no such parameters file"),
    "estimate-predictions": (("estimate", "{local}cur.parquet", "--y", "sensitive",
                              "--pred-col", "p", "--population", "{local}cat.parquet",
                              "--predictions", "s3://nosuch-{tag}/preds.csv"),
                             "no such bucket"),
}


@pytest.mark.parametrize("case", sorted(MISSING))
def test_a_missing_linked_object_is_one_line_and_nothing_is_written(ws, s3, tmp_path, case):
    local, uri = ws
    args, says = MISSING[case]
    given = [str(a).format(local=f"{local}/", uri=uri, tag=uuid.uuid4().hex[:8])
             for a in args]
    missing = next(a for a in given if "nosuch" in a)
    out = f"{uri}out/x.{'csv' if given[0] == 'estimate' else 'parquet'}"
    before, files = keys(s3, uri[5:-1]), sorted(local.rglob("*"))
    code, text = run(*given, "-o", out)
    lines = text.strip().splitlines()
    assert code == 1 and lines[-1].startswith("Error: "), text
    assert "Traceback" not in text and missing in lines[-1] and says in lines[-1], text
    assert keys(s3, uri[5:-1]) == before  # no output object, no manifest beside it
    assert sorted(local.rglob("*")) == files and list(tmp_path.iterdir()) == []
