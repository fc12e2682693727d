"""A small real audit for the report: `curate demo-data`, a catalogue and an impression sample
drawn by `curate sample`, simulated labels of both (hand-made Parquet, the columns `curate pull`
writes), `curate build` and `curate estimate`."""

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from curation.cli.main import cli

from .labels import simulated_labels


@dataclass(frozen=True)
class Demo:
    d: Path

    def __getattr__(self, name: str) -> Path:
        return self.d / FILES[name]


FILES = {"catalogue": "raw/catalogue.parquet", "recs": "raw/recommendations.parquet",
         "truth": "raw/truth.parquet", "cat_sample": "catalogue_sample.parquet",
         "imp_sample": "impression_sample.parquet", "cat_labels": "catalogue_labels.parquet",
         "imp_labels": "impression_labels.parquet", "cat_curated": "catalogue_curated.parquet",
         "imp_curated": "impression_curated.parquet", "estimates": "estimates.csv"}


def curate(*args) -> str:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="session")
def demo(tmp_path_factory) -> Demo:
    demo = Demo(tmp_path_factory.mktemp("demo"))
    curate("demo-data", demo.d / "raw", "--items", 2000, "--impressions", 10000, "--seed", 11)
    curate("sample", demo.catalogue, "-o", demo.cat_sample, "--design", "stratified", "--n", 300,
           "--seed", 7, "--strata", "market", "--allocation", "power", "--min-per-stratum", 8)
    curate("sample", demo.recs, "-o", demo.imp_sample, "--design", "importance", "--size",
           "exposure", "--n", 250, "--seed", 8, "--strata", "user_age_band")
    truth = pd.read_parquet(demo.truth).set_index("item_id")["sensitive"]
    cat = pd.read_parquet(demo.cat_sample)
    units = cat["unit_id"].tolist()
    # every unit but the last six of each market; three annotators on even units, two on odd
    kept = cat.groupby("market").head(-6)["unit_id"].tolist()
    labels = pd.concat([simulated_labels(kept[::2], truth, per_unit=3, seed=1),
                        simulated_labels(kept[1::2], truth, per_unit=2, seed=2)])
    labels["annotation_id"] = range(1, len(labels) + 1)
    labels.to_parquet(demo.cat_labels, index=False)
    assert len(units) == 300
    imp = pd.read_parquet(demo.imp_sample)
    seen = pd.Series(truth.loc[imp["item_id"]].to_numpy(), index=imp["unit_id"])
    simulated_labels(imp["unit_id"].tolist(), seen, per_unit=3, seed=3).to_parquet(
        demo.imp_labels, index=False)
    curate("build", demo.cat_sample, demo.cat_labels, "-o", demo.cat_curated)
    curate("build", demo.imp_sample, demo.imp_labels, "-o", demo.imp_curated)
    curate("estimate", demo.cat_curated, "-o", demo.estimates, "--y", "sensitive", "--domain",
           "market")
    return demo
