"""A DVC remote in the same object storage: versions pushed there are read back by
``curate get`` and redrawn by ``curate reproduce`` with an empty local cache (needs dvc-s3)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from tests.cli import run
from tests.curation.versions.conftest import commit, local_pipeline, sh, small_params
from tests.storage.conftest import keys

pytestmark = pytest.mark.dvc  # needs dvc-s3 (the test extra) for the s3:// remote


@pytest.fixture
def repo(tmp_path, s3, s3_env, monkeypatch) -> tuple[Path, str]:
    """A git + DVC repository whose default remote is ``s3://<bucket>/dvcstore``; v1 of the
    pipeline's local stages drawn, tagged and pushed there, then the local cache emptied."""
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")
    monkeypatch.setenv("DVC_SITE_CACHE_DIR", str(tmp_path / "site"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}"
                               f"{os.environ.get('PATH', '')}")
    bucket = "dvc-" + tmp_path.name.lower().replace("_", "-")[-20:]
    s3.create_bucket(Bucket=bucket)
    root = tmp_path / "repo"
    root.mkdir()
    sh(root, "git", "init", "-q", "-b", "main")
    sh(root, "git", "config", "user.name", "Audit Test")
    sh(root, "git", "config", "user.email", "audit@example.invalid")
    sh(root, "dvc", "init", "-q")
    sh(root, "dvc", "config", "cache.type", "copy")
    # the endpoint and the keys come from the environment (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID,
    # ...), as for pyarrow: nothing secret in .dvc/config
    sh(root, "dvc", "remote", "add", "-d", "store", f"s3://{bucket}/dvcstore")
    (root / "dvc.yaml").write_text(yaml.safe_dump(local_pipeline(), sort_keys=False))
    (root / "params.yaml").write_text(yaml.safe_dump(small_params(), sort_keys=False))
    sh(root, "dvc", "repro", "-q")
    commit(root, "audit v1", tag="v1")
    sh(root, "dvc", "push", "-q")
    assert "testing-secret-key" not in (root / ".dvc" / "config").read_text()
    shutil.rmtree(root / ".dvc" / "cache")
    return root, bucket


def test_get_and_reproduce_read_a_version_from_an_s3_remote(repo, s3, tmp_path):
    root, bucket = repo
    assert any(k.startswith("dvcstore/") for k in keys(s3, bucket))
    out = tmp_path / "v1.parquet"
    code, text = run("get", "v1", "data/samples/catalogue_sample.parquet", "-o", out,
                     "--repo", root)
    assert code == 0 and "wrote" in text, text
    assert out.read_bytes() == (root / "data/samples/catalogue_sample.parquet").read_bytes()
    code, text = run("get", "v1", "data/samples/catalogue_sample.parquet", "-o",
                     f"s3://{bucket}/exports/v1.parquet", "--repo", root)
    assert code == 0, text
    assert s3.get_object(Bucket=bucket, Key="exports/v1.parquet")["Body"].read() == \
        out.read_bytes()
    code, text = run("reproduce", "v1", "--repo", root)
    assert code == 0 and "NOT REPRODUCED" not in text and "REPRODUCED" in text, text


def test_reproduce_redraws_a_versioned_sample_from_the_object_it_was_drawn_from(
        bucket, demo, s3, s3_env, tmp_path, monkeypatch):
    """The input object lives outside the repository: the redraw reads it by its URI, and a
    rewritten object (other bytes, same rows) is named, the sample still the same."""
    import pyarrow.parquet as pq

    from tests.curation.versions.conftest import new_repo

    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")
    monkeypatch.setenv("DVC_SITE_CACHE_DIR", str(tmp_path / "site"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    root = new_repo(tmp_path / "repo", tmp_path / "remote")
    uri = f"s3://{bucket}/catalogue.parquet"
    (root / "data").mkdir()
    code, text = run("sample", uri, "-o", root / "data" / "s.parquet", "--n", 120, "--seed", 3,
                     "--strata", "market")
    assert code == 0, text
    sh(root, "dvc", "add", "-q", "data/s.parquet")
    commit(root, "wave 1", tag="w1")
    code, text = run("reproduce", "w1", "--repo", root)
    assert code == 0 and "NOT REPRODUCED" not in text and "REPRODUCED" in text, text
    table = pq.read_table(demo / "catalogue.parquet")
    pq.write_table(table, tmp_path / "rewritten.parquet", compression="gzip")  # same rows
    s3.upload_file(str(tmp_path / "rewritten.parquet"), bucket, "catalogue.parquet")
    code, text = run("reproduce", "w1", "--repo", root)
    assert code == 0 and "NOT REPRODUCED" not in text, text
    assert uri in text and "yet the redraw is identical" in text, text
