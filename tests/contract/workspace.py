"""The working folder every contract case starts from, and the small tables it holds."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tests.cli import run
from tests.curation.report.labels import label_rows

N = 60


def catalogue(n: int = N) -> pa.Table:
    rng = np.random.default_rng(0)
    return pa.table({
        "item_id": [f"i{k:03d}" for k in range(n)], "item_type": ["track", "episode"] * (n // 2),
        "creator_id": [f"c{k % 7}" for k in range(n)], "market": ["SE", "US", "DE"] * (n // 3),
        "risk_score": rng.uniform(0.01, 0.9, n), "popularity": rng.uniform(0, 100, n)})


def with_column(table: pa.Table, name: str, values, typ=None) -> pa.Table:
    """``table`` with column ``name`` replaced (metadata kept, so a manifest stays)."""
    i = table.schema.get_field_index(name)
    typ = typ or table.schema.field(name).type
    out = table.set_column(i, pa.field(name, typ), pa.array(values, typ))
    return out.replace_schema_metadata(table.schema.metadata)


def write(path: Path, table: pa.Table) -> Path:
    pq.write_table(table, path)
    return path


def build_template(folder: Path) -> Path:
    """The working folder every case starts from: a catalogue, two samples of it (with their
    manifests), labels of the first, the curated dataset, its estimates, a params file."""
    folder.mkdir(parents=True, exist_ok=True)
    cwd = Path.cwd()
    os.chdir(folder)
    try:
        write(Path("cat.parquet"), catalogue())
        for name, seed in (("s", 7), ("s2", 8)):
            code, text = run("sample", "cat.parquet", "-o", f"{name}.parquet", "--n", 12,
                             "--seed", seed, "--strata", "market")
            assert code == 0, text
        units = pq.read_table("s.parquet", columns=["unit_id"]).column(0).to_pylist()
        votes = [(u, "ann_a", k % 3 == 0) for k, u in enumerate(units)]
        votes += [(u, "ann_b", k % 4 == 0) for k, u in enumerate(units[:8])]
        pq.write_table(pa.Table.from_pandas(label_rows(votes), preserve_index=False),
                       "labels.parquet")
        code, text = run("build", "s.parquet", "labels.parquet", "-o", "cur.parquet")
        assert code == 0, text
        code, text = run("estimate", "cur.parquet", "-o", "est.csv", "--y", "sensitive")
        assert code == 0, text
        Path("params.yaml").write_text("sample_catalogue:\n  n: 12\n  seed: 7\n"
                                       "  strata: market\n")
        Path("notes.txt").write_text("a file that is no manifest\n")
    finally:
        os.chdir(cwd)
    return folder


def frame(path: str | Path) -> pd.DataFrame:
    return pq.read_table(path).to_pandas()
