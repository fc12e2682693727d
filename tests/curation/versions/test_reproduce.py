"""`curate versions`, `curate reproduce` and `curate get` on real git + DVC repositories."""

from __future__ import annotations

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import yaml

from curation.versions.history import list_versions
from curation.versions.reproduce import reproduce
from schemas import read_manifest

from .conftest import commit, curate, set_params, sh, tree_state

pytestmark = pytest.mark.dvc

CAT = "data/samples/catalogue_sample.parquet"
IMP = "data/samples/impression_sample.parquet"


def test_both_tagged_versions_reproduce(history, monkeypatch):
    monkeypatch.chdir(history.repo)
    before = tree_state(history.repo)
    for rev in ("v1", "v2"):
        code, text = curate("reproduce", rev)
        assert code == 0, text
        assert text.count("REPRODUCED") == 2 and "NOT REPRODUCED" not in text
        assert "params.yaml section 'sample_catalogue'" in text
    assert tree_state(history.repo) == before


def test_versions_lists_tags_with_design_n_seed_and_hash(history):
    versions = list_versions(history.repo)
    assert [v.tags for v in versions] == [("v2",), ("v1",)]
    v2 = {d.path: d for d in versions[0].datasets}
    assert set(v2) == {CAT, IMP}
    assert v2[CAT].rows == 450 and v2[CAT].seed == 99 and v2[CAT].changed
    assert v2[IMP].rows == 300 and v2[IMP].seed == 98
    assert v2[CAT].summary.startswith("stratified n=450 power(q=0.5) strata=market,item_type")
    assert v2[IMP].summary.startswith("importance[priority] n=300")
    v1 = {d.path: d for d in versions[1].datasets}
    assert v1[CAT].rows == 600 and v1[CAT].seed == 20261
    code, text = curate("versions", "--repo", history.repo)
    assert code == 0, text
    assert text.index("v2 ") < text.index("v1 ")
    assert f"{CAT}  sample  n=450  seed=99  hash={v2[CAT].content_hash[:12]}" in text


def _rewrite(repo, rel, transform):
    """Replace a stored sample's rows, keeping its metadata (manifest), as a tamperer would."""
    table = pq.read_table(repo / rel)
    pq.write_table(transform(table).replace_schema_metadata(table.schema.metadata), repo / rel)


def test_tampered_sample_is_caught_with_the_units_and_columns_at_fault(clone):
    repo = clone.repo
    victim = pq.read_table(repo / CAT).column("unit_id")[3].as_py()
    _rewrite(repo, CAT, lambda t: t.filter(pc.not_equal(t["unit_id"], victim)))
    sh(repo, "dvc", "commit", "-q", "-f", "sample_catalogue")
    commit(repo, "tampered", tag="v3")
    before = tree_state(repo)
    code, text = curate("reproduce", "v3", "--repo", repo)
    assert code == 1, text
    assert f"{CAT}  NOT REPRODUCED" in text and f"{IMP}  REPRODUCED" in text
    assert "does not match its manifest" in text
    assert f"1 unit(s) only in the redraw (missing from the stored dataset): {victim}" in text
    assert text.strip().endswith("1 of 2 dataset(s) of v3 not reproduced: " + CAT)
    assert tree_state(repo) == before

    _rewrite(repo, CAT, lambda t: t.set_column(
        t.schema.get_field_index("popularity"), "popularity", pc.add(t["popularity"], 1.0)))
    sh(repo, "dvc", "commit", "-q", "-f", "sample_catalogue")
    commit(repo, "tampered values", tag="v4")
    [r] = reproduce(repo, "v4", CAT)
    assert not r.reproduced
    assert any(d.startswith("column 'popularity' differs for 449 of 449 common unit(s)")
               for d in r.differences), r.differences


def test_changed_input_without_redraw_reports_the_population(clone):
    repo = clone.repo
    set_params(repo, demo_data__seed=8)
    sh(repo, "dvc", "repro", "-q", "-s", "demo_data")  # the samples are not redrawn
    commit(repo, "new catalogue, stale samples")
    [r] = reproduce(repo, "HEAD", CAT)
    assert not r.reproduced
    text = "\n".join(r.differences)
    assert "population fingerprint differs" in text and "data/raw/catalogue.parquet" in text
    assert "unit(s) only in the stored dataset (removed by the redraw)" in text
    code, out = curate("reproduce", "HEAD", "--repo", repo)
    assert code == 1 and out.count("NOT REPRODUCED") == 2


def test_params_changed_without_repro_is_not_reproduced(clone):
    repo = clone.repo
    set_params(repo, sample_catalogue__n=500)
    commit(repo, "params edited, dvc repro forgotten")
    [r] = reproduce(repo, "HEAD", CAT)
    assert not r.reproduced
    assert "n: sample drawn with 450, HEAD's params says 500" in r.notes
    assert "rows: stored 450, redrawn 500" in r.differences


def test_errors_are_one_line_and_leave_the_workspace_alone(clone):
    repo = clone.repo
    before = tree_state(repo)
    cases = [
        (("reproduce", "no-such-tag"), "unknown revision 'no-such-tag'"),
        (("reproduce", "v1", "--dataset", "data/samples/other.parquet"),
         "v1 has no dataset data/samples/other.parquet"),
        (("reproduce", "v1", "--dataset", "data/raw/catalogue.parquet"),
         "not a sample or curated dataset"),
        (("get", "v9", CAT, "-o", repo / "x.parquet"), "unknown revision 'v9'"),
        (("get", "v1", "data/nothing.parquet", "-o", repo / "x.parquet"),
         "v1 has no file data/nothing.parquet"),
    ]
    for args, message in cases:
        code, text = curate(*args, "--repo", repo)
        assert code == 1, (args, text)
        assert text.startswith("Error: ") and message in text and text.count("\n") == 1, text
        assert "Traceback" not in text
    assert tree_state(repo) == before


