"""DVC reads the report: a real git + DVC repository runs a `report` stage (the shape proposed
for the project's dvc.yaml), then `dvc metrics show` and `dvc plots show` read its numbers."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.dvc

INPUTS = ("catalogue", "recs", "cat_sample", "imp_sample", "cat_curated", "cat_labels",
          "estimates")


def stage(files: dict[str, str]) -> dict:
    f = files
    return {"stages": {"report": {
        "cmd": (f"curate report --title Audit --sample {f['cat_sample']} --population "
                f"{f['catalogue']} --sample {f['imp_sample']} --population {f['recs']} "
                f"--catalogue {f['catalogue']} --impressions {f['imp_sample']} "
                f"--group creator_group --group market --curated {f['cat_curated']} "
                f"--estimates {f['estimates']} --labels {f['cat_labels']} -o reports/audit"),
        "deps": sorted(f.values()),
        "outs": ["reports/audit/report.html", "reports/audit/figures",
                 {"reports/audit/tables": {"cache": False}}],
        "metrics": [{"reports/audit/metrics.json": {"cache": False}}]}},
        "plots": [{"representation ratio": {
            "template": "bar_horizontal", "x": "ratio",
            "y": {"reports/audit/tables/representation_impression_sample.csv": "group"}}}]}


def run(cwd: Path, *args: str) -> str:
    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "GIT_CONFIG_NOSYSTEM": "1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    if args[0] == "dvc":
        args = (sys.executable, "-m", "dvc", *args[1:])
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{args}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_dvc_metrics_and_plots_read_the_report(demo, tmp_path):
    repo = tmp_path / "repo"
    (repo / "data").mkdir(parents=True)
    files = {}
    for name in INPUTS:
        src = getattr(demo, name)
        shutil.copy(src, repo / "data" / src.name)
        files[name] = f"data/{src.name}"
    run(repo, "git", "init", "-q")
    run(repo, "dvc", "init", "-q")
    (repo / "dvc.yaml").write_text(yaml.safe_dump(stage(files), sort_keys=False))
    run(repo, "dvc", "repro", "-q", "report")
    metrics = json.loads(run(repo, "dvc", "metrics", "show", "--json"))
    data = next(iter(metrics.values()))["data"]["reports/audit/metrics.json"]["data"]
    ratio = data["representation"]["impression_sample"]["creator_group"]["major_label"]
    assert ratio["ratio_ci_low"] <= ratio["ratio"] <= ratio["ratio_ci_high"]
    assert data["agreement"]["catalogue_labels"]["sensitive"]["alpha"] is not None
    flat = run(repo, "dvc", "metrics", "show")
    assert "representation.impression_sample.market.US.ratio" in flat
    plots = json.loads(run(repo, "dvc", "plots", "show", "--json"))
    rows = plots["data"]["representation ratio"][0]["content"]["data"]["values"]
    assert {r["group"] for r in rows} >= {"major_label", "independent", "self_published"}
