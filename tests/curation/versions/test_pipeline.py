"""The project's dvc.yaml and params.yaml: reruns exactly what changed; params stay loadable."""

from __future__ import annotations

import re

import pytest
import yaml

from samplers.options import load_section

from .conftest import PROJECT, set_params, sh

pytestmark = pytest.mark.dvc


def ran(output: str) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", output))


def test_repro_reruns_only_the_stages_a_parameter_reaches(clone):
    repo = clone.repo
    assert ran(sh(repo, "dvc", "repro")) == set()  # v2 is up to date: nothing runs
    set_params(repo, sample_impressions__seed=7)
    assert ran(sh(repo, "dvc", "repro")) == {"sample_impressions"}
    set_params(repo, sample_catalogue__allocation="proportional")
    assert ran(sh(repo, "dvc", "repro")) == {"sample_catalogue"}
    assert ran(sh(repo, "dvc", "repro")) == set()


def test_exp_run_varies_a_design_and_params_stay_loadable(clone):
    repo = clone.repo
    out = sh(repo, "dvc", "exp", "run", "-S", "sample_catalogue.n=420")
    assert ran(out) == {"sample_catalogue"}
    section = load_section(repo / "params.yaml", "sample_catalogue")
    assert section["n"] == 420
    import pyarrow.parquet as pq

    assert pq.read_metadata(repo / "data/samples/catalogue_sample.parquet").num_rows == 420


def test_project_params_sections_load_and_every_stage_is_declared():
    for section in ("sample_catalogue", "sample_impressions"):
        assert load_section(PROJECT / "params.yaml", section)["seed"] > 0
    stages = yaml.safe_load((PROJECT / "dvc.yaml").read_text())["stages"]
    assert {"demo_data", "sample_catalogue", "sample_impressions", "push", "pull", "build",
            "estimate", "report"} <= set(stages)
    assert stages["pull"]["do"]["always_changed"] is True
    for stage in stages.values():
        for out in stage.get("do", stage).get("outs", []):
            name = out if isinstance(out, str) else next(iter(out))
            assert name.startswith("data/"), name