def test_missing_remote_object_is_a_version_error(clone, tmp_path):
    repo = clone.repo
    def sample_md5(rev):
        lock = yaml.safe_load(sh(repo, "git", "show", f"{rev}:dvc.lock"))
        return next(o["md5"] for o in lock["stages"]["sample_catalogue"]["outs"]
                    if o["path"] == CAT)

    target = sample_md5("v1")
    assert target != sample_md5("v2")
    for store in (repo / ".dvc" / "cache" / "files" / "md5", clone.remote / "files" / "md5"):
        (store / target[:2] / target[2:]).unlink()
    before = tree_state(repo)
    for args in (("reproduce", "v1"), ("get", "v1", CAT, "-o", tmp_path / "out.parquet")):
        code, text = curate(*args, "--repo", repo)
        assert code == 1, text
        assert f"the data of {CAT} (md5 {target}) is neither in the DVC cache nor on the " \
               f"remote" in text and text.count("\n") == 1
    assert not (tmp_path / "out.parquet").exists()
    assert tree_state(repo) == before
    assert curate("reproduce", "v2", "--repo", repo)[0] == 0


def test_get_exports_a_past_dataset_and_refuses_to_clobber_local_edits(clone, tmp_path):
    repo = clone.repo
    out = tmp_path / "v1.parquet"
    code, text = curate("get", "v1", CAT, "-o", out, "--repo", repo)
    assert code == 0, text
    assert read_manifest(out).seed == 20261 and pq.read_metadata(out).num_rows == 600
    assert (tmp_path / "v1.manifest.json").exists()
    # restoring v1 into a clean workspace is allowed ...
    assert curate("get", "v1", CAT, "-o", repo / CAT, "--repo", repo)[0] == 0
    assert read_manifest(repo / CAT).seed == 20261
    sh(repo, "dvc", "checkout", "-q", "-f")
    # ... but not over uncommitted changes
    _rewrite(repo, CAT, lambda t: t.slice(0, 10))
    before = tree_state(repo)
    code, text = curate("get", "v1", CAT, "-o", repo / CAT, "--repo", repo)
    assert code == 1 and "has uncommitted changes" in text, text
    assert tree_state(repo) == before


def test_a_rotated_wave_is_redrawn_from_the_wave_it_rotated_from_at_that_revision(clone,
                                                                                 monkeypatch):
    """A rotating panel added without a stage: its manifest names the previous wave and the
    rotation, and the redraw reads that wave as the revision holds it, not the workspace's."""
    monkeypatch.chdir(clone.repo)
    wave2 = "data/samples/catalogue_wave2.parquet"
    code, text = curate("sample", "data/raw/catalogue.parquet", "-o", wave2, "--params",
                        "params.yaml", "--section", "sample_catalogue", "--rotate-from", CAT,
                        "--rotation", "0.25")
    assert code == 0, text
    sh(clone.repo, "dvc", "add", "-q", wave2)
    commit(clone.repo, "wave 2, a rotating panel", tag="v3")
    sh(clone.repo, "dvc", "push", "-q")
    code, text = curate("sample", "data/raw/catalogue.parquet", "-o", "elsewhere.parquet",
                        "--n", "300", "--seed", "5", "--strata", "market")
    assert code == 0, text
    (clone.repo / CAT).write_bytes((clone.repo / "elsewhere.parquet").read_bytes())
    code, text = curate("reproduce", "v3", "--dataset", wave2)
    assert code == 0, text
    assert "REPRODUCED" in text and "NOT REPRODUCED" not in text, text


@pytest.mark.parametrize("how", ["stage", "added"])
def test_a_sample_of_named_columns_is_redrawn_with_those_columns(clone, monkeypatch, how):
    """`--columns` carries only some columns: the redraw (from the stage's command, or from
    the manifest of a file added without a stage) carries the same ones."""
    monkeypatch.chdir(clone.repo)
    slim = "data/samples/catalogue_slim.parquet"
    cmd = ["sample", "data/raw/catalogue.parquet", "-o", slim, "--n", "120", "--seed", "4",
           "--strata", "market", "--columns", "title"]
    if how == "stage":
        pipeline = yaml.safe_load((clone.repo / "dvc.yaml").read_text())
        pipeline["stages"]["slim"] = {"cmd": "curate " + " ".join(cmd),
                                      "deps": ["data/raw/catalogue.parquet"], "outs": [slim]}
        (clone.repo / "dvc.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
        sh(clone.repo, "dvc", "repro", "-q", "slim")
    else:
        code, text = curate(*cmd)
        assert code == 0, text
        sh(clone.repo, "dvc", "add", "-q", slim)
    assert "genre" not in pq.read_schema(clone.repo / slim).names
    commit(clone.repo, "a slim sample", tag="v3")
    code, text = curate("reproduce", "v3", "--dataset", slim)
    assert code == 0, text
    assert "REPRODUCED" in text and "NOT REPRODUCED" not in text, text
