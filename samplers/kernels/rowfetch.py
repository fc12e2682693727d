"""Reading only the selected rows of a Parquet file: DuckDB's ``file_row_number`` filter.

A fetch of ~1000 rows spread over every row group decodes, with ``pyarrow.parquet``, every
page of every column; DuckDB applies the row-number filter before it materialises the other
columns, 1.3-2x faster on the benchmark's catalogue (bench/RESULTS.md). It is used when
``duckdb`` imports, the file is on the local disk and every column is of a type whose DuckDB
round trip is exact (integers, floats, booleans, strings, dates); the rows come back cast to
the file's Arrow types, so the sample's bytes are those of the pyarrow path
(``tests/samplers/test_kernels.py``). Otherwise, when DuckDB fails (e.g. over its memory
limit; a RuntimeWarning says so), for a file of one row group (DuckDB's threads split row
groups, pyarrow's split one row group's columns: faster there), or with
``AUDIT_CURATION_FETCH=pyarrow``, the caller reads with pyarrow. Where this fetch does not
apply, a stratified or priority draw whose selected rows will touch nearly every row group
reads the file once instead (the single-pass mode, ``Source.reads_once``;
``AUDIT_CURATION_SINGLE_PASS=off`` forces the fetch, ``=on`` the single pass). Under 'auto'
the fetch is not asked for the design's columns: the first pass kept them.
"""

from __future__ import annotations

import importlib.util
import os
import threading
import warnings

import numpy as np
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

ENV = "AUDIT_CURATION_FETCH"
LITERAL_MAX = 20_000  # more selected rows than this are joined from a table, not listed
MEMORY_BASE = 128 << 20  # DuckDB's memory limit: this plus 4x the rows fetched, decoded


def memory_limit(meta: pq.FileMetaData, rows: int) -> str:
    """DuckDB's memory limit for fetching ``rows`` rows of the file of metadata ``meta``:
    without one it keeps decoded pages up to most of the machine's memory (+160 MB at 10^7
    rows)."""
    per_row = sum(meta.row_group(g).total_byte_size for g in range(meta.num_row_groups)) / \
        max(meta.num_rows, 1)
    return f"{(MEMORY_BASE + int(4 * rows * per_row)) >> 20}MB"


def _exact(typ: pa.DataType) -> bool:
    return (pa.types.is_integer(typ) or pa.types.is_floating(typ) or pa.types.is_boolean(typ)
            or pa.types.is_string(typ) or pa.types.is_large_string(typ)
            or pa.types.is_date32(typ))


def wanted() -> bool:
    """Whether the DuckDB fetch may be used (``AUDIT_CURATION_FETCH`` is not 'pyarrow')."""
    return os.environ.get(ENV, "").strip().lower() != "pyarrow"


def applies(filesystem: pafs.FileSystem, meta: pq.FileMetaData, schema: pa.Schema) -> bool:
    """Whether :func:`duckdb_rows` would read the columns of ``schema`` from a file of
    metadata ``meta`` on ``filesystem`` (it may still fail, e.g. over its memory limit)."""
    return wanted() and isinstance(filesystem, pafs.LocalFileSystem) and \
        meta.num_row_groups >= 2 and all(_exact(f.type) for f in schema) and \
        importlib.util.find_spec("duckdb") is not None


_preloading: list[threading.Thread] = []


def preload() -> None:
    """Import duckdb in a background thread (once), so that a fetch after the passes does
    not wait for it (~0.1-0.2 s of loading its library); nothing when it is not wanted or
    not installed. A failed import is left to the fetch, which then reads with pyarrow."""
    if _preloading or not wanted() or importlib.util.find_spec("duckdb") is None:
        return

    def load() -> None:
        try:
            import duckdb  # noqa: F401
        except ImportError:
            return

    thread = threading.Thread(target=load, name="acprn-duckdb-import", daemon=True)
    _preloading.append(thread)
    thread.start()


def fell_back(path: str, why: str) -> None:
    """Say (a RuntimeWarning; ``curate`` prints it as one ``warning:`` line) that the DuckDB
    fetch failed and the pyarrow fetch reads the rows: the same rows, several times slower,
    so a slow draw is explained rather than silent."""
    warnings.warn(f"{path}: the DuckDB fetch of the selected rows failed ({why[:200]}); "
                  f"reading them with pyarrow instead (the same rows, slower)",
                  RuntimeWarning, stacklevel=3)


def duckdb_rows(filesystem: pafs.FileSystem, path: str, meta: pq.FileMetaData,
                file_rows: np.ndarray, schema: pa.Schema) -> pa.Table | None:
    """The rows at file positions ``file_rows`` (sorted, distinct) of the columns of
    ``schema`` (all in the file of metadata ``meta``), cast to its types; None when this
    fetch does not apply."""
    if not applies(filesystem, meta, schema):
        return None  # DuckDB reads row groups in parallel; pyarrow decodes one's columns so
    try:
        import duckdb
    except ImportError:
        return None
    cols = ", ".join('"' + name.replace('"', '""') + '"' for name in schema.names)
    source = "read_parquet('" + str(path).replace("'", "''") + "', file_row_number=true)"
    con = duckdb.connect(config={"threads": max(1, os.cpu_count() or 1),
                                 "preserve_insertion_order": False,
                                 "memory_limit": memory_limit(meta, len(file_rows))})
    try:
        if len(file_rows) <= LITERAL_MAX:
            listed = ",".join(map(str, np.asarray(file_rows, np.int64).tolist()))
            query = (f"SELECT {cols} FROM {source} WHERE file_row_number IN ({listed}) "
                     f"ORDER BY file_row_number")
        else:
            con.register("__wanted", pa.table({"r": np.asarray(file_rows, np.int64)}))
            query = (f"SELECT {cols} FROM {source} WHERE file_row_number IN "
                     f"(SELECT r FROM __wanted) ORDER BY file_row_number")
        table = con.sql(query).to_arrow_table()
    except duckdb.Error as exc:  # e.g. over its memory limit: the pyarrow fetch reads the rows
        fell_back(path, (str(exc).strip().splitlines() or [type(exc).__name__])[0])
        return None
    finally:
        con.close()
    if table.num_rows != len(file_rows):
        fell_back(path, f"{table.num_rows} rows back for {len(file_rows)} asked")
        return None
    return pa.Table.from_arrays([table.column(i).cast(f.type) for i, f in enumerate(schema)],
                                schema=schema)
