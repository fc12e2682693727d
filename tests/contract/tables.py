"""Edits of the working folder's files that a contract case starts from (run in its folder)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from .workspace import catalogue, with_column, write


def edited(name: str, column: str, change) -> None:
    """Rewrite ``name`` with ``change(values)`` applied to ``column``; metadata (the manifest)
    kept, as a careless edit in pandas or pyarrow would."""
    table = pq.read_table(name)
    values = table.column(column).to_pylist()
    change(values)
    write(Path(name), with_column(table, column, values))


def halve_first_pi(name: str) -> None:
    """π of the first unit halved, and its weight doubled to match (a consistent edit)."""
    edited(name, "inclusion_prob", lambda v: v.__setitem__(0, v[0] / 2))
    edited(name, "design_weight", lambda v: v.__setitem__(0, v[0] * 2))


def flip_first_label(name: str) -> None:
    edited(name, "sensitive", lambda v: v.__setitem__(0, not v[0]))


def drop_rows(name: str, keep: int = 10, metadata: bool = True) -> None:
    table = pq.read_table(name)
    out = table.slice(0, keep)
    write(Path(name), out if metadata else out.replace_schema_metadata(None))


def duplicate_rows(name: str) -> None:
    table = pq.read_table(name)
    write(Path(name), pa.concat_tables([table, table.slice(0, 2)]))


def parts(kind: str, folder: str = "dir") -> None:
    """A directory of two Parquet files (rows 0-29, 30-59) that disagree as ``kind`` says."""
    cat = catalogue()
    a, b = cat.slice(0, 30), cat.slice(30)
    root = Path(folder)
    root.mkdir()
    if kind == "cast":  # float32 here, float64 there
        b = with_column(b, "risk_score", b.column("risk_score").to_pylist(), pa.float32())
    elif kind == "missing":
        b = b.drop(["creator_id"])
    elif kind == "extra":
        a = a.drop(["creator_id"])
    elif kind == "large_string":
        b = with_column(b, "item_id", b.column("item_id").to_pylist(), pa.large_string())
    if kind in ("hive", "hive-ok"):
        for sub, part in (("market=SE", a), ("market=US", b)):
            (root / sub).mkdir()
            write(root / sub / "part.parquet", part if kind == "hive" else part.drop(["market"]))
        return
    write(root / "a.parquet", a)
    write(root / "b.parquet", b)
