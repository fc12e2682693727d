"""Reading and atomically writing the project's files.

Every file the tool writes goes through :func:`atomic_path`: the content is written to a
temporary file in the destination folder and renamed over the target only when complete, so a
failure leaves the previous version intact and never a half-written file.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from .errors import SchemaError


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, mode: int | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if mode is not None:
            os.chmod(tmp_path, mode)
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_text(target: str | os.PathLike, text: str, mode: int | None = None) -> None:
    """Atomically write ``text`` (UTF-8) to ``target``; ``mode`` e.g. 0o600 for secrets."""
    with atomic_path(target, mode=mode) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(target: str | os.PathLike, obj: Any, mode: int | None = None) -> None:
    """Atomically write ``obj`` as indented, key-sorted JSON."""
    write_text(target, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n", mode=mode)


def write_parquet(target: str | os.PathLike, table: pa.Table) -> None:
    """Atomically write ``table`` to Parquet with fixed settings (byte-reproducible)."""
    with atomic_path(target) as tmp:
        pq.write_table(table, tmp, compression="zstd", write_statistics=True,
                       store_schema=True)


def write_table(target: str | os.PathLike, table: pa.Table) -> None:
    """Atomically write a result table as Parquet, CSV or JSON, chosen by the extension."""
    suffix = Path(target).suffix.lower()
    if suffix == ".parquet":
        write_parquet(target, table)
    elif suffix == ".csv":
        with atomic_path(target) as tmp:
            table.to_pandas().to_csv(tmp, index=False)
    elif suffix == ".json":
        with atomic_path(target) as tmp:
            table.to_pandas().to_json(tmp, orient="records", indent=2)
    else:
        raise SchemaError(f"unsupported output extension {suffix!r}; use .parquet, .csv or .json",
                          source=str(target))


def read_parquet(path: str | os.PathLike, columns: list[str] | None = None) -> pa.Table:
    """Read a Parquet file or directory, turning I/O and format failures into SchemaError."""
    path = Path(path)
    if not path.exists():
        raise SchemaError("no such file or directory", source=str(path))
    try:
        if path.is_dir():
            import pyarrow.dataset as ds

            return ds.dataset(path, format="parquet", partitioning="hive").to_table(
                columns=columns)
        return pq.read_table(path, columns=columns)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as exc:
        raise SchemaError(f"cannot read Parquet: {_first_line(exc)}", source=str(path)) from exc


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def refuse_overwrite(output: str | os.PathLike, inputs: list[str | os.PathLike | None]) -> None:
    """SchemaError when ``output`` is one of the ``inputs`` (outputs never overwrite inputs)."""
    target = Path(output).resolve()
    for path in inputs:
        if path is not None and Path(path).resolve() == target:
            raise SchemaError(f"the output would overwrite the input {path}; choose another "
                              f"output path", source=str(output))
