"""Every verb that reads or writes a table takes ``s3://`` URIs as it takes paths (issue 17,
item 5): against the local S3-compatible server, the result from objects equals the result from
the local files, a missing object or bucket is one line naming it with nothing written, and a
verb that writes a folder (``report``, ``demo-data``, ``demo``) refuses a URI in one line."""

from __future__ import annotations

import json
import re
import shutil
import uuid
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from schemas import read_manifest
from tests.cli import run
from tests.contract.workspace import build_template, with_column

from .conftest import bucket_of, keys, refused

#: the files of the contract workspace the tests read: a catalogue, a sample of it (manifest
#: beside it) and its labels, the curated dataset (manifest beside it), its estimates (CSV)
FILES = ("cat.parquet", "s.parquet", "s.manifest.json", "labels.parquet", "cur.parquet",
         "cur.manifest.json", "est.csv")


@pytest.fixture(scope="session")
def workspace(tmp_path_factory) -> Path:
    """The contract workspace (tests/contract/workspace.py), built once."""
    return build_template(tmp_path_factory.mktemp("verbs") / "ws")


@pytest.fixture
def ws(s3, workspace) -> tuple[Path, str]:
    """(the local workspace, ``s3://<new bucket>/``) holding the same :data:`FILES`."""
    return workspace, bucket_of(s3, workspace, FILES, "ws")


def _ok(*args, env: dict[str, str] | None = None) -> str:
    code, text = run(*args, env=env)
    assert code == 0, text
    return text


def _body(s3, uri: str) -> bytes:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def test_build_from_objects_to_an_object_is_the_local_build(ws, s3, tmp_path):
    local, uri = ws
    _ok("build", local / "s.parquet", local / "labels.parquet", "-o", tmp_path / "cur.parquet")
    _ok("build", f"{uri}s.parquet", f"{uri}labels.parquet", "-o", f"{uri}out/cur.parquet")
    want, got = read_manifest(tmp_path / "cur.parquet"), read_manifest(f"{uri}out/cur.parquet")
    assert got.content_hash == want.content_hash
    assert got.inputs["sample"]["path"] == f"{uri}s.parquet"  # provenance names the object
    (tmp_path / "got.parquet").write_bytes(_body(s3, f"{uri}out/cur.parquet"))
    assert pq.read_table(tmp_path / "got.parquet").replace_schema_metadata(None).equals(
        pq.read_table(tmp_path / "cur.parquet").replace_schema_metadata(None))
    assert b'"content_hash"' in _body(s3, f"{uri}out/cur.manifest.json")  # the sidecar too


def test_an_output_object_never_replaces_an_input_object(ws, s3):
    _, uri = ws
    before = {k: _body(s3, uri + k) for k in keys(s3, uri[5:-1])}
    for target in ("s.parquet", "labels.parquet", "s.manifest.json"):
        code, text = run("build", f"{uri}s.parquet", f"{uri}labels.parquet", "-o",
                         uri + target)
        refused(code, text, uri + target)
    code, text = run("build", f"{uri}s.parquet", f"{uri}labels.parquet", "-o",
                     f"{uri}labels.manifest.json.parquet")  # allowed name: not an input
    assert code == 0, text
    assert {k: _body(s3, uri + k) for k in before} == before


def test_estimate_of_a_csv_object_with_csv_totals_is_the_local_estimate(ws, s3, tmp_path):
    local, uri = ws
    table = pq.read_table(local / "cur.parquet").to_pandas()
    table.to_csv(tmp_path / "cur.csv", index=False)  # its manifest beside it, both places
    shutil.copy(local / "cur.manifest.json", tmp_path / "cur.manifest.json")
    pd.DataFrame({"column": ["market"] * 3, "level": ["SE", "US", "DE"],
                  "total": [20, 20, 20]}).to_csv(tmp_path / "totals.csv", index=False)
    bucket = uri[5:-1]
    for f in ("cur.csv", "totals.csv"):
        s3.upload_file(str(tmp_path / f), bucket, f)
    args = ("--y", "sensitive", "--calibrate")
    want = _ok("estimate", tmp_path / "cur.csv", "-o", tmp_path / "e.csv", *args,
               tmp_path / "totals.csv")
    got = _ok("estimate", f"{uri}cur.csv", "-o", f"{uri}e.csv", *args, f"{uri}totals.csv")
    assert f"manifest: {uri}cur.manifest.json" in got, got
    assert got.replace(uri, f"{tmp_path}/") == want
    assert _body(s3, f"{uri}e.csv") == (tmp_path / "e.csv").read_bytes()


def test_compare_of_two_objects_is_the_local_comparison(ws, s3, tmp_path):
    local, uri = ws
    _ok("compare", local / "cur.parquet", local / "cur.parquet", "-o", tmp_path / "c.csv",
        "--y", "sensitive", "--domain", "market")
    _ok("compare", f"{uri}cur.parquet", f"{uri}cur.parquet", "-o", f"{uri}c.csv",
        "--y", "sensitive", "--domain", "market")
    assert _body(s3, f"{uri}c.csv") == (tmp_path / "c.csv").read_bytes()


