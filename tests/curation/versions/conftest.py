"""Real temporary git + DVC repositories with a local directory remote (no network).

``history`` builds, once per session, a repository running the project's own pipeline (the
stages of the root ``dvc.yaml`` that need no Label Studio, on small demo data): v1 is drawn
and tagged, then the seeds and sizes change and v2 is drawn and tagged; both are pushed.
Tests that change things work on a copy (``clone``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from curation.cli.main import cli

PROJECT = Path(__file__).resolve().parents[3]
LOCAL_STAGES = ("demo_data", "sample_catalogue", "sample_impressions")
SMALL = {"demo_data": {"items": 2000, "impressions": 5000, "seed": 7}}


@pytest.fixture(scope="session")
def dvc_env(tmp_path_factory):
    """Environment of every DVC and git call: no analytics, private site cache, curate on
    PATH, no user or system git config."""
    site = tmp_path_factory.mktemp("dvc-site-cache")
    env = {"DVC_NO_ANALYTICS": "1", "DVC_SITE_CACHE_DIR": str(site),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    yield env
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def sh(cwd: Path, *args: str) -> str:
    """Run a command (``dvc`` means the installed DVC) in ``cwd``; fail loudly."""
    if args[0] == "dvc":
        args = (sys.executable, "-m", "dvc", *args[1:])
    done = subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def curate(*args) -> tuple[int, str]:
    """``curate ARGS`` through the real entry point, in process."""
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result.exit_code, result.output


def local_pipeline() -> dict:
    """The project's dvc.yaml restricted to the stages that need no Label Studio."""
    doc = yaml.safe_load((PROJECT / "dvc.yaml").read_text())
    doc["stages"] = {k: v for k, v in doc["stages"].items() if k in LOCAL_STAGES}
    return doc


def small_params() -> dict:
    params = yaml.safe_load((PROJECT / "params.yaml").read_text())
    params.update(SMALL)
    return params


def set_params(repo: Path, **changes) -> None:
    """Change ``section.key=value`` entries of the repo's params.yaml."""
    params = yaml.safe_load((repo / "params.yaml").read_text())
    for dotted, value in changes.items():
        section, key = dotted.split("__")
        params[section][key] = value
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def commit(repo: Path, message: str, tag: str | None = None) -> None:
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-q", "-m", message)
    if tag:
        sh(repo, "git", "tag", tag)


def new_repo(path: Path, remote: Path) -> Path:
    path.mkdir(parents=True)
    remote.mkdir(parents=True, exist_ok=True)
    sh(path, "git", "init", "-q", "-b", "main")
    sh(path, "git", "config", "user.name", "Audit Test")
    sh(path, "git", "config", "user.email", "audit@example.invalid")
    sh(path, "dvc", "init", "-q")
    sh(path, "dvc", "config", "cache.type", "copy")
    sh(path, "dvc", "remote", "add", "-d", "store", str(remote))
    return path


@dataclass(frozen=True)
class History:
    repo: Path
    remote: Path


@pytest.fixture(scope="session")
def history(tmp_path_factory, dvc_env) -> History:
    base = tmp_path_factory.mktemp("history")
    repo = new_repo(base / "repo", base / "remote")
    (repo / "dvc.yaml").write_text(yaml.safe_dump(local_pipeline(), sort_keys=False))
    (repo / "params.yaml").write_text(yaml.safe_dump(small_params(), sort_keys=False))
    sh(repo, "dvc", "repro", "-q")
    commit(repo, "audit v1", tag="v1")
    sh(repo, "dvc", "push", "-q")
    set_params(repo, sample_catalogue__seed=99, sample_catalogue__n=450,
               sample_impressions__seed=98, sample_impressions__n=300)
    sh(repo, "dvc", "repro", "-q")
    commit(repo, "audit v2", tag="v2")
    sh(repo, "dvc", "push", "-q")
    return History(repo, base / "remote")


@pytest.fixture
def clone(history, tmp_path) -> History:
    """A private copy of the history (repository, cache and remote)."""
    repo, remote = tmp_path / "repo", tmp_path / "remote"
    shutil.copytree(history.repo, repo, symlinks=True)
    shutil.copytree(history.remote, remote)
    sh(repo, "dvc", "remote", "modify", "--local", "store", "url", str(remote))
    return History(repo, remote)


def tree_state(repo: Path) -> dict[str, str]:
    """Every workspace file (outside .git and .dvc) with its SHA-256, plus git status."""
    state = {}
    for path in sorted(repo.rglob("*")):
        rel = path.relative_to(repo)
        if rel.parts[0] in (".git", ".dvc") or not path.is_file():
            continue
        state[rel.as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    state["<git status>"] = subprocess.run(["git", "status", "--porcelain"], cwd=repo,
                                           capture_output=True, text=True).stdout
    return state
