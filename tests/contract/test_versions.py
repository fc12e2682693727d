"""`curate get`, `versions` and `reproduce`: a past dataset is exported only as DVC recorded it.

A cache object whose bytes are not the md5 that the ``.dvc`` file (or ``dvc.lock``) records —
swapped for another valid sample, say — is refused, naming the path; nothing is written.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from schemas.io import read_parquet  # noqa: F401  (the project is importable)

from .refusal import refused

pytestmark = pytest.mark.dvc
STATE = (".git", ".dvc/tmp")


def sh(cwd: Path, *args: str) -> str:
    if args[0] == "dvc":
        args = (sys.executable, "-m", "dvc", *args[1:])
    done = subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{args}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def dvc_env(tmp_path_factory):
    env = {"DVC_NO_ANALYTICS": "1", "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0",
           "DVC_SITE_CACHE_DIR": str(tmp_path_factory.mktemp("dvc-site"))}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    yield env
    for k, v in saved.items():
        os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)


@pytest.fixture(scope="module")
def tagged(template, tmp_path_factory, dvc_env):
    """A git + DVC repository whose v1 tracks data/s.parquet (its manifest in git)."""
    root = tmp_path_factory.mktemp("versions") / "repo"
    (root / "data").mkdir(parents=True)
    for name in ("s.parquet", "s.manifest.json"):
        shutil.copy(template / name, root / "data" / name)
    sh(root, "git", "init", "-q", "-b", "main")
    sh(root, "git", "config", "user.name", "Audit Test")
    sh(root, "git", "config", "user.email", "audit@example.invalid")
    sh(root, "dvc", "init", "-q")
    sh(root, "dvc", "config", "cache.type", "copy")
    sh(root, "dvc", "add", "-q", "data/s.parquet")
    sh(root, "git", "add", "-A")
    sh(root, "git", "commit", "-q", "-m", "v1")
    sh(root, "git", "tag", "v1")
    return root


@pytest.fixture
def repo(tagged, template, tmp_path, monkeypatch):
    root = tmp_path / "repo"
    shutil.copytree(tagged, root, symlinks=True)
    shutil.copy(template / "s2.parquet", root / "other.parquet")
    shutil.copy(template / "notes.txt", root / "notes.txt")
    monkeypatch.chdir(root)
    return root


def cache_object(root: Path, rel: str) -> Path:
    md5 = next(line.split(":", 1)[1].strip() for line in
               (root / f"{rel}.dvc").read_text().splitlines() if "md5:" in line)
    return root / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]


def test_a_swapped_cache_object_is_not_exported_as_the_version(repo):
    obj = cache_object(repo, "data/s.parquet")
    os.chmod(obj, 0o644)
    obj.write_bytes((repo / "other.parquet").read_bytes())  # another valid sample
    refused("get", "v1", "data/s.parquet", "-o", "old.parquet",
            names=["data/s.parquet", "md5"], ignore=STATE)


@pytest.mark.parametrize("args, names", [
    (("get", "v9", "data/s.parquet", "-o", "old.parquet"), ["v9"]),
    (("get", "v1", "data/nosuch.parquet", "-o", "old.parquet"), ["data/nosuch.parquet"]),
    (("get", "v1", "data/s.parquet", "-o", "notes.txt/old.parquet"), ["notes.txt"]),
    (("get", "v1", "data/s.parquet", "-o", "data"), ["data"]),
    (("get", "v1", "data/s.parquet", "-o", "old.parquet", "--repo", "notes.txt"),
     ["notes.txt"]),
    (("versions", "--repo", "/"), ["/"]),
    (("reproduce", "v9"), ["v9"]),
    (("reproduce", "v1", "--dataset", "data/nosuch.parquet"), ["data/nosuch.parquet"]),
], ids=["unknown-revision", "untracked-path", "output-folder-is-a-file", "output-is-a-folder",
        "repo-is-a-file", "not-a-repository", "reproduce-unknown-revision",
        "reproduce-unknown-dataset"])
def test_versions_refuse_what_they_cannot_find_in_one_line(repo, args, names):
    refused(*args, names=names, ignore=STATE)


def test_get_refuses_to_overwrite_uncommitted_work(repo):
    (repo / "data" / "s.parquet").write_bytes((repo / "other.parquet").read_bytes())
    refused("get", "v1", "data/s.parquet", "-o", "data/s.parquet", names=["data/s.parquet"],
            ignore=STATE)
