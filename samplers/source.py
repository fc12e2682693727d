"""Input tables as re-iterable streams of Arrow record batches, cut into pieces.

A sampler reads its input in several passes, each asking only for the columns it needs: an
in-memory DataFrame or Table, a list of record batches, or a Parquet file or directory
(hive-partitioned) read batch by batch with ``pyarrow.dataset``. The input is a sequence of
:class:`Piece` s (a file, a row group, a slice of a table); every row has a global number (its
position in piece order, used in error messages) and a key ``piece << 40 | row`` by which the
selected rows are fetched again, so a pass can run piece by piece on one machine or on a cluster.

String columns that a file stores with a small dictionary (categories such as a market or a
genre) are read as Arrow dictionaries, which skips building a string per row: a pass receives
them as ``DictionaryArray`` s (the samplers treat a dictionary as its values) and a fetch casts
them back to the file's types, so the rows returned are the same either way.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from schemas import SchemaError
from schemas.io import check_parquet_folder, parquet_dataset
from schemas.storage import identity, is_remote, local_path
from schemas.validate import as_table

from .kernels import readplan
from .kernels.rowfetch import duckdb_rows, preload
from .selection import payload_name

DEFAULT_BATCH_ROWS = 1 << 18
KEY_BITS = 40
DICTIONARY_SHARE = 0.01  # read a string column as dictionary when its dictionary page is small
_READ_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OSError)


def piece_of(keys: np.ndarray) -> np.ndarray:
    return keys >> KEY_BITS


def row_of(keys: np.ndarray) -> np.ndarray:
    return keys & ((1 << KEY_BITS) - 1)


@dataclass
class Piece:
    """One independently readable part of the input (picklable, so a cluster can read it)."""

    index: int
    row0: int
    num_rows: int
    name: str
    schema: pa.Schema
    fragment: ds.ParquetFileFragment | None = None
    table: pa.Table | None = None
    dictionary: tuple[str, ...] = ()

    def _groups(self, columns: list[str] | None, batch_rows: int,
                groups: Iterable[int]) -> Iterator[tuple[int, Iterator[pa.RecordBatch]]]:
        """(row group, its batches) for the fragment's row groups ``groups`` (positions in
        ``fragment.row_groups``), read a batch at a time with ``pyarrow.parquet`` so that
        memory holds one batch, not a decoded row group. Batches hold ``columns`` in order
        (all when None), partition columns filled in from the path; the columns of
        ``dictionary`` are Arrow dictionaries."""
        names = list(self.schema.names if columns is None else columns)
        fragment = self.fragment
        keys = ds.get_partition_keys(fragment.partition_expression)
        with fragment.filesystem.open_input_file(fragment.path) as fh:
            pf = pq.ParquetFile(fh, metadata=fragment.metadata, pre_buffer=False,
                                read_dictionary=list(self.dictionary) or None)
            in_file = set(pf.schema_arrow.names)
            read = [c for c in names if c in in_file]
            for g in groups:
                batches = pf.iter_batches(batch_size=batch_rows, columns=read, use_threads=True,
                                          row_groups=[fragment.row_groups[g].id])
                yield g, (pa.RecordBatch.from_arrays(
                    [b.column(c) if c in in_file else
                     _constant(keys.get(c), self.schema.field(c).type, b.num_rows)
                     for c in names], names=names) for b in batches)
                pa.default_memory_pool().release_unused()  # one row group at a time in RSS

    def scan(self, columns: list[str] | None,
             batch_rows: int) -> Iterator[tuple[int, pa.RecordBatch]]:
        """(global row of the first row, batch) of ``columns`` (all when None), in order."""
        row = self.row0
        if self.table is not None:
            table = self.table if columns is None else self.table.select(columns)
            for batch in table.to_batches(max_chunksize=batch_rows):
                if batch.num_rows:
                    yield row, batch
                    row += batch.num_rows
            return
        try:
            for _, batches in self._groups(columns, batch_rows,
                                           range(len(self.fragment.row_groups))):
                for batch in batches:
                    if batch.num_rows:
                        yield row, batch
                        row += batch.num_rows
        except _READ_ERRORS as exc:
            raise SchemaError(f"cannot read Parquet: {str(exc).splitlines()[0]}",
                              source=self.name) from exc

    def take(self, rows: np.ndarray, columns: list[str] | None,
             batch_rows: int = 1 << 16) -> pa.Table:
        """The rows at local positions ``rows`` (sorted), with the schema's types, reading
        only the row groups holding them, a batch at a time."""
        rows = np.asarray(rows, np.int64)
        if self.table is not None:
            table = self.table if columns is None else self.table.select(columns)
            return table.take(rows)
        schema = self.schema if columns is None else pa.schema(
            [self.schema.field(c) for c in columns])
        try:
            sizes = [rg.num_rows for rg in self.fragment.row_groups]
            starts = np.r_[0, np.cumsum(sizes)]
            group = np.searchsorted(starts, rows, side="right") - 1
            fetched = self._take_by_row_number(rows, group, starts, schema)
            if fetched is not None:
                return fetched
            parts = []
            for g, batches in self._groups(columns, batch_rows, np.unique(group).tolist()):
                wanted, at = rows[group == g] - starts[g], 0
                for batch in batches:
                    hit = wanted[(wanted >= at) & (wanted < at + batch.num_rows)]
                    if hit.size:
                        parts.append(pa.Table.from_batches([batch.take(hit - at)]).cast(schema))
                    at += batch.num_rows
                    if at > wanted[-1]:
                        break
        except _READ_ERRORS as exc:
            raise SchemaError(f"cannot read Parquet: {str(exc).splitlines()[0]}",
                              source=self.name) from exc
        return pa.concat_tables(parts)

    def _take_by_row_number(self, rows: np.ndarray, group: np.ndarray, starts: np.ndarray,
                            schema: pa.Schema) -> pa.Table | None:
        """The rows read by their row numbers in the file (``samplers.kernels.rowfetch``),
        when every column is in the file and that fetch applies; else None."""
        fragment = self.fragment
        if not set(schema.names) <= set(fragment.physical_schema.names):
            return None  # partition columns come from the path
        meta = fragment.metadata
        file_starts = np.r_[0, np.cumsum([meta.row_group(g).num_rows
                                          for g in range(meta.num_row_groups)])]
        ids = np.array([rg.id for rg in fragment.row_groups], np.int64)
        file_rows = file_starts[ids[group]] + (rows - starts[group])
        return duckdb_rows(fragment.filesystem, fragment.path, meta, file_rows, schema)


def _constant(value: object, typ: pa.DataType, n: int) -> pa.Array:
    """A partition column: ``value`` on every row (a one-entry dictionary for strings)."""
    if value is not None and (pa.types.is_string(typ) or pa.types.is_large_string(typ)):
        return pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int32)),
                                              pa.array([value], typ))
    return pa.repeat(pa.scalar(value, typ), n)


def _dictionary_columns(metadata: pq.FileMetaData, physical: pa.Schema) -> tuple[str, ...]:
    """String columns whose dictionary page is at most ``DICTIONARY_SHARE`` of the column in
    every row group (few distinct values: cheaper to read as a dictionary)."""
    small = {f.name: metadata.num_row_groups > 0 for f in physical
             if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)}
    for g in range(metadata.num_row_groups):
        group = metadata.row_group(g)
        for j in range(group.num_columns):
            col = group.column(j)
            if not small.get(col.path_in_schema):
                continue
            page = col.data_page_offset - (col.dictionary_page_offset or 0)
            small[col.path_in_schema] = col.has_dictionary_page and \
                0 < page <= DICTIONARY_SHARE * col.total_compressed_size
    return tuple(name for name, ok in small.items() if ok)


class Source:
    """A table that can be scanned several times, column subsets at a time, piece by piece."""

    def __init__(self, data: object, batch_rows: int = DEFAULT_BATCH_ROWS, name: str = "input"):
        self.batch_rows = batch_rows
        self.name = name
        self._dataset: ds.Dataset | None = None
        self._table: pa.Table | None = None
        self._batches: list[pa.RecordBatch] | None = None
        self._fragments: list[tuple[ds.ParquetFileFragment, int, tuple[str, ...]]] | None = None
        self._uri: str | None = None
        self._carry_dictionary: set[str] = set()  # the single-pass mode's extra dictionaries
        if is_remote(data):  # object storage: the same rules, read through its filesystem
            self.name = self._uri = str(data)
            self._dataset = parquet_dataset(data)
            self._objects = identity(self._uri)  # before any pass reads them
            self.schema = self._dataset.schema
        elif isinstance(data, str | os.PathLike):
            path = local_path(data) if isinstance(data, str) else Path(data)
            self.name = str(path)
            if not path.exists():
                raise SchemaError("no such file or directory", source=self.name)
            if path.is_dir():  # the rules `curate validate` applies to a folder, one home
                check_parquet_folder(path)
            try:
                self._dataset = ds.dataset(path, format="parquet", partitioning="hive")
            except _READ_ERRORS as exc:
                raise SchemaError(f"cannot read Parquet: {exc}", source=self.name) from exc
            self.schema = self._dataset.schema
        elif isinstance(data, pa.Table | pd.DataFrame):
            self._table = as_table(data)
            self.schema = self._table.schema
        elif isinstance(data, pa.RecordBatch):
            self._batches = [data]
            self.schema = data.schema
        elif isinstance(data, Iterable):
            self._batches = list(data)
            if not self._batches:
                raise SchemaError("the input has no rows (an empty sequence of record batches)",
                                  source=name)
            if not all(isinstance(b, pa.RecordBatch) for b in self._batches):
                raise SchemaError("expected a sequence of pyarrow RecordBatches", source=name)
            self.schema = self._batches[0].schema
        else:
            raise SchemaError(f"cannot sample from a {type(data).__name__}", source=name)

    def identity(self) -> dict[str, Any]:
        """What the manifest records of an object-storage input: each object's URI, ETag (or
        content hash) and size, so that a redraw can show it read the same bytes; ``{}`` for a
        local input (its rows' fingerprint identifies it)."""
        return {"objects": self._objects} if self._uri is not None else {}

    @property
    def column_names(self) -> list[str]:
        return list(self.schema.names)

    def require(self, columns: Iterable[str], role: str = "") -> None:
        """Raise SchemaError naming every column of ``columns`` that the input lacks."""
        missing = [c for c in dict.fromkeys(columns) if c not in self.schema.names]
        if missing:
            what = f" (needed {role})" if role else ""
            raise SchemaError(f"missing column(s) {missing}{what}; the input has "
                              f"{self.schema.names[:12]}", source=self.name)

    def _checked_fragments(self) -> list[tuple[ds.ParquetFileFragment, int, tuple[str, ...]]]:
        """Every file with its row count and dictionary columns, after checking that it reads
        and agrees with the dataset's schema (the first file's): a corrupt or disagreeing file
        is named."""
        if self._fragments is not None:
            return self._fragments
        out, first = [], None
        for frag in self._dataset.get_fragments():
            try:
                physical = frag.physical_schema
                frag.ensure_complete_metadata()
                rows = sum(rg.num_rows for rg in frag.row_groups)
                dictionary = _dictionary_columns(frag.metadata, physical)
            except _READ_ERRORS as exc:
                raise SchemaError(f"cannot read Parquet: {str(exc).splitlines()[0]}; remove or "
                                  f"replace the file", source=frag.path) from exc
            first = first or frag.path
            partition_fields = set(ds.get_partition_keys(frag.partition_expression))
            for field in self.schema:
                if field.name in partition_fields:
                    continue
                idx = physical.get_field_index(field.name)
                if idx < 0:
                    raise SchemaError(f"schema disagrees with {first}: column {field.name!r} is "
                                      f"missing; rewrite the file with the dataset's schema",
                                      source=frag.path)
                got = physical.field(idx).type
                if got != field.type:
                    raise SchemaError(f"schema disagrees with {first}: column {field.name!r} is "
                                      f"{got} here but {field.type} there; rewrite the file "
                                      f"with the dataset's schema", source=frag.path)
            out.append((frag, rows, dictionary))
        self._fragments = out
        return out

    def pieces(self, split: bool = False) -> list[Piece]:
        """The input's pieces in a fixed order; ``split`` cuts files into row groups and
        tables into ``batch_rows`` slices (finer partitions for a cluster)."""
        specs: list[tuple] = []
        if self._dataset is not None:
            for frag, rows, dictionary in self._checked_fragments():
                if split and len(frag.row_groups) > 1:
                    for rg in frag.row_groups:
                        specs.append((rg.num_rows, frag.path,
                                      frag.subset(row_group_ids=[rg.id]), None, dictionary))
                else:
                    specs.append((rows, frag.path, frag, None, dictionary))
        elif self._table is not None:
            step = self.batch_rows if split else max(self._table.num_rows, 1)
            for start in range(0, max(self._table.num_rows, 1), step):
                part = self._table.slice(start, step)
                specs.append((part.num_rows, self.name, None, part, ()))
        else:
            for batch in self._batches or []:
                specs.append((batch.num_rows, self.name, None, pa.Table.from_batches([batch]),
                              ()))
        out, row0 = [], 0
        for i, (rows, name, frag, table, dictionary) in enumerate(specs):
            if self._carry_dictionary:
                dictionary = tuple(sorted(set(dictionary) | self._carry_dictionary))
            out.append(Piece(i, row0, rows, name, self.schema, frag, table, dictionary))
            row0 += rows
        return out

    def reads_once(self, columns: list[str] | None, n: int, kept_rows: int,
                   design: list[str]) -> bool:
        """Whether the first pass should also read the carried ``columns`` (all when None)
        and keep the candidates' rows, so that the input is read once (the single-pass mode,
        ``samplers.kernels.readplan``) rather than fetched again for ``n`` selected rows; when
        it should, the carried string columns stored as dictionary indices (not the
        ``design`` columns) are then read as Arrow dictionaries."""
        mode = readplan.single_pass_mode()
        names = self.column_names if columns is None else columns
        self._carry_dictionary = set()
        fragments = [f for f, _, _ in self._checked_fragments()] if self._dataset is not None \
            else []
        once = mode == "on" if mode != "auto" else self._dataset is not None and \
            readplan.once_pays(fragments, self.schema, names, n, kept_rows)
        if once and fragments:
            indexed = set(names) - set(design)
            for frag in fragments:
                indexed &= readplan.indexed_columns(frag.metadata, names)
            self._carry_dictionary = indexed
        return once

    def pass_batch_rows(self, columns: list[str] | None, batch_rows: int) -> int:
        """Rows per batch for a pass over ``columns`` (all when None): fewer for wide rows of
        a Parquet input (``readplan.batch_rows_for``). Batching never changes a result."""
        if self._dataset is None:
            return batch_rows
        return readplan.batch_rows_for([f for f, _, _ in self._checked_fragments()],
                                       self.column_names if columns is None else columns,
                                       batch_rows)

    def prepare_fetch(self) -> None:
        """Before the passes of a draw that will fetch its rows: load DuckDB meanwhile when
        its row-number fetch applies to a file of the input (``rowfetch.preload``)."""
        if self._dataset is None or self._uri is not None:
            return
        if any(frag.metadata.num_row_groups >= 2 for frag, _, _ in self._checked_fragments()):
            preload()

    def payload(self, kept: pa.Table, columns: list[str] | None) -> pa.Table:
        """The carried ``columns`` (all when None) of the rows kept by the single-pass mode,
        with the input's types: the table a fetch of the same rows returns."""
        names = self.column_names if columns is None else columns
        schema = pa.schema([self.schema.field(c) for c in names])
        return pa.Table.from_arrays([kept.column(payload_name(i)).cast(f.type)
                                     for i, f in enumerate(schema)], schema=schema)

    @property
    def num_rows(self) -> int:
        return sum(p.num_rows for p in self.pieces())

    def batches(self, columns: list[str] | None = None) -> Iterator[pa.RecordBatch]:
        """Record batches holding ``columns`` (all when None), in a fixed order."""
        for piece in self.pieces():
            for _, batch in piece.scan(columns, self.batch_rows):
                yield batch