def test_plan_reads_its_pilot_and_population_from_objects(ws):
    local, uri = ws
    for args in (("--pilot", "{}cur.parquet", "--y", "sensitive"),
                 ("--p", 0.1, "--population", "{}cat.parquet", "--strata", "market")):
        got = _ok("plan", "--margin", 0.05, *[str(a).format(uri) for a in args])
        want = _ok("plan", "--margin", 0.05, *[str(a).format(f"{local}/") for a in args])
        assert got.replace(uri, f"{local}/") == want  # the same plan, naming the object


def test_agreement_reads_labels_and_writes_its_table_as_objects(ws, s3, tmp_path):
    local, uri = ws
    want = _ok("agreement", local / "labels.parquet", "-o", tmp_path / "a.csv")
    got = _ok("agreement", f"{uri}labels.parquet", "-o", f"{uri}a.csv")
    assert got == want
    assert _body(s3, f"{uri}a.csv") == (tmp_path / "a.csv").read_bytes()


def test_a_report_of_objects_is_the_report_of_the_local_files(ws, tmp_path):
    local, uri = ws
    given = ("--sample", "s.parquet", "--population", "cat.parquet", "--curated", "cur.parquet",
             "--previous", "cur.parquet", "--estimates", "est.csv", "--labels", "labels.parquet",
             "--catalogue", "cat.parquet")
    names = [a if a.startswith("--") else "{}" + a for a in given]
    _ok("report", *[n.format(f"{local}/") for n in names], "-o", tmp_path / "local")
    _ok("report", *[n.format(uri) for n in names], "-o", tmp_path / "remote")
    files = sorted(p.relative_to(tmp_path / "local") for p in (tmp_path / "local").rglob("*")
                   if p.is_file())
    assert Path("report.html") in files and any(f.suffix == ".png" for f in files)
    assert files == sorted(p.relative_to(tmp_path / "remote")
                           for p in (tmp_path / "remote").rglob("*") if p.is_file())
    for f in files:
        assert _undated(tmp_path / "remote" / f) == _undated(tmp_path / "local" / f), f


def _undated(path: Path) -> bytes:
    """A report file's bytes without the time the report was made (the minute may differ)."""
    data = path.read_bytes()
    if path.name == "metrics.json":
        doc = json.loads(data)
        doc["summary"].pop("audit_date")
        return json.dumps(doc, sort_keys=True).encode()
    return re.sub(rb"<th>audit date</th><td>[^<]*</td>", b"", data)


@pytest.mark.parametrize("verb", ["report", "demo-data", "demo"])
def test_a_verb_writing_a_folder_refuses_a_uri_in_one_line(verb, ws, s3, tmp_path,
                                                           monkeypatch):
    local, uri = ws
    monkeypatch.chdir(tmp_path)
    before = keys(s3, uri[5:-1])
    args = {"report": ("report", "--curated", local / "cur.parquet", "-o", f"{uri}rep"),
            "demo-data": ("demo-data", f"{uri}demo"), "demo": ("demo", f"{uri}demo")}[verb]
    refused(*run(*args), args[-1], f"curate {verb} writes a folder", "give a local path")
    assert keys(s3, uri[5:-1]) == before
    assert list(tmp_path.iterdir()) == []  # no local folder named "s3:" either


def test_a_push_ledger_is_local_state_and_a_uri_for_it_isrefused(ws, s3, tmp_path,
                                                                  monkeypatch):
    _, uri = ws
    monkeypatch.chdir(tmp_path)
    before = keys(s3, uri[5:-1])
    code, text = run("push", f"{uri}s.parquet", "--project", "p", "--ledger",
                     f"{uri}ledger.json", "--dir", tmp_path / "state")
    refused(code, text, f"{uri}ledger.json", "give a local path")  # before any server
    assert keys(s3, uri[5:-1]) == before and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("verb", ["push", "report"])
def test_an_edited_sample_object_is_refused_by_its_manifest(verb, ws, s3, tmp_path):
    local, uri = ws
    table = pq.read_table(local / "s.parquet")
    edited = with_column(table, "inclusion_prob", [0.5] + table["inclusion_prob"].to_pylist()[1:])
    pq.write_table(edited, tmp_path / "s.parquet")  # its manifest kept in the metadata
    s3.upload_file(str(tmp_path / "s.parquet"), uri[5:-1], "edited.parquet")
    args = {"push": ("push", f"{uri}edited.parquet", "--project", "p", "--dir", tmp_path / "st"),
            "report": ("report", "--sample", f"{uri}edited.parquet", "--population",
                       f"{uri}cat.parquet", "-o", tmp_path / "rep")}[verb]
    refused(*run(*args), f"{uri}edited.parquet", "inclusion_prob")  # before any server
    assert not (tmp_path / "st").exists() and not (tmp_path / "rep").exists()


