"""Curated datasets and `dvc add`-ed samples in the version history."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curation.versions.history import list_versions
from curation.versions.reproduce import reproduce
from schemas.labels import DEFAULT_CATEGORIES

from .conftest import commit, curate, sh

pytestmark = pytest.mark.dvc

CAT = "data/samples/catalogue_sample.parquet"
RISK = "data/samples/risk_sample.parquet"
LABELS = "data/labels/catalogue_labels.parquet"
CURATED = "data/curated/catalogue_curated.parquet"


def write_labels(path, units, flip=False):
    rows = []
    for k, unit in enumerate(units):
        for j in range(1 + (k % 3 == 0)):
            sensitive = (k % 5 == 0) != (flip and k == 0)
            rows.append(dict(unit_id=unit, annotation_id=2 * k + j, annotator=f"a{j}",
                             created_at=pd.Timestamp("2026-05-01", tz="UTC"),
                             updated_at=pd.Timestamp("2026-05-02", tz="UTC"), lead_time_s=5.0,
                             sensitive=sensitive, unsure=False, skipped=False,
                             severity=2 if sensitive else None, note="", project="audit",
                             stage="review",
                             **{f"cat_{c}": sensitive and c == "violence"
                                for c in DEFAULT_CATEGORIES}))
    frame = pd.DataFrame(rows).astype({"severity": "Int64"})
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)


def test_curated_and_added_samples_are_listed_and_reproduced(clone, monkeypatch):
    repo = clone.repo
    monkeypatch.chdir(repo)  # relative paths, as a user (or a dvc stage) would type them
    units = pq.read_table(CAT).column("unit_id").to_pylist()[:120]
    write_labels(repo / LABELS, units)
    assert curate("build", CAT, LABELS, "-o", CURATED)[0] == 0
    code, text = curate("sample", "data/raw/catalogue.parquet", "-o", RISK, "--design",
                        "importance", "--size", "risk_score", "--mixture", 0.1, "--n", 60,
                        "--seed", 4, "--strata", "item_type")
    assert code == 0, text
    sh(repo, "dvc", "add", "-q", LABELS, CURATED, RISK)
    commit(repo, "labels, curated table and a risk sample", tag="v3")
    sh(repo, "dvc", "push", "-q")

    [v3, v2, v1] = list_versions(repo)
    assert v3.tags == ("v3",)
    kinds = {d.path: (d.kind, d.changed) for d in v3.datasets}
    assert kinds == {CAT: ("sample", False), "data/samples/impression_sample.parquet":
                     ("sample", False), RISK: ("sample", True), CURATED: ("curated", True)}
    curated = next(d for d in v3.datasets if d.path == CURATED)
    assert curated.rows == 450 and curated.summary.startswith(f"curated from {CAT}:")

    code, text = curate("reproduce", "v3")
    assert code == 0, text
    assert f"v3:{RISK}  REPRODUCED  (sample, the design in its manifest" in text
    code, text = curate("reproduce", "v3", "--dataset", CURATED)
    assert code == 0 and f"v3:{CURATED}  REPRODUCED  (curated, rebuilt from {CAT}" in text

    write_labels(repo / LABELS, units, flip=True)  # labels edited, curated table not rebuilt
    sh(repo, "dvc", "add", "-q", LABELS)
    commit(repo, "labels changed")
    [r] = reproduce(repo, "HEAD", CURATED)
    assert not r.reproduced
    text = "\n".join(r.differences)
    assert f"input {LABELS} differs from the one the dataset was built from" in text
    assert f"column 'sensitive' differs for 1 of 450 common unit(s) (e.g. {units[0]}" in text
