"""How a draw reads a Parquet input, decided from the files' metadata before any pass.

* **Once or twice** (:func:`once_pays`): the single-pass mode reads the carried columns in the
  first pass and keeps the candidates' rows (``samplers.selection.CarryingBestK``), instead
  of fetching the selected rows after the passes. ``AUDIT_CURATION_SINGLE_PASS`` is 'auto'
  (the default: this module's rule), 'on' (wherever the design allows it) or 'off' (always
  the fetch, as before the mode existed). The bytes of the sample are the same either way.
  When 'auto' fetches, the carried columns the first pass decodes anyway (the design's: id,
  strata, size) are kept with the candidates too, and the fetch reads only the others
  (``DesignSampler._content``): DuckDB then decompresses fewer pages.
* **Which string columns to read as dictionaries** in that pass (:func:`indexed_columns`).
* **Rows per batch** (:func:`batch_rows_for`): fewer for wide rows, so the batches the reader
  thread holds stay the same size in memory.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from .rowfetch import applies

ENV = "AUDIT_CURATION_SINGLE_PASS"
MODES = ("auto", "on", "off")
TOUCHED_SHARE = 0.95  # auto: single pass when this share of row groups holds a selected row
SINGLE_PASS_BYTES = 256 << 20  # ... and the kept candidates' rows fit in this much memory
DICTIONARY_PAGE = 1 << 20  # the writers' default dictionary page limit (pyarrow, parquet-mr)
INDEX_BYTES = 3  # dictionary indices of at most 24 bits per row, with RLE headers
BATCH_WIDTH = 24  # decoded bytes per row for which ``batch_rows`` is meant (the design's ids)
MIN_BATCH_ROWS = 1 << 14


def single_pass_mode() -> str:
    """``AUDIT_CURATION_SINGLE_PASS``: 'auto', 'on' or 'off' (see the module docstring)."""
    mode = os.environ.get(ENV, "").strip().lower() or "auto"
    if mode not in MODES:
        from schemas import DesignError

        raise DesignError(f"{ENV}={mode!r}: expected one of {list(MODES)}")
    return mode


def column_bytes(meta: pq.FileMetaData, names: Iterable[str]) -> int:
    """Decoded (uncompressed) bytes of the columns ``names`` over every row group."""
    wanted = set(names)
    return sum(meta.row_group(g).column(j).total_uncompressed_size
               for g in range(meta.num_row_groups)
               for j in range(meta.row_group(g).num_columns)
               if meta.row_group(g).column(j).path_in_schema in wanted)


def indexed_columns(meta: pq.FileMetaData, names: list[str]) -> set[str]:
    """String columns of ``names`` stored as dictionary indices in every row group (no
    fallback to plain pages: the data pages are at most ``INDEX_BYTES`` per row beside a
    dictionary of at most ``DICTIONARY_PAGE`` bytes): the single-pass mode reads them as Arrow
    dictionaries and decodes only the kept rows' values."""
    out = {f.name for f in meta.schema.to_arrow_schema()
           if f.name in names and (pa.types.is_string(f.type) or
                                   pa.types.is_large_string(f.type))}
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        for j in range(group.num_columns):
            col = group.column(j)
            if col.path_in_schema in out and not (
                    col.has_dictionary_page and col.total_uncompressed_size <=
                    DICTIONARY_PAGE + INDEX_BYTES * group.num_rows):
                out.discard(col.path_in_schema)
    return out


def once_pays(fragments: list[ds.ParquetFileFragment], schema: pa.Schema, names: list[str],
              n: int, kept_rows: int) -> bool:
    """The 'auto' rule: read once when nearly every row group (``TOUCHED_SHARE``, expected
    over ``n`` selected rows: ``1 - (1 - r_g/N)^n`` per row group) will hold a selected row, so
    a fetch would decode them all anyway; the DuckDB row-number fetch, which decodes only the
    selected rows' values and is faster than decoding every column with pyarrow
    (bench/RESULTS.md), does not apply to every file; and ``kept_rows`` candidate rows of the
    columns ``names`` fit in ``SINGLE_PASS_BYTES``."""
    sizes = [rg.num_rows for frag in fragments for rg in frag.row_groups]
    total = sum(sizes)
    if total == 0 or n <= 0:
        return False
    wanted = pa.schema([schema.field(c) for c in names])
    duckdb_all = all(set(names) <= set(frag.physical_schema.names) and
                     applies(frag.filesystem, frag.metadata, wanted) for frag in fragments)
    width = sum(column_bytes(frag.metadata, names) for frag in fragments) / total
    touched = float(np.mean(1.0 - np.power(1.0 - np.asarray(sizes, np.float64) / total, n)))
    return touched >= TOUCHED_SHARE and not duckdb_all and width * kept_rows <= \
        SINGLE_PASS_BYTES


def batch_rows_for(fragments: list[ds.ParquetFileFragment], names: list[str],
                   batch_rows: int) -> int:
    """Rows per batch for a pass over the columns ``names``: ``batch_rows`` for up to
    ``BATCH_WIDTH`` decoded bytes per row, proportionally fewer (at least ``MIN_BATCH_ROWS``,
    never more than asked) for wider rows, such as every column in the single-pass mode."""
    rows = sum(rg.num_rows for frag in fragments for rg in frag.row_groups)
    width = sum(column_bytes(frag.metadata, names) for frag in fragments)
    if rows == 0 or width <= BATCH_WIDTH * rows:
        return batch_rows
    return max(min(batch_rows, MIN_BATCH_ROWS), int(batch_rows * BATCH_WIDTH * rows / width))
