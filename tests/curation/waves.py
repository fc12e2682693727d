"""A git + DVC repository with three tagged audit waves, for `curate trend` and `compare --rev`.

Each wave is drawn by `curate sample` (stratified on market, the later ones `--coordinate-with`
the previous wave), labeled synthetically from a hidden truth in which a policy fixes 30% of the
positive items of each wave, built by `curate build` into ``data/curated.parquet``, tracked by
DVC and committed and tagged. Commit dates are a month apart and the tags are ``audit-v1``,
``audit-v2`` and ``audit-v10``, so that date order differs from the tags' alphabetical order; a
first tag ``audit-v0`` holds no dataset. The bytes of each wave's dataset as checked out at its
tag are kept in ``checked/<tag>.parquet`` (with the manifest beside it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from tests.cli import run
from tests.curation.report.labels import label_rows

TAGS = ("audit-v1", "audit-v2", "audit-v10")
DATASET = "data/curated.parquet"


@dataclass(frozen=True)
class Waves:
    repo: Path
    checked: Path  # checked/<tag>.parquet: the dataset as checked out at each tag


def dvc_environment(site: Path) -> dict[str, str]:
    return {"DVC_NO_ANALYTICS": "1", "DVC_SITE_CACHE_DIR": str(site),
            "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0",
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


def sh(cwd: Path, *args: str, env: dict | None = None) -> str:
    if args[0] == "dvc":
        args = (sys.executable, "-m", "dvc", *args[1:])
    done = subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, check=False,
                          env={**os.environ, **(env or {})})
    assert done.returncode == 0, f"{args}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _commit(repo: Path, message: str, month: int, tag: str) -> None:
    date = f"2026-{month:02d}-01T12:00:00Z"
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-q", "--allow-empty", "-m", message,
       env={"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date})
    sh(repo, "git", "tag", tag)


def build_waves(base: Path) -> Waves:
    """The repository (see the module doc) under ``base``; built once, then reused."""
    repo, work, checked = base / "repo", base / "work", base / "checked"
    if (base / "done").exists():
        return Waves(repo, checked)
    for folder in (repo / "data", work, checked):
        folder.mkdir(parents=True, exist_ok=True)
    code, text = run("demo-data", work, "--items", 3000, "--impressions", 200, "--seed", 3)
    assert code == 0, text
    sh(repo, "git", "init", "-q", "-b", "main")
    sh(repo, "git", "config", "user.name", "Audit Test")
    sh(repo, "git", "config", "user.email", "audit@example.invalid")
    sh(repo, "dvc", "init", "-q")
    sh(repo, "dvc", "config", "cache.type", "copy")
    _commit(repo, "setup", 1, "audit-v0")
    catalogue = pd.read_parquet(work / "catalogue.parquet")
    rng = np.random.default_rng(0)
    truth = dict(zip(catalogue["item_id"], rng.uniform(size=len(catalogue)) < 0.08,
                     strict=True))
    previous = None
    for k, tag in enumerate(TAGS):
        sample = work / f"sample{k}.parquet"
        extra = ["--coordinate-with", previous] if previous else ["--seed", 7]
        code, text = run("sample", work / "catalogue.parquet", "-o", sample, "--n", 400,
                         "--strata", "market", "--min-per-stratum", 2, *extra)
        assert code == 0, text
        units = pq.read_table(sample, columns=["unit_id"]).column(0).to_pylist()
        label_rows([(u, "ann_a", bool(truth[u])) for u in units]).to_parquet(
            work / f"labels{k}.parquet", index=False)
        code, text = run("build", sample, work / f"labels{k}.parquet", "-o", repo / DATASET)
        assert code == 0, text
        shutil.copy(repo / DATASET, checked / f"{tag}.parquet")
        shutil.copy(repo / "data" / "curated.manifest.json", checked / f"{tag}.manifest.json")
        sh(repo, "dvc", "add", "-q", DATASET)
        _commit(repo, f"audit wave {k + 1}", k + 2, tag)
        truth = {u: v and rng.uniform() > 0.3 for u, v in truth.items()}
        previous = sample
    (base / "done").touch()
    return Waves(repo, checked)


def waves_fixture(tmp_path_factory):
    """Body of a module fixture: the environment DVC needs, and the (shared) repository."""
    base = tmp_path_factory.getbasetemp()
    env = dvc_environment(base / "audit-waves-site")
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield build_waves(base / "audit-waves")
    finally:
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