CASES = {  # verb: (arguments, given the URI of a missing table and a local output folder)
    "build": lambda u, o, ws: ("build", u, f"{ws}labels.parquet", "-o", o / "c.parquet"),
    "build-labels": lambda u, o, ws: ("build", f"{ws}s.parquet", u, "-o", o / "c.parquet"),
    "compare": lambda u, o, ws: ("compare", f"{ws}cur.parquet", u, "-o", o / "c.csv", "--y",
                                 "sensitive"),
    "estimate-csv": lambda u, o, ws: ("estimate", u.replace(".parquet", ".csv"), "-o",
                                      o / "e.csv", "--y", "sensitive"),
    "estimate-totals": lambda u, o, ws: ("estimate", f"{ws}cur.parquet", "-o", o / "e.csv",
                                         "--y", "sensitive", "--calibrate",
                                         u.replace(".parquet", ".csv")),
    "plan-pilot": lambda u, o, ws: ("plan", "--margin", 0.05, "--pilot", u, "--y",
                                    "sensitive"),
    "plan-population": lambda u, o, ws: ("plan", "--margin", 0.05, "--p", 0.1,
                                         "--population", u),
    "agreement": lambda u, o, ws: ("agreement", u, "-o", o / "a.csv"),
    "report-sample": lambda u, o, ws: ("report", "--sample", u, "-o", o / "rep"),
    "report-estimates": lambda u, o, ws: ("report", "--estimates",
                                          u.replace(".parquet", ".csv"), "-o", o / "rep"),
    "report-catalogue": lambda u, o, ws: ("report", "--curated", f"{ws}cur.parquet",
                                          "--catalogue", u, "-o", o / "rep"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_missing_object_or_bucket_is_one_line_and_writes_nothing(case, ws, s3, tmp_path):
    _, uri = ws
    before = keys(s3, uri[5:-1])
    out = tmp_path / "out"
    for missing, wanted in [(f"{uri}nope.parquet", "no such object"),
                            ("s3://no-such-bucket-x2/nope.parquet", "no such bucket")]:
        args = CASES[case](missing, out, uri)
        shown = next(str(a) for a in args if str(a).startswith(missing.rsplit(".", 1)[0]))
        refused(*run(*args), shown, wanted)
        assert not out.exists()
    assert keys(s3, uri[5:-1]) == before


def test_an_output_to_a_missing_bucket_is_one_line_and_reads_nothing_first(ws, s3, tmp_path):
    local, uri = ws
    for args in (("build", f"{uri}s.parquet", f"{uri}labels.parquet", "-o"),
                 ("compare", f"{uri}cur.parquet", f"{uri}cur.parquet", "--y", "sensitive",
                  "-o"),
                 ("agreement", f"{uri}labels.parquet", "-o")):
        target = "s3://no-such-bucket-x3/out" + (".parquet" if args[0] == "build" else ".csv")
        refused(*run(*args, target), target, "no such bucket")


@pytest.mark.dvc
def test_trend_writes_its_series_figure_and_plots_as_objects(s3, tmp_path, tmp_path_factory):
    from tests.curation.waves import DATASET, waves_fixture

    bucket = f"tr-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    fixture = waves_fixture(tmp_path_factory)
    waves = next(fixture)
    try:
        args = ("trend", "--repo", waves.repo, "--dataset", DATASET, "--y", "sensitive",
                "--tags", "audit-v*", "-o")
        _ok(*args, tmp_path / "trend.csv")
        _ok(*args, f"s3://{bucket}/t/trend.csv")
    finally:
        fixture.close()
    assert keys(s3, bucket) == ["t/trend.csv", "t/trend.plot.csv", "t/trend.png"]
    for name, local in (("trend.csv", "trend.csv"), ("trend.plot.csv", "trend.plot.csv"),
                        ("trend.png", "trend.png")):
        assert _body(s3, f"s3://{bucket}/t/{name}") == (tmp_path / local).read_bytes()


@pytest.mark.studio
def test_push_reads_an_object_and_pull_appends_to_an_object(studio, ws, s3, tmp_path):
    from tests.annotation.test_pull import annotate

    local, uri = ws
    title = f"s3-review-{uuid.uuid4().hex[:6]}"
    text = _ok("push", f"{uri}s.parquet", "--project", title, "--dir", tmp_path / "state",
               "--annotators", 3, "--overlap", 1, env=studio.env())
    assert "12 units" in text and "12 imported now" in text, text
    again = run("push", local / "s.parquet", "--project", title, "--dir", tmp_path / "state",
                "--annotators", 3, "--overlap", 1, env=studio.env())
    assert again[0] == 0 and "0 imported now, 12 already there" in again[1], again
    units = pq.read_table(local / "s.parquet", columns=["unit_id"]).column(0).to_pylist()
    annotate(studio, title, units[:6])
    pull = ("pull", "--project", title, "--dir", tmp_path / "state", "-o")
    _ok(*pull, f"{uri}labels-pulled.parquet", env=studio.env())
    _ok(*pull, tmp_path / "labels.parquet", env=studio.env())
    assert _body(s3, f"{uri}labels-pulled.parquet") == (tmp_path / "labels.parquet").read_bytes()
    text = _ok(*pull, f"{uri}labels-pulled.parquet", env=studio.env())  # appended to
    assert "0 new" in text, text
    shutil.rmtree(tmp_path / "state", ignore_errors=True)
